import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { PinoLogger } from 'nestjs-pino';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
import { ServiceMetrics } from '../metrics/index.js';
import { JOB_HANDLER, TerminalJobError, type JobContext, type JobHandler } from './job-handler.js';
import { checkHandlers, JOBS, QUEUE_NAMES, type JobName, type QueueName } from './job-registry.js';
import { queueConcurrency } from './queue-concurrency.js';
import { createRedis } from './redis-connection.js';
import { heartbeatFile, HEARTBEAT_EVERY_MS, removeHeartbeat, writeHeartbeat } from './worker-heartbeat.js';

export class WorkerStartupError extends Error {}

/**
 * Runs one BullMQ worker per queue and dispatches each job to its single handler. Refuses to
 * start when the registry and the handlers disagree. On shutdown it lets in-flight jobs finish
 * for SHUTDOWN_TIMEOUT_MS, then stops hard; jobs cut off that way are returned to the queue by
 * BullMQ's stalled-job check and run again (handlers are idempotent).
 */
@Injectable()
export class JobWorkerHost implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('JobWorker');
  private readonly handlers = new Map<string, JobHandler<JobName>>();
  private readonly workers: Worker[] = [];
  private readonly running = new Map<string, AbortController>();
  private concurrency = {} as Record<QueueName, number>;
  private connection?: Redis;
  private stopping = false;
  private heartbeat?: NodeJS.Timeout;
  private lastJobAt: Date | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(ServiceMetrics) private readonly metrics: ServiceMetrics,
    @Inject(PinoLogger) private readonly pino: PinoLogger,
  ) {}

  /** Fails fast, before anything connects, when the registry and the handlers disagree. */
  onModuleInit(): void {
    const found: { job: string; handler: string; instance: JobHandler<JobName> }[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype) continue;
      const job = this.reflector.get<string | undefined>(JOB_HANDLER, metatype);
      if (job) found.push({ job, handler: metatype.name, instance: instance as JobHandler<JobName> });
    }
    const problems = checkHandlers(found);
    if (problems.length) throw new WorkerStartupError(`Worker refuses to start: ${problems.join('; ')}`);
    for (const f of found) this.handlers.set(f.job, f.instance);
    try {
      this.concurrency = queueConcurrency(this.config.WORKER_QUEUE_CONCURRENCY, this.config.WORKER_CONCURRENCY);
    } catch (e) {
      throw new WorkerStartupError(`Worker refuses to start: ${(e as Error).message}`);
    }
  }

  onApplicationBootstrap(): void {
    this.connection = createRedis(this.config.REDIS_URL);
    for (const queue of QUEUE_NAMES) {
      const worker = new Worker(queue, (job) => this.pino.runInContext(() => this.run(job), { bindings: logBindings(job) }), {
        connection: this.connection,
        prefix: this.config.QUEUE_PREFIX,
        concurrency: this.concurrency[queue],
        autorun: true,
      });
      worker.on('failed', (job, err) => {
        this.metrics.jobFailures.inc({ queue, job: job?.name ?? 'unknown' });
        this.logger.warn({ jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, err: err.message }, 'job failed');
      });
      worker.on('error', (err) => this.logger.error({ err: err.message }, `queue ${queue}: worker error`));
      this.workers.push(worker);
    }
    this.logger.log(`listening on queues ${QUEUE_NAMES.join(', ')} with ${this.handlers.size} job handler(s)`);
    // A heartbeat the container's health check reads: the worker has no HTTP server, and a process
    // that merely exists says nothing about its queues.
    const beat = () => void this.beat().catch((e: Error) => this.logger.warn({ err: e.message }, 'heartbeat not written'));
    beat();
    this.heartbeat = setInterval(beat, HEARTBEAT_EVERY_MS);
    this.heartbeat.unref();
  }

  private async beat(): Promise<void> {
    let redis = 'ok';
    try {
      await Promise.race([this.connection!.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2000).unref())]);
    } catch (e) {
      redis = (e as Error).message;
    }
    await writeHeartbeat(heartbeatFile(this.config.QUEUE_PREFIX), {
      pid: process.pid,
      at: new Date().toISOString(),
      redis,
      queues: [...QUEUE_NAMES],
      running: this.running.size,
      lastJobAt: this.lastJobAt?.toISOString() ?? null,
    });
  }

  private async run(job: Job): Promise<unknown> {
    const handler = this.handlers.get(job.name);
    const spec = JOBS[job.name as JobName];
    if (!handler || !spec) throw new UnrecoverableError(`UNKNOWN_JOB: no handler for job "${job.name}"`);
    const abort = new AbortController();
    this.running.set(job.id!, abort);
    const timer = setTimeout(() => abort.abort(new Error(`time limit of ${spec.timeoutMs} ms passed`)), spec.timeoutMs);
    const ctx: JobContext = {
      jobId: job.id!,
      attempt: job.attemptsMade + 1,
      signal: abort.signal,
      progress: (value) => job.updateProgress(value),
    };
    const log = { jobId: job.id, job: job.name, attempt: ctx.attempt };
    this.lastJobAt = new Date();
    try {
      const result = await Promise.race([
        handler.handle(job.data, ctx),
        new Promise<never>((_, reject) =>
          abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }),
        ),
      ]);
      this.logger.log(log, 'job completed');
      return result;
    } catch (e) {
      // Errors are rethrown so BullMQ records the failure; only terminal ones skip the retries.
      const terminal = e instanceof TerminalJobError || (e instanceof AppError && e.status < 500);
      const stopping = this.stopping && abort.signal.aborted;
      if (handler.onFinalFailure && !stopping && (terminal || ctx.attempt >= spec.attempts)) {
        const code = e instanceof TerminalJobError || e instanceof AppError ? e.code : abort.signal.aborted ? 'JOB_TIMED_OUT' : 'JOB_FAILED';
        const message = (e as Error)?.message ?? String(e);
        try {
          await handler.onFinalFailure(job.data, { code, message, attempts: ctx.attempt });
        } catch (hookError) {
          this.logger.error({ ...log, err: (hookError as Error).message }, 'recording the final failure failed');
        }
      }
      if (terminal) throw new UnrecoverableError(`${(e as TerminalJobError | AppError).code}: ${(e as Error).message}`);
      throw e;
    } finally {
      clearTimeout(timer);
      this.running.delete(job.id!);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    await removeHeartbeat(heartbeatFile(this.config.QUEUE_PREFIX));
    if (!this.workers.length) return;
    this.stopping = true;
    const graceful = Promise.all(this.workers.map((w) => w.close()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      graceful.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), this.config.SHUTDOWN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.logger.warn(`in-flight jobs did not finish within ${this.config.SHUTDOWN_TIMEOUT_MS} ms; returning them to the queue`);
      for (const a of this.running.values()) a.abort(new Error('worker shutting down'));
      await Promise.all(this.workers.map((w) => w.close(true)));
    }
    this.connection?.disconnect();
    this.logger.log('stopped');
  }
}

/** What every log line made while a job runs carries: the job, and the case or file it is about when its payload names them. */
function logBindings(job: Job): Record<string, string> {
  const data = (job.data ?? {}) as { caseId?: unknown; fileId?: unknown };
  return {
    jobId: String(job.id),
    job: job.name,
    ...(typeof data.caseId === 'string' ? { caseId: data.caseId } : {}),
    ...(typeof data.fileId === 'string' ? { evidenceId: data.fileId } : {}),
  };
}
