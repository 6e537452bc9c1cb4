import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '../libs/config/index.js';
import { asLocalInput, MediaService, type ToolStep } from '../libs/media/index.js';
import { createObjectStore, type S3ObjectStore } from '../libs/storage/index.js';
import { timed, type Benchmark, type Figure } from './harness.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./media-worker.child.js', import.meta.url));
/** Generated inputs are kept between runs (a 60 s 1080p encode takes a while on 2 cores). */
const CACHE = '.local/bench-media';
const FIXTURES = 'test/fixtures';

async function ffmpeg(...args: string[]): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-y', ...args], { maxBuffer: 1 << 20 });
}

async function cached(name: string, make: (path: string) => Promise<void>): Promise<string> {
  const path = join(CACHE, name);
  if (!existsSync(path)) await make(path);
  return path;
}

function spawnTimed(tool: string, args: string[], env?: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(tool, args, { stdio: 'ignore', env: env ?? { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C' } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e9) : reject(new Error(`${tool} exited ${code}`))));
  });
}

/**
 * Media working copies against the real services (S3, ffmpeg, sharp):
 * - a 60 s 1080p H.264 clip stored in S3: our working-copy path (probe with a full decode, the
 *   copy read over a presigned URL, its frame check, SHA-256, upload to the working bucket with
 *   the stored hash checked) vs the same ffmpeg command, as recorded, on a local file;
 * - 20 mixed clips (generated CFR/VFR/interlaced/rotated/HEVC video, the test fixtures' CCTV and
 *   telephony audio) shared by 2 worker processes: clips per minute and each worker's peak RSS
 *   (ffmpeg's own memory apart, as the issue asks);
 * - image previews per second (preview + thumbnail + EXIF, hashed) vs sharp alone doing the same
 *   two resizes on the same files.
 * The job's database record (one INSERT and a custody event) is not part of the first figure.
 */
export const mediaBench: Benchmark = {
  name: 'media',
  description: 'working copy of a 60 s 1080p clip in S3 vs the same ffmpeg command locally; 20 mixed clips on 2 workers; image previews vs sharp alone',
  smoke: { 'clip-seconds': '1', clips: '2', photos: '1' },
  async run(ctx) {
    const clipSeconds = Number(ctx.args.get('clip-seconds') ?? 60);
    const clips = Number(ctx.args.get('clips') ?? 20);
    const photos = Number(ctx.args.get('photos') ?? 12);
    mkdirSync(CACHE, { recursive: true });
    const store = createObjectStore(loadConfig());
    await store.ensureBuckets();
    try {
      return [await oneClip(store, ctx.log, clipSeconds), ...(await mixedClips(store, ctx.log, clips)), await imagePreviews(ctx.log, photos)];
    } finally {
      store.destroy();
    }
  },
};

async function oneClip(store: S3ObjectStore, log: (m: string) => void, seconds: number): Promise<Figure> {
  const clip = await cached(`clip-1080p-${seconds}s.mp4`, async (p) => {
    log(`generating the ${seconds} s 1080p clip (once)`);
    await ffmpeg('-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=25:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-c:a', 'aac', '-shortest', p);
  });
  const key = `bench/media/clip-1080p-${seconds}s.mp4`;
  await store.put(store.buckets.originals, key, createReadStream(clip));
  const media = new MediaService();
  const work = mkdtempSync(join(tmpdir(), 'dems-bench-media-'));
  try {
    const ours = await timed(async () => {
      const url = await store.presignGet(store.buckets.originals, key, { expiresInSeconds: 3600 });
      const probed = await media.probe(url);
      if (!probed.ok) throw new Error(probed.failure.message);
      const made = await media.makeVideoWorkingCopy(url, work, { probe: probed.value, inputSha256: probed.value.provenance.input.sha256 });
      if (!made.ok) throw new Error(made.failure.message);
      const put = await store.put(store.buckets.working, `bench/media/clip-1080p-${seconds}s.working.mp4`, createReadStream(made.value.file.path), { contentType: 'video/mp4', expectedSize: made.value.file.sizeBytes });
      if (put.sha256 !== made.value.file.sha256) throw new Error('stored working copy hashes differently');
      return made.value;
    });
    const encode = ours.value.provenance.steps.find((s) => s.tool === 'ffmpeg' && s.args.includes('{output}')) as ToolStep;
    // The same command on a local file: the recorded one, only the input read as a file.
    const args = asLocalInput(encode.args).map((a) => (a === '{input}' ? clip : a.split('{output}').join(join(work, 'baseline.mp4'))));
    const baseline = await spawnTimed('ffmpeg', args, encode.env);
    log(`working copy: ours ${ours.seconds.toFixed(1)} s (frames ${ours.value.frames.workingCopyDecodedFrames}), plain ffmpeg ${baseline.toFixed(1)} s`);
    const ratio = ours.seconds / baseline;
    return { figure: `working copy of a ${seconds} s 1080p clip in S3 (probe, encode, frame check, hash, upload) vs the same ffmpeg command on a local file: time ratio (lower is better)`, unit: 's', ours: ours.seconds, baseline, ratio, target: 'ratio <= 1.10', pass: ratio <= 1.1 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function mixedClips(store: S3ObjectStore, log: (m: string) => void, clips: number): Promise<Figure[]> {
  const generated = [
    await cached('cfr-720p.mp4', (p) => ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=10', '-f', 'lavfi', '-i', 'sine=duration=10', '-c:v', 'libx264', '-preset', 'veryfast', '-c:a', 'aac', '-shortest', p)),
    await cached('vfr.mkv', (p) => ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=30:duration=10', '-vf', "select='not(eq(mod(n\\,7)\\,3))'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'veryfast', p)),
    await cached('interlaced.ts', (p) => ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=720x576:rate=25:duration=10', '-vf', 'tinterlace=mode=interleave_top,setfield=tff', '-c:v', 'libx264', '-flags', '+ilme+ildct', '-preset', 'veryfast', p)),
    await cached('rotated.mp4', (p) => ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=8', '-c:v', 'libx264', '-preset', 'veryfast', '-metadata:s:v', 'rotate=90', p)),
    await cached('hevc.mp4', (p) => ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=6', '-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1', p)),
  ];
  const fixtures = ['video/sample_h264.ts', 'video/stub_mjpeg.avi', 'video/BA_MW_D.264', 'audio/g711-alaw-8k.wav', 'audio/sample_nb.amr'].map((f) => join(FIXTURES, f)).filter(existsSync);
  const pool = [...generated, ...fixtures];
  const keys: string[] = [];
  for (let i = 0; i < clips; i++) {
    const file = pool[i % pool.length];
    const key = `bench/media/mixed/${String(i).padStart(2, '0')}-${file.split('/').pop()}`;
    await store.put(store.buckets.originals, key, createReadStream(file));
    keys.push(key);
  }
  const halves = [keys.filter((_, i) => i % 2 === 0), keys.filter((_, i) => i % 2 === 1)];
  const t = await timed(() =>
    Promise.all(
      halves.map(
        (list) =>
          new Promise<{ done: number; failures: string[]; warnings: string[]; peakRssBytes: number }>((resolve, reject) => {
            const child = spawn(process.execPath, [CHILD, ...list], { stdio: ['ignore', 'pipe', 'inherit'] });
            let out = '';
            child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
            child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`media worker exited ${code}`))));
          }),
      ),
    ),
  );
  const done = t.value.reduce((n, w) => n + w.done, 0);
  for (const f of t.value.flatMap((w) => w.failures)) log(`failed: ${f}`);
  for (const w of t.value.flatMap((x) => x.warnings)) log(`warning: ${w}`);
  const perMinute = (done / t.seconds) * 60;
  const peak = Math.max(...t.value.map((w) => w.peakRssBytes)) / 1e6;
  log(`${clips} mixed clips on 2 workers: ${done} done in ${t.seconds.toFixed(1)} s; peak RSS per worker ${t.value.map((w) => (w.peakRssBytes / 1e6).toFixed(0)).join(', ')} MB`);
  return [
    { figure: `${clips} mixed clips (${pool.length} kinds), 2 worker processes: clips per minute (${done} of ${clips} done)`, unit: 'clips/min', ours: perMinute, target: `all ${clips} done`, pass: done === clips },
    { figure: 'media worker peak RSS (VmHWM, ffmpeg apart), worst of the 2', unit: 'MB', ours: peak, target: 'ours <= 300 MB', pass: peak <= 300 },
  ];
}

async function imagePreviews(log: (m: string) => void, count: number): Promise<Figure> {
  const dir = join(CACHE, 'photos');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    await cached(`photos/photo-${i}.jpg`, (p) => ffmpeg('-f', 'lavfi', '-i', `testsrc2=size=4032x3024:rate=1:duration=1,hue=h=${i * 30}`, '-frames:v', '1', '-q:v', '3', p));
  }
  const photos = Array.from({ length: count }, (_, i) => join(dir, `photo-${i}.jpg`));
  const media = new MediaService();
  const out = mkdtempSync(join(tmpdir(), 'dems-bench-img-'));
  try {
    // Alternating per photo (ours first on even photos, sharp first on odd ones), so a machine
    // whose load drifts during the run weighs on both paths alike.
    const ours = { seconds: 0 };
    const base = { seconds: 0 };
    for (const [i, p] of photos.entries()) {
      const runOurs = async () => {
        const r = await timed(() => media.makeImagePreview(p, out));
        if (!r.value.ok) throw new Error(r.value.failure.message);
        ours.seconds += r.seconds;
      };
      // sharp alone: the same two outputs (upright, inside 1600 and 320 px, JPEG q 85 / 80), nothing else.
      const runBase = async () => {
        const r = await timed(async () => {
          await sharp(p, { failOn: 'error' }).rotate().resize(1600, 1600, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 85 }).toFile(join(out, `b-${i}-p.jpg`));
          await sharp(p, { failOn: 'error' }).rotate().resize(320, 320, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toFile(join(out, `b-${i}-t.jpg`));
        });
        base.seconds += r.seconds;
      };
      if (i % 2 === 0) await runOurs().then(runBase);
      else await runBase().then(runOurs);
    }
    const oursRate = photos.length / ours.seconds;
    const baseRate = photos.length / base.seconds;
    log(`image previews: ours ${oursRate.toFixed(2)}/s, sharp alone ${baseRate.toFixed(2)}/s (${photos.length} photos 4032x3024)`);
    const ratio = oursRate / baseRate;
    return { figure: `image previews + thumbnails (${photos.length} JPEGs, 12 MP) vs sharp alone`, unit: 'images/s', ours: oursRate, baseline: baseRate, ratio, target: 'ratio >= 0.8', pass: ratio >= 0.8 };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
