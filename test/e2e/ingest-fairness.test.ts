import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const MiB = 1024 * 1024;

/** Waits for `p`, or gives up after a liveness deadline (not a timing target: the broken behaviour never ends at all). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'deadline'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('ingest fairness: slow or idle clients hold nothing others need (real API, worker, S3)', () => {
  const h = new ApiHarness();
  let worker: INestApplicationContext;
  let staging: string;
  let slow: TestUser;
  let other: TestUser;
  let caseId: string;
  let exhibitId: string;
  let endpoint: string;

  const metadata = (filename: string) => ({ caseId, exhibitId, filename });

  /** Creates an upload and opens its PATCH, sending nothing yet; `ended` resolves when the service ends the request. */
  async function openPatch(token: string, length: number) {
    const meta = Object.entries(metadata(`slow-${randomBytes(3).toString('hex')}.bin`)).map(([k, v]) => `${k} ${b64(v)}`).join(',');
    const created = await fetch(endpoint, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-length': String(length), 'upload-metadata': meta } });
    expect(created.status).toBe(201);
    const url = created.headers.get('location')!;
    const patch = http.request(url, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(length) },
    });
    const ended = new Promise<string>((resolve) => {
      patch.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      patch.on('response', (res) => (res.resume(), resolve(`status ${res.statusCode}`)));
    });
    return { url, patch, ended };
  }

  beforeAll(async () => {
    staging = mkdtempSync(path.join(tmpdir(), 'dems-fairness-'));
    await h.start({
      INGEST_PART_SIZE_MB: 5,
      // Two shared S3 slots, and three slow clients below: before, each held a slot from its first byte.
      INGEST_PARTS_IN_FLIGHT: 2,
      INGEST_BODY_IDLE_SECONDS: 3,
      INGEST_LOCK_WAIT_SECONDS: 3,
      INGEST_MAX_CONCURRENT_UPLOADS_PER_USER: 10,
      INGEST_STAGING_DIR: staging,
    });
    worker = await startWorker(h.config, { shutdownHooks: false });
    endpoint = `${h.base}/api/v1/uploads`;
    slow = await h.user('slow', 'investigator');
    other = await h.user('other', 'investigator');
    const c = await h.call('POST', '/api/v1/cases', { token: slow.token, body: { urn: freshUrn(), title: 'Fairness case' } });
    caseId = c.body.id as string;
    await h.call('PUT', `/api/v1/cases/${caseId}/members/${other.id}`, { token: slow.token, body: { caseRole: 'investigator' } });
    const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: slow.token, body: { reference: 'AB/1', sourceType: 'cctv', description: 'DVR export', producer: 'A Bell' } });
    expect(x.status).toBe(201);
    exhibitId = x.body.id as string;
  });

  afterAll(async () => {
    await worker?.close();
    await h.stop();
    rmSync(staging, { recursive: true, force: true });
  });

  it('three clients trickling a byte a second do not delay another user’s upload', async () => {
    const tricklers = await Promise.all([0, 1, 2].map(() => openPatch(slow.token, 6 * MiB)));
    const drip = setInterval(() => tricklers.forEach((t) => t.patch.write(randomBytes(1))), 1000);
    try {
      tricklers.forEach((t) => t.patch.write(randomBytes(1)));
      await new Promise((r) => setTimeout(r, 2500)); // each has begun a part
      const data = randomBytes(1024);
      const result = await within(tusUpload(endpoint, other.token, data, { metadata: metadata('quick.bin') }), 60_000);
      expect(result).not.toBe('deadline');
      if (result === 'deadline') return;
      expect(result.error).toBeUndefined();
      // The slow clients were still connected and sending while it went through.
      const states = await Promise.all(tricklers.map((t) => within(t.ended, 1)));
      expect(states).toEqual(['deadline', 'deadline', 'deadline']);
      const id = uploadIdOf(result.url);
      let view: Record<string, unknown> = {};
      for (let i = 0; i < 600 && view.state !== 'sealed'; i++) {
        view = (await h.call('GET', `/api/v1/uploads/${id}`, { token: other.token })).body;
        if (view.state !== 'sealed') await new Promise((r) => setTimeout(r, 100));
      }
      expect(view).toMatchObject({ state: 'sealed', hashes: expect.arrayContaining([expect.objectContaining({ algorithm: 'sha256', value: sha256(data) })]) });
    } finally {
      clearInterval(drip);
      tricklers.forEach((t) => t.patch.destroy());
    }
  });

  it('cuts a body that stops arriving within seconds, keeping what arrived; the client resumes and the file seals whole', async () => {
    const data = randomBytes(6 * MiB);
    const { url, patch, ended } = await openPatch(slow.token, data.length);
    patch.write(data.subarray(0, 100 * 1024));
    // The service ends the idle request itself (Node's own limit would take five minutes).
    const outcome = await within(ended, 60_000);
    if (outcome === 'deadline') patch.destroy();
    expect(outcome).toMatch(/^error /);
    // Its staged remainder leaves the staging folder (the service cleans up as the request unwinds).
    const stagedFiles = () => readdirSync(staging, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    for (let i = 0; i < 300 && stagedFiles().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(stagedFiles()).toEqual([]);
    const head = await fetch(url, { method: 'HEAD', headers: { authorization: `Bearer ${slow.token}`, 'tus-resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    // What arrived before the pause is kept (as the upload's incomplete part in S3).
    expect(head.headers.get('upload-offset')).toBe(String(100 * 1024));
    const resumed = await tusUpload(endpoint, slow.token, data, { uploadUrl: url });
    expect(resumed.error).toBeUndefined();
    const id = uploadIdOf(url);
    let view: Record<string, unknown> = {};
    for (let i = 0; i < 600 && view.state !== 'sealed'; i++) {
      view = (await h.call('GET', `/api/v1/uploads/${id}`, { token: slow.token })).body;
      if (view.state !== 'sealed') await new Promise((r) => setTimeout(r, 100));
    }
    expect(view).toMatchObject({ state: 'sealed', size: data.length, hashes: expect.arrayContaining([expect.objectContaining({ algorithm: 'sha256', value: sha256(data) })]) });
  });
});
