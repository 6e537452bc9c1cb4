import { createHash } from 'node:crypto';
import { loadConfig } from '../libs/config/index.js';
import { inspectZip, ObjectStoreByteSource } from '../libs/extraction/index.js';
import { createObjectStore } from '../libs/storage/index.js';

// One path of the extraction-inventory benchmark in a process of its own, so its peak RSS is the
// worker path's own. argv: <ours|baseline> <bucket> <key>. Prints one JSON line.

const [path, bucket, key] = process.argv.slice(2);
const store = createObjectStore(loadConfig());
const t0 = process.hrtime.bigint();
let result: Record<string, unknown>;
if (path === 'ours') {
  // The extraction job's pass: central directory by cached range reads, then every entry inflated, CRC-32 and SHA-256 checked, in one forward read.
  const source = await ObjectStoreByteSource.open(store, bucket, key);
  let entries = 0;
  const z = await inspectZip(source, { onEntries: (batch) => void (entries += batch.length) });
  result = { status: z.outcome.status, code: z.outcome.code ?? null, entries, ok: z.totals.ok, rangeRequests: z.rangeRequests, bytes: source.size };
} else {
  // Baseline: one sequential GET of the whole object through the same adapter, hashed with SHA-256.
  const got = await store.get(bucket, key);
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of got.body as AsyncIterable<Buffer>) {
    bytes += c.length;
    h.update(c);
  }
  result = { sha256: h.digest('hex'), bytes };
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ ...result, seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 }));
store.destroy();
