import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { MetricsEndpoint } from '../../libs/metrics/index.js';
import { QueueService } from '../../libs/queue/index.js';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';
import { TcpRelay } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

/** One sample of a scrape: `name{labels} value`, labels as written by prom-client. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/**
 * The API's and the worker's /metrics after real work (requests, a tus upload, its seal, a failed
 * job), each on a listener of its own with a bearer token: values are checked against what was
 * done and what the database and Redis hold, and callers without the token are refused.
 */
describe('Prometheus metrics of the API and the worker (real API, worker, PostgreSQL, Redis, S3)', () => {
  const h = new ApiHarness();
  const token = randomBytes(32).toString('base64url');
  let worker: INestApplicationContext;
  let queues: QueueService;
  let oic: TestUser;
  let apiMetrics: string;
  let workerMetrics: string;
  const data = randomBytes(300_000);

  const scrape = async (base: string, auth: string | undefined = token) => {
    const res = await fetch(`${base}/metrics`, { headers: auth ? { authorization: `Bearer ${auth}` } : {} });
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
  };
  const baseOf = (app: INestApplicationContext) => `http://127.0.0.1:${app.get(MetricsEndpoint).address()!.port}`;

  beforeAll(async () => {
    await h.start({ QUEUE_PREFIX: `dems-test-met-${randomBytes(3).toString('hex')}`, JOB_RETRY_DELAY_SCALE: 0.001, METRICS_PORT: 0, METRICS_TOKEN: token });
    worker = await startWorker(h.config, { shutdownHooks: false });
    queues = new QueueService(h.config);
    apiMetrics = baseOf(h.app);
    workerMetrics = baseOf(worker);
    oic = await h.user('metered', 'investigator');
  });

  afterAll(async () => {
    await queues?.onApplicationShutdown();
    await worker?.close();
    await h.stop();
  });

  it('counts requests by route template and status, upload bytes, and seals', async () => {
    const caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Metrics case' } })).body.id as string;
    const exhibit = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'MT/1', sourceType: 'cctv', description: 'export', producer: 'M T' } });
    expect(exhibit.status).toBe(201);
    const nowhere = randomBytes(4).toString('hex');
    expect((await h.call('GET', `/api/v1/cases/${nowhere}/nowhere`, { token: oic.token })).status).toBe(404);
    const up = await tusUpload(`${h.base}/api/v1/uploads`, oic.token, data, { metadata: { caseId, exhibitId: exhibit.body.id as string, filename: 'clip.bin' } });
    expect(up.error).toBeUndefined();
    const fileId = uploadIdOf(up.url);
    for (let state = ''; state !== 'sealed'; await new Promise((r) => setTimeout(r, 100))) {
      state = (await h.call('GET', `/api/v1/uploads/${fileId}`, { token: oic.token })).body.state as string;
      expect(['uploading', 'verifying', 'sealed']).toContain(state);
    }

    const api = await scrape(apiMetrics);
    expect(api.status).toBe(200);
    expect(api.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const requests = (labels: Record<string, string>) => sample(api.text, 'dems_http_request_duration_seconds_count', { service: 'api', ...labels });
    expect(requests({ method: 'POST', route: '/api/v1/cases', status: '201' })).toBe(1);
    expect(requests({ method: 'POST', route: '/api/v1/cases/:caseId/exhibits', status: '201' })).toBe(1);
    expect(requests({ method: 'POST', route: '/api/v1/uploads', status: '201' })).toBe(1);
    expect(requests({ method: 'PATCH', route: '/api/v1/uploads/:uploadId', status: '204' })).toBeGreaterThanOrEqual(1);
    // Ids and unknown paths never become labels: every series names a route template.
    const notFound = api.text.split('\n').filter((l) => l.startsWith('dems_http_request_duration_seconds_count') && l.includes('status="404"'));
    expect(notFound).toHaveLength(1);
    expect(notFound[0]).toMatch(/ 1$/);
    expect(api.text).not.toContain(caseId);
    expect(api.text).not.toContain(nowhere);
    expect(sample(api.text, 'dems_upload_bytes_total')).toBe(data.length);
    expect(sample(api.text, 'dems_uploads_active')).toBe(0);
    // Asking whether a part exists yet (404) is not an error of the store.
    expect(sample(api.text, 'dems_s3_errors_total')).toBeUndefined();
    expect(sample(api.text, 'dems_database_errors_total')).toBe(0);

    const w = await scrape(workerMetrics);
    expect(w.status).toBe(200);
    expect(sample(w.text, 'dems_seal_outcomes_total', { service: 'worker', outcome: 'sealed' })).toBe(1);
  });

  it("reports the ledger's size, the events awaiting a checkpoint and the checkpoint's age as the database has them", async () => {
    const admin = await h.user('metrics-admin', 'administrator');
    expect((await h.call('POST', '/api/v1/ledger/checkpoints', { token: admin.token })).status).toBeLessThan(300);
    expect((await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'After the checkpoint' } })).status).toBe(201);
    // Other work (the media job of the sealed file) may add events while the scrape runs: the
    // scrape's values lie between what the database held just before and just after it.
    const read = async () => {
      const [e] = await h.ds.query(`SELECT coalesce(max(leaf_index) + 1, 0)::int AS size FROM custody_events`);
      const [c] = await h.ds.query(`SELECT coalesce(max(tree_size), 0)::int AS size, extract(epoch FROM now() - max(created_at))::float8 AS age FROM ledger_checkpoints`);
      return { size: e.size as number, checkpoint: c.size as number, age: c.age as number | null };
    };
    const before = await read();
    const w = (await scrape(workerMetrics)).text;
    const after = await read();
    const size = sample(w, 'dems_ledger_size')!;
    expect(size).toBeGreaterThanOrEqual(before.size);
    expect(size).toBeLessThanOrEqual(after.size);
    expect(before.size).toBeGreaterThan(0);
    const awaiting = sample(w, 'dems_ledger_events_awaiting_checkpoint')!;
    expect(awaiting).toBeGreaterThanOrEqual(before.size - after.checkpoint);
    expect(awaiting).toBeLessThanOrEqual(after.size - before.checkpoint);
    expect(awaiting).toBeGreaterThan(0);
    const age = sample(w, 'dems_ledger_last_checkpoint_age_seconds')!;
    expect(age).toBeGreaterThanOrEqual(before.age!);
    expect(age).toBeLessThanOrEqual(after.age!);
    expect(sample(w, 'dems_fixity_failing_objects', { outcome: 'changed' })).toBeGreaterThanOrEqual(0);
    const free = sample(w, 'dems_staging_disk_free_ratio')!;
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(1);
  });

  it('counts failed jobs per queue, and reads queue depth from Redis', async () => {
    // A seal of a file that does not exist fails for good on its first attempt.
    const id = await queues.enqueue('ingest.seal', { fileId: '00000000-0000-4000-8000-000000000000' });
    for (let state = ''; state !== 'failed'; await new Promise((r) => setTimeout(r, 100))) {
      state = (await queues.getJob('ingest', id))!.state;
      expect(['waiting', 'active', 'delayed', 'failed']).toContain(state);
    }
    const w = (await scrape(workerMetrics)).text;
    expect(sample(w, 'dems_job_failures_total', { queue: 'ingest', job: 'ingest.seal' })).toBe(1);
    const failedInRedis = (await queues.states()).find((q) => q.queue === 'ingest')!.counts.failed;
    expect(failedInRedis).toBe(1);
    expect(sample(w, 'dems_queue_jobs', { queue: 'ingest', state: 'failed' })).toBe(failedInRedis);
    expect(sample(w, 'dems_queue_oldest_waiting_seconds', { queue: 'ingest' })).toBeGreaterThanOrEqual(0);
  });

  it('counts failed database queries and S3 requests that failed for good', async () => {
    await expect(h.app.get(DataSource).query('SELECT 1 / 0')).rejects.toThrow(/division by zero/);
    expect(sample((await scrape(apiMetrics)).text, 'dems_database_errors_total')).toBe(1);

    // A second API whose S3 goes away after it started: a new upload cannot reach the store.
    const s3 = new URL(h.config.S3_ENDPOINT!);
    const relay = new TcpRelay(s3.hostname, Number(s3.port || 80));
    const cut = new ApiHarness();
    try {
      await cut.start({ S3_ENDPOINT: `http://127.0.0.1:${await relay.open()}`, METRICS_PORT: 0, METRICS_TOKEN: token });
      const who = await cut.user('cut-off', 'investigator');
      const caseId = (await cut.call('POST', '/api/v1/cases', { token: who.token, body: { urn: freshUrn(), title: 'S3 outage' } })).body.id as string;
      const exhibitId = (await cut.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: who.token, body: { reference: 'SO/1', sourceType: 'cctv', description: 'x', producer: 'S O' } })).body.id as string;
      await relay.close();
      const up = await tusUpload(`${cut.base}/api/v1/uploads`, who.token, randomBytes(1000), { metadata: { caseId, exhibitId, filename: 'lost.bin' } });
      expect(up.error?.status).toBeGreaterThanOrEqual(500);
      const text = (await scrape(baseOf(cut.app))).text;
      const failed = text.split('\n').filter((l) => l.startsWith('dems_s3_errors_total{') && l.includes('status="network"'));
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed.every((l) => /operation="\w+Command"/.test(l) && Number(l.split(' ').pop()) >= 1)).toBe(true);
    } finally {
      await relay.close();
      await cut.stop();
    }
  });

  it('refuses a caller without the token, or with a wrong one, and is not served on the public API port', async () => {
    for (const base of [apiMetrics, workerMetrics]) {
      const none = await scrape(base, '');
      expect(none.status).toBe(401);
      expect(JSON.parse(none.text).code).toBe('METRICS_UNAUTHORIZED');
      expect(none.text).not.toContain('dems_');
      expect((await scrape(base, randomBytes(32).toString('base64url'))).status).toBe(401);
    }
    const publicPort = await h.call('GET', '/metrics');
    expect(publicPort.status).toBe(404);
    expect(publicPort.text).not.toContain('dems_');
    expect((await h.call('GET', '/api/metrics')).status).toBe(404);
  });
});
