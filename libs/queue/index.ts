export * from './job-registry.js';
export { HandlesJob, TerminalJobError, type JobContext, type JobFailure, type JobHandler } from './job-handler.js';
export { QueueService, SCHEDULED_FAILURES_KEPT, type JobView } from './queue.service.js';
export { QueueModule, JobWorkerModule } from './queue.module.js';
export { WorkerStartupError } from './job-worker.host.js';
export { createRedis, pingRedis } from './redis-connection.js';
export { checkHeartbeat, heartbeatFile, HEARTBEAT_STALE_MS, type WorkerHeartbeat } from './worker-heartbeat.js';
