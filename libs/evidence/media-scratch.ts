import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRATCH_PREFIX = 'dems-media-';

/** Host names as a folder name may hold them. */
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/**
 * A scratch folder for one derivative, named after this host and process so that a worker
 * starting up can remove what a killed worker left (sweepScratch) without touching a live
 * worker's folders, on this host or on another container sharing the temp directory.
 */
export function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), `${SCRATCH_PREFIX}${HOST}-${process.pid}-`));
}

/**
 * Removes the scratch folders this host's media workers left when they died mid-job (SIGKILL,
 * OOM). A folder whose process still runs, or another host's, is left alone. Returns what was removed.
 */
export async function sweepScratch(dir = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const m = /^(.+)-(\d+)-[^-]+$/.exec(name.startsWith(SCRATCH_PREFIX) ? name.slice(SCRATCH_PREFIX.length) : '');
    if (!m || m[1] !== HOST || alive(Number(m[2]))) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
