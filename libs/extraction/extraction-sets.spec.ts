import { describe, expect, it } from '@jest/globals';
import { groupExtractionSets } from './extraction-sets.js';
import type { EwfSegmentFacts, ExhibitFile } from './extraction.types.js';

const ZERO = '00000000-0000-0000-0000-000000000000';
function seg(fileId: string, n: number, ends: EwfSegmentFacts['ends'], opts: { guid?: string; chunks?: number; inSeg?: number; sha?: string; name?: string } = {}): ExhibitFile {
  return {
    fileId,
    name: opts.name ?? `${fileId}.bin`,
    size: 100,
    sha256: opts.sha ?? fileId.padEnd(64, '0'),
    recognition: {
      kind: 'ewf',
      size: 100,
      description: '',
      ewf: {
        segmentNumber: n,
        setIdentifier: opts.guid ?? ZERO,
        setIdentifierIsZero: !opts.guid,
        chunkCount: opts.chunks ?? 160,
        sectorsPerChunk: 64,
        bytesPerSector: 512,
        sectorCount: (opts.chunks ?? 160) * 64,
        chunksInSegment: opts.inSeg ?? 64,
        ends,
        sections: [],
      },
    },
  };
}

describe('groupExtractionSets', () => {
  it('puts the segments of one set together in header order, whatever their names, and calls it complete', () => {
    const sets = groupExtractionSets([seg('c', 3, 'done', { inSeg: 32, name: 'x.E01' }), seg('a', 1, 'next', { name: 'zzz' }), seg('b', 2, 'next', { name: 'a.E03' })]);
    expect(sets).toHaveLength(1);
    const s = sets[0];
    expect(s.kind).toBe('ewf');
    if (s.kind !== 'ewf') return;
    expect(s.segments.map((m) => [m.segmentNumber, m.fileId])).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
    expect(s).toMatchObject({ complete: true, missingSegments: [], tailMissing: false, duplicates: [], conflicts: [], problems: [] });
  });

  it('never reports distinct segments of a set as duplicates of each other, only a byte-identical second copy', () => {
    const sets = groupExtractionSets([seg('a', 1, 'next'), seg('b', 2, 'done', { inSeg: 96 }), seg('b2', 2, 'done', { inSeg: 96, sha: 'b'.padEnd(64, '0') })]);
    const s = sets[0];
    if (s.kind !== 'ewf') throw new Error('not ewf');
    expect(s.duplicates).toEqual([{ fileId: 'b2', name: 'b2.bin', duplicateOf: 'b' }]);
    expect(s.complete).toBe(true);
  });

  it('reports missing segments in the middle and at the end', () => {
    const [middle] = groupExtractionSets([seg('a', 1, 'next'), seg('c', 3, 'done')]);
    if (middle.kind !== 'ewf') throw new Error('not ewf');
    expect(middle).toMatchObject({ missingSegments: [2], tailMissing: false, complete: false });
    const [tail] = groupExtractionSets([seg('a', 1, 'next'), seg('b', 2, 'next')]);
    if (tail.kind !== 'ewf') throw new Error('not ewf');
    expect(tail).toMatchObject({ missingSegments: [], tailMissing: true, complete: false });
    expect(tail.problems.join(' ')).toMatch(/segment 2 says more segments follow/);
  });

  it('keeps different acquisitions apart by set identifier and geometry, and flags two different segment 1s', () => {
    const sets = groupExtractionSets([
      seg('a', 1, 'done', { chunks: 64 }),
      seg('x', 1, 'done', { guid: '87f204ee-384f-244c-b976-2bd622c6b20e', chunks: 4, inSeg: 4 }),
      seg('p', 1, 'done', { chunks: 64, sha: 'f'.repeat(64) }),
    ]);
    expect(sets).toHaveLength(2);
    const conflicted = sets.find((s) => s.kind === 'ewf' && s.conflicts.length > 0);
    expect(conflicted).toMatchObject({ conflicts: [{ segmentNumber: 1, fileIds: ['a', 'p'] }], complete: false });
  });

  it('checks that the chunks of a whole set add up to the volume chunk count', () => {
    const [s] = groupExtractionSets([seg('a', 1, 'next', { inSeg: 64 }), seg('b', 2, 'done', { inSeg: 10 })]);
    if (s.kind !== 'ewf') throw new Error('not ewf');
    expect(s.complete).toBe(false);
    expect(s.problems).toContain('the segments hold 74 chunks, the volume declares 160');
  });

  it('keeps other kinds as sets of their own', () => {
    const f = (id: string, kind: 'ufdr' | 'opaque' | 'ewf2'): ExhibitFile => ({ fileId: id, name: id, size: 1, recognition: { kind, size: 1, description: '', notVerifiableReason: kind === 'ewf2' ? 'Ex01' : undefined } });
    expect(groupExtractionSets([f('u', 'ufdr'), f('o', 'opaque'), f('e1', 'ewf2'), f('e2', 'ewf2')])).toEqual([
      { kind: 'ufdr', fileIds: ['u'] },
      { kind: 'opaque', fileIds: ['o'] },
      { kind: 'ewf2', fileIds: ['e1', 'e2'], reason: 'Ex01' },
    ]);
  });
});
