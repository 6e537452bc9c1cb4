import type { Dirent, Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { ApiError } from './errors.js';

/**
 * What `dems ingest` decides without the network: which files go up under which names, its
 * settings, the resume key of a file, and how results are summed up. Kept apart from the command
 * so it can be tested on its own.
 */

export const INGEST_DEFAULTS = { parallel: 3, waitSeconds: 3600, chunkMb: 64 } as const;
export const MAX_PARALLEL = 8;
const MiB = 1024 * 1024;

export interface IngestSettings {
  parallel: number;
  /** false with --no-wait: the seal state is read once, not waited for. */
  wait: boolean;
  waitSeconds: number;
  /** Bytes per tus PATCH request: what a dropped connection can lose at most. */
  chunkBytes: number;
}

function wholeNumber(option: string, value: string | undefined, fallback: number, min: number, max: number): number {
  const text = (value ?? String(fallback)).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ApiError(0, 'INGEST_INVALID_OPTION', `${option} must be a whole number from ${min} to ${max} (got "${value}")`);
  }
  return n;
}

export function parseIngestSettings(raw: { parallel?: string; wait?: boolean; waitSeconds?: string; chunkMb?: string }): IngestSettings {
  return {
    parallel: wholeNumber('--parallel', raw.parallel, INGEST_DEFAULTS.parallel, 1, MAX_PARALLEL),
    wait: raw.wait !== false,
    waitSeconds: wholeNumber('--wait-seconds', raw.waitSeconds, INGEST_DEFAULTS.waitSeconds, 0, 7 * 86_400),
    // The API stages at most a part at a time per request, so chunks up to 1 GiB are fine there.
    chunkBytes: wholeNumber('--chunk-mb', raw.chunkMb, INGEST_DEFAULTS.chunkMb, 1, 1024) * MiB,
  };
}

/** A file to upload: where it is here and the name the service records (relative, forward slashes). */
export interface PlannedFile {
  path: string;
  filename: string;
  /** Size when the plan was made (for progress only; the hashed byte count is what is declared). */
  size: number;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function unreadable(path: string, e: unknown): ApiError {
  return new ApiError(0, 'INGEST_PATH_UNREADABLE', `Cannot read ${path} (${(e as Error).message}); nothing was uploaded`);
}

/** Relative paths of the regular files under `dir`, sorted; symlinks and special files are skipped with a warning. */
async function walk(dir: string, shown: string, warn: (line: string) => void): Promise<string[]> {
  const found: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(join(dir, rel), { withFileTypes: true });
    } catch (e) {
      throw unreadable(join(shown, rel), e);
    }
    for (const entry of entries) {
      const child = rel ? join(rel, entry.name) : entry.name;
      // Dirent types come from lstat: a symlink is reported as one, never followed (it could
      // leave the folder, loop, or upload one file twice).
      if (entry.isSymbolicLink()) warn(`skipping symbolic link ${join(shown, child)}`);
      else if (entry.isDirectory()) await visit(child);
      else if (entry.isFile()) found.push(child);
      else warn(`skipping ${join(shown, child)}: not a regular file`);
    }
  };
  await visit('');
  return found.sort(byCodeUnit);
}

/**
 * Expands the command's arguments into files, in argument order, each directory's files sorted by
 * path (code-unit order, the same on every machine). A directory's files are named relative to
 * the directory's parent (`./export` → `export/cam1/0001.dav`), a file argument by its base name.
 * A symlink named on the command line is followed (the user chose it); inside a directory it is
 * skipped. The same file reached twice (two arguments, a directory and a file in it) is uploaded
 * once. Every problem is found before anything is uploaded.
 */
export async function planFiles(args: string[], warn: (line: string) => void): Promise<PlannedFile[]> {
  if (!args.length) throw new ApiError(0, 'INGEST_NO_FILES', 'Name the files or directories to upload');
  const missing: string[] = [];
  const planned: PlannedFile[] = [];
  const seen = new Set<string>();

  const add = async (path: string, filename: string) => {
    let real: string;
    let size: number;
    try {
      real = await realpath(path);
      size = (await stat(real)).size;
    } catch (e) {
      throw unreadable(path, e);
    }
    if (seen.has(real)) {
      warn(`${path} is listed more than once; uploading it once`);
      return;
    }
    seen.add(real);
    planned.push({ path, filename, size });
  };

  for (const arg of args) {
    let info: Stats;
    try {
      info = await stat(arg);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') {
        missing.push(arg);
        continue;
      }
      throw unreadable(arg, e);
    }
    if (info.isFile()) {
      await add(arg, basename(resolve(arg)));
    } else if (info.isDirectory()) {
      const parent = dirname(resolve(arg));
      for (const rel of await walk(arg, arg, warn)) {
        await add(join(arg, rel), toForwardSlashes(relative(parent, join(resolve(arg), rel))));
      }
    } else {
      throw new ApiError(0, 'INGEST_NOT_A_FILE', `${arg} is neither a regular file nor a directory; nothing was uploaded`);
    }
  }
  if (missing.length) {
    throw new ApiError(0, 'INGEST_PATH_NOT_FOUND', `No such file or directory: ${missing.join(', ')}; nothing was uploaded`);
  }
  if (!planned.length) throw new ApiError(0, 'INGEST_NO_FILES', `No files found in ${args.join(', ')}`);
  return planned;
}

export function toForwardSlashes(path: string): string {
  return path.split(sep).join('/');
}

/**
 * The key under which an unfinished upload's URL is kept for resuming: the same command run again
 * finds it. The file name is part of it (after the content): two files with the same bytes under
 * different names are two records, and must never resume each other's upload, which would record
 * one file's bytes under the other's name.
 */
export function resumeKey(k: { apiUrl: string; caseId: string; exhibitRef: string; sha256: string; size: number; filename: string }): string {
  return `${k.apiUrl}|${k.caseId}|${k.exhibitRef}|${k.sha256}|${k.size}|${k.filename}`;
}

/** The upload id: the last segment of its URL (`…/api/v1/uploads/<id>`). */
export function uploadIdOf(url: string): string {
  return new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';
}

export interface IngestError {
  code: string;
  message: string;
  /** HTTP status when the API answered, 0 otherwise. */
  status: number;
}

/** The parts of a tus-js-client error that matter here (DetailedError). */
export interface TusFailure {
  message: string;
  originalResponse?: { getStatus(): number; getBody(): string } | null;
  causingError?: Error | null;
}

/** A tus failure as the API's `{code, message}`, or a plain description when no answer came. */
export function errorFromTus(err: TusFailure): IngestError {
  const res = err.originalResponse;
  if (!res) {
    const cause = err.causingError?.message ?? err.message;
    return { code: 'UPLOAD_INTERRUPTED', message: `The upload stopped (${cause}); run the same command again to resume`, status: 0 };
  }
  const status = res.getStatus();
  const body = res.getBody() ?? '';
  try {
    const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
    if (typeof parsed.code === 'string') return { code: parsed.code, message: typeof parsed.message === 'string' ? parsed.message : '', status };
  } catch {
    // not JSON: described below
  }
  return { code: `HTTP_${status}`, message: body.trim().slice(0, 200) || err.message, status };
}

/**
 * Refusals that every later file would get too (the token, the case, the exhibit): the run stops
 * starting files after the first, rather than hashing and offering every remaining file in vain.
 */
const RUN_FATAL = new Set(['CASE_NOT_FOUND', 'CASE_PERMISSION_DENIED', 'EXHIBIT_NOT_FOUND', 'SOURCE_TYPE_NOT_ALLOWED', 'ROLE_NOT_ALLOWED']);
export function isRunFatal(e: IngestError): boolean {
  return e.status === 401 || RUN_FATAL.has(e.code);
}

/** One line of the result (`--json` prints these). */
export interface IngestResult {
  file: string;
  filename: string;
  /** Bytes hashed and declared (until then, the size when the files were listed). */
  size: number;
  /** SHA-256 computed here before the upload and declared to the service. */
  sha256: string | null;
  uploadUrl: string | null;
  uploadId: string | null;
  /** The service's state when the command ended; null when no upload was made. */
  state: string | null;
  quarantine: { code: string; reason: string } | null;
  duplicateOf: { id: string; exhibitReference: string; filename: string } | null;
  error: { code: string; message: string } | null;
}

export function newResult(f: PlannedFile): IngestResult {
  return { file: f.path, filename: f.filename, size: f.size, sha256: null, uploadUrl: null, uploadId: null, state: null, quarantine: null, duplicateOf: null, error: null };
}

/** The table's note: why a file is not sealed, or what else to know about it. */
export function noteFor(r: IngestResult, waited: boolean): string {
  if (r.error) return `${r.error.code}: ${r.error.message}`;
  if (r.quarantine) return `${r.quarantine.code}: ${r.quarantine.reason}`;
  if (r.duplicateOf) return `duplicate of ${r.duplicateOf.exhibitReference} ${r.duplicateOf.filename}`;
  if (r.state === 'uploading' || r.state === 'verifying') return waited ? 'not sealed yet when the wait ran out' : 'not sealed yet (--no-wait)';
  return '';
}

export function allSealed(results: IngestResult[]): boolean {
  return results.length > 0 && results.every((r) => r.state === 'sealed');
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** 12122 → "12,122": exact sizes as forensic tools show them, independent of locale. */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The end of a long name, which is the part that tells files apart: "…/cam1/0001.dav". */
export function fitName(name: string, width: number): string {
  return name.length <= width ? name.padEnd(width) : '…' + name.slice(name.length - width + 1);
}

/**
 * Bytes per second over the last few seconds. Samples are taken at most every 100 ms, so the
 * window stays small however often progress is reported.
 */
export class SpeedMeter {
  private readonly samples: [time: number, bytes: number][] = [];
  private last = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  update(bytes: number): number {
    const t = this.now();
    const newest = this.samples.at(-1);
    if (!newest || t - newest[0] >= 100) {
      this.samples.push([t, bytes]);
      while (this.samples.length > 2 && t - this.samples[0][0] > this.windowMs) this.samples.shift();
      const [t0, b0] = this.samples[0];
      this.last = t > t0 ? ((bytes - b0) * 1000) / (t - t0) : 0;
    }
    return this.last;
  }
}
