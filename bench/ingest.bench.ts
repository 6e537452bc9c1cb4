import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream, readdirSync, readFileSync, writeFileSync, type ReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import * as tus from 'tus-js-client';
import { loadConfig, type AppConfig } from '../libs/config/index.js';
import { RunningDigests } from '../libs/core/index.js';
import { createDataSource, runMigrations } from '../libs/database/index.js';
import { uploadKey } from '../libs/evidence/index.js';
import { UsersService } from '../libs/identity/index.js';
import { createObjectStore, hashStoredObject } from '../libs/storage/index.js';
import type { Benchmark, Figure } from './harness.js';

const MiB = 1024 * 1024;
export const API_MAIN = fileURLToPath(new URL('../apps/api/main.js', import.meta.url));
export const WORKER_MAIN = fileURLToPath(new URL('../apps/worker/main.js', import.meta.url));
/** The node flags the API is started with everywhere (docker/Dockerfile, docker/compose.yaml, scripts/up.sh). */
export const API_NODE_FLAGS = ['--no-memory-reducer', '--max-semi-space-size=4'];
/**
 * The node flags the worker is started with everywhere (package.json start:worker,
 * docker/compose.yaml, scripts/up.sh), plus any in BENCH_WORKER_NODE_ARGS to try others.
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=4', '--optimize-for-size', ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean)];
/**
 * The children's queues get a prefix of this run's own: another worker on the same Redis (a dev
 * instance, `npm run up`, or another bench run with its own scratch database) would otherwise take
 * the bench's seal jobs. It starts with the configured prefix, so a caller can find its keys.
 */
export const QUEUE_PREFIX = `${process.env.QUEUE_PREFIX ?? 'dems'}-bench-${process.pid}`;

type Path = 'ours' | 'baseline';

/** The uploader's view of an upload (GET /api/v1/uploads/<id>), the parts the benchmark reads. */
interface UploadView {
  id: string;
  state: string;
  size: number;
  hashes: { algorithm: string; value: string }[];
  hashedFrom: 'ingest_stream' | 'stored_object' | null;
  quarantine: { code: string; reason: string } | null;
}

interface UploadRun {
  /** Start of the upload (tus creation POST / CreateMultipartUpload) to sealed / done. */
  seconds: number;
  /** Ours only: the PATCH was answered (every byte stored) to the GET that said sealed. */
  sealSeconds?: number;
  /** Ours only: CPU seconds the API process used over the upload, all threads and its main thread. */
  apiCpu?: number;
  apiMainCpu?: number;
  /** Ours only: the API's peak RSS from just before the upload until sealed (undefined if VmHWM could not be reset). */
  apiPeak?: number;
}

/**
 * Ingest of one file (default 2 GiB) against the real services, the API and the worker each in a
 * process of its own (the built `dist/apps/{api,worker}/main.js`):
 * - ours: a tus 1.0 upload with tus-js-client (fs.createReadStream, one PATCH) into an exhibit,
 *   timed from start() (the creation POST included) until GET /api/v1/uploads/<id> says sealed
 *   (polled every 100 ms after the PATCH was answered); the worker's seal job is included;
 * - baseline: a plain @aws-sdk/lib-storage Upload of the same file to the same S3 server and
 *   bucket, with the part size and parts in flight the service uses for ingest;
 * - peak RSS (VmHWM) of the API during each upload (reset just before it), and of the API and
 *   worker over the whole run;
 * - CPU time of the API's threads over each upload, and the machine's busy/idle time;
 * - hashing throughput over the same file: RunningDigests (SHA-256 + SHA-1 + MD5 in one pass, as
 *   the service hashes at ingest) vs createHash('sha256') alone, same read stream for each.
 * Rounds (--rounds) alternate the order of the paths; figures are medians.
 */
export const ingestBench: Benchmark = {
  name: 'ingest',
  description: 'tus upload to sealed (default 2 GiB) vs a plain lib-storage Upload; API peak RSS; ingest hashing rate',
  smoke: { 'size-mb': '2', rounds: '1' },
  async run(ctx) {
    const sizeMiB = Number(ctx.args.get('size-mb') ?? 2048);
    const rounds = Number(ctx.args.get('rounds') ?? 1);
    // run.ts reads a value after every --flag: give --keep-file last, or as --keep-file true.
    const keepFile = ctx.args.has('keep-file') && !['false', '0', 'no'].includes(ctx.args.get('keep-file')!);
    if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error(`--size-mb must be a whole number of MiB, not ${ctx.args.get('size-mb')}`);
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number >= 1, not ${ctx.args.get('rounds')}`);
    const bytes = sizeMiB * MiB;
    const config = loadConfig();
    const partSize = config.INGEST_PART_SIZE_MB * MiB;
    const queueSize = config.INGEST_PARTS_IN_FLIGHT;
    const file = path.join(os.tmpdir(), `dems-bench-ingest-${sizeMiB}MiB.bin`);

    // A database of its own for each run, dropped at the end with the run's uploads: every sealed
    // 2 GiB original would otherwise stay in the bench bucket (evidence records cannot be deleted).
    const scratch = `dems_bench_ingest_${randomBytes(4).toString('hex')}`;
    const databaseUrl = Object.assign(new URL(config.DATABASE_URL), { pathname: `/${scratch}` }).toString();
    await adminSql(config.DATABASE_URL, `CREATE DATABASE ${scratch}`);
    const ds = createDataSource({ ...config, DATABASE_URL: databaseUrl });
    const uploadKeys: string[] = [];
    const s3 = baselineS3(config);
    const bucket = config.S3_BUCKET_ORIGINALS;
    const baselineKeys: string[] = [];
    const children: Child[] = [];
    const killAll = () => children.forEach((c) => c.proc.kill('SIGKILL'));
    process.once('exit', killAll);
    try {
      await ensureFile(file, bytes, ctx.log);

      await ds.initialize();
      const migrated = await runMigrations(ds);
      if (migrated.length) ctx.log(`migrations run: ${migrated.join(', ')}`);
      const suffix = randomBytes(4).toString('hex');
      const username = `bench-ingest-${suffix}`;
      const password = `pw-${randomBytes(12).toString('base64url')}`;
      await new UsersService(ds).create({ username, displayName: 'Ingest bench', role: 'investigator', password });

      // API and worker as the service runs them, with the bench environment.
      const port = await freePort();
      const env = { ...process.env, API_PORT: String(port), API_HOST: '127.0.0.1', QUEUE_PREFIX, DATABASE_URL: databaseUrl };
      const [{ now: workerSince }] = await ds.query(`SELECT now() AS now`);
      // Diagnostics only: BENCH_API_NODE_ARGS (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' or '--trace-gc') are node
      // flags for the API process; BENCH_API_OUTPUT names a file that gets all of its output.
      const apiArgs = [...API_NODE_FLAGS, ...(process.env.BENCH_API_NODE_ARGS ?? '').split(' ').filter(Boolean)];
      const api = new Child('api', API_MAIN, env, apiArgs, process.env.BENCH_API_OUTPUT);
      children.push(api);
      const worker = new Child('worker', WORKER_MAIN, env, WORKER_NODE_FLAGS);
      children.push(worker);
      const base = `http://127.0.0.1:${port}`;
      await waitReady(base, api, worker);
      ctx.log(`API ready: VmRSS ${mb(api.status('VmRSS'))} MB, VmHWM ${mb(api.status('VmHWM'))} MB; worker VmRSS ${mb(worker.status('VmRSS'))} MB`);
      const login = async () => {
        const r = await call(base, 'POST', '/api/v1/auth/login', undefined, { username, password });
        if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
        return (r.body as { accessToken: string }).accessToken;
      };
      let token = await login();
      const caseId = await createCase(base, token);
      const x = await call(base, 'POST', `/api/v1/cases/${caseId}/exhibits`, token, {
        reference: 'JS/1',
        sourceType: 'cctv',
        description: `Ingest benchmark, ${sizeMiB} MiB`,
        producer: 'J Smith',
      });
      if (x.status !== 201) throw new Error(`exhibit not created: ${x.status} ${x.text}`);
      const endpoint = `${base}/api/v1/uploads`;

      // Warm-up, not timed: a small file through each path (JIT, connections; the worker answers).
      const small = randomBytes(20 * MiB);
      const warm = await tusUpload(endpoint, token, small, small.length, metadata(caseId, 'warm-up.bin'));
      uploadKeys.push(uploadKey(idOf(warm)));
      await waitSealed(base, token, idOf(warm), 60_000, [api, worker]);
      const warmKey = `bench/ingest/warm-up-${suffix}`;
      baselineKeys.push(warmKey);
      await new Upload({ client: s3, params: { Bucket: bucket, Key: warmKey, Body: small }, partSize, queueSize }).done();
      await quiesce(ds, workerSince, ctx.log);

      // 3. Hashing over the file (a plain read first: the page cache is warm for every pass).
      const read = await hashPass(file, () => undefined);
      ctx.log(`plain read of the file: ${mbps(bytes, read.seconds)} MB/s (the floor for the hashing passes)`);
      const hashRuns: Record<'all' | 'sha256only' | 'node', number[]> = { all: [], sha256only: [], node: [] };
      let sha256 = '';
      for (let i = 0; i < rounds; i++) {
        const order: ('all' | 'sha256only' | 'node')[] = i % 2 ? ['all', 'sha256only', 'node'] : ['node', 'all', 'sha256only'];
        for (const which of order) {
          let digest: () => string;
          let feed: (c: Buffer) => void;
          if (which === 'node') {
            const h = createHash('sha256');
            feed = (c) => h.update(c);
            digest = () => h.digest('hex');
          } else {
            const d = new RunningDigests(which === 'all' ? ['sha256', 'sha1', 'md5'] : ['sha256']);
            feed = (c) => d.update(c);
            digest = () => d.digests().sha256;
          }
          const r = await hashPass(file, feed, digest);
          if (sha256 && r.sha256 !== sha256) throw new Error(`hash passes disagree: ${which} gave ${r.sha256}, earlier ${sha256}`);
          sha256 = r.sha256;
          hashRuns[which].push(r.seconds);
          ctx.log(`hashing ${which === 'all' ? 'RunningDigests sha256+sha1+md5' : which === 'sha256only' ? "RunningDigests(['sha256'])" : "createHash('sha256')"}: ${mbps(bytes, r.seconds)} MB/s`);
        }
      }

      // 1 and 2. The upload, ours and the baseline.
      const runs: Record<Path, UploadRun[]> = { ours: [], baseline: [] };
      ctx.log(`API after the warm-up, before the measured uploads: VmRSS ${mb(api.status('VmRSS'))} MB, VmHWM ${mb(api.status('VmHWM'))} MB`);
      for (let i = 0; i < rounds; i++) {
        const order: Path[] = i % 2 ? ['baseline', 'ours'] : ['ours', 'baseline'];
        for (const which of order) {
          // A moment for the S3 server to settle after the previous upload.
          await sleep(3000);
          global.gc?.();
          if (which === 'ours') {
            token = await login(); // access tokens are short-lived; a fresh one for every upload
            const cpu0 = api.threadCpu();
            const machine0 = machineCpu();
            // The peak is taken over the upload alone: logins (argon2id, 64 MiB each) are not part of it.
            const peakReset = api.resetPeak();
            const t0 = now();
            const url = await tusUpload(endpoint, token, createReadStream(file), bytes, metadata(caseId, `ingest-${sizeMiB}MiB-${i + 1}.bin`, sha256));
            const stored = now();
            uploadKeys.push(uploadKey(idOf(url)));
            const view = await waitSealed(base, token, idOf(url), 30 * 60_000, [api, worker]);
            const t1 = now();
            const got = view.hashes.find((h) => h.algorithm === 'sha256')?.value;
            if (view.size !== bytes || got !== sha256) throw new Error(`sealed ${view.size} bytes with sha256 ${got}; expected ${bytes} bytes, ${sha256}`);
            const cpu = cpuSpent(cpu0, api.threadCpu());
            const machine = machineCpu(machine0);
            const uploadPeak = peakReset ? api.status('VmHWM') : undefined;
            runs.ours.push({ seconds: t1 - t0, sealSeconds: t1 - stored, apiCpu: cpu.total, apiMainCpu: cpu.main, apiPeak: uploadPeak });
            ctx.log(
              `ours: ${(t1 - t0).toFixed(2)} s to sealed (${mbps(bytes, t1 - t0)} MB/s), bytes stored after ${(stored - t0).toFixed(2)} s, ` +
                `sealed ${(t1 - stored).toFixed(2)} s later (hashed from ${view.hashedFrom}); API peak RSS during it ${uploadPeak ? mb(uploadPeak) : '(not measurable here)'} MB; ` +
                `API CPU ${cpu.total.toFixed(1)} s (${cpu.detail}); machine CPU busy ${machine.busy.toFixed(1)} s, idle ${machine.idle.toFixed(1)} s`,
            );
          } else {
            const key = `bench/ingest/baseline-${suffix}-${i + 1}`;
            baselineKeys.push(key);
            const machine0 = machineCpu();
            const t0 = now();
            await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: createReadStream(file) }, partSize, queueSize }).done();
            // A seal reads the stored bytes back, so the baseline does too: one plain GET of the whole object.
            await drainGet(s3, bucket, key);
            const t1 = now();
            const machine = machineCpu(machine0);
            runs.baseline.push({ seconds: t1 - t0 });
            ctx.log(
              `baseline: ${(t1 - t0).toFixed(2)} s (${mbps(bytes, t1 - t0)} MB/s), lib-storage Upload (${config.INGEST_PART_SIZE_MB} MiB parts x ${queueSize}) + one GET; ` +
                `machine CPU busy ${machine.busy.toFixed(1)} s, idle ${machine.idle.toFixed(1)} s`,
            );
          }
        }
      }
      // 4. The seal's read-back (ranged reads in parallel, SHA-256 + SHA-1 + MD5) vs one plain GET of the same object.
      const readBack: Record<'ours' | 'get', number[]> = { ours: [], get: [] };
      const sealedKey = uploadKeys[uploadKeys.length - 1];
      const store = createObjectStore(config);
      try {
        for (let i = 0; i < rounds; i++) {
          for (const which of i % 2 ? (['get', 'ours'] as const) : (['ours', 'get'] as const)) {
            const t0 = now();
            if (which === 'ours') {
              const d = await hashStoredObject(store, bucket, sealedKey, { algorithms: ['sha256', 'sha1', 'md5'] });
              if (d.sha256 !== sha256) throw new Error(`read-back hashed ${d.sha256}, expected ${sha256}`);
            } else {
              await drainGet(s3, bucket, sealedKey);
            }
            readBack[which].push(now() - t0);
          }
        }
      } finally {
        store.destroy();
      }
      const readOurs = bytes / median(readBack.ours) / 1e6;
      const readGet = bytes / median(readBack.get) / 1e6;
      ctx.log(`read-back: ours ${readOurs.toFixed(0)} MB/s (hashed), plain GET ${readGet.toFixed(0)} MB/s`);

      // The true high-water marks of each process (kB in /proc), not samples.
      const apiPeakRun = api.peak() / 1e6;
      const uploadPeaks = runs.ours.map((r) => r.apiPeak).filter((p): p is number => p !== undefined);
      const apiPeak = uploadPeaks.length === runs.ours.length ? Math.max(...uploadPeaks) / 1e6 : undefined;
      const workerPeak = worker.status('VmHWM') / 1e6;

      const ours = median(runs.ours.map((r) => r.seconds));
      const baseline = median(runs.baseline.map((r) => r.seconds));
      const seal = median(runs.ours.map((r) => r.sealSeconds!));
      const rate = (s: number) => bytes / s / 1e6;
      const hashAll = rate(median(hashRuns.all));
      const hash256 = rate(median(hashRuns.sha256only));
      const hashNode = rate(median(hashRuns.node));
      const figures: Figure[] = [
        {
          figure: `first byte to sealed, ${sizeMiB} MiB: time ratio ours/baseline (lower is better)`,
          unit: 's',
          ours,
          baseline,
          ratio: ours / baseline,
          target: 'ratio <= 1.15 (baseline: plain upload + plain GET)',
          pass: ours / baseline <= 1.15,
        },
        {
          figure: `seal read-back of ${sizeMiB} MiB (ranged reads, SHA-256+SHA-1+MD5) vs one plain GET: throughput ratio`,
          unit: 'MB/s',
          ours: readOurs,
          baseline: readGet,
          ratio: readOurs / readGet,
          target: 'ratio >= 0.9',
          pass: readOurs / readGet >= 0.9,
        },
        { figure: 'throughput: tus upload to sealed vs lib-storage Upload (ratio higher is better)', unit: 'MB/s', ours: rate(ours), baseline: rate(baseline), ratio: baseline / ours },
        { figure: 'of ours: last byte stored (PATCH answered) to sealed', unit: 's', ours: seal },
        { figure: 'of ours: API CPU time over the upload, all threads', unit: 's', ours: median(runs.ours.map((r) => r.apiCpu!)) },
        { figure: 'of ours: API CPU time over the upload, main thread (event loop)', unit: 's', ours: median(runs.ours.map((r) => r.apiMainCpu!)) },
        apiPeak !== undefined
          ? { figure: 'API peak RSS during the upload (VmHWM reset before it; worst round)', unit: 'MB', ours: apiPeak, target: 'ours <= 250 MB', pass: apiPeak <= 250 }
          : { figure: 'API peak RSS (VmHWM, whole run: could not reset it for the upload alone)', unit: 'MB', ours: apiPeakRun, target: 'ours <= 250 MB', pass: apiPeakRun <= 250 },
        { figure: 'API peak RSS, whole run (logins included: argon2id takes 64 MiB each)', unit: 'MB', ours: apiPeakRun },
        { figure: 'worker peak RSS (VmHWM, whole run)', unit: 'MB', ours: workerPeak },
        { figure: "hashing: RunningDigests sha256+sha1+md5 vs createHash('sha256')", unit: 'MB/s', ours: hashAll, baseline: hashNode, ratio: hashAll / hashNode },
        { figure: "hashing: RunningDigests(['sha256']) vs createHash('sha256')", unit: 'MB/s', ours: hash256, baseline: hashNode, ratio: hash256 / hashNode },
      ];
      return figures;
    } finally {
      await Promise.all(children.map((c) => c.stop()));
      process.removeListener('exit', killAll);
      // The run's objects: baseline uploads, and each tus upload's object with its .info/.part.
      const keys = [...baselineKeys, ...uploadKeys.flatMap((k) => [k, `${k}.info`, `${k}.part`])];
      for (const key of keys) {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch((e: Error) => ctx.log(`could not delete s3://${bucket}/${key}: ${e.message}`));
      }
      s3.destroy();
      if (ds.isInitialized) await ds.destroy();
      await adminSql(config.DATABASE_URL, `DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`).catch((e: Error) => ctx.log(`could not drop database ${scratch}: ${e.message}`));
      if (!keepFile) await rm(file, { force: true });
    }
  },
};

/** A plain SDK client for the baselines, talking to the same S3 server as the service. */
export function baselineS3(config: AppConfig): S3Client {
  return new S3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Reads a whole object with one plain GET and throws the bytes away. */
export async function drainGet(s3: S3Client, bucket: string, key: string): Promise<void> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  for await (const chunk of out.Body as AsyncIterable<Buffer>) void chunk;
}

/** A service process (API or worker) with the tail of its output kept for error messages. */
export class Child {
  readonly proc: ChildProcess;
  private readonly tail: string[] = [];
  /** The highest VmHWM read before a resetPeak(). */
  private earlierPeak = 0;
  private readonly exit: Promise<void>;
  exited = false;

  constructor(
    readonly name: string,
    script: string,
    env: NodeJS.ProcessEnv,
    nodeArgs: string[] = [],
    outputFile?: string,
  ) {
    this.proc = spawn(process.execPath, [...nodeArgs, script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [this.proc.stdout!, this.proc.stderr!]) {
      s.setEncoding('utf8').on('data', (d: string) => {
        if (outputFile) appendFileSync(outputFile, d);
        this.tail.push(...d.split('\n').filter(Boolean));
        this.tail.splice(0, Math.max(0, this.tail.length - 30));
      });
    }
    this.exit = new Promise((resolve) => this.proc.once('exit', () => ((this.exited = true), resolve())));
  }

  /**
   * Resets the process's peak RSS (VmHWM) to its current RSS (Linux: 5 written to
   * /proc/<pid>/clear_refs); false where that is not possible.
   */
  /** The process's peak RSS over its whole life, resets included. */
  peak(): number {
    return Math.max(this.earlierPeak, this.status('VmHWM'));
  }

  resetPeak(): boolean {
    this.earlierPeak = Math.max(this.earlierPeak, this.status('VmHWM'));
    try {
      writeFileSync(`/proc/${this.proc.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM: the kernel's kB are KiB). */
  status(field: 'VmRSS' | 'VmHWM'): number {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
    if (!m) throw new Error(`${field} not found for ${this.name} (pid ${this.proc.pid})`);
    return Number(m[1]) * 1024;
  }

  /**
   * CPU seconds (user + system) used so far by each thread of the process, by thread name and id
   * (/proc/<pid>/task/<tid>/{comm,stat}); the main thread is 'main'.
   */
  threadCpu(): Map<string, number> {
    const out = new Map<string, number>();
    const tick = 100; // USER_HZ: clock ticks per second on Linux
    for (const tid of readdirSync(`/proc/${this.proc.pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${this.proc.pid}/task/${tid}/stat`, 'utf8');
        // Fields after the parenthesised name: state is field 3, utime 14 and stime 15.
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const name = tid === String(this.proc.pid) ? 'main' : `${readFileSync(`/proc/${this.proc.pid}/task/${tid}/comm`, 'utf8').trim()}:${tid}`;
        out.set(name, (Number(f[11]) + Number(f[12])) / tick);
      } catch {
        /* the thread ended meanwhile */
      }
    }
    return out;
  }

  check(): void {
    if (this.exited) throw new Error(`the ${this.name} process stopped (exit ${this.proc.exitCode ?? this.proc.signalCode}); its last output:\n${this.tail.join('\n')}`);
  }

  /** SIGTERM, then SIGKILL if it is still there after a few seconds. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    await Promise.race([this.exit, sleep(5000)]);
    if (!this.exited) {
      this.proc.kill('SIGKILL');
      await this.exit;
    }
  }
}

/** The whole machine's CPU seconds so far (busy, idle incl. I/O wait) from /proc/stat, or since `since`. */
function machineCpu(since?: { busy: number; idle: number }): { busy: number; idle: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] + f[4]) / 100;
  const busy = f.slice(0, 8).reduce((a, b) => a + b, 0) / 100 - idle;
  return since ? { busy: busy - since.busy, idle: idle - since.idle } : { busy, idle };
}

/** CPU seconds per thread name between two threadCpu() readings: the total, the main thread's, and the busiest threads. */
function cpuSpent(before: Map<string, number>, after: Map<string, number>): { total: number; main: number; detail: string } {
  const spent = [...after].map(([name, s]) => [name, s - (before.get(name) ?? 0)] as const).filter(([, s]) => s >= 0.05);
  spent.sort((a, b) => b[1] - a[1]);
  const total = spent.reduce((a, [, s]) => a + s, 0);
  return { total, main: spent.find(([n]) => n === 'main')?.[1] ?? 0, detail: spent.map(([n, s]) => `${n} ${s.toFixed(1)}`).join(', ') };
}

/** One statement on the server's maintenance database (CREATE/DROP DATABASE cannot run inside the target). */
export async function adminSql(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: Object.assign(new URL(databaseUrl), { pathname: '/postgres' }).toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The test file: random bytes in 1 MiB blocks, made once and reused while it has the right size. */
export async function ensureFile(file: string, bytes: number, log: (m: string) => void): Promise<void> {
  if ((await stat(file).catch(() => undefined))?.size === bytes) {
    log(`reusing ${file}`);
    return;
  }
  const t0 = now();
  const part = `${file}.${process.pid}.part`;
  const fh = await open(part, 'w');
  try {
    for (let at = 0; at < bytes; at += MiB) {
      const n = Math.min(MiB, bytes - at);
      await fh.write(randomBytes(n), 0, n);
    }
  } finally {
    await fh.close();
  }
  await rename(part, file);
  log(`wrote ${file} (${bytes / MiB} MiB of random bytes) in ${(now() - t0).toFixed(1)} s`);
}

/** Reads the file with fs.createReadStream (default chunks) and hands each chunk to `feed`. */
async function hashPass(file: string, feed: (chunk: Buffer) => void, digest: () => string = () => ''): Promise<{ seconds: number; sha256: string }> {
  const t0 = now();
  for await (const chunk of createReadStream(file)) feed(chunk as Buffer);
  const sha256 = digest();
  return { seconds: now() - t0, sha256 };
}

export function metadata(caseId: string, filename: string, sha256?: string): Record<string, string> {
  return { caseId, exhibitRef: 'JS/1', filename, ...(sha256 ? { sha256 } : {}) };
}

/** One tus upload with the standard client (no chunkSize: one PATCH); resolves with the upload URL. */
export function tusUpload(endpoint: string, token: string, input: Buffer | ReadStream, size: number, meta: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    // tus-js-client reads an fs.ReadStream by its path (its typings list only browser sources and Buffer).
    const upload = new tus.Upload(input as ConstructorParameters<typeof tus.Upload>[0], {
      endpoint,
      uploadSize: size,
      metadata: meta,
      headers: { authorization: `Bearer ${token}` },
      // A failure is reported, not hidden behind a resume (which would also change the seal's path).
      retryDelays: null,
      storeFingerprintForResuming: false,
      onSuccess: () => resolve(upload.url!),
      // tus-js-client's message names the request, the status and the response body.
      onError: (err) => reject(new Error(`tus upload failed: ${err.message}`)),
    });
    upload.start();
  });
}

export const idOf = (url: string) => url.split('/').pop()!;

/** Polls the uploader's view every 100 ms until the file is sealed. */
export async function waitSealed(base: string, token: string, id: string, timeoutMs: number, children: Child[]): Promise<UploadView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(base, 'GET', `/api/v1/uploads/${id}`, token);
    if (r.status !== 200) throw new Error(`GET /api/v1/uploads/${id}: ${r.status} ${r.text}`);
    const v = r.body as unknown as UploadView;
    if (v.state === 'sealed') return v;
    if (v.state !== 'verifying' && v.state !== 'uploading') {
      throw new Error(`upload ${id} is ${v.state}${v.quarantine ? `: ${v.quarantine.code} ${v.quarantine.reason}` : ''}`);
    }
    children.forEach((c) => c.check());
    if (Date.now() > deadline) throw new Error(`upload ${id} still ${v.state} after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

export async function waitReady(base: string, ...children: Child[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    children.forEach((c) => c.check());
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) return;
    if (Date.now() > deadline) throw new Error('the API did not become ready within 60 s');
    await sleep(200);
  }
}

/**
 * The worker starts a scheduled fixity run when it starts, which re-reads stored originals
 * (earlier runs' files in the bench bucket): wait for it to end so it does not share the
 * machine with the measurements.
 */
export async function quiesce(ds: ReturnType<typeof createDataSource>, since: Date, log: (m: string) => void): Promise<void> {
  await sleep(1000);
  const t0 = now();
  for (;;) {
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM fixity_runs WHERE finished_at IS NULL AND started_at >= $1`, [since]);
    if (!n) break;
    if (now() - t0 > 30 * 60) throw new Error('the worker has been running a fixity run for 30 minutes');
    await sleep(500);
  }
  if (now() - t0 > 1) log(`waited ${(now() - t0).toFixed(1)} s for the worker's start-up fixity run to finish`);
}

/** A case with a fresh URN (the bench database is kept between runs). */
export async function createCase(base: string, token: string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const serial = String((Math.floor(Date.now() / 1000) * 10 + Math.floor(Math.random() * 10)) % 1e7).padStart(7, '0');
    const urn = `${String(10 + Math.floor(Math.random() * 90))}/IB/${serial}/26`;
    const r = await call(base, 'POST', '/api/v1/cases', token, { urn, title: 'Ingest benchmark' });
    if (r.status === 201) return (r.body as { id: string }).id;
    if (r.status !== 409) throw new Error(`case not created: ${r.status} ${r.text}`);
  }
  throw new Error('no free URN found for the benchmark case');
}

export async function call(base: string, method: string, p: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(base + p, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, text };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export const now = () => Number(process.hrtime.bigint()) / 1e9;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mbps = (bytes: number, seconds: number) => (bytes / seconds / 1e6).toFixed(1);
export const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

