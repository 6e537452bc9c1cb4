import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { execFile, spawnSync, type ExecFileException } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { FixityService } from '../../libs/custody/index.js';
import { verifyBundle } from '../../libs/disclosure/index.js';
import { createObjectStore, type S3ObjectStore } from '../../libs/storage/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { CLI, cliOptions } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

const execFileAsync = promisify(execFile);
async function dems(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('node', [CLI, ...args], cliOptions(env));
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as ExecFileException & { stdout: string; stderr: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Every entry of a (small) ZIP in memory. */
function readZip(path: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (e: yauzl.Entry) =>
        zip.openReadStream(e, (x, s) => {
          if (x || !s) return reject(x);
          const chunks: Buffer[] = [];
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('end', () => {
            out.set(e.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        }),
      );
      zip.on('end', () => resolve(out));
      zip.readEntry();
    });
  });
}

/** Writes entries back as a ZIP (to tamper with a copy of a bundle). */
async function writeZip(path: string, entries: Map<string, Buffer>): Promise<void> {
  const z = new yazl.ZipFile();
  for (const [name, data] of entries) z.addBuffer(data, name, { compress: false, mtime: new Date(0) });
  z.end();
  await new Promise<void>((resolve, reject) => z.outputStream.pipe(createWriteStream(path)).on('close', resolve).on('error', reject));
}

/**
 * Disclosure end to end with real services: case, exhibits, tus uploads sealed by a real worker,
 * MG6 schedules, a bundle built by the worker into S3, shared with a CPS user, downloaded with an
 * interrupted Range download resumed by `dems disclosure download`, then checked offline by
 * `dems verify bundle`, unzip -t, sha256sum -c and ssh-keygen -Y verify; tampered copies are
 * caught and named.
 */
describe('disclosure: schedules, bundles, sharing, download and offline verification (real API, worker, PostgreSQL, Redis, S3)', () => {
  const h = new ApiHarness();
  let store: S3ObjectStore;
  let worker: INestApplicationContext;
  let oic: TestUser;
  let discloser: TestUser;
  let cps: TestUser;
  let cpsOther: TestUser;
  let caseId: string;
  let js1: string;
  let js2: string;
  let dir: string;
  const files: Record<string, { id: string; data: Buffer }> = {};
  let bundleId: string;
  let bundleZip: string;

  const until = async <T>(what: string, get: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 90_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await get();
      if (done(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v).slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const upload = async (exhibitId: string, filename: string, data: Buffer) => {
    const res = await tusUpload(`${h.base}/api/v1/uploads`, oic.token, data, { metadata: { caseId, exhibitId, filename } });
    expect(res.error).toBeUndefined();
    const id = uploadIdOf(res.url);
    await until(`seal of ${filename}`, async () => (await h.call('GET', `/api/v1/uploads/${id}`, { token: oic.token })).body.state, (s) => s === 'sealed' || s === 'quarantined', 60_000);
    return id;
  };
  const bundle = (id: string, token = discloser.token) => h.call('GET', `/api/v1/disclosure/bundles/${id}`, { token });
  const built = (id: string) => until(`bundle ${id}`, async () => (await bundle(id)).body, (b) => b.state === 'ready' || b.state === 'failed');

  beforeAll(async () => {
    await h.start({ QUEUE_PREFIX: `dems-test-disc-${randomBytes(3).toString('hex')}`, JOB_RETRY_DELAY_SCALE: 0.001 });
    store = createObjectStore(h.config);
    await store.ensureBuckets();
    worker = await startWorker(h.config, { shutdownHooks: false });
    dir = await mkdtemp(join(tmpdir(), 'dems-disclosure-'));
    oic = await h.user('disc-oic', 'investigator');
    discloser = await h.user('disc-do', 'disclosure_officer');
    cps = await h.user('disc-cps', 'cps_prosecutor');
    cpsOther = await h.user('disc-cps2', 'cps_prosecutor');
    caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Disclosure case' } })).body.id as string;
    expect((await h.call('PUT', `/api/v1/cases/${caseId}/members/${discloser.id}`, { token: oic.token, body: { caseRole: 'disclosure_officer' } })).status).toBe(200);
    const exhibit = async (reference: string, description: string) =>
      (await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference, sourceType: 'cctv', description, producer: 'J Smith' } })).body.id as string;
    js1 = await exhibit('JS/1', 'Shop CCTV export');
    js2 = await exhibit('JS/2', 'Informant contact log');
    expect((await h.call('PATCH', `/api/v1/cases/${caseId}/exhibits/${js2}`, { token: discloser.token, body: { disclosureUse: 'unused', sensitivity: 'sensitive' } })).status).toBe(200);
    for (const [key, x, name, size] of [['a', js1, 'camera 1.dav', 300_000], ['b', js1, 'notes: "front"?.txt', 5_000], ['s', js2, 'contact-log.pdf', 3_000]] as const) {
      const data = randomBytes(size);
      files[key] = { id: await upload(x, name, data), data };
    }
  });

  afterAll(async () => {
    await worker?.close();
    store?.destroy();
    await h.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('schedules: versions kept, item numbers continue and are never reused, nil MG6D, CSV and PDF', async () => {
    const post = (body: unknown, token = discloser.token) => h.call('POST', `/api/v1/cases/${caseId}/disclosure/schedules`, { token, body });
    const v1 = await post({ schedule: 'MG6C', entries: [
      { exhibitId: js1, fields: { description: 'Shop CCTV export, 12 Jan 2026', location: 'Property store' } },
      { fields: { description: 'Pocket notebook, 12 Jan 2026', location: 'Station' } },
    ] });
    expect(v1.status).toBe(201);
    expect((v1.body.entries as { itemNumber: number }[]).map((e) => e.itemNumber)).toEqual([1, 2]);
    // v2 leaves item 2 off and adds one: the new item is 3, never 2 again.
    const v2 = await post({ schedule: 'MG6C', entries: [
      { itemNumber: 1, exhibitId: js1, fields: { description: 'Shop CCTV export, 12 Jan 2026', location: 'Property store', cpsDecision: 'D' } },
      { fields: { description: 'House-to-house log, 13 Jan 2026', location: 'MIR' } },
    ] });
    expect(v2.body.version).toBe(2);
    expect((v2.body.entries as { itemNumber: number }[]).map((e) => e.itemNumber)).toEqual([1, 3]);
    // An item number never given is refused; a sensitive exhibit cannot go on the MG6C; investigators may not write schedules.
    expect((await post({ schedule: 'MG6C', entries: [{ itemNumber: 9, fields: { description: 'x', location: 'y' } }] })).body.code).toBe('SCHEDULE_INVALID');
    expect((await post({ schedule: 'MG6C', entries: [{ exhibitId: js2, fields: { description: 'x', location: 'y' } }] })).body.code).toBe('SCHEDULE_INVALID');
    const inv = await h.user('disc-inv', 'investigator');
    await h.call('PUT', `/api/v1/cases/${caseId}/members/${inv.id}`, { token: oic.token, body: { caseRole: 'investigator' } });
    expect((await post({ schedule: 'MG6C', entries: [{ fields: { description: 'x', location: 'y' } }] }, inv.token)).status).toBe(403);
    expect((await h.call('GET', `/api/v1/cases/${caseId}/disclosure/schedules`, { token: cps.token })).status).toBe(404);

    // A nil MG6D, certified; then a real one: numbering of its own.
    const nil = await post({ schedule: 'MG6D', nilCertification: { statement: 'I certify that there is no sensitive material' } });
    expect(nil.status).toBe(201);
    expect(nil.body).toMatchObject({ nilCertified: true, certification: { by: discloser.username, statement: 'I certify that there is no sensitive material' } });
    expect((await post({ schedule: 'MG6D', entries: [] })).body.code).toBe('SCHEDULE_INVALID');
    const d2 = await post({ schedule: 'MG6D', entries: [{ exhibitId: js2, fields: { description: 'Informant contact log', sensitivityReason: 'Identifies a covert human intelligence source' } }] });
    expect(d2.body).toMatchObject({ version: 2, nilCertified: false });
    const e1 = await post({ schedule: 'MG6E', entries: [{ itemNumber: 3, fields: { schedule: 'MG6C', reason: 'Shows a second person at the door', copyToCps: 'yes' } }] });
    expect(e1.status).toBe(201);
    expect((await post({ schedule: 'MG6E', entries: [{ itemNumber: 7, fields: { schedule: 'MG6C', reason: 'x' } }] })).body.code).toBe('SCHEDULE_INVALID');

    const csv = await h.call('GET', `/api/v1/cases/${caseId}/disclosure/schedules/MG6C/1?format=csv`, { token: discloser.token });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text.split('\r\n')).toEqual([
      'Item no.,Description and relevant date,Location,CPS decision (D / CND / I),Comment',
      '1,"Shop CCTV export, 12 Jan 2026",Property store,,',
      '2,"Pocket notebook, 12 Jan 2026",Station,,',
      '',
    ]);
    const nilCsv = await h.call('GET', `/api/v1/cases/${caseId}/disclosure/schedules/MG6D/1?format=csv`, { token: discloser.token });
    expect(nilCsv.text.split('\r\n')[0]).toBe('Item no.,Description of item,Reason for sensitivity,CPS view (agree sensitive / PII application / comment),Comment');
    expect(nilCsv.text).toContain('NIL RETURN: I certify that there is no sensitive material');
    const pdf = await fetch(`${h.base}/api/v1/cases/${caseId}/disclosure/schedules/MG6C/latest?format=pdf`, { headers: { authorization: `Bearer ${discloser.token}` } });
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(bytes.toString('latin1')).toMatch(/\/Count 1\b/);
    const list = (await h.call('GET', `/api/v1/cases/${caseId}/disclosure/schedules`, { token: oic.token })).body as unknown as { schedule: string; version: number }[];
    expect(list.map((v) => `${v.schedule}v${v.version}`)).toEqual(['MG6Cv1', 'MG6Cv2', 'MG6Dv1', 'MG6Dv2', 'MG6Ev1']);
  });

  it('refuses MG6D material in a bundle that is not CPS-only', async () => {
    const req = (body: unknown) => h.call('POST', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: discloser.token, body });
    expect((await req({ exhibitIds: [js2], audience: 'cps_and_defence' })).body.code).toBe('BUNDLE_AUDIENCE_REFUSED');
    expect((await req({ exhibitIds: [js1], schedules: ['MG6D'], audience: 'cps_and_defence' })).body.code).toBe('BUNDLE_AUDIENCE_REFUSED');
  });

  it('builds the bundle in the worker, streamed into S3, as a custody event', async () => {
    const r = await h.call('POST', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: discloser.token, body: { exhibitIds: [js1], schedules: ['MG6C', 'MG6E'], audience: 'cps_and_defence' } });
    expect(r.status).toBe(202);
    bundleId = r.body.id as string;
    const b = await built(bundleId);
    expect(b).toMatchObject({ state: 'ready', failure: null, version: 1 });
    const events = (await h.ds.query(`SELECT type, s62_operation FROM custody_events WHERE object_type = 'disclosure_bundle' AND object_id = $1 ORDER BY leaf_index`, [bundleId])) as { type: string }[];
    expect(events.map((e) => e.type)).toEqual(['disclosure.bundle_requested', 'disclosure.bundle_built']);
  });

  it('sharing needs an s.62 justification, recorded in the event with the recipient; only a CPS user can receive a share', async () => {
    const hour = () => new Date(Date.now() + 3600_000).toISOString();
    const none = await h.call('POST', `/api/v1/disclosure/bundles/${bundleId}/shares`, { token: discloser.token, body: { recipientId: cps.id, expiresAt: hour() } });
    expect([none.status, none.body.code]).toEqual([400, 'JUSTIFICATION_REQUIRED']);
    expect(none.body.message).toContain('Sharing a bundle is a disclosure');
    expect((await h.call('POST', `/api/v1/disclosure/bundles/${bundleId}/shares`, { token: discloser.token, headers: JUSTIFY, body: { recipientId: oic.id, expiresAt: hour() } })).body.code).toBe('SHARE_INVALID');
    const reason = { 'x-justification-code': 'disclosure_review', 'x-justification-text': 'initial disclosure to the reviewing lawyer' };
    const share = await h.call('POST', `/api/v1/disclosure/bundles/${bundleId}/shares`, { token: discloser.token, headers: reason, body: { recipientId: cps.id, expiresAt: hour() } });
    expect(share.status).toBe(201);
    const events = (await h.ds.query(
      `SELECT s62_operation, recipient, justification_code, justification_text FROM custody_events WHERE type = 'disclosure.bundle_shared' AND object_id = $1`,
      [bundleId],
    )) as Record<string, string>[];
    expect(events).toEqual([{ s62_operation: 'disclosure', recipient: cps.username, justification_code: 'disclosure_review', justification_text: 'initial disclosure to the reviewing lawyer' }]);
  });

  it("a CPS user's case list shows only the cases shared with them, read-only, counting only the shared exhibits", async () => {
    const list = (token: string) => h.call('GET', '/api/v1/cases', { token });
    const mine = await list(cps.token);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ total: 1, items: [{ id: caseId, access: { caseRole: null, via: 'share' }, counts: { exhibits: 1 } }] });
    expect((await list(cpsOther.token)).body).toMatchObject({ total: 0, items: [] });
    // The case itself, read-only and logged; its bundles shared with them; nothing else of the case.
    const one = await h.call('GET', `/api/v1/cases/${caseId}`, { token: cps.token });
    expect(one.body).toMatchObject({ id: caseId, access: { caseRole: null, via: 'share' }, counts: { exhibits: 1 } });
    expect((await h.call('GET', `/api/v1/cases/${caseId}`, { token: cpsOther.token })).body.code).toBe('CASE_NOT_FOUND');
    const theirs = await h.call('GET', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: cps.token });
    expect((theirs.body as unknown as { id: string }[]).map((b) => b.id)).toEqual([bundleId]);
    expect((await h.call('GET', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: cpsOther.token })).status).toBe(404);
    for (const path of ['exhibits', 'events', 'members', 'disclosure/schedules']) {
      expect([path, (await h.call('GET', `/api/v1/cases/${caseId}/${path}`, { token: cps.token, headers: JUSTIFY })).status]).toEqual([path, 404]);
    }
    expect((await h.call('PATCH', `/api/v1/cases/${caseId}`, { token: cps.token, body: { title: 'changed by the CPS' } })).status).toBe(404);
    const consulted = (await h.ds.query(`SELECT details FROM custody_events WHERE type = 'case.consulted' AND case_id = $1 AND actor_id = $2`, [caseId, cps.id])) as { details: unknown }[];
    expect(consulted).toEqual([{ details: { via: 'share' } }]);
  });

  it('a CPS user without a share gets 404; with one, downloads with an interrupted Range download resumed, each an s.62 disclosure entry', async () => {
    expect((await bundle(bundleId, cpsOther.token)).status).toBe(404);
    expect((await h.call('GET', `/api/v1/disclosure/bundles/${bundleId}/download`, { token: cpsOther.token })).status).toBe(404);
    expect((await h.call('POST', `/api/v1/disclosure/bundles/${bundleId}/download-url`, { token: cpsOther.token })).status).toBe(404);
    expect(((await h.call('GET', '/api/v1/disclosure/bundles', { token: cps.token })).body as unknown as { id: string }[]).map((b) => b.id)).toEqual([bundleId]);
    expect((await h.call('GET', '/api/v1/disclosure/bundles', { token: cpsOther.token })).body).toEqual([]);
    const view = (await bundle(bundleId, cps.token)).body;
    expect(view.shares).toBeUndefined();

    // An interrupted download: the first 100 000 bytes, as `dems disclosure download` leaves them.
    bundleZip = join(dir, 'bundle.zip');
    const first = await fetch(`${h.base}/api/v1/disclosure/bundles/${bundleId}/download`, { headers: { authorization: `Bearer ${cps.token}`, range: 'bytes=0-99999' } });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-99999/${view.size}`);
    await writeFile(`${bundleZip}.part`, Buffer.from(await first.arrayBuffer()));
    await writeFile(`${bundleZip}.part.etag`, first.headers.get('etag')!);
    // The CLI resumes it through the API (--via-api: Range with If-Range) ...
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: cps.token };
    const viaApi = await dems(['disclosure', 'download', bundleId, '--out', bundleZip, '--via-api'], env);
    expect(viaApi.stderr).toBe('');
    expect(viaApi.stdout).toContain('resumed at byte 100000');
    const zip = await readFile(bundleZip);
    expect(zip.length).toBe(view.size);
    expect(createHash('sha256').update(zip).digest('hex')).toBe(view.sha256);
    // ... and, by default, straight from storage with a presigned URL, resuming the same way.
    const direct = join(dir, 'direct.zip');
    await writeFile(`${direct}.part`, zip.subarray(0, 150_000));
    await writeFile(`${direct}.part.etag`, `"${view.sha256}"`);
    const dl = await dems(['disclosure', 'download', bundleId, '--out', direct, '--reason-code', 'court_preparation', '--reason', 'preparing the trial bundle'], env);
    expect(dl.stderr).toBe('');
    expect(dl.stdout).toContain('resumed at byte 150000');
    expect((await readFile(direct)).equals(zip)).toBe(true);
    const downloads = (await h.ds.query(
      `SELECT s62_operation, recipient, justification_code, details FROM custody_events WHERE type = 'disclosure.bundle_downloaded' AND object_id = $1 ORDER BY leaf_index`,
      [bundleId],
    )) as { s62_operation: string; recipient: string; justification_code: string | null; details: { start: number; partial: boolean; via?: string } }[];
    expect(downloads.map((d) => [d.s62_operation, d.recipient, d.details.start, d.details.partial, d.details.via ?? 'api', d.justification_code])).toEqual([
      ['disclosure', cps.username, 0, true, 'api', null],
      ['disclosure', cps.username, 100000, true, 'api', null],
      ['disclosure', cps.username, 0, false, 'presigned_url', 'court_preparation'],
    ]);
  });

  it('a presigned URL: recorded before it is issued, short-lived, for the bundle object only; curl resumes it with Range', async () => {
    const before = Number((await h.ds.query(`SELECT count(*) FROM custody_events WHERE type = 'disclosure.bundle_downloaded' AND object_id = $1`, [bundleId]))[0].count);
    const r = await h.call('POST', `/api/v1/disclosure/bundles/${bundleId}/download-url`, { token: cps.token });
    expect(r.status).toBe(200);
    const link = r.body as { url: string; expiresAt: string; size: number; sha256: string; fileName: string };
    const view = (await bundle(bundleId, cps.token)).body as { size: number; sha256: string };
    expect(link).toMatchObject({ size: view.size, sha256: view.sha256, fileName: `bundle-1-${bundleId}.zip` });
    const ttl = (Date.parse(link.expiresAt) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(h.config.S3_PRESIGN_TTL_SECONDS);
    const [event] = (await h.ds.query(
      `SELECT recipient, details FROM custody_events WHERE type = 'disclosure.bundle_downloaded' AND object_id = $1 ORDER BY leaf_index DESC LIMIT 1`,
      [bundleId],
    )) as { recipient: string; details: Record<string, unknown> }[];
    expect(Number((await h.ds.query(`SELECT count(*) FROM custody_events WHERE type = 'disclosure.bundle_downloaded' AND object_id = $1`, [bundleId]))[0].count)).toBe(before + 1);
    expect(event).toEqual({ recipient: cps.username, details: { start: 0, end: view.size - 1, partial: false, via: 'presigned_url', urlExpiresAt: link.expiresAt, shareId: expect.any(String) } });
    // A standard client: the first 64 KiB, then curl -C - carries on from where the file stops.
    const out = join(dir, 'curl.zip');
    expect(spawnSync('curl', ['-sf', '-r', '0-65535', '-o', out, link.url]).status).toBe(0);
    expect((await readFile(out)).length).toBe(65536);
    const resumed = spawnSync('curl', ['-sf', '-C', '-', '-o', out, '-w', '%{http_code}', link.url], { encoding: 'utf8' });
    expect([resumed.status, resumed.stdout]).toEqual([0, '206']);
    const bytes = await readFile(out);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(view.sha256);
    expect(spawnSync('unzip', ['-t', out]).status).toBe(0);
    // Scoped to that object: the same signature for another key (the bundle's own source file) is refused by storage.
    const other = new URL(link.url);
    other.pathname = other.pathname.replace(/[^/]+\.zip$/, 'other.zip');
    expect((await fetch(other)).status).toBe(403);
  });

  it('checks offline: dems verify bundle, unzip -t, sha256sum -c, ssh-keygen -Y verify', async () => {
    const v = await dems(['verify', 'bundle', bundleZip], {});
    expect(v.stdout).toContain('bundle OK');
    expect(v.code).toBe(0);
    expect(spawnSync('unzip', ['-t', bundleZip]).status).toBe(0);
    const out = join(dir, 'unzipped');
    expect(spawnSync('unzip', ['-q', bundleZip, '-d', out]).status).toBe(0);
    const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
    expect(sums.status).toBe(0);
    expect(sums.stdout).toContain('exhibits/JS_1/camera 1.dav: OK');
    expect(sums.stdout).not.toContain('FAILED');
    const ssh = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', 'allowed_signers', '-I', 'disclosure@police.example', '-n', 'dems-bundle-v1@police.example', '-s', 'manifest.json.sig'], {
      cwd: out,
      input: await readFile(join(out, 'manifest.json')),
      encoding: 'utf8',
    });
    expect(`${ssh.stdout}${ssh.stderr}`).toContain('Good "dems-bundle-v1@police.example" signature');
    expect(ssh.status).toBe(0);
    // The originals are the sealed bytes; the awkward file name is sanitised in the entry and kept in the manifest.
    expect((await readFile(join(out, 'exhibits/JS_1/camera 1.dav'))).equals(files.a.data)).toBe(true);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.files.find((f: { originalFilename?: string }) => f.originalFilename === 'notes: "front"?.txt').path).toBe('exhibits/JS_1/notes_ _front__.txt');
    expect(manifest.files.some((f: { exhibitReference?: string }) => f.exhibitReference === 'JS/2')).toBe(false);
    const readme = await readFile(join(out, 'README.txt'), 'utf8');
    for (const s of ['unzip -t', 'sha256sum -c SHA256SUMS', 'ssh-keygen -Y verify']) expect(readme).toContain(s);
    const extract = (await readFile(join(out, 'custody/JS_1.jsonl'), 'utf8')).trim().split('\n');
    expect(extract.length).toBeGreaterThan(3);
    expect(JSON.parse(extract[0]).format).toBe('dems-custody-extract/1');
    // Trust pinned out of band: the service's published keys.
    const keys = (await h.call('GET', '/api/v1/disclosure/signing-key', {})).body as { allowedSigners: string; ledgerVerifierKey: string };
    expect(keys.allowedSigners).toBe(await readFile(join(out, 'allowed_signers'), 'utf8'));
    const pinned = await verifyBundle(bundleZip, { allowedSigners: keys.allowedSigners, ledgerKey: keys.ledgerVerifierKey });
    expect(pinned).toMatchObject({ ok: true, problems: [], warnings: [] });
    expect(pinned.checked.custodyEvents).toBe(extract.length - 1);
  });

  it('names what was tampered with: a byte of a file, the manifest, a custody line, the last custody lines', async () => {
    const entries = await readZip(bundleZip);
    const tampered = async (name: string, change: (m: Map<string, Buffer>) => void) => {
      const copy = new Map([...entries].map(([k, v]) => [k, Buffer.from(v)]));
      change(copy);
      const path = join(dir, `${name}.zip`);
      await writeZip(path, copy);
      const r = await dems(['verify', 'bundle', path, '--json'], {});
      expect(r.code).toBe(1);
      return JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
    };
    const byte = await tampered('byte', (m) => {
      m.get('exhibits/JS_1/camera 1.dav')![1000] ^= 0xff;
    });
    expect(byte.problems.some((p) => p.startsWith('exhibits/JS_1/camera 1.dav: changed'))).toBe(true);

    const manifest = await tampered('manifest', (m) => {
      m.set('manifest.json', Buffer.from(m.get('manifest.json')!.toString().replace('"cps_and_defence"', '"cps_only"')));
    });
    expect(manifest.problems.some((p) => p.startsWith('manifest.json: signature check failed'))).toBe(true);

    const lines = entries.get('custody/JS_1.jsonl')!.toString().trim().split('\n');
    const edited = await tampered('custody-edit', (m) => {
      const l = [...lines];
      l[2] = l[2].replace('"outcome":"success"', '"outcome":"failed"');
      expect(l[2]).not.toBe(lines[2]);
      m.set('custody/JS_1.jsonl', Buffer.from(l.join('\n') + '\n'));
    });
    expect(edited.problems).toContainEqual(expect.stringMatching(/^custody\/JS_1\.jsonl: custody extract fails at line 3: the event was changed/));

    const truncated = await tampered('custody-truncated', (m) => {
      m.set('custody/JS_1.jsonl', Buffer.from(lines.slice(0, -2).join('\n') + '\n'));
    });
    expect(truncated.problems).toContainEqual(expect.stringMatching(/^custody\/JS_1\.jsonl: custody extract fails .*truncated: the signed summary covers \d+ events, the file has \d+/));
    const added = await tampered('added', (m) => {
      m.set('exhibits/JS_1/planted.txt', Buffer.from('not disclosed by the police'));
    });
    expect(added.problems).toContain('exhibits/JS_1/planted.txt: in the bundle but not in the manifest');
    const removed = await tampered('removed', (m) => {
      m.delete('exhibits/JS_1/camera 1.dav');
    });
    expect(removed.problems).toContainEqual(expect.stringMatching(/^exhibits\/JS_1\/camera 1\.dav: listed in the manifest but missing/));
    // Each of the four is also what sha256sum -c would catch for the file itself, except the manifest's own signature.
    expect(byte.ok || manifest.ok || edited.ok || truncated.ok).toBe(false);
  });

  it('a supplementary bundle holds only what changed, says so, and the earlier one stays downloadable', async () => {
    const nothing = await h.call('POST', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: discloser.token, body: { exhibitIds: [js1], schedules: ['MG6C'], audience: 'cps_and_defence', supplementary: true } });
    expect(nothing.body.code).toBe('NOTHING_NEW');
    const data = randomBytes(4000);
    files.c = { id: await upload(js1, 'statement-2.pdf', data), data };
    const r = await h.call('POST', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: discloser.token, body: { exhibitIds: [js1], schedules: ['MG6C', 'MG6E'], audience: 'cps_and_defence', supplementary: true } });
    expect(r.status).toBe(202);
    const b = await built(r.body.id as string);
    expect(b).toMatchObject({ state: 'ready', version: 2, supplementaryTo: bundleId });
    const path = join(dir, 'supplementary.zip');
    await writeFile(path, Buffer.from(await (await fetch(`${h.base}/api/v1/disclosure/bundles/${b.id}/download`, { headers: { authorization: `Bearer ${discloser.token}` } })).arrayBuffer()));
    expect((await verifyBundle(path)).ok).toBe(true);
    const entries = await readZip(path);
    expect([...entries.keys()].filter((k) => k.startsWith('exhibits/'))).toEqual(['exhibits/JS_1/statement-2.pdf']);
    expect([...entries.keys()].filter((k) => k.startsWith('schedules/'))).toEqual([]);
    expect(entries.get('index.html')!.toString()).toContain(`supplementary bundle: it holds only what changed since bundle ${bundleId}`);
    expect(JSON.parse(entries.get('manifest.json')!.toString()).supplementaryTo).toBe(bundleId);
    const first = await fetch(`${h.base}/api/v1/disclosure/bundles/${bundleId}/download`, { headers: { authorization: `Bearer ${discloser.token}`, range: 'bytes=0-3' } });
    expect([first.status, Buffer.from(await first.arrayBuffer()).toString('latin1')]).toEqual([206, 'PK\x03\x04']);
  });

  it('a working copy goes in beside its master, with the master\'s SHA-256 and its derivation record', async () => {
    // A derivative as libs/evidence's media job records one (its own object in the working bucket, append-only row).
    const copy = randomBytes(7000);
    const key = `derivatives/${files.a.id}/video-1/video-camera_1.mp4`;
    const put = await store.put(store.buckets.working, key, copy);
    const provenance = { tool: 'ffmpeg', version: 'test', args: ['-i', 'input', 'out.mp4'], input: { sha256: createHash('sha256').update(files.a.data).digest('hex') } };
    const [{ id }] = (await h.ds.query(
      `INSERT INTO derivatives (evidence_file_id, case_id, kind, role, recipe_version, reference, bucket, object_key, mime, size, sha256, provenance)
       VALUES ($1, $2, 'video-working-copy', 'video', 'video-1', $3, $4, $5, 'video/mp4', $6, $7, $8) RETURNING id`,
      [files.a.id, caseId, `JS/1-WC-${files.a.id.slice(0, 8)}`, store.buckets.working, key, copy.length, put.sha256, JSON.stringify(provenance)],
    )) as { id: string }[];
    const r = await h.call('POST', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: discloser.token, body: { evidenceFileIds: [files.a.id], workingCopies: true, audience: 'cps_and_defence' } });
    expect(r.status).toBe(202);
    const b = await built(r.body.id as string);
    expect(b.state).toBe('ready');
    const path = join(dir, 'with-copy.zip');
    await writeFile(path, Buffer.from(await (await fetch(`${h.base}/api/v1/disclosure/bundles/${b.id}/download`, { headers: { authorization: `Bearer ${discloser.token}` } })).arrayBuffer()));
    expect((await verifyBundle(path)).ok).toBe(true);
    const entries = await readZip(path);
    const entry = `exhibits/JS_1/working-copies/JS_1-WC-${files.a.id.slice(0, 8)}-video-camera_1.mp4`;
    expect(entries.get(entry)?.equals(copy)).toBe(true);
    const listed = JSON.parse(entries.get('manifest.json')!.toString()).files.find((f: { path: string }) => f.path === entry);
    expect(listed).toMatchObject({
      kind: 'derivative',
      derivativeId: id,
      evidenceFileId: files.a.id,
      masterSha256: createHash('sha256').update(files.a.data).digest('hex'),
      derivation: { kind: 'video-working-copy', role: 'video', recipeVersion: 'video-1', provenance },
    });
  });

  it('a CPS user after revocation (with a reason), or after expiry, gets 404, and their case list is empty again', async () => {
    const shares = (await bundle(bundleId)).body.shares as { id: string; recipientId: string }[];
    const mine = shares.find((s) => s.recipientId === cps.id)!;
    const unexplained = await h.call('DELETE', `/api/v1/disclosure/bundles/${bundleId}/shares/${mine.id}`, { token: discloser.token });
    expect([unexplained.status, unexplained.body.code]).toEqual([400, 'JUSTIFICATION_REQUIRED']);
    expect((await bundle(bundleId, cps.token)).status).toBe(200);
    const reason = { 'x-justification-code': 'disclosure_review', 'x-justification-text': 'shared with the wrong lawyer' };
    expect((await h.call('DELETE', `/api/v1/disclosure/bundles/${bundleId}/shares/${mine.id}`, { token: discloser.token, headers: reason })).status).toBe(204);
    expect((await bundle(bundleId, cps.token)).status).toBe(404);
    expect((await h.call('GET', `/api/v1/disclosure/bundles/${bundleId}/download`, { token: cps.token })).status).toBe(404);
    expect((await h.call('POST', `/api/v1/disclosure/bundles/${bundleId}/download-url`, { token: cps.token })).status).toBe(404);
    expect((await h.call('GET', '/api/v1/cases', { token: cps.token })).body).toMatchObject({ total: 0, items: [] });
    expect((await h.call('GET', `/api/v1/cases/${caseId}`, { token: cps.token })).status).toBe(404);
    const expiry = Date.now() + 4000;
    const soon = await h.call('POST', `/api/v1/disclosure/bundles/${bundleId}/shares`, { token: discloser.token, headers: JUSTIFY, body: { recipientId: cpsOther.id, expiresAt: new Date(expiry).toISOString() } });
    expect(soon.status).toBe(201);
    expect((await bundle(bundleId, cpsOther.token)).status).toBe(200);
    // A URL never outlives the share it was issued under.
    const link = (await h.call('POST', `/api/v1/disclosure/bundles/${bundleId}/download-url`, { token: cpsOther.token })).body as { url: string; expiresAt: string };
    expect(Date.parse(link.expiresAt)).toBeLessThanOrEqual(expiry);
    await new Promise((r) => setTimeout(r, Math.max(0, expiry - Date.now()) + 1500));
    expect((await bundle(bundleId, cpsOther.token)).status).toBe(404);
    expect((await h.call('GET', `/api/v1/disclosure/bundles/${bundleId}/download`, { token: cpsOther.token, headers: { range: 'bytes=0-9' } })).status).toBe(404);
    expect((await fetch(link.url, { headers: { range: 'bytes=0-9' } })).status).toBe(403);
    const revoked = (await h.ds.query(`SELECT s62_operation, recipient, justification_text FROM custody_events WHERE type = 'disclosure.share_revoked' AND object_id = $1`, [bundleId])) as Record<string, string>[];
    expect(revoked).toEqual([{ s62_operation: 'disclosure', recipient: cps.username, justification_text: 'shared with the wrong lawyer' }]);
  });

  it('bundles are watched by fixity like originals: a run re-hashes them and reports a change', async () => {
    const b = (await bundle(bundleId)).body as { size: number; sha256: string };
    const [registered] = (await h.ds.query(`SELECT id, bucket, object_key, kind, size::int AS size, sha256 FROM stored_objects WHERE case_id = $1 AND kind = 'disclosure_bundle' AND object_key LIKE $2`, [caseId, `%${bundleId}.zip`])) as {
      id: string; bucket: string; object_key: string; size: number; sha256: string;
    }[];
    expect(registered).toMatchObject({ size: b.size, sha256: b.sha256 });
    const fixity = h.app.get(FixityService);
    const result = async (runId: string) => ((await h.ds.query(`SELECT outcome, observed_sha256 FROM fixity_results WHERE run_id = $1 AND object_id = $2`, [runId, registered.id])) as { outcome: string; observed_sha256: string }[])[0];
    const ok = await fixity.run('case', caseId);
    expect(await result(ok.id)).toEqual({ outcome: 'ok', observed_sha256: b.sha256 });
    const original = await readFile(bundleZip);
    const changed = Buffer.from(original);
    changed[changed.length - 100] ^= 1;
    await store.put(registered.bucket, registered.object_key, changed);
    try {
      const bad = await fixity.run('case', caseId);
      expect(bad.changed).toBe(1);
      expect(await result(bad.id)).toEqual({ outcome: 'changed', observed_sha256: createHash('sha256').update(changed).digest('hex') });
      const [event] = (await h.ds.query(`SELECT outcome, object_type FROM custody_events WHERE type = 'fixity.checked' AND object_id = $1 ORDER BY leaf_index DESC LIMIT 1`, [registered.id])) as Record<string, string>[];
      expect(event).toEqual({ outcome: 'failed', object_type: 'disclosure_bundle' });
    } finally {
      await store.put(registered.bucket, registered.object_key, original);
    }
  });

  it('a stored object that no longer matches its seal stops the bundle: failed, with the reason and a custody event, and no bundle object', async () => {
    const f = (await h.ds.query(`SELECT bucket, object_key FROM evidence_files WHERE id = $1`, [files.b.id]))[0] as { bucket: string; object_key: string };
    const corrupted = Buffer.from(files.b.data);
    corrupted[10] ^= 1;
    await store.put(f.bucket, f.object_key, corrupted);
    const r = await h.call('POST', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: oic.token, headers: JUSTIFY, body: { exhibitIds: [js1], audience: 'cps_and_defence' } });
    expect(r.status).toBe(202);
    const b = await built(r.body.id as string);
    expect(b.state).toBe('failed');
    expect((b.failure as { code: string; reason: string }).code).toBe('BUNDLE_FIXITY_FAILED');
    expect((b.failure as { code: string; reason: string }).reason).toContain(createHash('sha256').update(corrupted).digest('hex'));
    const ev = (await h.ds.query(`SELECT outcome FROM custody_events WHERE type = 'disclosure.bundle_failed' AND object_id = $1`, [r.body.id]))[0];
    expect(ev).toEqual({ outcome: 'failed' });
    // Checked as the bytes were zipped: the half-made bundle never became an object.
    expect(await store.head(store.buckets.working, `disclosure/${caseId}/${r.body.id as string}.zip`)).toBeUndefined();
    expect(await store.listMultipartUploads(store.buckets.working, `disclosure/${caseId}/`)).toEqual([]);
    await store.put(f.bucket, f.object_key, files.b.data);
  });
});
