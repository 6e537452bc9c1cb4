import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startWorker } from '../../apps/worker/bootstrap.js';
import type { ExtractionExportView, ExtractionNoteView, ExtractionView, ExtractionWorkflowView, StrategyVersionView } from '../../libs/evidence/index.js';
import { canonicalize } from '../../libs/ledger/index.js';
import { hashStoredObject, ObjectStore } from '../../libs/storage/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { CLI, cliOptions, testConfig } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';
import { buildUfdr, rawZip, type UfdrFile } from '../integration/extraction/zip-fixtures.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const run = promisify(execFile);

const STRATEGY = {
  investigativeQuestions: ['Did the suspect message the complainant between 1 and 3 March?'],
  attribution: 'Handset seized from the suspect on arrest; PIN given in interview.',
  scope: 'targeted',
  dataCategories: ['messages', 'images'],
  dateRanges: [{ from: '2026-03-01', to: '2026-03-03' }],
  searchTerms: ['complainant nickname'],
  volume: '64 GB handset, about 40,000 files',
  proportionality: 'Only messages and images in the three days around the offence; third-party content out of scope.',
  tools: [{ name: 'Cellebrite Physical Analyzer', version: '7.70.0.12' }],
};

/**
 * The analyst's workflow on a verified UFDR and the export of selected artefacts as a derived
 * exhibit, through the real API, worker, PostgreSQL, Redis and S3: examination states as custody
 * events, append-only notes, the versioned strategy record, a report that must be a sealed file of
 * a sub-exhibit, and exported files streamed out of the unchanged original, sealed with the
 * inventory's hashes and a provenance manifest that verifies; the CLI drives the same.
 */
describe('extractions: analyst workflow and artefact export (real API, worker, PostgreSQL, Redis, S3)', () => {
  const h = new ApiHarness();
  let worker: INestApplicationContext;
  let analyst: TestUser;
  let reviewer: TestUser;
  let caseId: string;
  const exhibits: Record<string, string> = {};
  const dir = mkdtempSync(join(tmpdir(), 'dems-extraction-workflow-'));
  const files: UfdrFile[] = [
    { path: 'files/Image/IMG_0001.jpg', data: randomBytes(70_000), devicePath: '/DCIM/IMG_0001.jpg' },
    { path: 'files/Image/IMG_0002.jpg', data: randomBytes(1000), devicePath: '/DCIM/IMG_0002.jpg', deleted: true },
    { path: 'files/Chats/chat.txt', data: Buffer.from('hello '.repeat(5000)), devicePath: '/data/chat.txt' },
    { path: 'files/Audio/note.amr', data: Buffer.from('amr bytes'), devicePath: '/Voice/note.amr' },
  ];
  let good: ExtractionView;
  let bad: ExtractionView;
  let ufdrBytes: Buffer;

  const url = (x: string, rest = '') => `/api/v1/cases/${caseId}/extractions/${x}${rest}`;
  const createExhibit = async (reference: string, sourceType = 'device_extraction') => {
    const r = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: analyst.token, body: { reference, sourceType, description: `exhibit ${reference}`, producer: 'K H' } });
    expect(r.status).toBe(201);
    exhibits[reference] = r.body.id as string;
  };
  const upload = async (ref: string, name: string, bytes: Buffer) => {
    const r = await tusUpload(`${h.base}/api/v1/uploads`, analyst.token, bytes, { metadata: { caseId, exhibitId: exhibits[ref], filename: name, sha256: sha256(bytes) } });
    expect(r.error).toBeUndefined();
    return uploadIdOf(r.url);
  };
  const until = async <T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 120_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(v).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 400));
    }
  };
  const settled = (ref: string) =>
    until(
      `extraction of ${ref} not settled`,
      async () => (await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibits[ref]}/extractions`, { token: analyst.token, headers: JUSTIFY })).body as unknown as ExtractionView[],
      (v) => v.length > 0 && v.every((x) => !['verifying', 'received'].includes(x.state)),
    ).then((v) => v[0]);
  const sealedFile = (ref: string, fileId: string) =>
    until(
      `${fileId} not sealed`,
      async () => (await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibits[ref]}/files`, { token: analyst.token, headers: JUSTIFY })).body as unknown as { id: string; state: string }[],
      (v) => v.find((f) => f.id === fileId)?.state === 'sealed',
    );
  const exportDone = (x: string, exportId: string) =>
    until(
      `export ${exportId} not settled`,
      async () => (await h.call('GET', url(x, `/exports/${exportId}`), { token: analyst.token, headers: JUSTIFY })).body as unknown as ExtractionExportView,
      (v) => v.state === 'completed' || v.state === 'failed',
    );
  /** As the schema owner: powers the service lacks (the append-only triggers bind even the owner; tampering with the inventory). */
  const asOwner = async (sql: string, params: unknown[]) => {
    // DATABASE_OWNER_URL where the service connects as a login role of its own (it names this database), else the service's URL is the owner's.
    const c = new pg.Client({ connectionString: (testConfig() as { DATABASE_OWNER_URL?: string }).DATABASE_OWNER_URL ?? h.config.DATABASE_URL });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  const events = (objectId: string, type: string) =>
    h.ds.query(`SELECT type, outcome, object_sha256, details FROM custody_events WHERE object_id = $1 AND type = $2 ORDER BY leaf_index`, [objectId, type]);

  beforeAll(async () => {
    await h.start({ QUEUE_PREFIX: `dems-test-extraction-workflow-${randomBytes(3).toString('hex')}`, JOB_RETRY_DELAY_SCALE: 0.01 });
    worker = await startWorker(h.config, { shutdownHooks: false });
    analyst = await h.user('kh-analyst', 'forensic_analyst');
    const oic = await h.user('kh-oic', 'investigator');
    reviewer = await h.user('kh-reviewer', 'supervisor');
    caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Workflow case' } })).body.id as string;
    for (const [u, caseRole] of [[analyst, 'forensic_analyst'], [reviewer, 'reviewer']] as const) {
      expect((await h.call('PUT', `/api/v1/cases/${caseId}/members/${u.id}`, { token: oic.token, body: { caseRole } })).status).toBe(200);
    }
    await createExhibit('KH/4');
    await createExhibit('KH/5');
    ufdrBytes = await buildUfdr(files);
    await upload('KH/4', 'KH-4.ufdr', ufdrBytes);
    await upload('KH/5', 'KH-5.ufdr', await buildUfdr([{ ...files[3], listedSha256: 'ab'.repeat(32) }]));
    good = await settled('KH/4');
    bad = await settled('KH/5');
    expect(good).toMatchObject({ kind: 'ufdr', state: 'verified', examinationState: 'awaiting', status: 'verified' });
    expect(bad).toMatchObject({ kind: 'ufdr', state: 'failed' });
  }, 300_000);

  afterAll(async () => {
    await worker?.close();
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves through the examination states, each transition a custody event; refuses the ones the rules forbid with a stable code', async () => {
    const move = (x: string, body: unknown, token = analyst.token) => h.call('POST', url(x, '/transitions'), { token, body });
    expect(await move(good.id, { to: 'examined' })).toMatchObject({ status: 409, body: { code: 'TRANSITION_NOT_ALLOWED' } });
    expect(await move(good.id, { to: 'not_examined' })).toMatchObject({ status: 400, body: { code: 'TRANSITION_REASON_REQUIRED' } });
    expect(await move(good.id, { to: 'reported' })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect((await move(good.id, { to: 'in_examination' }, reviewer.token)).status).toBe(403);
    const started = await move(good.id, { to: 'in_examination' });
    expect(started).toMatchObject({ status: 200, body: { status: 'in_examination', verificationState: 'verified', examinationState: 'in_examination' } });
    expect(await move(good.id, { to: 'in_examination' })).toMatchObject({ status: 409, body: { code: 'TRANSITION_NOT_ALLOWED' } });
    // A set that failed verification is examined only with a recorded reason.
    expect(await move(bad.id, { to: 'in_examination' })).toMatchObject({ status: 400, body: { code: 'TRANSITION_REASON_REQUIRED' } });
    expect(await move(bad.id, { to: 'in_examination', reason: 'only the chat is needed; the audio note hash mismatch is reported' })).toMatchObject({ status: 200 });
    const [event] = await events(good.id, 'extraction.examination_started');
    expect(event.details).toMatchObject({ exhibitId: exhibits['KH/4'], from: 'awaiting', to: 'in_examination', verificationState: 'verified' });
    const listed = (await h.call('GET', `/api/v1/cases/${caseId}/extractions`, { token: analyst.token, headers: JUSTIFY })).body as unknown as ExtractionView[];
    expect(listed.find((x) => x.id === good.id)).toMatchObject({ state: 'verified', status: 'in_examination' });
  });

  it('keeps notes append-only, timestamped and authored, with each hash in the ledger', async () => {
    const texts = ['Started on the chat database.', 'Line two\nwith a second line.'];
    for (const text of texts) expect((await h.call('POST', url(good.id, '/notes'), { token: analyst.token, body: { text } })).status).toBe(201);
    expect((await h.call('POST', url(good.id, '/notes'), { token: reviewer.token, body: { text: 'not mine to add' } })).status).toBe(403);
    expect((await h.call('POST', url(good.id, '/notes'), { token: analyst.token, body: { text: '  ' } })).body.code).toBe('VALIDATION_FAILED');
    expect((await h.call('GET', url(good.id, '/notes'), { token: analyst.token })).status).toBe(400);
    const notes = (await h.call('GET', url(good.id, '/notes'), { token: reviewer.token, headers: JUSTIFY })).body as unknown as ExtractionNoteView[];
    expect(notes.map((n) => [n.text, n.author.username, n.sha256])).toEqual(texts.map((t) => [t, analyst.username, sha256(t)]));
    expect(new Date(notes[0].createdAt).getTime()).toBeLessThanOrEqual(new Date(notes[1].createdAt).getTime());
    const recorded = await h.ds.query(`SELECT object_sha256 FROM custody_events WHERE type = 'extraction.note_added' AND object_id = ANY($1) ORDER BY leaf_index`, [notes.map((n) => n.id)]);
    expect(recorded.map((r: { object_sha256: string }) => r.object_sha256)).toEqual(texts.map((t) => sha256(t)));
    await expect(asOwner(`UPDATE extraction_notes SET body = 'rewritten' WHERE id = $1`, [notes[0].id])).rejects.toThrow();
    await expect(asOwner(`DELETE FROM extraction_notes WHERE id = $1`, [notes[0].id])).rejects.toThrow();
  });

  it('records the digital strategy as versions; each version hashed into the ledger; scope none needs the reason', async () => {
    const v1 = await h.call('POST', url(good.id, '/strategy'), { token: analyst.token, body: STRATEGY });
    expect(v1).toMatchObject({ status: 201, body: { version: 1 } });
    const v2 = await h.call('POST', url(good.id, '/strategy'), { token: analyst.token, body: { ...STRATEGY, searchTerms: ['complainant nickname', 'meet'] } });
    expect(v2).toMatchObject({ status: 201, body: { version: 2 } });
    const none = await h.call('POST', url(good.id, '/strategy'), { token: analyst.token, body: { ...STRATEGY, scope: 'none' } });
    expect(none).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(none.body.message).toContain('reasonNotExamined');
    const wrongDates = await h.call('POST', url(good.id, '/strategy'), { token: analyst.token, body: { ...STRATEGY, dateRanges: [{ from: '2026-03-03', to: '2026-03-01' }] } });
    expect(wrongDates.status).toBe(400);
    const versions = (await h.call('GET', url(good.id, '/strategy'), { token: analyst.token, headers: JUSTIFY })).body as unknown as StrategyVersionView[];
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
    expect(versions[1].record).toMatchObject({ ...STRATEGY, scope: 'targeted' });
    for (const v of versions) expect(v.sha256).toBe(sha256(canonicalize(v.record)));
    const recorded = await events(good.id, 'extraction.strategy_recorded');
    expect(recorded.map((e: { object_sha256: string }) => e.object_sha256)).toEqual([versions[1].sha256, versions[0].sha256]);
  });

  it('attaches a report only as a sealed file of a sub-exhibit; examined needs one', async () => {
    expect(await h.call('POST', url(good.id, '/transitions'), { token: analyst.token, body: { to: 'examined' } })).toMatchObject({ status: 409, body: { code: 'EXTRACTION_REPORT_REQUIRED' } });
    await createExhibit('KH/4/9', 'document');
    await createExhibit('KH/6', 'document');
    const reportBytes = Buffer.from('%PDF-1.4 examination report of KH/4');
    const reportId = await upload('KH/4/9', 'KH-4 report.pdf', reportBytes);
    const strayId = await upload('KH/6', 'other.pdf', Buffer.from('%PDF-1.4 unrelated'));
    await sealedFile('KH/4/9', reportId);
    await sealedFile('KH/6', strayId);
    expect(await h.call('POST', url(good.id, '/reports'), { token: analyst.token, body: { fileId: strayId, title: 'Wrong place' } })).toMatchObject({ status: 422, body: { code: 'REPORT_NOT_DERIVED' } });
    expect(await h.call('POST', url(good.id, '/reports'), { token: analyst.token, body: { fileId: '00000000-0000-4000-8000-000000000000', title: 'x' } })).toMatchObject({ status: 404, body: { code: 'EVIDENCE_FILE_NOT_FOUND' } });
    const attached = await h.call('POST', url(good.id, '/reports'), { token: analyst.token, body: { fileId: reportId, title: 'Examination report' } });
    expect(attached).toMatchObject({ status: 201, body: { fileId: reportId, exhibitReference: 'KH/4/9', sha256: sha256(reportBytes) } });
    expect(await h.call('POST', url(good.id, '/reports'), { token: analyst.token, body: { fileId: reportId, title: 'Again' } })).toMatchObject({ status: 409, body: { code: 'REPORT_ALREADY_ATTACHED' } });
    expect(await h.call('POST', url(good.id, '/transitions'), { token: analyst.token, body: { to: 'examined' } })).toMatchObject({ status: 200, body: { status: 'examined' } });
    const view = (await h.call('GET', url(good.id, '/workflow'), { token: reviewer.token, headers: JUSTIFY })).body as unknown as ExtractionWorkflowView;
    expect(view).toMatchObject({ status: 'examined', verificationState: 'verified', strategy: { version: 2 }, reports: [{ fileId: reportId, title: 'Examination report' }] });
    expect(view.transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['awaiting>in_examination', 'in_examination>examined']);
    const [event] = await events(good.id, 'extraction.report_attached');
    expect(event.details).toMatchObject({ fileId: reportId, sha256: sha256(reportBytes), reportExhibitId: exhibits['KH/4/9'] });
  }, 120_000);

  it('exports selected entries as a derived exhibit: bytes as inventoried, sealed, provenance recorded and verifiable, the original unchanged', async () => {
    const before = await h.ds.query(`SELECT sha256, bucket, object_key FROM evidence_files WHERE exhibit_id = $1`, [exhibits['KH/4']]);
    const res = await h.call('POST', url(good.id, '/exports'), {
      token: analyst.token,
      body: { paths: ['files/Image/IMG_0001.jpg'], sha256s: [sha256(files[2].data).toUpperCase()] },
    });
    expect(res.status).toBe(202);
    const queued = res.body as unknown as ExtractionExportView;
    // KH/4/9 holds the report: the next free sub-exhibit number is 10.
    expect(queued).toMatchObject({ state: 'queued', exhibitReference: 'KH/4/10', sourceExhibitId: exhibits['KH/4'] });
    const done = await exportDone(good.id, queued.id);
    expect(done).toMatchObject({ state: 'completed', provenanceVerified: true, failure: null });
    expect(done.items.map((i) => [i.path, i.fileState, i.sealedSha256])).toEqual([
      ['files/Image/IMG_0001.jpg', 'sealed', sha256(files[0].data)],
      ['files/Chats/chat.txt', 'sealed', sha256(files[2].data)],
    ]);
    // The stored bytes, read back from S3, are the entries' bytes.
    const store = worker.get(ObjectStore);
    const derived = await h.ds.query(`SELECT id, bucket, object_key, original_filename, state, sha256, exhibit_id FROM evidence_files WHERE exhibit_id = $1 ORDER BY original_filename`, [done.exhibitId]);
    expect(derived.map((f: { original_filename: string }) => f.original_filename)).toEqual(['IMG_0001.jpg', 'chat.txt']);
    for (const f of derived) expect((await hashStoredObject(store, f.bucket, f.object_key, { algorithms: ['sha256'] })).sha256).toBe(f.sha256);
    // The derived exhibit is a sub-exhibit of the source; the original is unchanged, in the database and in storage.
    const [exhibit] = await h.ds.query(`SELECT reference, parent_id FROM exhibits WHERE id = $1`, [done.exhibitId]);
    expect(exhibit).toEqual({ reference: 'KH/4/10', parent_id: exhibits['KH/4'] });
    expect(await h.ds.query(`SELECT sha256, bucket, object_key FROM evidence_files WHERE exhibit_id = $1`, [exhibits['KH/4']])).toEqual(before);
    expect((await hashStoredObject(store, before[0].bucket, before[0].object_key, { algorithms: ['sha256'] })).sha256).toBe(sha256(ufdrBytes));
    // Provenance: the manifest hashes to the value in the custody events; each file's events name its source path.
    expect(done.manifestSha256).toBe(sha256(canonicalize(done.manifest)));
    expect(done.manifest).toMatchObject({ extractionId: good.id, sourceFiles: [{ sha256: sha256(ufdrBytes) }], derivedExhibit: { reference: 'KH/4/10' } });
    const [requested] = await events(good.id, 'extraction.export_requested');
    const [exported] = await events(good.id, 'extraction.exported');
    expect(requested.object_sha256).toBe(done.manifestSha256);
    expect(exported.details).toMatchObject({ exportId: done.id, manifestSha256: done.manifestSha256, provenanceVerified: true, count: 2 });
    for (const item of done.items) {
      const [stored] = await events(item.fileId, 'evidence.exported_from_extraction');
      expect(stored.details).toMatchObject({ sourcePath: item.path, sourceIndex: item.index, sourceContainerSha256: sha256(ufdrBytes), exportId: done.id });
      expect(await events(item.fileId, 'evidence.sealed')).toHaveLength(1);
    }
  }, 120_000);

  it('refuses exports it cannot make faithfully, with a stable code and nothing created', async () => {
    const count = async () => Number((await h.ds.query(`SELECT count(*) FROM exhibits WHERE case_id = $1`, [caseId]))[0].count);
    const n = await count();
    const ask = (x: string, body: unknown, token = analyst.token) => h.call('POST', url(x, '/exports'), { token, body });
    const missing = await ask(good.id, { paths: ['files/Image/IMG_0001.jpg', 'files/nope.jpg'] });
    expect(missing).toMatchObject({ status: 404, body: { code: 'EXPORT_ENTRY_NOT_FOUND' } });
    expect(missing.body.message).toContain('files/nope.jpg');
    expect(await ask(good.id, {})).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await ask(good.id, { indexes: [0], reference: 'KH/5/1' })).toMatchObject({ status: 422, body: { code: 'EXPORT_REFERENCE_NOT_DERIVED' } });
    expect(await ask(good.id, { indexes: [0], reference: 'KH/4/9' })).toMatchObject({ status: 409, body: { code: 'EXHIBIT_REFERENCE_TAKEN' } });
    expect(await ask(bad.id, { indexes: [0] })).toMatchObject({ status: 409, body: { code: 'EXTRACTION_NOT_VERIFIED' } });
    expect((await ask(good.id, { indexes: [0] }, reviewer.token)).status).toBe(403);
    expect(await ask('00000000-0000-4000-8000-000000000000', { indexes: [0] })).toMatchObject({ status: 404, body: { code: 'EXTRACTION_NOT_FOUND' } });
    expect(await count()).toBe(n);
  });

  it('an entry whose bytes no longer match the inventory is never sealed: the export fails naming it', async () => {
    const [entry] = await h.ds.query(`SELECT idx, sha256 FROM extraction_entries WHERE extraction_id = $1 AND path = 'files/Audio/note.amr'`, [good.id]);
    // The inventory row is altered here to stand in for bytes that changed under it.
    await asOwner(`UPDATE extraction_entries SET sha256 = $3 WHERE extraction_id = $1 AND idx = $2`, [good.id, entry.idx, 'cd'.repeat(32)]);
    try {
      const res = await h.call('POST', url(good.id, '/exports'), { token: analyst.token, body: { indexes: [entry.idx] } });
      expect(res.status).toBe(202);
      const done = await exportDone(good.id, res.body.id as string);
      expect(done).toMatchObject({ state: 'failed', provenanceVerified: false, failure: { code: 'EXTRACTION_EXPORT_HASH_MISMATCH' } });
      expect(done.failure!.reason).toContain('note.amr');
      expect(done.items[0].fileState).toBeNull();
      expect(await h.ds.query(`SELECT 1 FROM evidence_files WHERE exhibit_id = $1`, [done.exhibitId])).toHaveLength(0);
      const [failed] = await events(good.id, 'extraction.export_failed');
      expect(failed).toMatchObject({ outcome: 'failed', details: { exportId: done.id, code: 'EXTRACTION_EXPORT_HASH_MISMATCH' } });
    } finally {
      await asOwner(`UPDATE extraction_entries SET sha256 = $3 WHERE extraction_id = $1 AND idx = $2`, [good.id, entry.idx, entry.sha256]);
    }
  }, 120_000);

  it('exports entries with hostile names: the names are metadata only, nothing is written outside storage', async () => {
    const tag = randomBytes(4).toString('hex');
    const names = [`../../../../../../tmp/dems-export-evil-${tag}.txt`, `Download/invoice\u202Efdp.exe`]; // standalone-repository: allow
    await createExhibit('KH/7');
    await upload('KH/7', 'graykey.zip', rawZip(names.map((name, i) => ({ name, data: Buffer.from(`hostile ${i}`), method: 0 as const }))));
    const zip = await settled('KH/7');
    expect(zip).toMatchObject({ kind: 'zip', state: 'verified_with_warnings' });
    const res = await h.call('POST', url(zip.id, '/exports'), { token: analyst.token, body: { indexes: [0, 1] } });
    expect(res.status).toBe(202);
    const done = await exportDone(zip.id, res.body.id as string);
    expect(done).toMatchObject({ state: 'completed', provenanceVerified: true, exhibitReference: 'KH/7/1' });
    expect(done.items.map((i) => i.path)).toEqual(names);
    const stored = await h.ds.query(`SELECT original_filename, object_key, sha256 FROM evidence_files WHERE exhibit_id = $1 ORDER BY original_filename`, [done.exhibitId]);
    expect(stored.map((f: { original_filename: string }) => f.original_filename).sort()).toEqual([`dems-export-evil-${tag}.txt`, 'invoice\uFFFDfdp.exe'].sort());
    for (const f of stored) expect(f.object_key).toMatch(/^originals\/[0-9a-f-]{36}$/);
    expect(existsSync(`/tmp/dems-export-evil-${tag}.txt`)).toBe(false);
  }, 150_000);

  it('dems extraction export by path pattern and hash list, with the workflow commands', async () => {
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: analyst.token, DEMS_CONFIG_DIR: dir };
    const reason = ['--reason', 'exporting artefacts for the file'];
    const hashes = join(dir, 'hashes.txt');
    writeFileSync(hashes, `${sha256(files[3].data)}  note.amr\n`);
    const out = await run('node', [CLI, 'extraction', 'export', caseId, good.id, '--pattern', 'files/Image/**', '--sha256-file', hashes, ...reason, '--json'], cliOptions(env));
    const done = JSON.parse(out.stdout) as ExtractionExportView;
    expect(done).toMatchObject({ state: 'completed', provenanceVerified: true });
    expect(done.items.map((i) => i.path).sort()).toEqual(['files/Audio/note.amr', 'files/Image/IMG_0001.jpg', 'files/Image/IMG_0002.jpg']);
    const none = await run('node', [CLI, 'extraction', 'export', caseId, good.id, '--pattern', 'nothing/**', ...reason], cliOptions(env)).catch((e) => e as { code: number; stderr: string });
    expect(none).toMatchObject({ code: 1 });
    expect(none.stderr).toContain('EXPORT_NOTHING_MATCHED');
    await run('node', [CLI, 'extraction', 'note', caseId, bad.id, 'Audio note hash mismatch noted.'], cliOptions(env));
    const notes = await run('node', [CLI, 'extraction', 'notes', caseId, bad.id, ...reason, '--json'], cliOptions(env));
    expect((JSON.parse(notes.stdout) as ExtractionNoteView[]).map((n) => n.text)).toEqual(['Audio note hash mismatch noted.']);
    const strategyFile = join(dir, 'strategy.json');
    writeFileSync(strategyFile, JSON.stringify({ ...STRATEGY, scope: 'none', reasonNotExamined: 'Other handsets answer the questions.' }));
    expect((await run('node', [CLI, 'extraction', 'strategy', caseId, bad.id, '--file', strategyFile, ...reason], cliOptions(env))).stdout).toContain('Strategy version 1 recorded');
    const moved = await run('node', [CLI, 'extraction', 'transition', caseId, bad.id, 'not_examined', '--reason', 'Strategy: not needed'], cliOptions(env));
    expect(moved.stdout).toContain('is now not_examined');
    const status = await run('node', [CLI, 'extraction', 'status', caseId, ...reason], cliOptions(env)).catch((e) => e as { stdout: string });
    expect(status.stdout).toMatch(/KH\/5.*ufdr.*not_examined/);
  }, 180_000);
});
