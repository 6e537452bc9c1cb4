import { readdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** This host's name as a folder name may hold it. */
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/**
 * The start of a temp folder name owned by this process: `<prefix><host>-<pid>-`, to which the
 * caller adds a unique suffix (mkdtemp's, or its own). A process starting up can then remove what
 * a killed one left (removeDeadProcessFolders) without touching a live process's folders.
 */
export function processFolderPrefix(prefix: string): string {
  return `${prefix}${HOST}-${process.pid}-`;
}

/**
 * Removes the folders under `dir` named by processFolderPrefix(prefix) whose process is gone: on
 * this host, those whose process no longer runs; from other hosts sharing the folder (containers
 * on one volume), only those untouched for `otherHostsAfterMs`, when given. Returns the paths removed.
 */
export function removeDeadProcessFolders(dir: string, prefix: string, options: { otherHostsAfterMs?: number; now?: number } = {}): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = name.startsWith(prefix) ? /^(.+)-(\d+)-[^-]+$/.exec(name.slice(prefix.length)) : null;
    if (!m) continue;
    const path = join(dir, name);
    const dead =
      m[1] === HOST
        ? Number(m[2]) !== process.pid && !processRuns(Number(m[2]))
        : options.otherHostsAfterMs !== undefined && (options.now ?? Date.now()) - statSync(path).mtimeMs > options.otherHostsAfterMs;
    if (!dead) continue;
    rmSync(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
