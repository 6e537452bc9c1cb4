import { readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What a running worker says about itself every few seconds (read by `dems admin health-check`). */
export interface WorkerHeartbeat {
  pid: number;
  at: string;
  /** 'ok', or why the queues' Redis did not answer. */
  redis: string;
  queues: string[];
  running: number;
  lastJobAt: string | null;
}

export const HEARTBEAT_EVERY_MS = 10_000;
/** A heartbeat older than this means the worker is stuck or gone. */
export const HEARTBEAT_STALE_MS = 60_000;

/** One file per queue prefix on the host (one deployment's worker per container or machine). */
export function heartbeatFile(queuePrefix: string): string {
  return join(tmpdir(), `dems-worker-health-${queuePrefix}.json`);
}

export async function writeHeartbeat(file: string, beat: WorkerHeartbeat): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(beat));
  await rename(tmp, file);
}

export async function removeHeartbeat(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** Healthy when the heartbeat is fresh and the queues' Redis answered; otherwise why not. */
export function checkHeartbeat(file: string, now = Date.now()): { healthy: boolean; reason: string; beat?: WorkerHeartbeat } {
  let beat: WorkerHeartbeat;
  try {
    beat = JSON.parse(readFileSync(file, 'utf8')) as WorkerHeartbeat;
  } catch {
    return { healthy: false, reason: `no worker heartbeat at ${file}` };
  }
  const age = now - new Date(beat.at).getTime();
  if (!(age <= HEARTBEAT_STALE_MS)) return { healthy: false, reason: `the worker's last heartbeat is ${Math.round(age / 1000)} s old`, beat };
  if (beat.redis !== 'ok') return { healthy: false, reason: `the worker cannot reach Redis: ${beat.redis}`, beat };
  return { healthy: true, reason: `worker ${beat.pid} alive (heartbeat ${Math.round(age / 1000)} s ago, ${beat.running} job(s) running)`, beat };
}
