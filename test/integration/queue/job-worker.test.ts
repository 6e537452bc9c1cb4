import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { WorkerModule } from '../../../apps/worker/worker.module.js';
import { createDataSource, runMigrations } from '../../../libs/database/index.js';
import { checkHeartbeat, HandlesJob, heartbeatFile, QueueService, type JobView } from '../../../libs/queue/index.js';
import { createObjectStore, type S3ObjectStore } from '../../../libs/storage/index.js';
import { CLI, cliOptions, randomKey, testConfig } from '../../support/test-env.js';

const run = promisify(execFile);

const MiB = 1024 * 1024;

async function waitForState(queues: QueueService, id: string, states: string[], timeoutMs = 60_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await queues.getJob('integrity', id);
    if (job && states.includes(job.state)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job?.state}, wanted ${states.join('|')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('worker and queues (real Redis, S3, PostgreSQL)', () => {
  // A queue prefix of its own keeps this file's jobs away from any other worker.
  const config = testConfig({ QUEUE_PREFIX: `dems-test-${randomBytes(3).toString('hex')}`, SHUTDOWN_TIMEOUT_MS: 60_000 });
  let store: S3ObjectStore;
  let queues: QueueService;
  let worker: INestApplicationContext | undefined;

  beforeAll(async () => {
    const ds = createDataSource(config);
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();
    store = createObjectStore(config);
    await store.ensureBuckets();
    queues = new QueueService(config);
    worker = await startWorker(config, { shutdownHooks: false });
  });

  afterAll(async () => {
    await worker?.close();
    await queues.onApplicationShutdown();
    store.destroy();
  });

  it('runs a registered job and returns its result', async () => {
    const key = randomKey('fixity');
    const body = randomBytes(3 * MiB);
    await store.put(store.buckets.originals, key, body);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const id = await queues.enqueue('integrity.hash-object', { bucket: store.buckets.originals, key, expectedSha256: sha256 });
    const job = await waitForState(queues, id, ['completed', 'failed']);
    expect(job.state).toBe('completed');
    expect(job.result).toEqual({ size: body.length, sha256, matches: true });
    expect(job.progress).toBe(100);
  });

  it('is idempotent by job id', async () => {
    const key = randomKey('dedupe');
    await store.put(store.buckets.originals, key, Buffer.from('same'));
    const jobId = `hash-${key.replace(/\//g, '_')}`;
    const a = await queues.enqueue('integrity.hash-object', { bucket: store.buckets.originals, key }, { jobId });
    const b = await queues.enqueue('integrity.hash-object', { bucket: store.buckets.originals, key }, { jobId });
    expect(a).toBe(jobId);
    expect(b).toBe(jobId);
    expect((await waitForState(queues, jobId, ['completed'])).result).toMatchObject({ size: 4, matches: null });
  });

  it('fails a terminal error at once, without retries, and keeps it visible', async () => {
    const key = randomKey('gone');
    const id = await queues.enqueue('integrity.hash-object', { bucket: store.buckets.originals, key });
    const job = await waitForState(queues, id, ['failed']);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe(`OBJECT_MISSING: Object ${store.buckets.originals}/${key} is missing from storage`);
    const failed = await queues.failedJobs(500);
    expect(failed.map((f) => f.id)).toContain(id);
  });

  it('on shutdown lets an in-flight job finish before the worker stops', async () => {
    const key = randomKey('inflight');
    const body = randomBytes(96 * MiB);
    await store.put(store.buckets.originals, key, body);
    const id = await queues.enqueue('integrity.hash-object', { bucket: store.buckets.originals, key });
    // Shutdown starts while the job runs (hashing 96 MiB read back from S3 takes a while); a job
    // that had already finished would prove nothing, so that case fails below.
    await waitForState(queues, id, ['active']);
    const shutdownStartedAt = Date.now();
    await worker!.close();
    const closedAt = Date.now();
    worker = undefined;
    const job = await queues.getJob('integrity', id);
    expect(job?.state).toBe('completed');
    expect(job?.finishedAt!.getTime()).toBeGreaterThanOrEqual(shutdownStartedAt - 5);
    expect(job?.finishedAt!.getTime()).toBeLessThanOrEqual(closedAt);
    expect((job?.result as { size: number }).size).toBe(body.length);
  });

  it("writes a heartbeat that the container health check reads, and removes it when it stops", async () => {
    const file = heartbeatFile(config.QUEUE_PREFIX);
    const own = worker ?? (await startWorker(config, { shutdownHooks: false }));
    worker = own;
    for (let i = 0; i < 50 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    expect(checkHeartbeat(file)).toMatchObject({ healthy: true, beat: { redis: 'ok', pid: process.pid } });
    const check = (role: string) =>
      run('node', [CLI, 'admin', 'health-check', '--role', role, '--queue-prefix', config.QUEUE_PREFIX], cliOptions({ DEMS_API_URL: 'http://127.0.0.1:9' })).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    expect(await check('worker')).toMatchObject({ code: 0, out: expect.stringMatching(/^healthy: worker/) });
    // A stale heartbeat (a stuck worker) is unhealthy.
    expect(checkHeartbeat(file, Date.now() + 120_000)).toMatchObject({ healthy: false, reason: expect.stringMatching(/s old/) });
    await own.close();
    worker = undefined;
    expect(existsSync(file)).toBe(false);
    expect(await check('worker')).toMatchObject({ code: 1, out: expect.stringMatching(/^UNHEALTHY: no worker heartbeat/) });
    // Run as an API (no heartbeat here): the API port decides.
    expect(await check('auto')).toMatchObject({ code: 1, out: expect.stringMatching(/^UNHEALTHY: the API does not answer/) });
    worker = await startWorker(config, { shutdownHooks: false });
  });

  it('refuses to start when a job has two handlers', async () => {
    @Injectable()
    @HandlesJob('integrity.hash-object')
    class SecondHashHandler {
      async handle() {
        return { size: 0, sha256: '', matches: null };
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [WorkerModule.forRoot(config)], providers: [SecondHashHandler] }).compile();
    await expect(moduleRef.init()).rejects.toThrow(
      'Worker refuses to start: job "integrity.hash-object" has 2 handlers (ObjectHashJob, SecondHashHandler)',
    );
    await moduleRef.close();
  });
});
