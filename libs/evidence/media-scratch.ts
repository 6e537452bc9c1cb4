import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRATCH_PREFIX = 'dems-media-';

/**
 * A scratch folder for one derivative, named after this process so that a worker starting up can
 * remove what a killed worker left (sweepScratch) without touching a live worker's folders.
 */
export function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
}

/**
 * Removes the scratch folders of media workers that no longer run (killed mid-job: SIGKILL or
 * the container died). A folder whose process id is alive is left alone. Returns what was removed.
 */
export async function sweepScratch(dir = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const m = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`).exec(name);
    if (!m || alive(Number(m[1]))) continue;
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
