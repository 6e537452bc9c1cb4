import { afterAll, describe, expect, it } from '@jest/globals';
import { Inject, Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { PinoLogger } from 'nestjs-pino';
import { ConfigModule } from '../../../libs/config/index.js';
import { loggingModule } from '../../../libs/core/index.js';
import { MetricsModule, ServiceMetrics } from '../../../libs/metrics/index.js';
import { HandlesJob, JOB_NAMES, JOBS, JobWorkerModule, QueueModule, QueueService, SCHEDULED_FAILURES_KEPT } from '../../../libs/queue/index.js';
import { testConfig } from '../../support/test-env.js';

/** A handler for every job (but `except`) that fails as a job does while its storage is away. */
function failingHandlers(except?: string) {
  return JOB_NAMES.filter((name) => name !== except).map((name) => {
    const handler = class {
      async handle(): Promise<never> {
        throw new Error('connect ECONNREFUSED (storage away)');
      }
    };
    Object.defineProperty(handler, 'name', { value: `Failing ${name}` });
    HandlesJob(name)(handler);
    Injectable()(handler);
    return handler;
  });
}

/** What the metrics scrape reads from Redis, and what Redis keeps of a schedule that fails for hours (real Redis). */
describe('queue state for metrics, and failed scheduled jobs in Redis', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('reads each queue by state and the age of its oldest waiting job', async () => {
    const queues = new QueueService(testConfig({ QUEUE_PREFIX: `dems-test-qm-${randomBytes(3).toString('hex')}` }));
    closers.push(() => queues.onApplicationShutdown());
    const first = await queues.enqueue('media.process', { fileId: '00000000-0000-4000-8000-000000000001' });
    await new Promise((r) => setTimeout(r, 20));
    await queues.enqueue('media.process', { fileId: '00000000-0000-4000-8000-000000000002' });
    const oldest = (await queues.getJob('media', first))!.createdAt.getTime();
    const now = Date.now();
    const media = (await queues.states(now)).find((q) => q.queue === 'media')!;
    expect(media.counts).toEqual({ waiting: 2, active: 0, delayed: 0, failed: 0 });
    expect(media.oldestWaitingSeconds).toBe((now - oldest) / 1000);
    expect((await queues.states(now)).find((q) => q.queue === 'ledger')).toEqual({ queue: 'ledger', counts: { waiting: 0, active: 0, delayed: 0, failed: 0 }, oldestWaitingSeconds: 0 });
  });

  it('keeps a bounded number of failed runs of a schedule that fails run after run (an outage)', async () => {
    const config = testConfig({ QUEUE_PREFIX: `dems-test-qf-${randomBytes(3).toString('hex')}`, JOB_RETRY_DELAY_SCALE: 0.001 });
    const worker: INestApplicationContext = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), loggingModule('worker', 'silent'), MetricsModule.forRoot('worker'), QueueModule, JobWorkerModule],
      providers: failingHandlers(),
    }).compile();
    await worker.init();
    const queues = worker.get(QueueService);
    const failures = worker.get(ServiceMetrics).jobFailures;
    const spec = JOBS['ledger.publish-checkpoint'];

    await queues.schedule('ledger.publish-checkpoint', 10, {});
    // Well past the bound: every run tried `attempts` times and failed for good.
    const runs = SCHEDULED_FAILURES_KEPT.count + 30;
    for (;;) {
      const attempts = (await failures.get()).values.find((v) => v.labels.job === 'ledger.publish-checkpoint')?.value ?? 0;
      if (attempts >= runs * spec.attempts) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // The worker stops (the outage goes on, nothing runs): what Redis kept stays put to be read.
    await worker.close();
    const after = new QueueService(config);
    closers.push(() => after.onApplicationShutdown());
    const ledger = (await after.states()).find((q) => q.queue === 'ledger')!;
    expect(ledger.counts.failed).toBe(SCHEDULED_FAILURES_KEPT.count);
    const kept = await after.failedJobs(1000);
    expect(kept.filter((j) => j.name === 'ledger.publish-checkpoint')).toHaveLength(SCHEDULED_FAILURES_KEPT.count);
    expect(kept.every((j) => j.attemptsMade === spec.attempts && /ECONNREFUSED/.test(j.failedReason ?? ''))).toBe(true);
  });

  it('runs each job in a log context naming the job and the file it is about', async () => {
    const config = testConfig({ QUEUE_PREFIX: `dems-test-ql-${randomBytes(3).toString('hex')}` });
    @Injectable()
    @HandlesJob('media.process')
    class ReportsItsLogContext {
      constructor(@Inject(PinoLogger) private readonly log: PinoLogger) {}
      async handle() {
        return { state: JSON.stringify(this.log.logger.bindings()), kind: null, derivatives: 0 };
      }
    }
    const worker: INestApplicationContext = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), loggingModule('worker', 'silent'), MetricsModule.forRoot('worker'), QueueModule, JobWorkerModule],
      providers: [...failingHandlers('media.process'), ReportsItsLogContext],
    }).compile();
    await worker.init();
    closers.push(() => worker.close());
    const queues = worker.get(QueueService);
    const fileId = '00000000-0000-4000-8000-0000000000aa';
    const id = await queues.enqueue('media.process', { fileId });
    let job = await queues.getJob('media', id);
    while (job?.state !== 'completed') {
      expect(['waiting', 'active', 'completed']).toContain(job?.state);
      await new Promise((r) => setTimeout(r, 50));
      job = await queues.getJob('media', id);
    }
    const bindings = JSON.parse((job.result as { state: string }).state) as Record<string, unknown>;
    expect(bindings).toMatchObject({ service: 'worker', jobId: id, job: 'media.process', evidenceId: fileId });
  });
});
