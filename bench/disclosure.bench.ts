import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { loadConfig } from '../libs/config/index.js';
import { createDataSource, runMigrations } from '../libs/database/index.js';
import { verifyBundle } from '../libs/disclosure/index.js';
import { UsersService } from '../libs/identity/index.js';
import { timed, type Benchmark, type Figure } from './harness.js';
import {
  adminSql,
  API_MAIN,
  API_NODE_FLAGS,
  baselineS3,
  call,
  Child,
  createCase,
  drainGet,
  ensureFile,
  freePort,
  idOf,
  mb,
  median,
  metadata,
  now,
  QUEUE_PREFIX,
  quiesce,
  sleep,
  tusUpload,
  waitReady,
  waitSealed,
  WORKER_MAIN,
  WORKER_NODE_FLAGS,
} from './ingest.bench.js';

const MiB = 1024 * 1024;
const REASON = { 'x-justification-code': 'disclosure_review', 'x-justification-text': 'disclosure benchmark share' };

/**
 * Disclosure bundles against the real services (API and worker in processes of their own, as in
 * ingest): `--files` sealed originals (default 20) of `--size-mb` in all (default 3072, the
 * issue's 3 GiB) in one exhibit, then
 * - build: POST the bundle to ready, by a freshly started worker (the worker's job: HEAD checks, checkpoint, custody extracts,
 *   schedules, the ZIP64 streamed into S3 with every original hashed on the way) vs a plain
 *   streaming zip of the same objects (yazl over GetObject streams into a lib-storage Upload with
 *   the service's part size and concurrency): the copy within S3 plus zipping, nothing else;
 * - the worker's peak RSS during the build (VmHWM reset before it);
 * - download as the CPS user: a presigned URL issued by the API (the s.62 entry recorded first)
 *   and the object read through it, vs a raw S3 GET of the same object; and through the API's
 *   streaming route for comparison (each drained, twice in alternating order, medians);
 * - offline verification of the downloaded bundle (`dems verify bundle`) vs `sha256sum -c` over
 *   the unzipped files, both from the page cache.
 */
export const disclosureBench: Benchmark = {
  name: 'disclosure',
  description: 'bundle build vs a plain streaming zip, download vs raw S3 GET, worker peak RSS, verify vs sha256sum (default 20 files, 3072 MiB)',
  smoke: { 'size-mb': '2', files: '2' },
  async run(ctx) {
    const sizeMiB = Number(ctx.args.get('size-mb') ?? 3072);
    const count = Number(ctx.args.get('files') ?? 20);
    if (!Number.isInteger(sizeMiB) || sizeMiB < count) throw new Error(`--size-mb must be a whole number of MiB, at least --files, not ${ctx.args.get('size-mb')}`);
    const per = Math.floor((sizeMiB * MiB) / count);
    const config = loadConfig();
    const file = path.join(os.tmpdir(), `dems-bench-disclosure-${per}.bin`);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dems-bench-disclosure-'));
    const scratch = `dems_bench_disclosure_${randomBytes(4).toString('hex')}`;
    const databaseUrl = Object.assign(new URL(config.DATABASE_URL), { pathname: `/${scratch}` }).toString();
    await adminSql(config.DATABASE_URL, `CREATE DATABASE ${scratch}`);
    const ds = createDataSource({ ...config, DATABASE_URL: databaseUrl });
    const s3 = baselineS3(config);
    const cleanup: { bucket: string; key: string }[] = [];
    const children: Child[] = [];
    try {
      await ensureFile(file, per, ctx.log);
      await ds.initialize();
      await runMigrations(ds);
      const suffix = randomBytes(4).toString('hex');
      const password = `pw-${randomBytes(12).toString('base64url')}`;
      const users = new UsersService(ds);
      await users.create({ username: `bench-oic-${suffix}`, displayName: 'Disclosure bench OIC', role: 'investigator', password });
      const cpsUser = await users.create({ username: `bench-cps-${suffix}`, displayName: 'Disclosure bench CPS', role: 'cps_prosecutor', password });

      const port = await freePort();
      const env = { ...process.env, API_PORT: String(port), API_HOST: '127.0.0.1', QUEUE_PREFIX, DATABASE_URL: databaseUrl };
      const [{ now: since }] = await ds.query(`SELECT now() AS now`);
      const api = new Child('api', API_MAIN, env, API_NODE_FLAGS);
      const sealer = new Child('worker', WORKER_MAIN, env, WORKER_NODE_FLAGS);
      children.push(api, sealer);
      const base = `http://127.0.0.1:${port}`;
      await waitReady(base, api, sealer);
      const login = async (who: string) => {
        const r = await call(base, 'POST', '/api/v1/auth/login', undefined, { username: who, password });
        if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
        return (r.body as { accessToken: string }).accessToken;
      };
      let token = await login(`bench-oic-${suffix}`);
      const caseId = await createCase(base, token);
      const x = await call(base, 'POST', `/api/v1/cases/${caseId}/exhibits`, token, { reference: 'JS/1', sourceType: 'cctv', description: 'Disclosure benchmark', producer: 'J Smith' });
      if (x.status !== 201) throw new Error(`exhibit not created: ${x.status} ${x.text}`);
      const exhibitId = (x.body as { id: string }).id;

      // The originals, through the service's own ingest (sealed by the worker).
      const t0 = now();
      const objects: { bucket: string; key: string }[] = [];
      for (let i = 0; i < count; i++) {
        const url = await tusUpload(`${base}/api/v1/uploads`, token, createReadStream(file), per, metadata(caseId, `item-${i + 1}.bin`));
        await waitSealed(base, token, idOf(url), 30 * 60_000, children);
        const [row] = (await ds.query(`SELECT bucket, object_key FROM evidence_files WHERE id = $1`, [idOf(url)])) as { bucket: string; object_key: string }[];
        objects.push({ bucket: row.bucket, key: row.object_key });
      }
      // Each original with the tus upload's .info and .part beside it.
      cleanup.push(...objects.flatMap((o) => ['', '.info', '.part'].map((ext) => ({ bucket: o.bucket, key: `${o.key}${ext}` }))));
      ctx.log(`${count} originals of ${(per / MiB).toFixed(1)} MiB sealed in ${(now() - t0).toFixed(1)} s`);
      await quiesce(ds, since, ctx.log);
      // A fresh worker builds the bundle, as after a deploy: its peak RSS is the build's, not the seals'.
      await sealer.stop();
      children.splice(children.indexOf(sealer), 1);
      const [{ now: restarted }] = await ds.query(`SELECT now() AS now`);
      const worker = new Child('worker', WORKER_MAIN, env, WORKER_NODE_FLAGS);
      children.push(worker);
      await sleep(3000);
      await quiesce(ds, restarted, ctx.log);
      ctx.log(`fresh worker: VmRSS ${mb(worker.status('VmRSS'))} MB before the build`);

      // 1. Build: ours (the worker's job) ...
      await sleep(2000);
      token = await login(`bench-oic-${suffix}`);
      const peakReset = worker.resetPeak();
      const ours = await timed(async () => {
        const r = await call(base, 'POST', `/api/v1/cases/${caseId}/disclosure/bundles`, token, { exhibitIds: [exhibitId], audience: 'cps_and_defence' });
        if (r.status !== 202) throw new Error(`bundle not requested: ${r.status} ${r.text}`);
        const id = (r.body as { id: string }).id;
        for (;;) {
          const v = await call(base, 'GET', `/api/v1/disclosure/bundles/${id}`, token);
          const state = (v.body as { state: string }).state;
          if (state === 'ready') return v.body as { id: string; size: number; sha256: string };
          if (state === 'failed') throw new Error(`bundle failed: ${v.text}`);
          children.forEach((c) => c.check());
          await sleep(100);
        }
      });
      const workerPeak = peakReset ? worker.status('VmHWM') : worker.peak();
      const bundle = ours.value;
      const [{ bucket: bundleBucket, object_key: bundleKey }] = (await ds.query(`SELECT bucket, object_key FROM disclosure_bundles WHERE id = $1`, [bundle.id])) as { bucket: string; object_key: string }[];
      cleanup.push({ bucket: bundleBucket, key: bundleKey });
      ctx.log(`ours: bundle of ${mb(bundle.size)} MB ready in ${ours.seconds.toFixed(2)} s; worker peak RSS ${mb(workerPeak)} MB`);

      // ... and the baseline: the same objects zipped by a plain streaming zip into S3.
      await sleep(2000);
      const baselineKey = `bench/disclosure/baseline-${suffix}.zip`;
      cleanup.push({ bucket: bundleBucket, key: baselineKey });
      const baseline = await timed(async () => {
        const zip = new yazl.ZipFile();
        objects.forEach((o, i) =>
          zip.addReadStreamLazy(`item-${i + 1}.bin`, { size: per, compress: false, mtime: new Date(0) }, (cb) => {
            s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.key })).then((g) => cb(null, g.Body as Readable), (e: Error) => cb(e, undefined as unknown as Readable));
          }),
        );
        zip.end();
        await new Upload({ client: s3, params: { Bucket: bundleBucket, Key: baselineKey, Body: zip.outputStream as Readable }, partSize: config.S3_PART_SIZE_MB * MiB, queueSize: config.S3_UPLOAD_CONCURRENCY }).done();
      });
      ctx.log(`baseline: plain streaming zip into S3 in ${baseline.seconds.toFixed(2)} s`);

      // 2. Download as the CPS user: presigned URL (ours), raw GET (baseline), the API's own route.
      const share = await call(base, 'POST', `/api/v1/disclosure/bundles/${bundle.id}/shares`, token, { recipientId: cpsUser.id, expiresAt: new Date(Date.now() + 3600_000).toISOString() }, REASON);
      if (share.status !== 201) throw new Error(`share refused: ${share.status} ${share.text}`);
      const cpsToken = await login(`bench-cps-${suffix}`);
      // Each path drains the bytes (nothing written), twice in alternating order; the median counts.
      const drain = async (res: Response) => {
        if (res.status !== 200 || !res.body) throw new Error(`download answered ${res.status}`);
        for await (const chunk of res.body) void chunk;
      };
      const link = async () => {
        const r = await call(base, 'POST', `/api/v1/disclosure/bundles/${bundle.id}/download-url`, cpsToken);
        if (r.status !== 200) throw new Error(`no download URL: ${r.status} ${r.text}`);
        return (r.body as { url: string }).url;
      };
      const paths = {
        presigned: async () => drain(await fetch(await link())),
        raw: () => drainGet(s3, bundleBucket, bundleKey),
        api: async () => drain(await fetch(`${base}/api/v1/disclosure/bundles/${bundle.id}/download`, { headers: { authorization: `Bearer ${cpsToken}` } })),
      };
      const took: Record<keyof typeof paths, number[]> = { presigned: [], raw: [], api: [] };
      for (let i = 0; i < 2; i++) {
        for (const which of (i % 2 ? ['raw', 'api', 'presigned'] : ['presigned', 'raw', 'api']) as (keyof typeof paths)[]) {
          await sleep(2000);
          took[which].push((await timed(paths[which])).seconds);
        }
      }
      const presigned = { seconds: median(took.presigned) };
      const raw = { seconds: median(took.raw) };
      const viaApi = { seconds: median(took.api) };
      const rate = (s: number) => bundle.size / s / 1e6;
      ctx.log(`download: presigned ${rate(presigned.seconds).toFixed(0)} MB/s, raw GET ${rate(raw.seconds).toFixed(0)} MB/s, through the API ${rate(viaApi.seconds).toFixed(0)} MB/s`);
      const zipPath = path.join(dir, 'bundle.zip');
      const got = await fetch(await link());
      await pipeline(got.body!, createWriteStream(zipPath));

      // 3. Offline verification of what the CPS user got vs sha256sum -c over the unzipped files.
      const out = path.join(dir, 'unzipped');
      if (spawnSync('unzip', ['-q', zipPath, '-d', out]).status !== 0) throw new Error('unzip failed on the downloaded bundle');
      spawnSync('cat', [zipPath], { stdio: 'ignore' });
      const verify = await timed(() => verifyBundle(zipPath));
      if (!verify.value.ok) throw new Error(`the bundle does not verify: ${verify.value.problems.join('; ')}`);
      const sums = await timed(async () => spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out, maxBuffer: 1 << 24 }));
      if (sums.value.status !== 0) throw new Error('sha256sum -c failed on the downloaded bundle');
      ctx.log(`verify: ${rate(verify.seconds).toFixed(0)} MB/s, sha256sum -c ${rate(sums.seconds).toFixed(0)} MB/s`);

      const figures: Figure[] = [
        {
          figure: `bundle build, ${count} files, ${sizeMiB} MiB: time ours/baseline (plain streaming zip S3 to S3; lower is better)`,
          unit: 's',
          ours: ours.seconds,
          baseline: baseline.seconds,
          ratio: ours.seconds / baseline.seconds,
          target: 'ratio <= 1.2',
          pass: ours.seconds / baseline.seconds <= 1.2,
        },
        { figure: 'worker peak RSS during the build (VmHWM reset before it)', unit: 'MB', ours: workerPeak / 1e6, target: 'ours <= 200 MB', pass: workerPeak / 1e6 <= 200 },
        {
          figure: 'download as the CPS user by presigned URL vs raw S3 GET of the bundle: throughput',
          unit: 'MB/s',
          ours: rate(presigned.seconds),
          baseline: rate(raw.seconds),
          ratio: raw.seconds / presigned.seconds,
          target: 'ratio >= 0.9',
          pass: raw.seconds / presigned.seconds >= 0.9,
        },
        { figure: 'download through the API route (Range-capable stream) vs raw S3 GET', unit: 'MB/s', ours: rate(viaApi.seconds), baseline: rate(raw.seconds), ratio: raw.seconds / viaApi.seconds },
        {
          figure: 'dems verify bundle vs sha256sum -c over the unzipped files: throughput',
          unit: 'MB/s',
          ours: rate(verify.seconds),
          baseline: rate(sums.seconds),
          ratio: sums.seconds / verify.seconds,
          target: 'ratio >= 0.8',
          pass: sums.seconds / verify.seconds >= 0.8,
        },
      ];
      return figures;
    } finally {
      await Promise.all(children.map((c) => c.stop()));
      for (const o of cleanup) await s3.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: o.key })).catch((e: Error) => ctx.log(`could not delete s3://${o.bucket}/${o.key}: ${e.message}`));
      s3.destroy();
      if (ds.isInitialized) await ds.destroy();
      await adminSql(config.DATABASE_URL, `DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`).catch((e: Error) => ctx.log(`could not drop database ${scratch}: ${e.message}`));
      await rm(dir, { recursive: true, force: true });
      await rm(file, { force: true });
    }
  },
};
