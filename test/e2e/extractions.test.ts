import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { ExtractionsService, type ExtractionEntryView, type ExtractionView } from '../../libs/evidence/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { fixturePath } from '../support/fixtures.js';
import { CLI, cliOptions } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';
import { acquireSet } from '../integration/extraction/ewf-fixtures.js';
import { buildUfdr, type UfdrFile } from '../integration/extraction/zip-fixtures.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;
const run = promisify(execFile);

/**
 * Device extractions through upload, seal, the real worker, ewfverify and S3: the E01 fixtures
 * verified against their stored MD5, an empty "E01" failed with its reason, a multi-segment set
 * waiting for its missing segment and then verified, a UFDR with one wrong hash failed naming the
 * file, and its inventory searchable and downloadable as CSV.
 */
describe('extractions: verification and inventory of device extractions (real API, worker, ewfverify, PostgreSQL, Redis, S3)', () => {
  const h = new ApiHarness();
  let worker: INestApplicationContext;
  let oic: TestUser;
  let caseId: string;
  const exhibits: Record<string, string> = {};
  const dir = mkdtempSync(join(tmpdir(), 'dems-extraction-e2e-'));
  let segments: string[] = [];
  const ufdrFiles: UfdrFile[] = [
    { path: 'files/Image/IMG_0001.jpg', data: Buffer.from('jpeg bytes one'), devicePath: '/DCIM/Camera/IMG_0001.jpg' },
    { path: 'files/Image/IMG_0002.jpg', data: Buffer.from('jpeg bytes two'), devicePath: '/DCIM/Camera/IMG_0002.jpg', deleted: true },
    { path: 'files/Document/=cmd.txt', data: Buffer.from('a formula-looking name'), devicePath: '/Download/=cmd.txt' },
    { path: 'files/Audio/note.amr', data: Buffer.from('amr bytes'), devicePath: '/Voice/note.amr', listedSha256: 'ab'.repeat(32) },
  ];

  const upload = async (ref: string, name: string, bytes: Buffer) => {
    const r = await tusUpload(`${h.base}/api/v1/uploads`, oic.token, bytes, {
      metadata: { caseId, exhibitId: exhibits[ref], filename: name, sha256: sha256(bytes), ...(bytes.length === 0 ? { empty: 'true' } : {}) },
    });
    expect(r.error).toBeUndefined();
    return uploadIdOf(r.url);
  };
  const extractions = async (ref: string): Promise<ExtractionView[]> => {
    const res = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibits[ref]}/extractions`, { token: oic.token, headers: JUSTIFY });
    expect(res.status).toBe(200);
    return res.body as unknown as ExtractionView[];
  };
  /** Waits until the exhibit has `count` sets and none is verifying (and, optionally, one matches). */
  const settled = async (ref: string, ok: (v: ExtractionView[]) => boolean): Promise<ExtractionView[]> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const v = await extractions(ref);
      if (v.length > 0 && v.every((x) => x.state !== 'verifying') && ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`extractions of ${ref} not settled: ${JSON.stringify(v.map((x) => [x.kind, x.state, x.outcome]))}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  beforeAll(async () => {
    await h.start({ QUEUE_PREFIX: `dems-test-extraction-${randomBytes(3).toString('hex')}`, JOB_RETRY_DELAY_SCALE: 0.01 });
    worker = await startWorker(h.config, { shutdownHooks: false });
    oic = await h.user('extraction-oic', 'investigator');
    caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Extraction case' } })).body.id as string;
    for (const ref of ['DX/1', 'DX/2', 'DX/3', 'DX/4', 'DX/5']) {
      const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: ref, sourceType: 'device_extraction', description: `extraction ${ref}`, producer: 'D X' } });
      expect(x.status).toBe(201);
      exhibits[ref] = x.body.id as string;
    }
    segments = await acquireSet(dir, 5 * MiB, 2 * MiB);
    expect(segments.map((s) => basename(s))).toEqual(['img.E01', 'img.E02', 'img.E03']);
    await upload('DX/1', 'ext2.E01', readFileSync(fixturePath('forensic-images/ext2.E01')));
    await upload('DX/2', 'image.E01', readFileSync(fixturePath('forensic-images/image.E01')));
    await upload('DX/3', 'bogus.E01', readFileSync(fixturePath('forensic-images/bogus.E01')));
    await upload('DX/4', 'img.E01', readFileSync(segments[0]));
    await upload('DX/4', 'img.E03', readFileSync(segments[2]));
    await upload('DX/5', 'KH-4.ufdr', await buildUfdr(ufdrFiles));
  }, 300_000);

  afterAll(async () => {
    await worker?.close();
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['DX/1', '196066add11fb71c4c49cf1bb50d6d24'],
    ['DX/2', '3ebb0b7dcd6b5fcd59a0020625d70994'],
  ])('%s: a single-segment E01 is verified against its stored MD5, with its header facts', async (ref, md5) => {
    const [v] = await settled(ref, () => true);
    expect(v).toMatchObject({ kind: 'ewf', state: 'verified', outcome: { code: null, reason: null } });
    expect(v.hashes).toEqual(expect.arrayContaining([expect.objectContaining({ algorithm: 'md5', stored: md5, calculated: md5, matches: true })]));
    expect((v.facts.header as { storedMd5?: string }).storedMd5).toBe(md5);
    expect(v.verifiedAt).not.toBeNull();
  }, 150_000);

  it('an empty file named .E01 fails with a clear reason', async () => {
    const [v] = await settled('DX/3', () => true);
    expect(v).toMatchObject({ kind: 'empty', state: 'failed', outcome: { code: 'EXTRACTION_EMPTY' } });
    expect(v.outcome.reason).toContain('bogus.E01 is empty (0 bytes)');
  }, 150_000);

  it('a multi-segment set waits for its missing segment, then is verified once it arrives; its segments are never duplicates of each other', async () => {
    const [waiting] = await settled('DX/4', (v) => v[0].state === 'received');
    expect(waiting).toMatchObject({ kind: 'ewf', state: 'received', missingSegments: [2], outcome: { code: 'EWF_SEGMENTS_MISSING' } });
    expect(waiting.outcome.reason).toContain('segment 2 (.E02) missing');
    await upload('DX/4', 'img.E02', readFileSync(segments[1]));
    const [done] = await settled('DX/4', (v) => v[0].state !== 'received');
    expect(done).toMatchObject({ kind: 'ewf', state: 'verified', missingSegments: [] });
    expect(done.members.map((m) => m.filename).sort()).toEqual(['img.E01', 'img.E02', 'img.E03']);
    expect(done.hashes.find((x) => (x as { algorithm: string }).algorithm === 'md5')).toMatchObject({ matches: true });
    const files = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibits['DX/4']}/files`, { token: oic.token, headers: JUSTIFY });
    for (const f of files.body as unknown as { duplicateOf: unknown }[]) expect(f.duplicateOf ?? null).toBeNull();
    // The case's custody log holds the outcome with its hashes.
    const [forCase] = [(await h.call('GET', `/api/v1/cases/${caseId}/extractions`, { token: oic.token, headers: JUSTIFY })).body as unknown as ExtractionView[]];
    expect(forCase.map((x) => x.state).sort()).toEqual(expect.arrayContaining(['verified', 'failed']));
  }, 200_000);

  it('a UFDR with one wrong hash fails naming the file; its inventory is searchable, paged and downloadable as safe CSV', async () => {
    const [v] = await settled('DX/5', () => true);
    expect(v).toMatchObject({ kind: 'ufdr', state: 'failed', outcome: { code: 'UFDR_HASH_MISMATCH' } });
    expect(v.outcome.reason).toContain('note.amr');
    expect(v.entryCount).toBe(ufdrFiles.length + 1);
    const base = `/api/v1/cases/${caseId}/extractions/${v.id}/entries`;
    const get = async (qs: string) => {
      const res = await h.call('GET', `${base}${qs}`, { token: oic.token, headers: JUSTIFY });
      expect(res.status).toBe(200);
      return res.body as unknown as { entries: ExtractionEntryView[]; nextCursor: string | null };
    };
    expect((await get('?extension=jpg')).entries.map((e) => e.name)).toEqual(['IMG_0001.jpg', 'IMG_0002.jpg']);
    expect((await get('?q=img_0002')).entries).toEqual([expect.objectContaining({ path: 'files/Image/IMG_0002.jpg', deleted: true, tagged: true, crcOk: true })]);
    expect((await get(`?sha256=${sha256(ufdrFiles[0].data)}`)).entries.map((e) => e.path)).toEqual(['files/Image/IMG_0001.jpg']);
    expect((await get('?deleted=true')).entries.map((e) => e.name)).toEqual(['IMG_0002.jpg']);
    // Keyset pages: two at a time, every entry once.
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = await get(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.entries.map((e) => e.path));
      cursor = page.nextCursor;
    }
    expect(seen.sort()).toEqual(['report.xml', ...ufdrFiles.map((f) => f.path)].sort());
    expect((await h.call('GET', `${base}?cursor=abc`, { token: oic.token, headers: JUSTIFY })).status).toBe(400);
    expect((await h.call('GET', base, { token: oic.token })).status).toBe(400);
    const csv = await fetch(`${h.base}${base}.csv?q=files/`, { headers: { authorization: `Bearer ${oic.token}`, ...JUSTIFY } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await csv.text();
    expect(text.split('\r\n')[0]).toBe('index,path,name,extension,isDirectory,size,compressedSize,modifiedAt,sha256,md5,crcOk,deleted,tagged,flags,status');
    expect(text).toContain(",'=cmd.txt,");
    expect(text).not.toContain('report.xml');
    const unknown = await h.call('GET', `/api/v1/cases/${caseId}/extractions/00000000-0000-4000-8000-000000000000/entries`, { token: oic.token, headers: JUSTIFY });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'EXTRACTION_NOT_FOUND' } });
  }, 150_000);

  it('records each outcome as a custody event with its hashes, and each read as an s.62 consultation', async () => {
    const [v] = await settled('DX/1', () => true);
    const events = await h.ds.query(`SELECT type, outcome, details FROM custody_events WHERE object_type = 'extraction' AND object_id = $1 ORDER BY leaf_index`, [v.id]);
    const verified = events.find((e: { type: string }) => e.type === 'extraction.verified');
    expect(verified.details).toMatchObject({ kind: 'ewf', state: 'verified', hashes: expect.arrayContaining([expect.objectContaining({ algorithm: 'md5', calculated: '196066add11fb71c4c49cf1bb50d6d24' })]) });
    const [ufdr] = await settled('DX/5', () => true);
    const failed = await h.ds.query(`SELECT details FROM custody_events WHERE type = 'extraction.failed' AND object_id = $1`, [ufdr.id]);
    expect(failed[0].details).toMatchObject({ code: 'UFDR_HASH_MISMATCH' });
    const consulted = await h.ds.query(`SELECT justification_code, details FROM custody_events WHERE type = 'extraction.inventory_consulted' AND object_id = $1 ORDER BY leaf_index`, [ufdr.id]);
    expect(consulted.length).toBeGreaterThan(0);
    expect(consulted[0].justification_code).toBe('investigation');
  }, 150_000);

  it('dems extraction status lists the sets; dems extraction inventory searches and writes CSV', async () => {
    await settled('DX/5', () => true);
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: oic.token, DEMS_CONFIG_DIR: dir };
    const status = await run('node', [CLI, 'extraction', 'status', caseId, '--reason', 'checking the extractions', '--json'], cliOptions(env));
    const listed = JSON.parse(status.stdout) as { id: string; kind: string; state: string; exhibitReference: string }[];
    expect(listed.find((x) => x.exhibitReference === 'DX/1')).toMatchObject({ kind: 'ewf', state: 'verified' });
    const ufdr = listed.find((x) => x.kind === 'ufdr')!;
    const table = await run('node', [CLI, 'extraction', 'status', caseId, '--reason', 'checking the extractions'], cliOptions(env)).catch((e) => e as { stdout: string; code: number });
    expect(table.stdout).toMatch(/DX\/5.*ufdr.*failed/);
    const inv = await run('node', [CLI, 'extraction', 'inventory', caseId, ufdr.id, '--reason', 'checking the extractions', '--extension', 'jpg'], cliOptions(env));
    expect(inv.stdout).toContain('files/Image/IMG_0002.jpg');
    expect(inv.stdout).not.toContain('note.amr');
    const csv = await run('node', [CLI, 'extraction', 'inventory', caseId, ufdr.id, '--reason', 'checking the extractions', '--csv'], cliOptions(env));
    const lines = csv.stdout.trim().split('\r\n');
    expect(lines).toHaveLength(ufdrFiles.length + 2);
    expect(csv.stdout).toContain(",'=cmd.txt,");
  }, 150_000);

  it('a job out of attempts before it could read the files leaves a visible failed set with the reason and a custody event', async () => {
    const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'DX/6', sourceType: 'other', description: 'extraction DX/6', producer: 'D X' } });
    exhibits['DX/6'] = x.body.id as string;
    const fileId = await upload('DX/6', 'phone.xry', randomBytes(1000));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const files = (await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibits['DX/6']}/files`, { token: oic.token, headers: JUSTIFY })).body as unknown as { id: string; state: string }[];
      if (files.find((f) => f.id === fileId)?.state === 'sealed') break;
      if (Date.now() > deadline) throw new Error('phone.xry not sealed');
      await new Promise((r) => setTimeout(r, 300));
    }
    await worker.get(ExtractionsService).failed(exhibits['DX/6'], fileId, 'JOB_FAILED', 'the object store did not answer (after 3 attempts)');
    const [v] = await extractions('DX/6');
    expect(v).toMatchObject({ state: 'failed', outcome: { code: 'JOB_FAILED', reason: 'the object store did not answer (after 3 attempts)' }, members: [{ fileId, filename: 'phone.xry' }] });
    const events = await h.ds.query(`SELECT outcome, details FROM custody_events WHERE type = 'extraction.failed' AND object_id = $1`, [v.id]);
    expect(events).toHaveLength(1);
    expect(events[0].details).toMatchObject({ code: 'JOB_FAILED', final: true });
    // It is not swept again (requeueStalled skips files that belong to a set, a failed one included).
    const member = await h.ds.query(`SELECT 1 FROM extractions WHERE exhibit_id = $1 AND $2::uuid = ANY(member_file_ids)`, [exhibits['DX/6'], fileId]);
    expect(member).toHaveLength(1);
  }, 120_000);
});
