import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '../libs/config/index.js';
import { createObjectStore } from '../libs/storage/index.js';
import { RssSampler, timed, type Benchmark, type Figure } from './harness.js';

const MiB = 1024 * 1024;

/** `bytes` of incompressible data in 1 MiB chunks, generated on the fly (never held whole). */
function source(bytes: number): Readable {
  const block = randomBytes(MiB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return this.push(null);
      const n = Math.min(MiB, bytes - sent);
      sent += n;
      this.push(n === MiB ? block : block.subarray(0, n));
    },
  });
}

async function drain(body: Readable): Promise<number> {
  let n = 0;
  await pipeline(
    body,
    new Writable({
      write(chunk: Buffer, _e, cb) {
        n += chunk.length;
        cb();
      },
    }),
  );
  return n;
}

/**
 * A streamed put and get through our storage adapter (which also hashes every byte and
 * re-checks the stored size) against the plain SDK (lib-storage Upload / GetObject) with the
 * same part size and concurrency, on the same server, in the same run. Two rounds in
 * alternating order; the best of each path counts.
 */
export const storageStream: Benchmark = {
  name: 'storage-stream',
  description: 'streamed 1 GiB put and get: our S3 adapter vs the plain SDK',
  async run(ctx) {
    const bytes = Number(ctx.args.get('size-mb') ?? 1024) * MiB;
    const config = loadConfig();
    const store = createObjectStore(config);
    await store.ensureBuckets();
    const plain = new S3Client({
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const bucket = store.buckets.working;
    const partSize = config.S3_PART_SIZE_MB * MiB;
    const best = { oursPut: Infinity, basePut: Infinity, oursGet: Infinity, baseGet: Infinity };
    let oursPeakRss = 0;

    const ours = async (key: string) => {
      const rss = new RssSampler().start();
      const put = await timed(() => store.put(bucket, key, source(bytes)));
      if (put.value.size !== bytes) throw new Error(`ours stored ${put.value.size} bytes, expected ${bytes}`);
      const get = await timed(async () => drain((await store.get(bucket, key)).body));
      if (get.value !== bytes) throw new Error(`ours read ${get.value} bytes`);
      oursPeakRss = Math.max(oursPeakRss, rss.stop());
      best.oursPut = Math.min(best.oursPut, put.seconds);
      best.oursGet = Math.min(best.oursGet, get.seconds);
      ctx.log(`ours: put ${(bytes / put.seconds / 1e6).toFixed(1)} MB/s, get ${(bytes / get.seconds / 1e6).toFixed(1)} MB/s`);
    };
    const baseline = async (key: string) => {
      const put = await timed(() =>
        new Upload({ client: plain, params: { Bucket: bucket, Key: key, Body: source(bytes) }, partSize, queueSize: config.S3_UPLOAD_CONCURRENCY }).done(),
      );
      const get = await timed(async () => drain((await plain.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable));
      if (get.value !== bytes) throw new Error(`baseline read ${get.value} bytes`);
      best.basePut = Math.min(best.basePut, put.seconds);
      best.baseGet = Math.min(best.baseGet, get.seconds);
      ctx.log(`baseline: put ${(bytes / put.seconds / 1e6).toFixed(1)} MB/s, get ${(bytes / get.seconds / 1e6).toFixed(1)} MB/s`);
    };

    const keyOurs = `bench/storage-stream/ours-${Date.now()}`;
    const keyBase = `bench/storage-stream/baseline-${Date.now()}`;
    try {
      await baseline(keyBase);
      await ours(keyOurs);
      await ours(keyOurs);
      await baseline(keyBase);
    } finally {
      await store.delete(bucket, keyOurs).catch(() => undefined);
      await store.delete(bucket, keyBase).catch(() => undefined);
      store.destroy();
      plain.destroy();
    }

    const mbps = (s: number) => bytes / s / 1e6;
    const figure = (name: string, o: number, b: number): Figure => {
      const ratio = mbps(o) / mbps(b);
      return { figure: `${name} throughput (${bytes / MiB} MiB)`, unit: 'MB/s', ours: mbps(o), baseline: mbps(b), ratio, target: 'ratio >= 0.95', pass: ratio >= 0.95 };
    };
    const rssMb = oursPeakRss / 1e6;
    return [
      figure('put', best.oursPut, best.basePut),
      figure('get', best.oursGet, best.baseGet),
      { figure: 'peak RSS of our process', unit: 'MB', ours: rssMb, target: '<= 200 MB', pass: rssMb <= 200 },
    ];
  },
};
