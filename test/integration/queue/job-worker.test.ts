import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { DataSource } from 'typeorm';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { WorkerModule } from '../../../apps/worker/worker.module.js';
import { recordCustodyEvent } from '../../../libs/custody/index.js';
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
  let ds: DataSource;
  let store: S3ObjectStore;
  let queues: QueueService;
  let worker: INestApplicationContext | undefined;
  let userId: string;

  /**
   * A case of its own with `objects` stored and registered for fixity (a wrong registered hash
   * where `tampered`): the production job `integrity.fixity-run` re-reads exactly these.
   */
  async function caseWithObjects(objects: { body: Buffer; tampered?: boolean }[]): Promise<string> {
    const urn = `01WK${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}26`;
    // The database refuses a case without its custody event in the same transaction.
    const kase = await ds.transaction(async (tx) => {
      const [made] = await tx.query(`INSERT INTO cases (urn, title, created_by) VALUES ($1, 'Worker test', $2) RETURNING id`, [urn, userId]);
      await recordCustodyEvent(tx, { type: 'case.created', operation: 'collection', caseId: made.id });
      return made as { id: string };
    });
    for (const { body, tampered } of objects) {
      const key = randomKey('fixity');
      await store.put(store.buckets.originals, key, body);
      const sha256 = createHash('sha256').update(tampered ? Buffer.concat([body, Buffer.from('x')]) : body).digest('hex');
      await ds.query(`INSERT INTO stored_objects (bucket, object_key, kind, case_id, size, sha256) VALUES ($1, $2, 'original', $3, $4, $5)`, [
        store.buckets.originals,
        key,
        kase.id,
        body.length,
        sha256,
      ]);
    }
    return kase.id;
  }

  const runsOf = async (caseId: string) =>
    (await ds.query(`SELECT id, status, checked, finished_at AS "finishedAt" FROM fixity_runs WHERE case_id = $1`, [caseId])) as {
      id: string;
      status: string;
      checked: number;
      finishedAt: Date | null;
    }[];

  beforeAll(async () => {
    ds = createDataSource(config);
    await ds.initialize();
    await runMigrations(ds);
    [{ id: userId }] = await ds.query(`INSERT INTO users (username, display_name, role) VALUES ($1, 'Worker test', 'investigator') RETURNING id`, [
      `worker-${randomBytes(4).toString('hex')}`,
    ]);
    store = createObjectStore(config);
    await store.ensureBuckets();
    queues = new QueueService(config);
    worker = await startWorker(config, { shutdownHooks: false });
  });

  afterAll(async () => {
    await worker?.close();
    await queues.onApplicationShutdown();
    store.destroy();
    await ds.destroy();
  });

  it('runs a registered job and returns its result', async () => {
    const caseId = await caseWithObjects([{ body: randomBytes(3 * MiB) }, { body: randomBytes(1000), tampered: true }]);
    const id = await queues.enqueue('integrity.fixity-run', { trigger: 'case', caseId });
    const job = await waitForState(queues, id, ['completed', 'failed']);
    expect(job.state).toBe('completed');
    const [run] = await runsOf(caseId);
    expect(job.result).toEqual({ runId: run.id, checked: 2, changed: 1, missing: 0, errors: 0 });
    expect(job.progress).toBe(100);
  });

  it('is idempotent by job id', async () => {
    const caseId = await caseWithObjects([{ body: Buffer.from('same') }]);
    const jobId = `fixity-${caseId}`;
    const a = await queues.enqueue('integrity.fixity-run', { trigger: 'case', caseId }, { jobId });
    const b = await queues.enqueue('integrity.fixity-run', { trigger: 'case', caseId }, { jobId });
    expect(a).toBe(jobId);
    expect(b).toBe(jobId);
    expect((await waitForState(queues, jobId, ['completed'])).result).toMatchObject({ checked: 1, changed: 0 });
    // The second enqueue ran nothing: one run of the case.
    expect(await runsOf(caseId)).toHaveLength(1);
  });

  it('fails a terminal error at once, without retries, and keeps it visible', async () => {
    // A requested run that does not exist (404) is terminal; a retryable failure would wait in "delayed" instead.
    const runId = randomUUID();
    const id = await queues.enqueue('integrity.fixity-run', { trigger: 'case', runId });
    const job = await waitForState(queues, id, ['failed']);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('FIXITY_RUN_NOT_FOUND: No such fixity run');
    const failed = await queues.failedJobs(500);
    expect(failed.map((f) => f.id)).toContain(id);
  });

  it('on shutdown lets an in-flight job finish before the worker stops', async () => {
    const body = randomBytes(96 * MiB);
    const caseId = await caseWithObjects([{ body }]);
    const id = await queues.enqueue('integrity.fixity-run', { trigger: 'case', caseId });
    // Shutdown starts while the run is reading its object back (96 MiB from S3 takes a while): the
    // run is recorded as running with nothing checked yet. A job that had already finished would
    // prove nothing, so that case fails here or below.
    const deadline = Date.now() + 60_000;
    while (!(await runsOf(caseId)).some((r) => r.status === 'running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await runsOf(caseId)).toMatchObject([{ status: 'running', checked: 0, finishedAt: null }]);
    const shutdownStartedAt = Date.now();
    await worker!.close();
    const closedAt = Date.now();
    worker = undefined;
    const job = await queues.getJob('integrity', id);
    expect(job?.state).toBe('completed');
    expect(job?.finishedAt!.getTime()).toBeGreaterThanOrEqual(shutdownStartedAt);
    expect(job?.finishedAt!.getTime()).toBeLessThanOrEqual(closedAt);
    const [run] = await runsOf(caseId);
    expect(run).toMatchObject({ status: 'completed', checked: 1 });
    expect(run.finishedAt!.getTime()).toBeGreaterThanOrEqual(shutdownStartedAt);
    expect(job?.result).toMatchObject({ runId: run.id, checked: 1, changed: 0 });
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
    @HandlesJob('integrity.fixity-run')
    class SecondFixityHandler {
      async handle() {
        return { runId: '', checked: 0, changed: 0, missing: 0, errors: 0 };
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [WorkerModule.forRoot(config)], providers: [SecondFixityHandler] }).compile();
    await expect(moduleRef.init()).rejects.toThrow(
      'Worker refuses to start: job "integrity.fixity-run" has 2 handlers (FixityRunJob, SecondFixityHandler)',
    );
    await moduleRef.close();
  });
});
