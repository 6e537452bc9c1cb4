import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import type { ClientRequest } from 'node:http';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tus from 'tus-js-client';
import { parseExhibitReference } from '../../libs/cases/exhibit-reference.js';
import { loadCliConfig } from '../../libs/config/index.js';
import { ApiClient } from './api-client.js';
import { resolveCase } from './cases.commands.js';
import { configDir } from './credentials.js';
import { ApiError } from './errors.js';
import { FileChangedError, FileUnreadableError, HeldFile, isFileFailure } from './held-file.js';
import {
  INGEST_DEFAULTS,
  MAX_PARALLEL,
  SpeedMeter,
  allSealed,
  errorFromTus,
  fitName,
  formatBytes,
  formatCount,
  isRunFatal,
  newResult,
  noteFor,
  parseIngestSettings,
  planFiles,
  resumeKey,
  uploadIdOf,
  type IngestError,
  type IngestResult,
  type IngestSettings,
  type PlannedFile,
} from './ingest-plan.js';
import { clean, printJson, printTable } from './output.js';

/** tus-js-client retries a failed request after these pauses (ms); the counter resets whenever bytes get through. */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
/** Seal states after which nothing more happens to an upload. */
const SETTLED = new Set(['sealed', 'quarantined', 'expired', 'cancelled']);
const POLL_INTERVAL_MS = 500;
/** Status requests in flight at once, however many files are waiting for their seal. */
const POLLS_IN_FLIGHT = 4;

/** The uploader's view of an upload (GET /api/v1/uploads/:id), the fields used here. */
interface UploadView {
  id: string;
  state: string;
  quarantine: { code: string; reason: string } | null;
  duplicateOf: { id: string; exhibitReference: string; filename: string } | null;
}

type Log = (line: string) => void;

/**
 * uploads.json in the CLI config folder: resume key → URL of an upload that is not complete yet,
 * so the same command run again resumes where it stopped. The file is written whole to a
 * temporary file and renamed (an interruption never leaves half a file), owner-only. Writes are
 * queued one after another; each re-reads the file first, so entries another dems process wrote
 * in the meantime are kept.
 */
export class UploadState {
  private entries: Record<string, string> = {};
  private queue: Promise<void> = Promise.resolve();
  private writes = 0;
  private damagedReported = false;

  constructor(
    readonly file: string,
    private readonly log: Log,
  ) {}

  async load(): Promise<void> {
    try {
      this.entries = await this.read();
    } catch (e) {
      this.log(`dems: cannot read ${this.file} (${(e as Error).message}); unfinished uploads start over`);
    }
  }

  get(key: string): string | undefined {
    return this.entries[key];
  }

  set(key: string, url: string): Promise<void> {
    return this.update((e) => (e[key] = url));
  }

  delete(key: string): Promise<void> {
    return this.update((e) => delete e[key]);
  }

  private update(change: (entries: Record<string, string>) => void): Promise<void> {
    const done = this.queue.then(async () => {
      const current = await this.read();
      change(current);
      await this.write(current);
      this.entries = current;
    });
    this.queue = done.catch(() => undefined);
    return done;
  }

  private async read(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        return Object.fromEntries(Object.entries(parsed).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
      }
    } catch {
      // reported below, like a file of the wrong shape
    }
    if (!this.damagedReported) this.log(`dems: ${this.file} is not a dems upload list; it is replaced (uploads it listed start over)`);
    this.damagedReported = true;
    return {};
  }

  private async write(entries: Record<string, string>): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.${++this.writes}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(entries, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
      await rename(tmp, this.file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}

/**
 * tus-js-client's URL storage over UploadState. The client waits for addUpload before it sends
 * the first byte, so an upload is on record before anything can be lost. It never fails: a state
 * file that cannot be written costs resumability (said once), not the upload.
 */
function resumeStorage(state: UploadState, log: Log): tus.UrlStorage {
  let reported = false;
  const report = (e: Error) => {
    if (!reported) log(`dems: cannot save ${state.file} (${e.message}); an interrupted upload will start over`);
    reported = true;
  };
  return {
    findAllUploads: () => Promise.resolve([]),
    findUploadsByFingerprint: () => Promise.resolve([]),
    addUpload: async (key, upload) => {
      if (upload.uploadUrl) await state.set(key, upload.uploadUrl).catch(report);
      return key;
    },
    removeUpload: (key) => state.delete(key).catch(report),
  };
}

/** What the progress display is told about one file. */
interface FileProgress {
  hashing(bytes: number): void;
  /** The upload continues an earlier one from this offset. */
  resumed(offset: number): void;
  uploading(bytes: number): void;
  finished(uploaded: boolean, resumedFrom?: number): void;
}

interface Progress {
  file(f: PlannedFile): FileProgress;
  sealed(): void;
  log: Log;
  stop(): void;
}

/** Without a terminal (CI, pipes, tests): no bars, one line per uploaded file. */
class PlainProgress implements Progress {
  log: Log = (line) => process.stderr.write(clean(line) + '\n');

  file(f: PlannedFile): FileProgress {
    return {
      hashing: () => undefined,
      resumed: () => undefined,
      uploading: () => undefined,
      finished: (uploaded, resumedFrom) => {
        if (!uploaded) return;
        const resumed = resumedFrom ? `, resumed from ${formatBytes(resumedFrom)}` : '';
        this.log(`uploaded ${f.filename} (${formatBytes(f.size)}${resumed})`);
      },
    };
  }

  sealed(): void {}
  stop(): void {}
}

const rate = (bytesPerSecond: number) => (bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '');

/** On a terminal: a bar per file being hashed or uploaded, and a total bar (on stderr). */
class BarProgress implements Progress {
  private readonly bars: cliProgress.MultiBar;
  private readonly total: cliProgress.SingleBar;
  private readonly totalBytes: number;
  private readonly totalSpeed = new SpeedMeter();
  /** Bytes on the server, and the part of them sent by earlier runs (left out of the speed). */
  private sent = 0;
  private resumedBytes = 0;
  private uploaded = 0;
  private sealedCount = 0;
  private stopped = false;

  constructor(private readonly files: PlannedFile[]) {
    this.bars = new cliProgress.MultiBar(
      {
        stream: process.stderr,
        format: '{label} |{bar}| {percentage}% {done}/{size} {speed}',
        barsize: 24,
        autopadding: true,
        hideCursor: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.totalBytes = files.reduce((sum, f) => sum + f.size, 0);
    this.total = this.bars.create(this.totalBytes, 0, { label: this.totalLabel(), done: formatBytes(0), size: formatBytes(this.totalBytes), speed: '' });
  }

  log: Log = (line) => this.bars.log(clean(line) + '\n');

  file(f: PlannedFile): FileProgress {
    const name = fitName(clean(f.filename), 36);
    const size = formatBytes(f.size);
    const bar = this.bars.create(f.size, 0, { label: `hash   ${name}`, done: formatBytes(0), size, speed: '' });
    let speed = new SpeedMeter();
    let uploading = false;
    let counted = 0;
    return {
      hashing: (bytes) => bar.update(bytes, { done: formatBytes(bytes), speed: rate(speed.update(bytes)) }),
      resumed: (offset) => {
        this.resumedBytes += offset;
      },
      uploading: (bytes) => {
        if (!uploading) {
          uploading = true;
          speed = new SpeedMeter();
        }
        this.addSent(bytes - counted);
        counted = bytes;
        bar.update(bytes, { label: `upload ${name}`, done: formatBytes(bytes), speed: rate(speed.update(bytes)) });
      },
      finished: (uploaded) => {
        this.bars.remove(bar);
        if (uploaded) {
          this.addSent(f.size - counted);
          this.uploaded++;
        }
        this.updateTotal();
      },
    };
  }

  sealed(): void {
    this.sealedCount++;
    this.updateTotal();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bars.stop();
  }

  private addSent(bytes: number): void {
    this.sent += bytes;
    this.updateTotal();
  }

  private updateTotal(): void {
    const value = Math.min(this.sent, this.totalBytes);
    this.total.update(value, { label: this.totalLabel(), done: formatBytes(value), speed: rate(this.totalSpeed.update(this.sent - this.resumedBytes)) });
  }

  private totalLabel(): string {
    return `total  ${`${this.uploaded}/${this.files.length} uploaded, ${this.sealedCount} sealed`.padEnd(36)}`;
  }
}

/** Runs at most `size` tasks at once. */
class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    while (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ingestError(code: string, message: string, status = 0): IngestError {
  return { code, message, status };
}

function toIngestError(e: unknown): IngestError {
  if (e instanceof ApiError) return ingestError(e.code, e.message, e.status);
  if (e && typeof e === 'object' && 'code' in e && 'message' in e && 'status' in e) return e as IngestError;
  return ingestError('INGEST_FAILED', (e as Error)?.message ?? String(e));
}

/** Everything one run shares. */
interface Run {
  api: ApiClient;
  token: string;
  caseId: string;
  exhibitRef: string;
  settings: IngestSettings;
  state: UploadState;
  storage: tus.UrlStorage;
  progress: Progress;
  polls: Gate;
  /** Resume keys taken by a file of this run: a second file with the same key starts its own upload. */
  claimed: Set<string>;
}

/** One tus upload of a held (hashed) file, resumed from `resumeUrl` when given; answers the upload URL. */
function sendFile(
  run: Run,
  job: { held: HeldFile; file: PlannedFile; sha256: string; size: number; key: string | null; resumeUrl?: string },
  progress: FileProgress,
): Promise<{ url: string; resumedFrom?: number }> {
  return new Promise((resolve, reject) => {
    let resumedFrom: number | undefined;
    let request: tus.HttpRequest | undefined;
    const metadata: Record<string, string> = { caseId: run.caseId, exhibitRef: run.exhibitRef, filename: job.file.filename, sha256: job.sha256 };
    if (job.size === 0) metadata.empty = 'true';
    // A failure while a body is being sent fails that request with the reason: tus-js-client then
    // reports it through onError like any failed request (nothing more of the body is sent).
    const source = job.held.source((e) => (request?.getUnderlyingObject() as ClientRequest | undefined)?.destroy(e));
    const options: tus.UploadOptions = {
      endpoint: `${run.api.apiUrl}/api/v1/uploads`,
      uploadSize: job.size,
      chunkSize: run.settings.chunkBytes,
      retryDelays: RETRY_DELAYS,
      headers: { authorization: `Bearer ${run.token}` },
      metadata,
      urlStorage: run.storage,
      storeFingerprintForResuming: job.key !== null,
      // The resume key (or none: nothing is remembered for this file).
      fingerprint: () => Promise.resolve(job.key as string),
      fileReader: { openFile: () => Promise.resolve(source) },
      // The entry is removed here once the upload is complete (below), and waited for.
      removeFingerprintOnSuccess: false,
      // A file that changed or cannot be read is not retried: the next try would fail the same way.
      onShouldRetry: (err, attempt, opts) => !isFileFailure(err.causingError) && (tus.defaultOptions.onShouldRetry?.(err, attempt, opts) ?? false),
      onBeforeRequest: (req) => {
        request = req;
      },
      onAfterResponse: (req, res) => {
        if (req.getMethod() === 'HEAD' && res.getStatus() === 200) {
          resumedFrom = Number(res.getHeader('Upload-Offset')) || 0;
          progress.resumed(resumedFrom);
        }
      },
      onProgress: (sent) => progress.uploading(sent),
      onSuccess: () => resolve({ url: tusUpload.url!, resumedFrom }),
      onError: (err) => {
        const cause = (err as tus.DetailedError).causingError;
        if (cause instanceof FileUnreadableError) return reject(ingestError(cause.code, `${cause.message}; run the same command again to resume once it can be read`));
        if (!(cause instanceof FileChangedError)) return reject(errorFromTus(err as tus.DetailedError));
        // The bytes sent so far belong to a file that no longer exists in that form: the partial
        // upload is cancelled (the service records it) rather than left to expire.
        const url = tusUpload.url;
        const cancelled = url ? tus.Upload.terminate(url, { headers: options.headers, retryDelays: [0, 1000] }).then(() => true, () => false) : Promise.resolve(false);
        void cancelled.then((done) =>
          reject(
            ingestError(
              cause.code,
              `${cause.message}; ${done ? 'the partial upload was cancelled' : url ? `the partial upload (${url}) could not be cancelled and will expire` : 'nothing was uploaded'}. ` +
                'Run again once the file is final',
            ),
          ),
        );
      },
    };
    // tus-js-client asks the server for the offset (HEAD) and continues from there; when the
    // upload is gone (404, 410) it starts a new one by itself.
    if (job.resumeUrl) options.uploadUrl = job.resumeUrl;
    // The input is only handed to fileReader.openFile above, which ignores it for the held file.
    const tusUpload = new tus.Upload(Buffer.alloc(0), options);
    tusUpload.start();
  });
}

/** Hashes a file, then uploads it declaring the hash, from the same open file; fills in the result. */
async function ingestFile(run: Run, file: PlannedFile, result: IngestResult): Promise<void> {
  const progress = run.progress.file(file);
  let uploaded = false;
  let resumedFrom: number | undefined;
  let held: HeldFile | undefined;
  let key: string | null = null;
  try {
    held = await HeldFile.open(file.path);
    const { sha256, size } = await held.sha256((n) => progress.hashing(n));
    result.sha256 = sha256;
    result.size = size;
    key = resumeKey({ apiUrl: run.api.apiUrl, caseId: run.caseId, exhibitRef: run.exhibitRef, sha256, size, filename: file.filename });
    if (run.claimed.has(key)) key = null;
    else run.claimed.add(key);
    const done = await sendFile(run, { held, file, sha256, size, key, resumeUrl: key === null ? undefined : run.state.get(key) }, progress);
    uploaded = true;
    resumedFrom = done.resumedFrom;
    result.uploadUrl = done.url;
    result.uploadId = uploadIdOf(done.url);
    await forget(run, key);
  } catch (e) {
    // A changed file's upload was cancelled: nothing is left to resume.
    if ((e as { code?: unknown }).code === 'FILE_CHANGED') await forget(run, key);
    throw isFileFailure(e) ? ingestError(e.code, e.message) : e;
  } finally {
    await held?.close();
    progress.finished(uploaded, resumedFrom);
  }
}

async function forget(run: Run, key: string | null): Promise<void> {
  if (key !== null) await run.state.delete(key).catch((e: Error) => run.progress.log(`dems: cannot update ${run.state.file} (${e.message})`));
}

/**
 * Reads the upload's state until it is sealed or quarantined, or the wait runs out (with
 * --no-wait: once). A passing outage of the API is waited out; any other refusal ends the wait.
 */
async function settle(run: Run, result: IngestResult): Promise<void> {
  const deadline = Date.now() + (run.settings.wait ? run.settings.waitSeconds * 1000 : 0);
  for (;;) {
    try {
      const view = (await run.polls.run(() => run.api.get<UploadView>(`/api/v1/uploads/${encodeURIComponent(result.uploadId!)}`))).body;
      result.state = view.state;
      result.quarantine = view.quarantine;
      result.duplicateOf = view.duplicateOf;
      result.error = null;
      if (SETTLED.has(view.state)) {
        if (view.state === 'sealed') run.progress.sealed();
        return;
      }
    } catch (e) {
      const err = toIngestError(e);
      result.error = { code: err.code, message: err.message };
      if (err.status !== 0 && err.status < 500) return;
    }
    if (Date.now() >= deadline) return;
    await sleep(POLL_INTERVAL_MS);
  }
}

/**
 * Up to `parallel` files are hashed and uploaded at once, in plan order; each file's seal is
 * waited for after its upload, without holding a place, so the next file starts meanwhile.
 */
async function ingestAll(run: Run, files: PlannedFile[]): Promise<IngestResult[]> {
  const results = files.map(newResult);
  const settling: Promise<void>[] = [];
  let next = 0;
  let stop: IngestError | undefined;
  const worker = async () => {
    while (!stop && next < files.length) {
      const i = next++;
      try {
        await ingestFile(run, files[i], results[i]);
        settling.push(settle(run, results[i]));
      } catch (e) {
        const err = toIngestError(e);
        results[i].error = { code: err.code, message: err.message };
        if (isRunFatal(err) && !stop) {
          stop = err;
          run.progress.log(`dems: ${err.code}: ${err.message}; no further files are started`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(run.settings.parallel, files.length) }, worker));
  await Promise.all(settling);
  if (stop) {
    for (const r of results) {
      if (!r.uploadId && !r.error) r.error = { code: 'NOT_ATTEMPTED', message: `not uploaded: the service refused this run's uploads (${stop.code})` };
    }
  }
  return results;
}

function printResults(results: IngestResult[], waited: boolean): void {
  printTable(
    ['file', 'size', 'SHA-256', 'state', 'note'],
    results.map((r) => [
      r.file,
      formatCount(r.size),
      r.sha256 ?? '',
      r.state ?? (r.error?.code === 'NOT_ATTEMPTED' ? 'not started' : 'failed'),
      noteFor(r, waited),
    ]),
  );
  const sealed = results.filter((r) => r.state === 'sealed').length;
  console.log(`${sealed} of ${results.length} file(s) sealed`);
}

export function registerIngestCommands(program: Command): void {
  program
    .command('ingest')
    .description(
      'upload files and directories into an exhibit: SHA-256 computed here first and declared, files sent over tus several at a time, ' +
        'resumed when the same command is run again, then each file with its seal state (exit 1 unless every file is sealed)',
    )
    .requiredOption('--case <case>', 'URN or case id')
    .requiredOption('--exhibit <reference>', 'exhibit reference on the case, e.g. JS/1')
    .option('--parallel <n>', `files uploaded at once, 1-${MAX_PARALLEL}`, String(INGEST_DEFAULTS.parallel))
    .option('--json', 'machine-readable output')
    .option('--no-wait', 'do not wait for the seal; report the state each file has when its upload ends')
    .option('--wait-seconds <s>', 'how long to wait for each file to be sealed after its upload', String(INGEST_DEFAULTS.waitSeconds))
    // Request size in MiB; hidden because the default suits real use (tests make it small).
    .addOption(new Option('--chunk-mb <n>', 'bytes per upload request, in MiB').default(String(INGEST_DEFAULTS.chunkMb)).hideHelp())
    .argument('[paths...]', 'files and directories (directories are uploaded recursively)')
    .action(async (paths: string[], opts: { case: string; exhibit: string; parallel?: string; json?: boolean; wait?: boolean; waitSeconds?: string; chunkMb?: string }) => {
      const settings = parseIngestSettings(opts);
      // Checked here so a typo fails before any file is read; the service normalises the same way.
      const exhibitRef = parseExhibitReference(opts.exhibit).reference;
      const files = await planFiles(paths, (line) => process.stderr.write(`dems: ${clean(line)}\n`));

      const api = new ApiClient();
      const token = api.token();
      // A refused token is found now, not after the first file has been hashed.
      await api.get('/api/v1/me');
      const { id: caseId } = await resolveCase(api, opts.case);

      const progress: Progress = process.stderr.isTTY ? new BarProgress(files) : new PlainProgress();
      const state = new UploadState(join(configDir(loadCliConfig()), 'uploads.json'), progress.log);
      await state.load();
      const interrupted = () => {
        progress.stop();
        process.stderr.write('\ndems: interrupted; run the same command again to resume\n');
        process.exit(130);
      };
      process.once('SIGINT', interrupted);
      let results: IngestResult[];
      try {
        const run: Run = { api, token, caseId, exhibitRef, settings, state, storage: resumeStorage(state, progress.log), progress, polls: new Gate(POLLS_IN_FLIGHT), claimed: new Set() };
        results = await ingestAll(run, files);
      } finally {
        process.removeListener('SIGINT', interrupted);
        progress.stop();
      }

      if (opts.json) printJson(results);
      else printResults(results, settings.wait);
      process.exitCode = allSealed(results) ? 0 : 1;
    });
}
