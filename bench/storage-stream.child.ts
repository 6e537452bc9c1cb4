import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '../libs/config/index.js';
import { createObjectStore } from '../libs/storage/index.js';

// One path of the storage-stream benchmark in a process of its own, so its peak RSS is its own.
// argv: <ours|baseline> <bytes> <key>. Prints one JSON line: put/get seconds and peak RSS.

const MiB = 1024 * 1024;
const [path, bytesArg, key] = process.argv.slice(2);
const bytes = Number(bytesArg);

function source(): Readable {
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
  await pipeline(body, new Writable({ write: (c: Buffer, _e, cb) => ((n += c.length), cb()) }));
  return n;
}

const seconds = async (fn: () => Promise<unknown>) => {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

const config = loadConfig();
let put: number;
let get: number;
let sha256: string | undefined;
if (path === 'ours') {
  const store = createObjectStore(config);
  await store.ensureBuckets();
  put = await seconds(async () => {
    const r = await store.put(store.buckets.working, key, source());
    if (r.size !== bytes) throw new Error(`stored ${r.size} bytes, expected ${bytes}`);
    sha256 = r.sha256;
  });
  get = await seconds(async () => {
    const n = await drain((await store.get(store.buckets.working, key)).body);
    if (n !== bytes) throw new Error(`read ${n} bytes`);
  });
  await store.delete(store.buckets.working, key);
  store.destroy();
} else {
  const client = new S3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const bucket = config.S3_BUCKET_WORKING;
  put = await seconds(() =>
    new Upload({ client, params: { Bucket: bucket, Key: key, Body: source() }, partSize: config.S3_PART_SIZE_MB * MiB, queueSize: config.S3_UPLOAD_CONCURRENCY }).done(),
  );
  get = await seconds(async () => {
    const n = await drain((await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable);
    if (n !== bytes) throw new Error(`read ${n} bytes`);
  });
  client.destroy();
}
// maxRSS is the true high-water mark of this process (kilobytes), not a sample.
console.log(JSON.stringify({ path, put, get, peakRssBytes: process.resourceUsage().maxRSS * 1024, sha256 }));
