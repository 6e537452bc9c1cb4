import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  EwfToolsRepository,
  EwfVerificationService,
  groupExtractionSets,
  LocalFileByteSource,
  ObjectStoreByteSource,
  parseEwfverifyOutput,
  recogniseContainer,
  StagingBudget,
  type EwfSegmentInput,
  type ExhibitFile,
} from '../../../libs/extraction/index.js';
import { createObjectStore, type S3ObjectStore } from '../../../libs/storage/index.js';
import { fixturePath } from '../../support/fixtures.js';
import { randomKey, testConfig } from '../../support/test-env.js';
import { acquireSet, flipByteInChunk } from './ewf-fixtures.js';

const MiB = 1024 * 1024;
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function inputs(paths: string[], names?: string[]): Promise<EwfSegmentInput[]> {
  return Promise.all(
    paths.map(async (p, i) => ({ fileId: `f${i + 1}`, name: names?.[i] ?? basename(p), source: await LocalFileByteSource.open(p), sha256: sha256(p) })),
  );
}

async function exhibitFiles(paths: string[], names: string[]): Promise<ExhibitFile[]> {
  return Promise.all(
    paths.map(async (p, i) => ({ fileId: `f${i + 1}`, name: names[i], size: statSync(p).size, sha256: sha256(p), recognition: await recogniseContainer(await LocalFileByteSource.open(p)) })),
  );
}

/**
 * E01 verification against the real ewf-tools 20140813 (Debian), on the fixture images and on
 * multi-segment sets made here with ewfacquire. Each test stages into a folder of its own and
 * checks it is empty afterwards: staged segments are always removed.
 */
describe('E01 (EWF) verification with ewfverify and ewfinfo', () => {
  let work: string;
  let staging: string;
  let service: EwfVerificationService;
  const tools = new EwfToolsRepository();

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'dems-ewf-work-'));
    staging = mkdtempSync(join(tmpdir(), 'dems-ewf-staging-'));
    service = new EwfVerificationService({
      stagingDir: staging,
      stagingBudgetBytes: 160 * MiB,
      stagingWaitMs: 1000,
      verifyTimeLimitMs: { baseMs: 60_000, perGiBMs: 60_000 },
      infoTimeLimitMs: 30_000,
    });
  });
  afterEach(() => {
    // Whatever the outcome, nothing staged is left behind.
    expect(readdirSync(staging)).toEqual([]);
    rmSync(work, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  });

  it('verifies ext2.E01 and records its header facts and hashes', async () => {
    const v = await service.verifySet(await inputs([fixturePath('forensic-images', 'ext2.E01')]));
    expect(v.outcome).toEqual({ status: 'verified', warnings: [], problems: [] });
    expect(v.hashes.find((h) => h.algorithm === 'md5')).toEqual({
      algorithm: 'md5',
      stored: '196066add11fb71c4c49cf1bb50d6d24',
      calculated: '196066add11fb71c4c49cf1bb50d6d24',
      matches: true,
    });
    expect(v.bytesRead).toBe(4_194_304);
    expect(v.header).toMatchObject({ caseNumber: 'case', evidenceNumber: 'evidence', examiner: 'examiner', acquisitionDate: '2021-07-22T15:33:18', mediaSizeBytes: 4_194_304, bytesPerSector: 512 });
    expect(v.runs.map((r) => [r.tool, r.version, r.exitCode])).toEqual([
      ['ewfinfo', '20140813', 0],
      ['ewfverify', '20140813', 0],
    ]);
    // The record names canonical staged files, never a temporary path.
    expect(v.runs[1].args).toEqual(['-d', 'sha1,sha256', 'image.E01']);
  });

  it('verifies image.E01 (EnCase 6, acquired 2019-06-10 15:11:25) with its set identifier', async () => {
    const v = await service.verifySet(await inputs([fixturePath('forensic-images', 'image.E01')]));
    expect(v.outcome.status).toBe('verified');
    expect(v.hashes[0]).toMatchObject({ stored: '3ebb0b7dcd6b5fcd59a0020625d70994', matches: true });
    expect(v.header).toMatchObject({ fileFormat: 'EnCase 6', acquisitionDate: '2019-06-10T15:11:25', mediaSizeBytes: 102_400, setIdentifier: '87f204ee-384f-244c-b976-2bd622c6b20e' });
    const r = await recogniseContainer(await LocalFileByteSource.open(fixturePath('forensic-images', 'image.E01')));
    expect(r.ewf).toMatchObject({ segmentNumber: 1, setIdentifier: '87f204ee-384f-244c-b976-2bd622c6b20e', setIdentifierIsZero: false, ends: 'done', chunkCount: 4, chunksInSegment: 4 });
  });

  it('rejects bogus.E01 (0 bytes) clearly, by content, and ewfverify itself cannot open it', async () => {
    const bogus = fixturePath('forensic-images', 'bogus.E01');
    expect(statSync(bogus).size).toBe(0);
    expect((await recogniseContainer(await LocalFileByteSource.open(bogus))).kind).toBe('empty');
    const v = await service.verifySet(await inputs([bogus]));
    expect(v.outcome).toMatchObject({ status: 'failed', code: 'EWF_NOT_EWF', reason: 'bogus.E01 is empty (0 bytes): it is not an EWF segment' });
    const raw = await tools.ewfverify([bogus], { timeLimitMs: 30_000 });
    const parsed = parseEwfverifyOutput(raw.stdout, raw.stderr, raw.run.exitCode);
    expect(raw.run.exitCode).toBe(1);
    expect(parsed.verdict).toBe('unopened');
    expect(parsed.errorLines.join(' ')).toMatch(/Unable to open|file header|invalid/i);
  });

  it('recognises a three-segment set by content under scrambled names, groups it and verifies it (MD5 and SHA-1)', async () => {
    const paths = await acquireSet(work, 5 * MiB, 2 * MiB);
    expect(paths.map((p) => basename(p))).toEqual(['img.E01', 'img.E02', 'img.E03']);
    // Uploaded under names that say nothing, in the wrong order.
    const names = ['phone-b.bin', 'phone-c.dat', 'phone-a'];
    const files = await exhibitFiles([paths[1], paths[2], paths[0]], names);
    expect(files.map((f) => f.recognition.ewf?.segmentNumber)).toEqual([2, 3, 1]);
    const sets = groupExtractionSets(files);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ kind: 'ewf', complete: true, missingSegments: [], duplicates: [], segments: [{ segmentNumber: 1, name: 'phone-a' }, { segmentNumber: 2, name: 'phone-b.bin' }, { segmentNumber: 3, name: 'phone-c.dat' }] });

    const progress: number[] = [];
    const v = await service.verifySet(await inputs([paths[1], paths[2], paths[0]], names), { onProgress: (p) => progress.push(p) });
    expect(v.outcome.status).toBe('verified');
    expect(v.segments.map((s) => s.name)).toEqual(['phone-a', 'phone-b.bin', 'phone-c.dat']);
    expect(v.hashes.find((h) => h.algorithm === 'sha1')).toMatchObject({ matches: true });
    const media = readFileSync(join(work, 'img.raw'));
    expect(v.hashes.find((h) => h.algorithm === 'sha256')?.calculated).toBe(createHash('sha256').update(media).digest('hex'));
    expect(v.header).toMatchObject({ caseNumber: 'CASE-42', evidenceNumber: 'EXH-001', examiner: 'PC Smith', notes: 'notes <&> "quoted"', mediaSizeBytes: 5 * MiB, acquisitionSoftwareVersion: '20140813' });
    expect(v.runs[1].args).toEqual(['-d', 'sha1,sha256', 'image.E01', 'image.E02', 'image.E03']);
  });

  it('fails a set with a damaged segment, naming the sectors and the uploaded file, and the hash mismatch', async () => {
    const paths = await acquireSet(work, 5 * MiB, 2 * MiB);
    flipByteInChunk(paths[1], 3);
    const v = await service.verifySet(await inputs(paths, ['a.E01', 'seized-2.E02', 'a.E03']));
    expect(v.outcome.status).toBe('failed');
    expect(v.outcome.code).toBe('EWF_CHUNKS_CORRUPT');
    expect(v.outcome.problems.map((p) => p.code)).toEqual(['EWF_CHUNKS_CORRUPT', 'EWF_HASH_MISMATCH', 'EWF_HASH_MISMATCH']);
    expect(v.sectorErrors).toEqual([{ firstSector: expect.any(Number), lastSector: expect.any(Number), count: 64, segmentFiles: ['seized-2.E02'] }]);
    expect(v.outcome.reason).toMatch(/fail their checksum in seized-2\.E02/);
  });

  it('fails on a pure hash mismatch (chunk checksum made to match) with both MD5 values in the reason', async () => {
    const paths = await acquireSet(work, 5 * MiB, 2 * MiB, { md5Only: true });
    flipByteInChunk(paths[2], 1, true);
    const v = await service.verifySet(await inputs(paths));
    expect(v.sectorErrors).toEqual([]);
    expect(v.outcome).toMatchObject({ status: 'failed', code: 'EWF_HASH_MISMATCH' });
    const md5 = v.hashes.find((h) => h.algorithm === 'md5')!;
    expect(md5.matches).toBe(false);
    expect(v.outcome.reason).toContain(md5.stored);
    expect(v.outcome.reason).toContain(md5.calculated);
  });

  it('reports a missing middle or last segment itself and never asks ewfverify to guess', async () => {
    const paths = await acquireSet(work, 5 * MiB, 2 * MiB);
    const middle = await service.verifySet(await inputs([paths[0], paths[2]]));
    expect(middle.outcome).toMatchObject({ status: 'failed', code: 'EWF_SEGMENTS_MISSING', reason: 'The E01 set is incomplete: segment 2 missing' });
    expect(middle.runs).toEqual([]);
    const last = await service.verifySet(await inputs([paths[0], paths[1]]));
    expect(last.outcome).toMatchObject({ status: 'failed', code: 'EWF_SEGMENTS_MISSING' });
    expect(last.outcome.reason).toMatch(/segment 2 is not the last/);
    const [set] = groupExtractionSets(await exhibitFiles([paths[0], paths[2]], ['x', 'y']));
    expect(set).toMatchObject({ kind: 'ewf', missingSegments: [2], complete: false });
  });

  it('uses a byte-identical second upload of a segment once, with a warning, not as a conflict', async () => {
    const paths = await acquireSet(work, 3 * MiB, 2 * MiB);
    const copy = join(work, 'copy-of-2');
    writeFileSync(copy, readFileSync(paths[1]));
    const v = await service.verifySet(await inputs([paths[0], paths[1], copy]));
    expect(v.outcome.status).toBe('verified_with_warnings');
    expect(v.outcome.warnings.map((w) => w.code)).toEqual(['EWF_DUPLICATE_SEGMENT_COPY']);
  });

  it('refuses a set over the staging budget with a clear code, staging nothing', async () => {
    const paths = await acquireSet(work, 3 * MiB, 2 * MiB);
    const small = new EwfVerificationService(
      { stagingDir: staging, stagingBudgetBytes: 1 * MiB, stagingWaitMs: 100, verifyTimeLimitMs: { baseMs: 60_000, perGiBMs: 0 }, infoTimeLimitMs: 30_000 },
      tools,
      new StagingBudget(1 * MiB),
    );
    await expect(small.verifySet(await inputs(paths))).rejects.toMatchObject({ code: 'EXTRACTION_OVER_STAGING_BUDGET', status: 507 });
  });

  it('stops ewfverify at its time limit, leaves no process and no staged file', async () => {
    const paths = await acquireSet(work, 128 * MiB, 64 * MiB);
    let pid = 0;
    await expect(service.verifySet(await inputs(paths), { timeLimitMs: 50, onSpawn: (p) => (pid = p) })).rejects.toMatchObject({ code: 'EXTRACTION_TOOL_TIMEOUT' });
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('says an Ex01 (EWF2) is not verifiable here, with the reason, and never calls it verified', async () => {
    const ex01 = join(work, 'phone.E01');
    writeFileSync(ex01, Buffer.concat([Buffer.from('EVF2\r\n\x81\x00', 'latin1'), Buffer.alloc(4096, 1)]));
    const r = await recogniseContainer(await LocalFileByteSource.open(ex01));
    expect(r).toMatchObject({ kind: 'ewf2', notVerifiableReason: 'not verifiable here: Ex01 (libewf on Debian 12 cannot read EWF2)' });
    const v = await service.verifySet(await inputs([ex01]));
    expect(v.outcome).toMatchObject({ status: 'not_verifiable', code: 'EWF_EX01_NOT_VERIFIABLE', reason: 'not verifiable here: Ex01 (libewf on Debian 12 cannot read EWF2)' });
  });

  it('refuses to verify when the bytes read back differ from the sealed SHA-256', async () => {
    const i = await inputs([fixturePath('forensic-images', 'ext2.E01')]);
    i[0].sha256 = 'f'.repeat(64);
    await expect(service.verifySet(i)).rejects.toMatchObject({ code: 'EXTRACTION_SOURCE_CHANGED' });
  });

  it('checks the analyst\'s declared acquisition hash against the media', async () => {
    const i = await inputs([fixturePath('forensic-images', 'ext2.E01')]);
    const good = await service.verifySet(i, { declaredMediaHashes: { md5: '196066ADD11FB71C4C49CF1BB50D6D24' } });
    expect(good.outcome.status).toBe('verified');
    const bad = await service.verifySet(i, { declaredMediaHashes: { md5: '0'.repeat(32) } });
    expect(bad.outcome).toMatchObject({ status: 'failed', code: 'DECLARED_HASH_MISMATCH' });
  });
});

describe('E01 set stored in S3, staged by range reads within the budget', () => {
  let store: S3ObjectStore;
  let work: string;
  let staging: string;
  const keys: string[] = [];

  beforeAll(async () => {
    store = createObjectStore(testConfig());
    await store.ensureBuckets();
    work = mkdtempSync(join(tmpdir(), 'dems-ewf-s3-'));
    staging = mkdtempSync(join(tmpdir(), 'dems-ewf-s3-staging-'));
  });
  afterAll(async () => {
    for (const k of keys) await store.delete(store.buckets.originals, k);
    store.destroy();
    rmSync(work, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  });

  it('verifies a two-segment set read from the object store', async () => {
    const paths = await acquireSet(work, 3 * MiB, 2 * MiB);
    const segs: EwfSegmentInput[] = [];
    for (const [i, p] of paths.entries()) {
      const key = randomKey('extraction-ewf');
      keys.push(key);
      await store.put(store.buckets.originals, key, readFileSync(p));
      segs.push({ fileId: `s${i}`, name: basename(p), source: await ObjectStoreByteSource.open(store, store.buckets.originals, key), sha256: sha256(p) });
    }
    const service = new EwfVerificationService({ stagingDir: staging, stagingBudgetBytes: 16 * MiB, stagingWaitMs: 1000, verifyTimeLimitMs: { baseMs: 60_000, perGiBMs: 0 }, infoTimeLimitMs: 30_000 });
    const v = await service.verifySet(segs);
    expect(v.outcome.status).toBe('verified');
    expect(readdirSync(staging)).toEqual([]);
    expect(service.budget.inUse).toBe(0);
  });
});
