import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { processFolderPrefix, removeDeadProcessFolders } from '../core/index.js';

const SCRATCH_PREFIX = 'dems-media-';

/**
 * A scratch folder for one derivative, named after this host and process so that a worker
 * starting up can remove what a killed worker left (sweepScratch) without touching a live
 * worker's folders, on this host or on another container sharing the temp directory.
 */
export function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), processFolderPrefix(SCRATCH_PREFIX)));
}

/**
 * Removes the scratch folders this host's media workers left when they died mid-job (SIGKILL,
 * OOM). A folder whose process still runs, or another host's, is left alone. Returns what was removed.
 */
export async function sweepScratch(dir = tmpdir()): Promise<string[]> {
  return removeDeadProcessFolders(dir, SCRATCH_PREFIX).map((p) => basename(p));
}
