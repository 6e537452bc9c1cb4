import { QUEUE_NAMES, type QueueName } from './job-registry.js';

/**
 * Jobs one worker process runs at once on each queue: WORKER_CONCURRENCY, except where
 * WORKER_QUEUE_CONCURRENCY (`media=1,extraction=1`) names the queue. Throws on a queue name the
 * registry does not know or a count below 1, so a typo cannot silently leave the default. Pure.
 */
export function queueConcurrency(perQueue: string, fallback: number): Record<QueueName, number> {
  const result = Object.fromEntries(QUEUE_NAMES.map((q) => [q, fallback])) as Record<QueueName, number>;
  for (const pair of perQueue.split(',').filter(Boolean)) {
    const [queue, count] = pair.split('=');
    if (!(QUEUE_NAMES as readonly string[]).includes(queue)) throw new Error(`WORKER_QUEUE_CONCURRENCY names no queue "${queue}" (queues: ${QUEUE_NAMES.join(', ')})`);
    if (!(Number(count) >= 1)) throw new Error(`WORKER_QUEUE_CONCURRENCY: ${queue} needs at least 1 job at a time, not ${count}`);
    result[queue as QueueName] = Number(count);
  }
  return result;
}
