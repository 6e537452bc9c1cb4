/**
 * The one registry of queues, jobs and their payloads. A job is added here first; the worker
 * refuses to start unless every job named here has exactly one handler.
 */
import type { Digests } from '../core/index.js';

export const QUEUE_NAMES = ['integrity', 'ledger', 'ingest', 'disclosure', 'media', 'extraction'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface JobPayloads {
  /** Re-hash stored objects: a scheduled share, or every object of one case. */
  'integrity.fixity-run': { trigger: 'scheduled' | 'case' | 'manual'; caseId?: string; /** a requested run (FixityService.requestCaseRun) */ runId?: string };
  /** Sign a checkpoint if enough events arrived or enough time passed (scheduled). */
  'ledger.publish-checkpoint': Record<string, never>;
  /** Seal a completed upload: hash (or take the ingest stream's hashes), compare, seal or quarantine. */
  'ingest.seal': { fileId: string; digests?: Digests };
  /** Remove abandoned uploads' parts from storage (scheduled). */
  'ingest.expire-uploads': Record<string, never>;
  /** Probe a sealed original and make its working copies (video, audio, image), each a recorded derivative. */
  'media.process': { fileId: string };
  /** Make a court copy asked for (caption with exhibit reference and real-world time) from the original. */
  'media.court-copy': { requestId: string };
  /** Group an exhibit's sealed files into extraction sets and verify the complete ones (libs/extraction). */
  'extraction.verify': { exhibitId: string; fileId: string };
  /** Stream selected inventory entries out of a verified extraction into a derived exhibit, each sealed. */
  'extraction.export': { exportId: string };
  /** Build a disclosure bundle: fixity of every item, custody extracts, the signed ZIP64 streamed into S3. */
  'disclosure.build-bundle': { bundleId: string };
}

export interface JobResults {
  'integrity.fixity-run': { runId: string; checked: number; changed: number; missing: number; errors: number };
  'ledger.publish-checkpoint': { treeSize: number; published: boolean };
  'ingest.seal': { state: string; sha256: string | null; hashedFrom: string | null };
  'ingest.expire-uploads': { expired: number; recovered: number; requeued: number };
  'media.process': { state: string; kind: string | null; derivatives: number };
  'media.court-copy': { state: string; derivativeId: string | null };
  'extraction.verify': { sets: number; states: Record<string, string> };
  'extraction.export': { state: string; files: number };
  'disclosure.build-bundle': { state: string; sha256: string | null; size: number | null };
}

export type JobName = keyof JobPayloads;

export interface JobSpec {
  queue: QueueName;
  /** Total tries, including the first. */
  attempts: number;
  /** First retry delay; doubles each attempt. */
  backoffMs: number;
  /** The handler is aborted and the attempt fails after this long. */
  timeoutMs: number;
}

export const JOBS: { readonly [N in JobName]: JobSpec } = {
  'integrity.fixity-run': { queue: 'integrity', attempts: 2, backoffMs: 60_000, timeoutMs: 6 * 3600_000 },
  'ledger.publish-checkpoint': { queue: 'ledger', attempts: 3, backoffMs: 2_000, timeoutMs: 60_000 },
  // A read-back hash of a multi-GB file takes minutes; storage hiccups are retried.
  'ingest.seal': { queue: 'ingest', attempts: 5, backoffMs: 5_000, timeoutMs: 6 * 3600_000 },
  'ingest.expire-uploads': { queue: 'ingest', attempts: 2, backoffMs: 60_000, timeoutMs: 30 * 60_000 },
  // ffmpeg has its own time limits per run; the job's is the ceiling for a long recording.
  'media.process': { queue: 'media', attempts: 3, backoffMs: 30_000, timeoutMs: 6 * 3600_000 },
  'media.court-copy': { queue: 'media', attempts: 3, backoffMs: 30_000, timeoutMs: 6 * 3600_000 },
  // ewfverify reads the whole image (its own time limit per GiB); staging busy is retried.
  'extraction.verify': { queue: 'extraction', attempts: 3, backoffMs: 30_000, timeoutMs: 12 * 3600_000 },
  // One forward read of the container plus a read-back seal per file; storage hiccups are retried, sealed files skipped.
  'extraction.export': { queue: 'extraction', attempts: 3, backoffMs: 10_000, timeoutMs: 6 * 3600_000 },
  // Reads every item twice (fixity, then into the ZIP): hours for a large case; storage hiccups are retried.
  'disclosure.build-bundle': { queue: 'disclosure', attempts: 3, backoffMs: 10_000, timeoutMs: 6 * 3600_000 },
};

export const JOB_NAMES = Object.keys(JOBS) as JobName[];

export interface HandlerRegistration {
  job: string;
  handler: string;
}

/**
 * Checks found handlers against the registry. Returns one sentence per problem: a job with no
 * handler, a job with two or more, or a handler for a job the registry does not know.
 */
export function checkHandlers(found: HandlerRegistration[], jobNames: readonly string[] = JOB_NAMES): string[] {
  const problems: string[] = [];
  for (const job of jobNames) {
    const handlers = found.filter((f) => f.job === job).map((f) => f.handler).sort();
    if (handlers.length === 0) problems.push(`job "${job}" has no handler`);
    if (handlers.length > 1) problems.push(`job "${job}" has ${handlers.length} handlers (${handlers.join(', ')})`);
  }
  for (const f of found) {
    if (!jobNames.includes(f.job)) problems.push(`handler ${f.handler} is for unknown job "${f.job}"`);
  }
  return problems;
}
