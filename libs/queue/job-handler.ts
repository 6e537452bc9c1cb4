import { SetMetadata } from '@nestjs/common';
import type { JobName, JobPayloads, JobResults } from './job-registry.js';

export const JOB_HANDLER = Symbol('JOB_HANDLER');

export interface JobContext {
  jobId: string;
  attempt: number;
  /** Aborted when the job's time limit passes or the worker is forced to stop. */
  signal: AbortSignal;
  progress(value: number | Record<string, unknown>): Promise<void>;
}

/** How a job ended when it will not be tried again. */
export interface JobFailure {
  code: string;
  message: string;
  attempts: number;
}

/** One class per job; the worker finds it by this decorator. */
export interface JobHandler<N extends JobName> {
  handle(payload: JobPayloads[N], ctx: JobContext): Promise<JobResults[N]>;
  /**
   * Called once when the job has failed for good (its last attempt, or a terminal error), so the
   * item it works on can leave its in-progress state for a visible failed one with the reason.
   * Never called for an attempt that will be retried, nor when the worker is stopping.
   */
  onFinalFailure?(payload: JobPayloads[N], failure: JobFailure): Promise<void>;
}

export const HandlesJob = (name: JobName) => SetMetadata(JOB_HANDLER, name);

/**
 * Thrown by a handler when retrying cannot help (corrupt input, unsupported format, missing
 * object): the job fails at once and stays in the failed set with this reason.
 */
export class TerminalJobError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TerminalJobError';
  }
}
