import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { EvidenceFilesService } from '../../libs/evidence/index.js';
import { createObjectStore, type S3ObjectStore } from '../../libs/storage/index.js';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';
import type { AppConfig } from '../../libs/config/index.js';
import { motoOverrides, TcpRelay } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

interface FileView {
  id: string;
  state: string;
  isEvidence: boolean;
  hashes: { algorithm: string; value: string }[];
  hashedFrom: string | null;
  quarantine: { code: string; reason: string } | null;
  sealFailure: { code: string; reason: string; retries: number } | null;
  writeOnceUntil: string | null;
}

/**
 * "Sealed" means the bytes in storage were read back and hashed: a store that keeps other bytes
 * than it was sent is caught at the seal, and a seal that cannot finish ends in a visible state
 * that a retry really retries. The queue prefix is this file's own, so a worker runs only when a
 * test starts one.
 */
const TARGETS: [string, Partial<AppConfig> | undefined][] = [
  ['Swift, no Object Lock', {}],
  ['moto, with Object Lock', motoOverrides()],
];

describe.each(TARGETS.filter(([, o]) => o !== undefined))('seal on %s: stored bytes verified, failures visible and retryable (real API, worker, PostgreSQL, Redis, S3)', (target, overrides) => {
  const h = new ApiHarness();
  const objectLock = target.startsWith('moto');
  let store: S3ObjectStore;
  let oic: TestUser;
  let caseId: string;
  let exhibitId: string;
  const workers: INestApplicationContext[] = [];

  beforeAll(async () => {
    await h.start({ ...overrides, QUEUE_PREFIX: `dems-test-seal-${randomBytes(3).toString('hex')}`, JOB_RETRY_DELAY_SCALE: 0.001 });
    store = createObjectStore(h.config);
    await store.ensureBuckets();
    oic = await h.user('sealer', 'investigator');
    caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Seal case' } })).body.id as string;
    exhibitId = (
      await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'SL/1', sourceType: 'cctv', description: 'export', producer: 'S L' } })
    ).body.id as string;
  });

  afterAll(async () => {
    for (const w of workers) await w.close();
    store?.destroy();
    await h.stop();
  });

  const view = async (id: string, token = oic.token) => (await h.call('GET', `/api/v1/uploads/${id}`, { token })).body as unknown as FileView;
  const until = async (id: string, states: string[], timeoutMs = 60_000): Promise<FileView> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await view(id);
      if (states.includes(v.state)) return v;
      if (Date.now() > deadline) throw new Error(`file ${id} still ${v.state}, not ${states.join(' or ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const upload = async (data: Buffer, filename: string) => {
    const res = await tusUpload(`${h.base}/api/v1/uploads`, oic.token, data, { metadata: { caseId, exhibitId, filename } });
    expect(res.error).toBeUndefined();
    const id = uploadIdOf(res.url);
    expect((await until(id, ['verifying'])).state).toBe('verifying');
    return id;
  };
  const events = async (id: string) =>
    (await h.ds.query(`SELECT type, outcome, details FROM custody_events WHERE object_type = 'evidence_file' AND object_id = $1 ORDER BY leaf_index`, [id])) as {
      type: string;
      outcome: string;
      details: Record<string, unknown>;
    }[];

  it('quarantines a file whose stored bytes differ from the bytes received, though the size is right', async () => {
    const data = randomBytes(256 * 1024);
    const id = await upload(data, 'camera1.dav');
    // The store "assembles" other bytes of the same size (a bad multipart completion).
    const corrupted = Buffer.from(data);
    corrupted.fill(0, 100_000, 110_000);
    await store.put(store.buckets.originals, `originals/${id}`, corrupted);
    workers.push(await startWorker(h.config, { shutdownHooks: false }));
    const v = await until(id, ['sealed', 'quarantined']);
    expect(v.state).toBe('quarantined');
    expect(v.isEvidence).toBe(false);
    expect(v.quarantine?.code).toBe('STORED_BYTES_DIFFER');
    expect(v.quarantine?.reason).toContain(createHash('sha256').update(corrupted).digest('hex'));
    expect(v.quarantine?.reason).toContain(createHash('sha256').update(data).digest('hex'));
    expect((await events(id)).map((e) => [e.type, e.outcome])).toContainEqual(['evidence.quarantined', 'failed']);
  });

  it('seals from the bytes read back from storage, with the streamed hashes as an early check', async () => {
    const data = randomBytes(300 * 1024);
    const id = await upload(data, 'camera2.dav');
    const v = await until(id, ['sealed', 'quarantined']);
    expect(v.state).toBe('sealed');
    expect(v.hashedFrom).toBe('stored_object');
    expect(v.hashes.find((x) => x.algorithm === 'sha256')?.value).toBe(createHash('sha256').update(data).digest('hex'));
    const sealed = (await events(id)).find((e) => e.type === 'evidence.sealed')!;
    expect(sealed.details).toMatchObject({ hashedFrom: 'stored_object', streamCheck: 'matched' });
    // Write-once exactly where the store has Object Lock, and said so; never claimed elsewhere.
    const lock = (await store.head(store.buckets.originals, `originals/${id}`))?.lock;
    if (objectLock) {
      expect(v.writeOnceUntil).not.toBeNull();
      expect(lock?.mode).toBe('COMPLIANCE');
      expect(lock!.retainUntil!.getTime()).toBeGreaterThanOrEqual(new Date(v.writeOnceUntil!).getTime() - 1000);
    } else {
      expect(v.writeOnceUntil).toBeNull();
      expect(lock).toBeUndefined();
    }
  });

  it('reads are reads: polling an upload records nothing; a complete but unrecorded upload is found by the sweep', async () => {
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const data = randomBytes(5000);
    const created = await fetch(`${h.base}/api/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0', 'upload-length': String(data.length), 'upload-metadata': `caseId ${b64(caseId)},exhibitId ${b64(exhibitId)},filename ${b64('quiet.dav')}` },
    });
    const id = created.headers.get('location')!.split('/').pop()!;
    // Every byte reaches storage but the API "stopped" before recording the completion.
    await store.put(store.buckets.originals, `originals/${id}`, data);
    // Only the events this test can cause (about the upload, or by the user polling it): a job of
    // another suite landing meanwhile must not count.
    const count = async () =>
      (await h.ds.query(`SELECT count(*)::int AS n FROM custody_events WHERE object_id = $1 OR actor_id = $2`, [id, oic.id]))[0].n as number;
    const before = await count();
    for (let i = 0; i < 5; i++) expect((await view(id)).state).toBe('uploading');
    expect(await count()).toBe(before);
    await h.ds.query(`UPDATE evidence_files SET last_activity_at = now() - interval '10 minutes' WHERE id = $1`, [id]);
    const swept = await h.app.get(EvidenceFilesService).expireIdle();
    expect(swept.recovered).toBe(1);
    const v = await until(id, ['sealed', 'quarantined', 'seal_failed']);
    expect(v.state).toBe('sealed');
    expect(v.hashes.find((x) => x.algorithm === 'sha256')?.value).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('a member removed from the case mid-upload can no longer send bytes, read, cancel or seal the upload', async () => {
    const member = await h.user('removed', 'investigator');
    expect((await h.call('PUT', `/api/v1/cases/${caseId}/members/${member.id}`, { token: oic.token, body: { caseRole: 'investigator' } })).status).toBe(200);
    const data = randomBytes(20_000);
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const created = await fetch(`${h.base}/api/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${member.token}`, 'tus-resumable': '1.0.0', 'upload-length': String(data.length), 'upload-metadata': `caseId ${b64(caseId)},exhibitId ${b64(exhibitId)},filename ${b64('late.dav')}` },
    });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, h.base).toString();
    const id = url.split('/').pop()!;
    const patch = (offset: number, bytes: Buffer) =>
      fetch(url, { method: 'PATCH', headers: { authorization: `Bearer ${member.token}`, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }, body: bytes });
    expect((await patch(0, data.subarray(0, 10_000))).status).toBe(204);
    expect((await h.call('DELETE', `/api/v1/cases/${caseId}/members/${member.id}`, { token: oic.token })).status).toBe(204);

    const after = await patch(10_000, data.subarray(10_000));
    expect(after.status).toBe(404);
    const tus = { 'tus-resumable': '1.0.0' };
    expect((await h.call('HEAD', `/api/v1/uploads/${id}`, { token: member.token, headers: tus })).status).toBe(404);
    expect((await h.call('GET', `/api/v1/uploads/${id}`, { token: member.token })).status).toBe(404);
    expect((await h.call('DELETE', `/api/v1/uploads/${id}`, { token: member.token, headers: tus })).status).toBe(404);
    const [row] = await h.ds.query(`SELECT state, bytes_received FROM evidence_files WHERE id = $1`, [id]);
    expect(row).toEqual({ state: 'uploading', bytes_received: '10000' });
  });

  it('a seal that fails on every attempt ends in seal_failed with its reason and an event, and a retry seals it', async () => {
    // Stop the running worker; the next one reaches storage through a relay that is then cut.
    for (const w of workers.splice(0)) await w.close();
    const s3 = new URL(h.config.S3_ENDPOINT!);
    const relay = new TcpRelay(s3.hostname, Number(s3.port));
    await relay.open();
    const broken = await startWorker({ ...h.config, S3_ENDPOINT: `http://127.0.0.1:${relay.port}` }, { shutdownHooks: false });
    await relay.close();
    try {
      const data = randomBytes(64 * 1024);
      const id = await upload(data, 'camera3.dav');
      const failed = await until(id, ['seal_failed', 'sealed', 'quarantined'], 90_000);
      expect(failed.state).toBe('seal_failed');
      expect(failed.isEvidence).toBe(false);
      expect(failed.sealFailure).toMatchObject({ code: expect.any(String), retries: 0 });
      expect(failed.sealFailure!.reason).toMatch(/after 5 attempts/);
      const failedEvent = (await events(id)).find((e) => e.type === 'evidence.seal_failed');
      expect(failedEvent).toMatchObject({ outcome: 'failed', details: { code: failed.sealFailure!.code } });

      // Only a failed seal can be retried, and only by the uploader (or an administrator).
      const stranger = await h.user('stranger', 'investigator');
      expect((await h.call('POST', `/api/v1/uploads/${id}/seal`, { token: stranger.token })).status).toBe(404);

      await broken.close();
      workers.push(await startWorker(h.config, { shutdownHooks: false }));
      const retried = await h.call('POST', `/api/v1/uploads/${id}/seal`, { token: oic.token });
      expect([retried.status, retried.body.state]).toEqual([202, 'verifying']);
      const sealed = await until(id, ['sealed', 'quarantined', 'seal_failed']);
      expect(sealed.state).toBe('sealed');
      expect(sealed.hashes.find((x) => x.algorithm === 'sha256')?.value).toBe(createHash('sha256').update(data).digest('hex'));
      expect((await events(id)).map((e) => e.type)).toEqual(expect.arrayContaining(['evidence.seal_failed', 'evidence.seal_retried', 'evidence.sealed']));
      const again = await h.call('POST', `/api/v1/uploads/${id}/seal`, { token: oic.token });
      expect([again.status, again.body.code]).toEqual([409, 'SEAL_NOT_FAILED']);
    } finally {
      await broken.close().catch(() => undefined);
    }
  });
});
