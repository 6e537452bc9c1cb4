import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { DependencyUnavailableError } from '../core/index.js';
import type { QueueState } from '../metrics/index.js';
import { JOBS, QUEUE_NAMES, type JobName, type JobPayloads, type QueueName } from './job-registry.js';
import { createRedis, pingRedis } from './redis-connection.js';

/** How many failed runs of a scheduled job Redis keeps, and for how long (seconds). */
export const SCHEDULED_FAILURES_KEPT = { count: 50, age: 7 * 24 * 3600 };

export interface JobView {
  id: string;
  name: string;
  queue: string;
  state: string;
  attemptsMade: number;
  failedReason?: string;
  progress: unknown;
  data: unknown;
  result?: unknown;
  createdAt: Date;
  finishedAt?: Date;
}

/** Puts jobs on queues and reads their state. The only producer-side user of BullMQ. */
@Injectable()
export class QueueService implements OnApplicationShutdown {
  private readonly redis: Redis;
  private readonly queues = new Map<QueueName, Queue>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    // Producers should fail fast when Redis is away rather than queue commands forever.
    this.redis = createRedis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    this.redis.on('error', () => undefined); // reported through ping() and enqueue errors
  }

  /** Connects on first use; with the offline queue off, commands need the connection up. */
  private async connected(): Promise<Redis> {
    if (this.redis.status === 'wait') await this.redis.connect().catch(() => undefined);
    return this.redis;
  }

  private async queue(name: QueueName): Promise<Queue> {
    await this.connected();
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: this.config.QUEUE_PREFIX });
      this.queues.set(name, q);
    }
    return q;
  }

  private backoff(ms: number): number {
    return Math.max(1, Math.round(ms * this.config.JOB_RETRY_DELAY_SCALE));
  }

  /** Adds a job; a jobId makes it idempotent (a second add with the same id is a no-op). */
  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: { jobId?: string } = {}): Promise<string> {
    const spec = JOBS[name];
    try {
      const job = await (await this.queue(spec.queue)).add(name, payload, {
        jobId: options.jobId,
        attempts: spec.attempts,
        backoff: { type: 'exponential', delay: this.backoff(spec.backoffMs) },
        removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
        // Failed jobs are kept until someone deals with them: failures must stay visible.
        removeOnFail: false,
      });
      return job.id!;
    } catch (e) {
      throw new DependencyUnavailableError('redis', `cannot enqueue ${name} (${(e as Error).message})`);
    }
  }

  /** Runs a job every `everyMs` (one scheduler per job name, shared by all worker replicas). */
  async schedule<N extends JobName>(name: N, everyMs: number, payload: JobPayloads[N]): Promise<void> {
    const spec = JOBS[name];
    await (await this.queue(spec.queue)).upsertJobScheduler(name, { every: everyMs }, {
      name,
      data: payload,
      opts: {
        attempts: spec.attempts,
        backoff: { type: 'exponential', delay: this.backoff(spec.backoffMs) },
        removeOnComplete: { count: 100 },
        // A schedule runs again by itself: during an outage (S3 or the database away for a day)
        // its failures would otherwise pile up in Redis, one every period. The newest are kept
        // for a week, to see what went wrong; dems_job_failures_total counts every one.
        removeOnFail: SCHEDULED_FAILURES_KEPT,
      },
    });
  }

  /** Each queue's jobs by state and the age of its oldest waiting job (for the metrics scrape). */
  async states(now = Date.now()): Promise<QueueState[]> {
    return Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const q = await this.queue(name);
        const [counts, [oldest]] = await Promise.all([q.getJobCounts('waiting', 'active', 'delayed', 'failed'), q.getJobs(['waiting'], 0, 0, true)]);
        return {
          queue: name,
          counts: { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0 },
          oldestWaitingSeconds: oldest ? Math.max(0, (now - oldest.timestamp) / 1000) : 0,
        };
      }),
    );
  }

  async getJob(queue: QueueName, id: string): Promise<JobView | undefined> {
    // The state first, then the job: read the other way round, a job completing in between showed
    // as completed with the result it did not have yet when its fields were read.
    const q = await this.queue(queue);
    const state = await q.getJobState(id);
    const job = await q.getJob(id);
    return job ? await view(queue, job, state) : undefined;
  }

  async failedJobs(limit = 100): Promise<JobView[]> {
    const out: JobView[] = [];
    for (const name of QUEUE_NAMES) {
      const jobs = await (await this.queue(name)).getFailed(0, limit - 1);
      out.push(...(await Promise.all(jobs.map((j) => view(name, j)))));
    }
    return out.sort((a, b) => (b.finishedAt?.getTime() ?? 0) - (a.finishedAt?.getTime() ?? 0)).slice(0, limit);
  }

  async ping(timeoutMs = 2000): Promise<void> {
    try {
      await pingRedis(await this.connected(), timeoutMs);
    } catch (e) {
      throw new DependencyUnavailableError('redis', (e as Error).message);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.redis.disconnect();
  }
}

async function view(queue: string, job: Job, state?: string): Promise<JobView> {
  return {
    id: job.id!,
    name: job.name,
    queue,
    state: state ?? (await job.getState()),
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason || undefined,
    progress: job.progress,
    data: job.data,
    result: job.returnvalue ?? undefined,
    createdAt: new Date(job.timestamp),
    finishedAt: job.finishedOn ? new Date(job.finishedOn) : undefined,
  };
}
