import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { EvidenceFilesService } from '../../libs/evidence/index.js';
import { createRedis } from '../../libs/queue/index.js';
import { createObjectStore, type S3ObjectStore } from '../../libs/storage/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { fixturePath } from '../support/fixtures.js';
import { childEnv } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface FileView {
  id: string;
  state: string;
  size: number;
  isEvidence: boolean;
  hashes: { algorithm: string; value: string }[];
  hashedFrom: string | null;
  declaredHashes: { algorithm: string; value: string; matched: boolean | null }[];
  quarantine: { code: string; reason: string } | null;
  duplicateOf: { id: string; exhibitReference: string } | null;
  progress: { bytesReceived: number; percent: number };
  filename: string;
}

describe('ingest: resumable tus uploads sealed by the service (real API, worker, PostgreSQL, Redis, S3)', () => {
  const h = new ApiHarness();
  let worker: INestApplicationContext;
  let store: S3ObjectStore;
  let oic: TestUser;
  let outsider: TestUser;
  let reviewer: TestUser;
  let caseId: string;
  const exhibits: Record<string, string> = {};
  let endpoint: string;

  const meta = (ref: string, filename: string, extra: Record<string, string> = {}) => ({ caseId, exhibitId: exhibits[ref], filename, ...extra });

  async function view(token: string, id: string): Promise<FileView> {
    const res = await h.call('GET', `/api/v1/uploads/${id}`, { token });
    expect(res.status).toBe(200);
    return res.body as unknown as FileView;
  }

  async function settled(token: string, id: string, timeoutMs = 60_000): Promise<FileView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await view(token, id);
      if (v.state === 'sealed' || v.state === 'quarantined') return v;
      if (Date.now() > deadline) throw new Error(`upload ${id} still ${v.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function storedBytes(id: string): Promise<Buffer> {
    const got = await store.get(store.buckets.originals, `originals/${id}`);
    const chunks: Buffer[] = [];
    await pipeline(got.body, new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
    return Buffer.concat(chunks);
  }

  /** tus creation alone: an open upload with no bytes yet. */
  async function create(token: string, m: Record<string, string>, length: number): Promise<Response> {
    const metadata = Object.entries(m).map(([k, v]) => `${k} ${b64(v)}`).join(',');
    return fetch(endpoint, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-length': String(length), 'upload-metadata': metadata } });
  }

  /** Another API process on the same database, Redis and S3 (a second replica, or the same one restarted). */
  async function startApiProcess(port: number): Promise<ChildProcess> {
    if (!existsSync('dist/apps/api/main.js')) throw new Error('build first (npm test builds)');
    const env = childEnv({ ...h.config, API_PORT: port, API_HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    const child = spawn(process.execPath, ['dist/apps/api/main.js'], { env, stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      if (await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false)) return child;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error('API did not start');
  }

  /**
   * Creates an upload at `base` and starts a PATCH whose body is fed by hand: `sent` bytes go out
   * and the request stays open; answers once `recorded` bytes are recorded as received.
   */
  async function openPatch(base: string, data: Buffer, name: string, sent: number, recorded: number) {
    const headers = { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0' };
    const metadata = Object.entries(meta('JS/5', name, { sha256: sha256(data) })).map(([k, v]) => `${k} ${b64(v)}`).join(',');
    const created = await fetch(base, { method: 'POST', headers: { ...headers, 'upload-length': String(data.length), 'upload-metadata': metadata } });
    expect(created.status).toBe(201);
    const id = uploadIdOf(created.headers.get('location')!);
    const patch = http.request(`${base}/${id}`, {
      method: 'PATCH',
      headers: { ...headers, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(data.length) },
    });
    const ended = new Promise<void>((resolve) => {
      patch.on('error', () => resolve());
      patch.on('response', (res) => (res.resume(), resolve()));
    });
    patch.write(data.subarray(0, sent));
    for (let i = 0; ; i++) {
      const rows = await h.ds.query(`SELECT bytes_received::int AS n FROM evidence_files WHERE id = $1`, [id]);
      if (rows[0]?.n >= recorded) break;
      if (i > 1500) {
        patch.destroy();
        throw new Error(`${recorded} bytes never recorded`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return { id, headers, patch, ended };
  }

  /** The file's ingest events (the worker's media events on a sealed file follow on their own time). */
  async function events(id: string): Promise<string[]> {
    const r = await h.ds.query(`SELECT type FROM custody_events WHERE object_type = 'evidence_file' AND object_id = $1 AND type LIKE 'evidence.%' ORDER BY seq`, [id]);
    return r.map((x: { type: string }) => x.type);
  }

  beforeAll(async () => {
    await h.start({
      INGEST_PART_SIZE_MB: 5,
      // Short, so a killed API's upload locks expire in a second here.
      INGEST_LOCK_WAIT_SECONDS: 3,
      INGEST_MAX_FILE_SIZE_GB: 1,
      INGEST_MAX_CONCURRENT_UPLOADS_PER_USER: 3,
      INGEST_ALLOWED_SOURCE_TYPES: ['cctv', 'body_worn_video', 'audio', 'image', 'document', 'device_extraction'],
    });
    worker = await startWorker(h.config, { shutdownHooks: false });
    store = createObjectStore(h.config);
    await store.ensureBuckets();
    endpoint = `${h.base}/api/v1/uploads`;
    oic = await h.user('oic', 'investigator');
    outsider = await h.user('outsider', 'investigator');
    reviewer = await h.user('reviewer', 'supervisor');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Ingest case' } });
    caseId = c.body.id as string;
    await h.call('PUT', `/api/v1/cases/${caseId}/members/${reviewer.id}`, { token: oic.token, body: { caseRole: 'reviewer' } });
    for (const [ref, sourceType] of [['JS/1', 'cctv'], ['JS/2', 'device_extraction'], ['JS/3', 'cctv'], ['JS/4', 'other'], ['JS/5', 'body_worn_video']]) {
      const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: ref, sourceType, description: `exhibit ${ref}`, producer: 'J Smith' } });
      expect(x.status).toBe(201);
      exhibits[ref] = x.body.id as string;
    }
  });

  afterAll(async () => {
    await worker?.close();
    store?.destroy();
    await h.stop();
  });

  it('resumes an interrupted upload from the reported offset and seals a byte-identical original', async () => {
    const data = randomBytes(23 * MiB + 12345);
    const first = await tusUpload(endpoint, oic.token, data, { metadata: meta('JS/1', 'DVR export/ch03.dav', { sha256: sha256(data) }), stopAfter: 9 * MiB });
    expect(first.error).toBeUndefined();
    const id = uploadIdOf(first.url);
    const head = await fetch(first.url, { method: 'HEAD', headers: { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(data.length);
    const mid = await view(oic.token, id);
    expect(mid).toMatchObject({ state: 'uploading', isEvidence: false, size: data.length });

    const second = await tusUpload(endpoint, oic.token, data, { uploadUrl: first.url });
    expect(second.error).toBeUndefined();
    const sealed = await settled(oic.token, id);
    expect(sealed).toMatchObject({ state: 'sealed', isEvidence: true, filename: 'DVR export/ch03.dav', quarantine: null, progress: { bytesReceived: data.length, percent: 100 } });
    expect(sealed.hashes).toEqual([
      { algorithm: 'sha256', value: sha256(data), source: 'computed' },
      { algorithm: 'sha1', value: createHash('sha1').update(data).digest('hex'), source: 'computed' },
      { algorithm: 'md5', value: createHash('md5').update(data).digest('hex'), source: 'computed' },
    ]);
    expect(sealed.declaredHashes).toEqual([{ algorithm: 'sha256', value: sha256(data), matched: true }]);
    expect(sha256(await storedBytes(id))).toBe(sha256(data));
    expect(await events(id)).toEqual(['evidence.upload_started', 'evidence.upload_completed', 'evidence.sealed']);
    const registered = await h.ds.query(`SELECT kind, size::int AS size, sha256 FROM stored_objects WHERE object_key = $1`, [`originals/${id}`]);
    expect(registered).toEqual([{ kind: 'original', size: data.length, sha256: sha256(data) }]);
    // The key is never written again: no more bytes, no termination.
    const patch = await fetch(first.url, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0', 'upload-offset': String(data.length), 'content-type': 'application/offset+octet-stream' },
      body: 'more',
    });
    expect(patch.status).toBe(409);
    expect(((await patch.json()) as { code: string }).code).toBe('UPLOAD_COMPLETE');
    const del = await fetch(first.url, { method: 'DELETE', headers: { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0' } });
    expect(del.status).toBe(409);
    expect(sha256(await storedBytes(id))).toBe(sha256(data));
  });

  it('accepts bytes with the creation request (tus creation-with-upload)', async () => {
    const data = readFileSync(fixturePath('video/BA_MW_D.264'));
    const r = await tusUpload(endpoint, oic.token, data, { metadata: meta('JS/1', 'BA_MW_D.264', { sha256: sha256(data) }), withCreation: true });
    expect(r.error).toBeUndefined();
    const v = await settled(oic.token, uploadIdOf(r.url));
    expect(v).toMatchObject({ state: 'sealed', hashedFrom: 'stored_object', size: data.length });
    expect(v.hashes[0].value).toBe(sha256(data));
  });

  it('quarantines a file whose declared hash does not match the stored bytes, and keeps it', async () => {
    const data = randomBytes(6 * MiB);
    const wrong = sha256(Buffer.from('something else'));
    const r = await tusUpload(endpoint, oic.token, data, { metadata: meta('JS/1', 'claimed.bin', { sha256: wrong }) });
    expect(r.error).toBeUndefined();
    const v = await settled(oic.token, uploadIdOf(r.url));
    expect(v.state).toBe('quarantined');
    expect(v.isEvidence).toBe(false);
    expect(v.quarantine?.code).toBe('DECLARED_HASH_MISMATCH');
    expect(v.quarantine?.reason).toContain(wrong);
    expect(v.quarantine?.reason).toContain(sha256(data));
    expect(v.declaredHashes).toEqual([{ algorithm: 'sha256', value: wrong, matched: false }]);
    expect(await events(v.id)).toEqual(['evidence.upload_started', 'evidence.upload_completed', 'evidence.quarantined']);
    expect(sha256(await storedBytes(v.id))).toBe(sha256(data));
    const ev = await h.ds.query(`SELECT outcome FROM custody_events WHERE object_id = $1 AND type = 'evidence.quarantined'`, [v.id]);
    expect(ev).toEqual([{ outcome: 'failed' }]);
  });

  it('refuses uploads to a case the caller cannot write to, and creates nothing', async () => {
    const count = async () => (await h.ds.query(`SELECT count(*)::int AS n FROM evidence_files WHERE case_id = $1`, [caseId]))[0].n;
    const before = await count();
    const out = await tusUpload(endpoint, outsider.token, randomBytes(1000), { metadata: meta('JS/1', 'x.bin') });
    expect([out.error?.status, out.error?.code]).toEqual([404, 'CASE_NOT_FOUND']);
    const rev = await tusUpload(endpoint, reviewer.token, randomBytes(1000), { metadata: meta('JS/1', 'x.bin') });
    expect([rev.error?.status, rev.error?.code]).toEqual([403, 'CASE_PERMISSION_DENIED']);
    const anon = await fetch(endpoint, { method: 'POST', headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' } });
    expect(anon.status).toBe(401);
    expect(await count()).toBe(before);
  });

  it('lets only the uploader see, resume or cancel an upload', async () => {
    const data = randomBytes(7 * MiB);
    // Sent in 1 MiB requests, stopped after the first: the upload is certainly unfinished.
    const r = await tusUpload(endpoint, oic.token, data, { metadata: meta('JS/1', 'mine.bin'), stopAfter: 1, chunkSize: MiB });
    const id = uploadIdOf(r.url);
    expect((await view(oic.token, id)).state).toBe('uploading');
    for (const method of ['HEAD', 'PATCH', 'DELETE']) {
      const res = await fetch(r.url, {
        method,
        headers: { authorization: `Bearer ${outsider.token}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        body: method === 'PATCH' ? 'x' : undefined,
      });
      expect([method, res.status]).toEqual([method, 404]);
    }
    expect((await h.call('GET', `/api/v1/uploads/${id}`, { token: outsider.token })).status).toBe(404);
    // Termination by the uploader removes the parts and is recorded.
    const del = await fetch(r.url, { method: 'DELETE', headers: { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0' } });
    expect([del.status, await del.text()]).toEqual([204, '']);
    expect((await view(oic.token, id)).state).toBe('cancelled');
    expect(await store.listMultipartUploads(store.buckets.originals, `originals/${id}`)).toEqual([]);
    expect(await events(id)).toEqual(['evidence.upload_started', 'evidence.upload_cancelled']);
  });

  it('applies the limits: size, empty files, source types, metadata, concurrent uploads per user', async () => {
    const big = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0', 'upload-length': String(2 * 1024 ** 3), 'upload-metadata': `caseId ${b64(caseId)},exhibitId ${b64(exhibits['JS/1'])},filename ${b64('big.bin')}` },
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { code: string }).code).toBe('FILE_TOO_LARGE');

    const bogus = readFileSync(fixturePath('forensic-images/bogus.E01'));
    expect(bogus.length).toBe(0);
    const undeclared = await tusUpload(endpoint, oic.token, bogus, { metadata: meta('JS/2', 'bogus.E01') });
    expect([undeclared.error?.status, undeclared.error?.code]).toEqual([400, 'EMPTY_FILE_NOT_DECLARED']);
    const declared = await tusUpload(endpoint, oic.token, bogus, { metadata: meta('JS/2', 'bogus.E01', { empty: 'true' }) });
    expect(declared.error).toBeUndefined();
    const empty = await settled(oic.token, uploadIdOf(declared.url));
    expect(empty.state).toBe('sealed');
    expect(empty.hashes[0].value).toBe(sha256(Buffer.alloc(0)));

    const other = await tusUpload(endpoint, oic.token, randomBytes(10), { metadata: meta('JS/4', 'x.bin') });
    expect([other.error?.status, other.error?.code]).toEqual([422, 'SOURCE_TYPE_NOT_ALLOWED']);
    for (const [m, code] of [
      [{ caseId, exhibitId: exhibits['JS/1'] }, 'INVALID_UPLOAD_METADATA'],
      [{ ...meta('JS/1', '../../etc/passwd') }, 'INVALID_UPLOAD_METADATA'],
      [{ ...meta('JS/1', 'x.bin'), sha256: 'abc' }, 'INVALID_UPLOAD_METADATA'],
      [{ ...meta('JS/1', 'x.bin'), colour: 'red' }, 'INVALID_UPLOAD_METADATA'],
      [{ caseId, exhibitId: '00000000-0000-4000-8000-000000000000', filename: 'x.bin' }, 'EXHIBIT_NOT_FOUND'],
      [{ caseId, exhibitRef: 'JS/99', filename: 'x.bin' }, 'EXHIBIT_NOT_FOUND'],
      [{ caseId, exhibitRef: 'not a ref', filename: 'x.bin' }, 'INVALID_UPLOAD_METADATA'],
      [{ ...meta('JS/1', 'x.bin'), exhibitRef: 'JS/1' }, 'INVALID_UPLOAD_METADATA'],
    ] as const) {
      const res = await tusUpload(endpoint, oic.token, randomBytes(10), { metadata: m as Record<string, string> });
      expect(res.error?.code).toBe(code);
      expect(res.error?.message.length).toBeGreaterThan(10);
    }

    const limited = await h.user('limited', 'investigator');
    await h.call('PUT', `/api/v1/cases/${caseId}/members/${limited.id}`, { token: oic.token, body: { caseRole: 'investigator' } });
    const open: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await create(limited.token, meta('JS/1', `open-${i}.bin`), 6 * MiB);
      expect(r.status).toBe(201);
      open.push(r.headers.get('location')!);
    }
    const refused = await tusUpload(endpoint, limited.token, randomBytes(10), { metadata: meta('JS/1', 'one-too-many.bin') });
    expect([refused.error?.status, refused.error?.code]).toEqual([429, 'TOO_MANY_UPLOADS']);
    const cancel = await fetch(open[0], { method: 'DELETE', headers: { authorization: `Bearer ${limited.token}`, 'tus-resumable': '1.0.0' } });
    expect(cancel.status).toBe(204);
    const now = await tusUpload(endpoint, limited.token, randomBytes(10), { metadata: meta('JS/1', 'after-cancel.bin') });
    expect(now.error).toBeUndefined();
  });

  it('reports the same SHA-256 already in the case on the new file, as its own record', async () => {
    const data = readFileSync(fixturePath('forensic-images/ext2.E01'));
    const a = await tusUpload(endpoint, oic.token, data, { metadata: meta('JS/2', 'ext2.E01', { md5: createHash('md5').update(data).digest('hex') }) });
    const first = await settled(oic.token, uploadIdOf(a.url));
    expect(first).toMatchObject({ state: 'sealed', duplicateOf: null });
    // The exhibit named by its reference on the case, as the CLI does.
    const b = await tusUpload(endpoint, oic.token, data, { metadata: { caseId, exhibitRef: 'js/3', filename: 'copy of ext2.E01' } });
    const second = await settled(oic.token, uploadIdOf(b.url));
    expect(second.state).toBe('sealed');
    expect(second.id).not.toBe(first.id);
    expect(second.duplicateOf).toMatchObject({ id: first.id, exhibitReference: 'JS/2' });

    const list = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibits['JS/3']}/files`, { token: reviewer.token, headers: JUSTIFY });
    expect(list.status).toBe(200);
    expect((list.body as unknown as FileView[]).map((f) => [f.filename, f.state, f.duplicateOf?.id])).toEqual([['copy of ext2.E01', 'sealed', first.id]]);
    const noReason = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibits['JS/3']}/files`, { token: reviewer.token });
    expect(noReason.body.code).toBe('JUSTIFICATION_REQUIRED');
  });

  it('expires an abandoned upload and removes its parts from S3', async () => {
    const data = randomBytes(12 * MiB);
    const r = await tusUpload(endpoint, oic.token, data, { metadata: meta('JS/5', 'abandoned.mp4'), stopAfter: 6 * MiB, chunkSize: 6 * MiB });
    const id = uploadIdOf(r.url);
    const key = `originals/${id}`;
    expect((await store.listMultipartUploads(store.buckets.originals, key)).length).toBe(1);
    expect(await store.head(store.buckets.originals, `${key}.info`)).toBeDefined();
    // Not idle long enough yet: nothing happens.
    const files = worker.get(EvidenceFilesService);
    expect(await files.expireIdle()).toEqual({ expired: 0, recovered: 0 });
    await h.ds.query(`UPDATE evidence_files SET last_activity_at = now() - interval '1 year' WHERE id = $1`, [id]);
    // This call expires it, or the worker's own scheduled sweep (the same code) got there a moment
    // before on a busy machine: either way it is expired exactly once, with one event (checked below).
    const swept = await files.expireIdle();
    expect(swept.expired).toBeLessThanOrEqual(1);
    expect((await view(oic.token, id)).state).toBe('expired');
    expect(await store.listMultipartUploads(store.buckets.originals, key)).toEqual([]);
    expect(await store.head(store.buckets.originals, `${key}.info`)).toBeUndefined();
    expect(await store.head(store.buckets.originals, `${key}.part`)).toBeUndefined();
    expect((await view(oic.token, id)).state).toBe('expired');
    expect(await events(id)).toEqual(['evidence.upload_started', 'evidence.upload_expired']);
    const head = await fetch(r.url, { method: 'HEAD', headers: { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(410);
    // A standard client then starts afresh: a new upload, a new record.
    const again = await tusUpload(endpoint, oic.token, data, { uploadUrl: r.url, metadata: meta('JS/5', 'abandoned.mp4') });
    expect(again.error).toBeUndefined();
    expect(uploadIdOf(again.url)).not.toBe(id);
    expect((await settled(oic.token, uploadIdOf(again.url))).state).toBe('sealed');
  });

  it('lets one request at a time work on an upload across API replicas: a resume on a second replica stops the first one’s stalled request', async () => {
    const port = await freePort();
    const second = await startApiProcess(port);
    try {
      const data = randomBytes(16 * MiB);
      const name = `cctv-${randomBytes(4).toString('hex')}.dav`;
      // Replica one (the test's own API) holds a PATCH that stalled after 7 MiB.
      const stalled = await openPatch(endpoint, data, name, 7 * MiB, 5 * MiB);
      // The client resumes through replica two: its HEAD waits for the upload's lock, which asks
      // replica one to let go; replica one ends its request, keeping what reached storage.
      const remote = `http://127.0.0.1:${port}/api/v1/uploads/${stalled.id}`;
      const resumed = await tusUpload(endpoint, oic.token, data, { uploadUrl: remote });
      expect(resumed.error).toBeUndefined();
      // The stalled request was ended by the service, not by us (a liveness deadline, not a timing
      // target: without a shared lock it is never ended at all).
      let deadline: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        stalled.ended.then(() => 'ended'),
        new Promise((r) => (deadline = setTimeout(() => r('still open'), 30_000))),
      ]);
      clearTimeout(deadline);
      if (outcome !== 'ended') stalled.patch.destroy();
      expect(outcome).toBe('ended');
      expect(stalled.patch.writableEnded).toBe(false);
      const sealed = await settled(oic.token, stalled.id);
      expect(sealed.state).toBe('sealed');
      expect(sealed.hashes[0].value).toBe(sha256(data));
      expect(sha256(await storedBytes(stalled.id))).toBe(sha256(data));
      expect((await h.ds.query(`SELECT count(*)::int AS n FROM evidence_files WHERE original_filename = $1`, [name]))[0].n).toBe(1);
    } finally {
      second.kill('SIGTERM');
    }
  });

  it('answers 423 UPLOAD_LOCKED when another request holds the upload past the wait, and serves it once free', async () => {
    const created = await create(oic.token, meta('JS/5', 'locked.bin'), 1000);
    expect(created.status).toBe(201);
    const url = created.headers.get('location')!;
    const id = uploadIdOf(url);
    // A holder that never lets go (another replica stuck on it), as the lock looks in Redis.
    const redis = createRedis(h.config.REDIS_URL);
    const key = `${h.config.QUEUE_PREFIX}:tus-lock:originals/${id}`;
    try {
      await redis.set(key, 'another-replica', 'PX', 60_000);
      const headers = { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0' };
      const locked = await fetch(url, { method: 'HEAD', headers });
      expect(locked.status).toBe(423);
      const patch = await fetch(url, { method: 'PATCH', headers: { ...headers, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: randomBytes(1000) });
      expect(patch.status).toBe(423);
      expect(await patch.json()).toEqual({ code: 'UPLOAD_LOCKED', message: 'Another request is still working on this upload; try again shortly' });
      expect((await view(oic.token, id)).progress.bytesReceived).toBe(0);
      await redis.del(key);
      const free = await fetch(url, { method: 'HEAD', headers });
      expect(free.status).toBe(200);
      expect(free.headers.get('upload-offset')).toBe('0');
      expect(await redis.exists(key)).toBe(0); // released after the request
      expect((await fetch(url, { method: 'DELETE', headers })).status).toBe(204);
    } finally {
      await redis.del(key);
      await redis.quit();
    }
  });

  it('survives the API being killed mid-upload: restarted, the upload resumes and seals from the stored object', async () => {
    const port = await freePort();
    const start = () => startApiProcess(port);
    const remote = `http://127.0.0.1:${port}/api/v1/uploads`;
    const data = randomBytes(20 * MiB);
    const name = `bwv-${randomBytes(4).toString('hex')}.mp4`;
    let api = await start();
    // 7 MiB go out (one whole 5 MiB part and 2 MiB of the next) and the request stays open. Once
    // the first part is recorded the API is killed. The server cannot have more than we sent, so
    // the kill always lands mid-upload.
    let open: Awaited<ReturnType<typeof openPatch>>;
    try {
      open = await openPatch(remote, data, name, 7 * MiB, 5 * MiB);
    } catch (e) {
      api.kill('SIGKILL');
      throw e;
    }
    const { id, headers, ended: broken } = open;
    api.kill('SIGKILL');
    await broken;
    api = await start();
    try {
      const head = await fetch(`${remote}/${id}`, { method: 'HEAD', headers });
      expect(head.status).toBe(200);
      // Only the whole part that reached S3 survives the kill.
      expect(Number(head.headers.get('upload-offset'))).toBe(5 * MiB);
      const resumed = await tusUpload(remote, oic.token, data, { uploadUrl: `${remote}/${id}` });
      expect(resumed.error).toBeUndefined();
      const sealed = await settled(oic.token, id);
      expect(sealed).toMatchObject({ state: 'sealed', hashedFrom: 'stored_object' });
      expect(sealed.hashes[0].value).toBe(sha256(data));
      expect(sha256(await storedBytes(id))).toBe(sha256(data));
    } finally {
      api.kill('SIGTERM');
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
