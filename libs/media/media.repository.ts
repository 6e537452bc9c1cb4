/**
 * The one file that touches media tools: it spawns ffmpeg, ffprobe and heif-convert, and is the
 * only importer of sharp, fluent-ffmpeg and exif-reader. Everything that decides *what* to run
 * is pure and lives in the *.command.ts / *.recipe.ts files beside it.
 *
 * Why ffmpeg/ffprobe are spawned with node:child_process rather than through fluent-ffmpeg:
 *  - provenance must record the exact argument list; fluent-ffmpeg assembles its own argv
 *    (input/output option ordering, extra flags) and does not expose it before spawning;
 *  - kill semantics: fluent-ffmpeg's `timeout` sends a plain SIGTERM to the one process, which
 *    ffmpeg ignores on a stalled network read (measured: >10 minutes), and its `ffprobe()` has
 *    no time limit at all. Here each tool runs in its own process group, gets SIGTERM then
 *    SIGKILL after a grace period, and is always waited for (no zombie);
 *  - probing: fluent-ffmpeg parses ffprobe's flat output and loses nested side data (the display
 *    matrix that carries rotation); we ask for JSON.
 * fluent-ffmpeg is still used for what it does well: asking the installed ffmpeg what it can do
 * (encoders, formats), which needs none of the above.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { open, stat } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import exifReader from 'exif-reader';
import { MultiHashStream } from '../core/index.js';
import type { CommandSpec } from './ffmpeg-args.js';
import { jsonSafe } from './exif-facts.parser.js';
import type { ImageRenderRecipe } from './image-preview.recipe.js';
import { countDecodeErrors } from './media-failure.js';
import type { ToolVersions } from './media.types.js';

type Sharp = typeof import('sharp').default;
let sharpLoaded: Promise<Sharp> | undefined;

/**
 * sharp (libvips and its thread pool, ~13 MB resident) is loaded by the first call that needs it,
 * not when the worker starts: a worker that builds disclosure bundles or seals files never carries it.
 */
function loadSharp(): Promise<Sharp> {
  return (sharpLoaded ??= import('sharp').then(({ default: sharp }) => {
    // libvips' operation cache holds decoded images and open files; off (immich PR #6542).
    sharp.cache(false);
    return sharp;
  }));
}

export interface MediaRepositorySettings {
  ffmpegPath: string;
  ffprobePath: string;
  heifConvertPath: string;
  /** Time between SIGTERM and SIGKILL when a tool must be stopped. */
  killGraceMs: number;
  /**
   * util-linux `setpriv`, to start each tool with a parent-death signal (SIGKILL): a worker killed
   * outright (SIGKILL, OOM) takes its tools with it. ffmpeg ignores SIGPIPE, so without this an
   * orphaned encode runs on to the end for nobody (measured). Undefined where there is none.
   */
  setprivPath?: string;
}

export const DEFAULT_REPOSITORY_SETTINGS: MediaRepositorySettings = {
  ffmpegPath: 'ffmpeg',
  ffprobePath: 'ffprobe',
  heifConvertPath: 'heif-convert',
  killGraceMs: 2000,
  ...(existsSync('/usr/bin/setpriv') ? { setprivPath: '/usr/bin/setpriv' } : {}),
};

/** Placeholders of CommandSpec.args and what they stand for in this run. */
export interface RunPaths {
  input: string;
  output?: string;
  tmp?: string;
}

export interface RunOptions {
  timeLimitMs: number;
  signal?: AbortSignal;
  onStdout?: (chunk: Buffer) => void;
  /** Keep stdout and return it (ffprobe JSON); bounded by maxStdoutBytes. */
  collectStdout?: boolean;
  maxStdoutBytes?: number;
  /** Called with the process id once spawned (tests check it is gone afterwards). */
  onSpawn?: (pid: number) => void;
}

export interface ToolRunOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** The tool could not be started (not installed). */
  missing: boolean;
  /** The last ~256 KiB of stderr. */
  stderr: string;
  /** Decoder complaints over the whole run (counted as they arrive, not from the tail). */
  decodeErrors: number;
  stdout?: Buffer;
  pid?: number;
  startedAt: string;
  durationMs: number;
}

const STDERR_KEEP = 256 * 1024;
/** A fixed, small environment: no locale or user settings change what a tool prints or writes. */
const BASE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C' };

/** Tool versions per set of binaries, read once per process (each read costs three tool launches). */
const VERSIONS = new Map<string, Promise<ToolVersions>>();

export class MediaRepository {

  constructor(readonly settings: MediaRepositorySettings = DEFAULT_REPOSITORY_SETTINGS) {}

  /** The environment a tool gets (recorded in provenance when a step adds to it). */
  static toolEnv(extra?: Record<string, string>): Record<string, string> {
    return { ...BASE_ENV, ...(extra ?? {}) };
  }

  private binary(tool: CommandSpec['tool']): string {
    if (tool === 'ffmpeg') return this.settings.ffmpegPath;
    if (tool === 'ffprobe') return this.settings.ffprobePath;
    return this.settings.heifConvertPath;
  }

  /**
   * Runs one tool to completion under a wall-clock limit and an optional AbortSignal. On either,
   * the whole process group gets SIGTERM, then SIGKILL after the grace period; the promise
   * resolves only once the process has exited and been reaped.
   */
  run(spec: CommandSpec, paths: RunPaths, options: RunOptions): Promise<ToolRunOutcome> {
    const args = spec.args.map((a) => substitute(a, paths));
    const startedAt = new Date();
    return new Promise((resolve) => {
      let stderr = '';
      let lineBuf = '';
      let decodeErrors = 0;
      const out: Buffer[] = [];
      let outBytes = 0;
      let timedOut = false;
      let aborted = false;
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const setpriv = this.settings.setprivPath;
      const [command, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', this.binary(spec.tool), ...args]] : [this.binary(spec.tool), args];
      const child = spawn(command, argv, {
        detached: true, // its own process group, so a kill reaches anything it started
        stdio: ['ignore', 'pipe', 'pipe'],
        env: MediaRepository.toolEnv(spec.env),
      });
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null, missing = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(limitTimer);
        if (killTimer) clearTimeout(killTimer);
        options.signal?.removeEventListener('abort', onAbort);
        if (lineBuf) decodeErrors += countDecodeErrors(lineBuf);
        resolve({
          exitCode,
          signal,
          timedOut,
          aborted,
          missing,
          stderr,
          decodeErrors,
          ...(options.collectStdout ? { stdout: Buffer.concat(out) } : {}),
          ...(child.pid !== undefined ? { pid: child.pid } : {}),
          startedAt: startedAt.toISOString(),
          durationMs: Date.now() - startedAt.getTime(),
        });
      };
      const stop = () => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        killGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(child.pid as number, 'SIGKILL'), this.settings.killGraceMs);
      };
      const onAbort = () => {
        aborted = true;
        stop();
      };
      const limitTimer = setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeLimitMs);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      if (child.pid !== undefined) options.onSpawn?.(child.pid);

      child.stdout.on('data', (chunk: Buffer) => {
        options.onStdout?.(chunk);
        if (options.collectStdout && outBytes < (options.maxStdoutBytes ?? 64 * 1024 * 1024)) {
          out.push(chunk);
          outBytes += chunk.length;
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderr += text;
        if (stderr.length > STDERR_KEEP * 2) stderr = stderr.slice(-STDERR_KEEP);
        const lines = (lineBuf + text).split('\n');
        lineBuf = lines.pop() ?? '';
        decodeErrors += countDecodeErrors(lines.join('\n'));
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        stderr += `\n${err.message}`;
        // 'close' may not follow a spawn failure.
        if (err.code === 'ENOENT') finish(null, null, true);
      });
      // 'close' comes after the process exited (and Node reaped it) and its pipes are drained.
      // Through setpriv, a tool that is not installed is setpriv's exit 127 rather than ENOENT.
      child.on('close', (code, signal) => finish(code, signal, Boolean(setpriv) && code === 127 && /setpriv: failed to execute/.test(stderr)));
    });
  }

  /** The first bytes of a local file or URL (a Range request), for content sniffing. */
  async readHead(input: string, bytes: number, signal?: AbortSignal, timeLimitMs = 30_000): Promise<Buffer> {
    if (isUrl(input)) {
      const res = await fetch(input, { headers: { range: `bytes=0-${bytes - 1}` }, signal: withTimeout(signal, timeLimitMs) });
      if (!res.ok) throw new InputReadError(`HTTP ${res.status}`, res.status);
      const buf = Buffer.from(await res.arrayBuffer());
      return buf.subarray(0, bytes);
    }
    const fh = await open(input, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  /** SHA-256 and size of a local file or URL, streamed (never whole in memory). */
  async sha256(input: string, signal?: AbortSignal, timeLimitMs = 3_600_000): Promise<{ sha256: string; size: number }> {
    const hasher = new MultiHashStream(['sha256']);
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    if (isUrl(input)) {
      const res = await fetch(input, { signal: withTimeout(signal, timeLimitMs) });
      if (!res.ok || !res.body) throw new InputReadError(`HTTP ${res.status}`, res.status);
      await pipeline(Readable.fromWeb(res.body as WebReadableStream), hasher, sink, signal ? { signal } : {});
    } else {
      await pipeline(createReadStream(input), hasher, sink, signal ? { signal } : {});
    }
    const d = hasher.digests();
    return { sha256: d.sha256, size: d.size };
  }

  /** Downloads a URL to a local file (images: sharp and heif-convert read files). */
  async download(url: string, dest: string, signal?: AbortSignal, timeLimitMs = 600_000): Promise<void> {
    const res = await fetch(url, { signal: withTimeout(signal, timeLimitMs) });
    if (!res.ok || !res.body) throw new InputReadError(`HTTP ${res.status}`, res.status);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream), createWriteStream(dest, { mode: 0o600 }), signal ? { signal } : {});
  }

  async fileSize(path: string): Promise<number | undefined> {
    try {
      return (await stat(path)).size;
    } catch {
      return undefined;
    }
  }

  /**
   * The first match of `pattern` (latin1) in a file, read as a stream and stopped at the first
   * hit, e.g. the x264 version string the encoder writes into the stream (it survives +bitexact).
   */
  async findInFile(path: string, pattern: RegExp, maxBytes = 256 * 1024 * 1024): Promise<string | undefined> {
    let carry = '';
    let read = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      const text = carry + (chunk as Buffer).toString('latin1');
      const m = pattern.exec(text);
      if (m) return m[0];
      carry = text.slice(-512);
      read += (chunk as Buffer).length;
      if (read >= maxBytes) break;
    }
    return undefined;
  }

  /** Exact tool versions, read once per process. */
  toolVersions(): Promise<ToolVersions> {
    const key = `${this.settings.ffmpegPath}|${this.settings.ffprobePath}|${this.settings.heifConvertPath}`;
    let versions = VERSIONS.get(key);
    if (!versions) {
      versions = this.readVersions().catch((err) => {
        VERSIONS.delete(key);
        throw err;
      });
      VERSIONS.set(key, versions);
    }
    return versions;
  }

  private async readVersions(): Promise<ToolVersions> {
    const sharp = await loadSharp();
    const first = async (tool: CommandSpec['tool'], args: string[]) => {
      const r = await this.run({ tool, args }, { input: '' }, { timeLimitMs: 15_000, collectStdout: true });
      return { text: `${r.stdout?.toString('utf8') ?? ''}\n${r.stderr}`, missing: r.missing };
    };
    const ff = await first('ffmpeg', ['-hide_banner', '-version']).catch(() => ({ text: '', missing: true }));
    const fp = await first('ffprobe', ['-hide_banner', '-version']).catch(() => ({ text: '', missing: true }));
    // heif-convert has no --version; its usage banner names the libheif version.
    const hc = await first('heif-convert', ['-h']).catch(() => ({ text: '', missing: true }));
    const line = (t: string) => t.split('\n').map((l) => l.trim()).find((l) => l) ?? 'absent';
    return {
      ffmpeg: ff.missing ? 'absent' : line(ff.text),
      ffprobe: fp.missing ? 'absent' : line(fp.text),
      ffmpegLibraries: ff.text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^lib\w+\s+\d/.test(l))
        .map((l) => l.replace(/\s+/g, ' ')),
      heifConvert: hc.missing ? 'absent' : (/libheif version:\s*([\w.]+)/.exec(hc.text)?.[0] ?? line(hc.text)),
      sharp: sharp.versions.sharp ?? 'unknown',
      exifReader: exifReaderVersion(),
      libvips: sharp.versions.vips,
      ...(sharp.versions.heif ? { sharpLibheif: sharp.versions.heif } : {}),
    };
  }

  /** Encoders the installed ffmpeg has (fluent-ffmpeg's capability query), e.g. to know whether AMR-WB can be written. */
  async availableEncoders(): Promise<string[]> {
    // Loaded here only: the one use of fluent-ffmpeg, so the worker does not load it at start.
    const { default: ffmpegFluent } = await import('fluent-ffmpeg');
    return new Promise((resolve, reject) => {
      ffmpegFluent.setFfmpegPath(this.settings.ffmpegPath);
      ffmpegFluent.getAvailableEncoders((err, encoders) => (err ? reject(err) : resolve(Object.keys(encoders))));
    });
  }

  /* ------------------------------------------------------------------ sharp */

  /** Image header facts (no full decode) and the raw EXIF block. Throws on an unreadable image. */
  async imageMetadata(path: string): Promise<{ metadata: Record<string, unknown>; exif?: Buffer }> {
    const sharp = await loadSharp();
    const m = await sharp(path, { failOn: 'error', limitInputPixels: false, pages: 1 }).metadata();
    const { exif, icc, iptc, xmp, tifftagPhotoshop, ...rest } = m as unknown as Record<string, unknown> & {
      exif?: Buffer;
      icc?: Buffer;
      iptc?: Buffer;
      xmp?: Buffer;
      tifftagPhotoshop?: Buffer;
    };
    const blobs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries({ exif, icc, iptc, xmp, tifftagPhotoshop })) {
      if (v) blobs[k] = { bytes: v.length, sha256: createHash('sha256').update(v).digest('hex') };
    }
    return { metadata: { ...(jsonSafe(rest) as Record<string, unknown>), ...blobs }, ...(exif ? { exif } : {}) };
  }

  /** exif-reader over the raw EXIF block from sharp. Returns undefined when it cannot be parsed. */
  parseExif(exif: Buffer): Record<string, unknown> | undefined {
    try {
      return exifReader(exif) as unknown as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  /** Runs one image recipe; writes a JPEG. Throws on a corrupt or over-large input. */
  async renderImage(inputPath: string, recipe: ImageRenderRecipe, outPath: string): Promise<{ width: number; height: number }> {
    const sharp = await loadSharp();
    let img = sharp(inputPath, recipe.open);
    if (recipe.autoOrient) img = img.rotate();
    const info = await img
      .resize(recipe.resize)
      .flatten(recipe.flatten)
      .jpeg(recipe.jpeg)
      .toFile(outPath);
    return { width: info.width, height: info.height };
  }

  /** A PNG (an ffmpeg frame) → JPEG, nothing else changed. */
  async pngToJpeg(pngPath: string, outPath: string, quality: number): Promise<{ width: number; height: number }> {
    const sharp = await loadSharp();
    const info = await sharp(pngPath, { failOn: 'error' }).jpeg({ quality, chromaSubsampling: '4:2:0', mozjpeg: false }).toFile(outPath);
    return { width: info.width, height: info.height };
  }

  /** Tiles equally sized images left to right, top to bottom, on black, 2 px apart; writes a JPEG. */
  async tile(files: string[], columns: number, tileWidth: number, tileHeight: number, outPath: string, quality: number): Promise<{ width: number; height: number }> {
    const pad = 2;
    const rows = Math.ceil(files.length / columns);
    const width = columns * tileWidth + (columns + 1) * pad;
    const height = rows * tileHeight + (rows + 1) * pad;
    const sharp = await loadSharp();
    const info = await sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite(
        files.map((f, i) => ({
          input: f,
          left: pad + (i % columns) * (tileWidth + pad),
          top: pad + Math.floor(i / columns) * (tileHeight + pad),
        })),
      )
      .jpeg({ quality, chromaSubsampling: '4:2:0', mozjpeg: false })
      .toFile(outPath);
    return { width: info.width, height: info.height };
  }

  /** A one-byte-per-pixel grey raster → PNG. */
  async greyPng(raster: Uint8Array, width: number, height: number, outPath: string): Promise<void> {
    const sharp = await loadSharp();
    await sharp(Buffer.from(raster.buffer, raster.byteOffset, raster.byteLength), { raw: { width, height, channels: 1 } })
      .png({ compressionLevel: 9, adaptiveFiltering: false })
      .toFile(outPath);
  }

  /** Decodes a finished image fully (a check that sharp can read what was written). */
  async imageSize(path: string): Promise<{ width: number; height: number; format: string }> {
    const sharp = await loadSharp();
    const { info } = await sharp(path, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
    const m = await sharp(path).metadata();
    return { width: info.width, height: info.height, format: m.format ?? 'unknown' };
  }
}

function exifReaderVersion(): string {
  try {
    const path = createRequire(import.meta.url).resolve('exif-reader/package.json');
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export class InputReadError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

function substitute(arg: string, paths: RunPaths): string {
  let a = arg;
  if (a === '{input}') return paths.input;
  if (paths.output !== undefined) a = a.split('{output}').join(paths.output);
  if (paths.tmp !== undefined) a = a.split('{tmp}').join(paths.tmp);
  return a;
}

/** The caller's signal, or a time limit, whichever fires first: a stalled server must not hang a read. */
function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const limit = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, limit]) : limit;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
