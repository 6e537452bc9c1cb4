/**
 * One media worker process of the `media` benchmark: makes the working copies of the S3 objects
 * named on argv (the same recipes as the worker's media.process job: probe, then video copy +
 * poster + contact sheet, or audio copy + waveform), reading each original from a presigned URL
 * and storing every output in the working bucket, one file after another. Prints one JSON line:
 * files done, failures, warnings and this process's peak RSS (VmHWM; ffmpeg's own memory is not counted).
 */
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../libs/config/index.js';
import { MediaService, type DerivativeFile, type MediaResult } from '../libs/media/index.js';
import { createObjectStore } from '../libs/storage/index.js';

const store = createObjectStore(loadConfig());
const media = new MediaService();
let done = 0;
const failures: string[] = [];
const warnings: string[] = [];

async function put(key: string, f: DerivativeFile): Promise<void> {
  const r = await store.put(store.buckets.working, `bench/media-out/${process.pid}/${key}-${f.fileName}`, createReadStream(f.path), { contentType: f.mime, expectedSize: f.sizeBytes });
  if (r.sha256 !== f.sha256) throw new Error(`stored ${f.fileName} hashes differently`);
}

/** As the worker does: the working copy failing fails the file; a poster, sheet or waveform only adds a warning. */
async function outputs<T>(r: MediaResult<T>, files: (v: T) => DerivativeFile[], key: string, essential = false): Promise<void> {
  if (!r.ok) {
    if (essential) throw new Error(`${r.failure.code}: ${r.failure.message}`);
    warnings.push(`${key}: ${r.failure.code}: ${r.failure.message}`);
    return;
  }
  for (const f of files(r.value)) await put(key, f);
}

for (const key of process.argv.slice(2)) {
  const dir = mkdtempSync(join(tmpdir(), 'dems-bench-media-'));
  try {
    const url = await store.presignGet(store.buckets.originals, key, { expiresInSeconds: 3600 });
    const probed = await media.probe(url);
    if (!probed.ok) throw new Error(probed.failure.message);
    const probe = probed.value;
    const opts = { probe, inputSha256: probe.provenance.input.sha256 };
    if (probe.detection.kind === 'video') {
      await outputs(await media.makeVideoWorkingCopy(url, dir, opts), (v) => [v.file], key, true);
      await outputs(await media.makePosterFrame(url, dir, opts), (v) => [v.file], key);
      await outputs(await media.makeContactSheet(url, dir, opts), (v) => [v.file], key);
    } else {
      await outputs(await media.makeAudioWorkingCopy(url, dir, opts), (v) => [v.file], key, true);
      await outputs(await media.makeWaveform(url, dir, opts), (v) => [v.json, v.png], key);
    }
    done++;
  } catch (e) {
    failures.push(`${key}: ${(e as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
store.destroy();
console.log(JSON.stringify({ done, failures, warnings, peakRssBytes: hwm }));
