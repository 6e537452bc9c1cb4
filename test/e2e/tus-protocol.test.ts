import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';
import { childEnv } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const MiB = 1024 * 1024;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('tus protocol hygiene and shutdown (real API processes, worker, S3)', () => {
  const h = new ApiHarness();
  let worker: INestApplicationContext;
  let oic: TestUser;
  let caseId: string;
  let exhibitId: string;
  let endpoint: string;

  const auth = () => ({ authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0' });
  const metadata = (filename: string) => `caseId ${b64(caseId)},exhibitId ${b64(exhibitId)},filename ${b64(filename)}`;
  const rowsNamed = async (name: string) =>
    (await h.ds.query(`SELECT count(*)::int AS n FROM evidence_files WHERE original_filename = $1`, [name]))[0].n as number;

  beforeAll(async () => {
    await h.start({ INGEST_PART_SIZE_MB: 5, INGEST_LOCK_WAIT_SECONDS: 3 });
    worker = await startWorker(h.config, { shutdownHooks: false });
    endpoint = `${h.base}/api/v1/uploads`;
    oic = await h.user('oic', 'investigator');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'tus protocol case' } });
    caseId = c.body.id as string;
    const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'PQ/1', sourceType: 'body_worn_video', description: 'BWV', producer: 'P Quinn' } });
    exhibitId = x.body.id as string;
  });

  afterAll(async () => {
    await worker?.close();
    await h.stop();
  });

  it('advertises only the extensions it offers, and refuses a deferred length in its own error shape', async () => {
    const options = await fetch(endpoint, { method: 'OPTIONS' });
    expect(options.headers.get('tus-extension')).toBe('creation,creation-with-upload,termination');
    const deferred = await fetch(endpoint, { method: 'POST', headers: { ...auth(), 'upload-defer-length': '1', 'upload-metadata': metadata('deferred.bin') } });
    expect(deferred.status).toBe(400);
    expect(await deferred.json()).toMatchObject({ code: 'INVALID_UPLOAD_REQUEST', message: expect.stringMatching(/deferred length is not offered/) });
    expect(await rowsNamed('deferred.bin')).toBe(0);
  });

  it('refuses a creation-with-upload whose body is longer than Upload-Length before creating anything', async () => {
    const name = `too-long-${randomBytes(3).toString('hex')}.bin`;
    const before = (await h.ds.query(`SELECT count(*)::int AS n FROM custody_events WHERE type LIKE 'evidence.%'`))[0].n as number;
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { ...auth(), 'upload-length': '10', 'upload-metadata': metadata(name), 'content-type': 'application/offset+octet-stream' },
      body: randomBytes(20),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(await rowsNamed(name)).toBe(0);
    expect((await h.ds.query(`SELECT count(*)::int AS n FROM custody_events WHERE type LIKE 'evidence.%'`))[0].n).toBe(before);
  });

  it('stops within SHUTDOWN_TIMEOUT_MS while a client is still sending; the upload resumes elsewhere and seals whole', async () => {
    if (!existsSync('dist/apps/api/main.js')) throw new Error('build first (npm test builds)');
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ['dist/apps/api/main.js'], {
      env: childEnv({ ...h.config, API_PORT: port, API_HOST: '127.0.0.1', LOG_LEVEL: 'silent', SHUTDOWN_TIMEOUT_MS: 2000 }),
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 200 && !(await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
      const data = randomBytes(24 * MiB);
      const name = `steady-${randomBytes(3).toString('hex')}.bin`;
      const created = await fetch(`http://127.0.0.1:${port}/api/v1/uploads`, { method: 'POST', headers: { ...auth(), 'upload-length': String(data.length), 'upload-metadata': metadata(name) } });
      expect(created.status).toBe(201);
      const id = uploadIdOf(created.headers.get('location')!);
      const patch = http.request(`http://127.0.0.1:${port}/api/v1/uploads/${id}`, {
        method: 'PATCH',
        headers: { ...auth(), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(data.length) },
      });
      patch.on('error', () => undefined);
      // A steady client (never idle): 256 KiB every 100 ms, which would take ten seconds in all.
      let sent = 0;
      const feed = setInterval(() => {
        if (sent < data.length - 1) patch.write(data.subarray(sent, (sent = Math.min(sent + 256 * 1024, data.length - 1))));
      }, 100);
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGTERM');
      // Liveness, not a timing target: before, the API waited for the PATCH to end, which this client never does.
      let deadline: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([exited.then(() => 'exited'), new Promise((r) => (deadline = setTimeout(() => r('still running'), 60_000)))]);
      clearTimeout(deadline);
      clearInterval(feed);
      patch.destroy();
      expect(outcome).toBe('exited');
      // Resumed on the test's own API: what reached storage before the stop is kept, the rest follows.
      const resumed = await tusUpload(endpoint, oic.token, data, { uploadUrl: `${endpoint}/${id}` });
      expect(resumed.error).toBeUndefined();
      let view: Record<string, unknown> = {};
      for (let i = 0; i < 600 && view.state !== 'sealed'; i++) {
        view = (await h.call('GET', `/api/v1/uploads/${id}`, { token: oic.token })).body;
        if (view.state !== 'sealed') await new Promise((r) => setTimeout(r, 100));
      }
      expect(view).toMatchObject({ state: 'sealed', size: data.length, hashes: expect.arrayContaining([expect.objectContaining({ algorithm: 'sha256', value: sha256(data) })]) });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
