import type { EwfSetMember, ExhibitFile, ExtractionSet } from './extraction.types.js';

/**
 * Groups the files of one exhibit into extraction sets, from what recognition read in their bytes.
 * Pure: same input, same sets.
 *
 * EWF segments belong together when their volume/data sections agree: set identifier (GUID) and
 * geometry (chunk count, sectors per chunk, bytes per sector, sector count). ewfacquire 20140813
 * writes an all-zero GUID, so two acquisitions of same-sized media look alike; the stored MD5 then
 * still tells them apart at verification, and two different files claiming one segment number
 * are reported as a conflict rather than guessed between. Distinct segments of one set are
 * members, never "duplicates" of each other: only a byte-identical second copy of the same
 * segment (same number, same SHA-256) is a duplicate.
 */
export function groupExtractionSets(files: readonly ExhibitFile[]): ExtractionSet[] {
  const sets: ExtractionSet[] = [];
  const ewfGroups = new Map<string, ExhibitFile[]>();
  const ewf2: ExhibitFile[] = [];
  for (const f of files) {
    const r = f.recognition;
    if (r.kind === 'ewf' && r.ewf) {
      const e = r.ewf;
      const key = [e.setIdentifier, e.chunkCount, e.sectorsPerChunk, e.bytesPerSector, e.sectorCount].join('/');
      const group = ewfGroups.get(key) ?? [];
      group.push(f);
      ewfGroups.set(key, group);
    } else if (r.kind === 'ewf2') {
      ewf2.push(f);
    } else {
      sets.push({ kind: r.kind === 'ewf' ? 'opaque' : r.kind, fileIds: [f.fileId] } as ExtractionSet);
    }
  }
  for (const [setKey, group] of [...ewfGroups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    sets.push(ewfSet(setKey, group));
  }
  if (ewf2.length > 0) {
    // Ex01 segment headers are not parsed here (no tool on Debian 12 reads EWF2): one set, not verifiable.
    sets.push({ kind: 'ewf2', fileIds: ewf2.map((f) => f.fileId), reason: ewf2[0].recognition.notVerifiableReason ?? 'Ex01 is not verifiable here' });
  }
  return sets;
}

function ewfSet(setKey: string, group: ExhibitFile[]): ExtractionSet {
  const byNumber = new Map<number, ExhibitFile[]>();
  for (const f of group) {
    const n = f.recognition.ewf!.segmentNumber;
    byNumber.set(n, [...(byNumber.get(n) ?? []), f]);
  }
  const segments: EwfSetMember[] = [];
  const duplicates: { fileId: string; name: string; duplicateOf: string }[] = [];
  const conflicts: { segmentNumber: number; fileIds: string[] }[] = [];
  const problems: string[] = [];
  const numbers = [...byNumber.keys()].sort((a, b) => a - b);
  for (const n of numbers) {
    // Stable choice of the kept copy: by file id.
    const copies = [...byNumber.get(n)!].sort((a, b) => a.fileId.localeCompare(b.fileId));
    const kept = copies[0];
    // A second copy counts as the same segment only when it is provably the same bytes.
    const differing = copies.slice(1).filter((c) => !(c.sha256 && kept.sha256 && c.sha256 === kept.sha256 && c.size === kept.size));
    if (differing.length > 0) {
      conflicts.push({ segmentNumber: n, fileIds: copies.map((c) => c.fileId) });
      problems.push(`segment ${n} is present ${copies.length} times with different (or unhashed) content`);
    } else {
      for (const c of copies.slice(1)) duplicates.push({ fileId: c.fileId, name: c.name, duplicateOf: kept.fileId });
    }
    segments.push({ fileId: kept.fileId, name: kept.name, segmentNumber: n });
  }
  const highest = numbers.length > 0 ? numbers[numbers.length - 1] : 0;
  const missingSegments: number[] = [];
  for (let n = 1; n <= highest; n++) if (!byNumber.has(n)) missingSegments.push(n);
  const last = byNumber.get(highest)?.[0]?.recognition.ewf;
  const tailMissing = !last || last.ends !== 'done';
  if (last?.ends === 'truncated') problems.push(`segment ${highest} is cut short (its section chain runs past the end of the file)`);
  for (const n of numbers) {
    if (n === highest) continue;
    const facts = byNumber.get(n)![0].recognition.ewf!;
    if (facts.ends === 'done') problems.push(`segment ${n} ends the set, yet segment ${highest} exists`);
    if (facts.ends === 'truncated') problems.push(`segment ${n} is cut short (its section chain runs past the end of the file)`);
  }
  if (missingSegments.length > 0) problems.push(`segment${missingSegments.length > 1 ? 's' : ''} ${missingSegments.join(', ')} missing`);
  if (tailMissing && last?.ends === 'next') problems.push(`segment ${highest} says more segments follow, and none is present`);
  // The chunks the tables hold must add up to the volume's chunk count once the set is whole.
  const first = byNumber.get(1)?.[0]?.recognition.ewf;
  const chunkSum = [...byNumber.values()].reduce((s, copies) => s + copies[0].recognition.ewf!.chunksInSegment, 0);
  if (first?.chunkCount !== undefined && missingSegments.length === 0 && !tailMissing && conflicts.length === 0 && chunkSum !== first.chunkCount) {
    problems.push(`the segments hold ${chunkSum} chunks, the volume declares ${first.chunkCount}`);
  }
  return {
    kind: 'ewf',
    setKey,
    setIdentifier: group[0].recognition.ewf!.setIdentifier,
    segments,
    missingSegments,
    tailMissing,
    complete: missingSegments.length === 0 && !tailMissing && conflicts.length === 0 && problems.length === 0,
    duplicates,
    conflicts,
    problems,
  };
}
