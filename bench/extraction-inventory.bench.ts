import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import yazl from 'yazl';
import { loadConfig } from '../libs/config/index.js';
import { recordCustodyEvent } from '../libs/custody/index.js';
import { createDataSource, runMigrations } from '../libs/database/index.js';
import { IdentityService } from '../libs/identity/index.js';
import { createObjectStore } from '../libs/storage/index.js';
import { loadPath, signIn, startBenchApi } from './bench-api.js';
import type { Benchmark, Figure } from './harness.js';

const CHILD = fileURLToPath(new URL('./extraction-inventory.child.js', import.meta.url));
const MiB = 1024 * 1024;
const run = promisify(execFile);

/**
 * Issue #14's benchmark. (1) The extraction job's inventory pass over a ZIP of 50,000 entries
 * (4 GiB by default) stored in S3 (central directory by cached range reads, every entry's CRC-32
 * and SHA-256 while streaming; no local copy) against one sequential SHA-256 read of the same
 * object through the same adapter: ratio of throughputs (target ≥ 0.7), and the pass's peak RSS in
 * a process of its own (target ≤ 300 MB). (2) Inventory search by name over 50,000 entries through
 * the API (an s.62 consultation each), p50/p99 under load against `GET /health/live` on the same
 * server.
 */
export const extractionInventory: Benchmark = {
  name: 'extraction-inventory',
  description: 'inventory + CRC/SHA-256 pass of a ZIP in S3 vs one SHA-256 read (default 50,000 entries, 4096 MiB); inventory search p99 through the API',
  smoke: { 'size-mb': '2', entries: '50', rounds: '1', seconds: '1', connections: '2' },
  async run(ctx) {
    const sizeMb = Number(ctx.args.get('size-mb') ?? 4096);
    const entries = Number(ctx.args.get('entries') ?? 50_000);
    const seconds = Number(ctx.args.get('seconds') ?? 10);
    const connections = Number(ctx.args.get('connections') ?? 10);
    const rounds = Number(ctx.args.get('rounds') ?? 3);
    const config = loadConfig();
    const store = createObjectStore(config);
    const bucket = store.buckets.working;
    const key = `bench/extraction-${sizeMb}mib-${entries}.zip`;
    try {
      if (!(await store.head(bucket, key))) {
        ctx.log(`building and storing ${key} (streamed straight into S3)`);
        const t0 = Date.now();
        await store.put(bucket, key, benchZip(sizeMb * MiB, entries));
        ctx.log(`stored in ${((Date.now() - t0) / 1000).toFixed(1)} s (kept for later runs)`);
      }
      const child = async (path: 'ours' | 'baseline') => {
        const { stdout } = await run(process.execPath, [CHILD, path, bucket, key], { env: process.env, maxBuffer: 1 << 20 });
        return JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; bytes: number; peakRssBytes: number; status?: string; entries?: number; rangeRequests?: number };
      };
      // Alternating rounds, medians: on a shared machine one pair alone says little.
      const mbps = (r: { bytes: number; seconds: number }) => r.bytes / r.seconds / 1e6;
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const basePasses: number[] = [];
      const ourPasses: number[] = [];
      let peakRss = 0;
      for (let round = 0; round < rounds; round++) {
        const base = await child('baseline');
        const ours = await child('ours');
        if (ours.status !== 'verified' || ours.entries !== entries) throw new Error(`the bench archive did not verify: ${JSON.stringify(ours)}`);
        basePasses.push(mbps(base));
        ourPasses.push(mbps(ours));
        peakRss = Math.max(peakRss, ours.peakRssBytes);
        ctx.log(`round ${round + 1}: inventory pass ${mbps(ours).toFixed(0)} MB/s (${ours.rangeRequests} range requests, peak RSS ${(ours.peakRssBytes / MiB).toFixed(0)} MiB); one SHA-256 read ${mbps(base).toFixed(0)} MB/s`);
      }
      const ratio = median(ourPasses) / median(basePasses);
      const figures: Figure[] = [
        { figure: `inventory + CRC/SHA-256 pass (${entries} entries, ${sizeMb} MiB in S3; median of ${rounds})`, unit: 'MB/s', ours: median(ourPasses), baseline: median(basePasses), ratio, target: 'ratio >= 0.7', pass: ratio >= 0.7 },
        { figure: 'inventory pass peak RSS (own process)', unit: 'MiB', ours: peakRss / MiB, target: '<= 300 MB', pass: peakRss <= 300e6 },
      ];
      return [...figures, ...(await searchLatency(ctx, entries, seconds, connections))];
    } finally {
      store.destroy();
    }
  },
};

/**
 * A ZIP of `entries` stored (incompressible, like the JPEGs and videos that fill a phone) entries
 * of equal size, generated as it is streamed; each entry's first bytes are its number, so every
 * hash differs.
 */
function benchZip(totalBytes: number, entries: number): Readable {
  const block = randomBytes(MiB);
  const per = Math.floor(totalBytes / entries);
  const zip = new yazl.ZipFile();
  for (let i = 0; i < entries; i++) {
    zip.addReadStreamLazy(`files/Image/dir${i % 100}/IMG_${String(i).padStart(6, '0')}.jpg`, { compress: false, size: per, mtime: new Date(0) }, (cb) => {
      let sent = 0;
      cb(
        null,
        new Readable({
          read() {
            if (sent >= per) return this.push(null);
            const n = Math.min(MiB, per - sent);
            const chunk = Buffer.from(block.subarray(0, n));
            if (sent === 0) chunk.writeUInt32BE(i, 0);
            sent += n;
            this.push(chunk);
          },
        }),
      );
    });
  }
  zip.end();
  return zip.outputStream as unknown as Readable;
}

/** p50/p99 of a name search over an inventory of `entries` rows through the API, under load, against the framework floor. */
async function searchLatency(ctx: Parameters<Benchmark['run']>[0], entries: number, seconds: number, connections: number): Promise<Figure[]> {
  const config = loadConfig();
  const ds = createDataSource(config);
  await ds.initialize();
  let stop = () => {};
  try {
    await runMigrations(ds);
    const password = 'bench-password-123';
    const { user } = await new IdentityService(ds).ensureAdmin('bench-extraction-analyst', password);
    await ds.query(`UPDATE users SET role = 'forensic_analyst' WHERE id = $1`, [user.id]);
    const setKey = `bench:${entries}`;
    let found = (await ds.query(`SELECT id, case_id FROM extractions WHERE set_key = $1`, [setKey]))[0] as { id: string; case_id: string } | undefined;
    if (!found) {
      ctx.log(`seeding an extraction with ${entries} inventory entries`);
      found = await ds.transaction(async (tx) => {
        const [c] = await tx.query(`INSERT INTO cases (urn, title, created_by) VALUES ('01XT' || lpad($1::text, 7, '0') || '26', 'Extraction bench', $2) RETURNING id`, [entries, user.id]);
        await tx.query(`INSERT INTO case_members (case_id, user_id, case_role, added_by) VALUES ($1, $2, 'forensic_analyst', $2)`, [c.id, user.id]);
        const [x] = await tx.query(`INSERT INTO exhibits (case_id, reference, source_type, description, producer, created_by) VALUES ($1, 'XT/1', 'device_extraction', 'Bench handset', 'X T', $2) RETURNING id`, [c.id, user.id]);
        const [e] = await tx.query(
          `INSERT INTO extractions (case_id, exhibit_id, set_key, kind, state, entry_count) VALUES ($1, $2, $3, 'ufdr', 'verified', $4) RETURNING id, case_id`,
          [c.id, x.id, setKey, entries],
        );
        await tx.query(
          `INSERT INTO extraction_entries (extraction_id, idx, path, name, extension, size, compressed_size, sha256, crc_ok, status)
           SELECT $1, g, 'files/Image/dir' || (g % 100) || '/IMG_' || lpad(g::text, 6, '0') || '.jpg', 'IMG_' || lpad(g::text, 6, '0') || '.jpg', 'jpg', 84000, 84000,
                  encode(sha256(g::text::bytea), 'hex'), true, 'ok'
             FROM generate_series(0, $2::int - 1) g`,
          [e.id, entries],
        );
        await recordCustodyEvent(tx, { type: 'bench.seeded', operation: 'collection', caseId: c.id, details: { extractionEntries: entries } });
        return e as { id: string; case_id: string };
      });
      await ds.query(`ANALYZE extraction_entries`);
    }
    const started = await startBenchApi();
    stop = started.stop;
    const base = started.base;
    const accessToken = await signIn(base, 'bench-extraction-analyst', password);
    const headers = { authorization: `Bearer ${accessToken}`, 'x-justification-code': 'investigation', 'x-justification-text': 'benchmark of the inventory search' };
    const search = `/api/v1/cases/${found.case_id}/extractions/${found.id}/entries?q=img_0${String(Math.floor(entries / 2)).padStart(5, '0').slice(0, 4)}&limit=100`;
    const check = (await (await fetch(base + search, { headers })).json()) as { entries?: unknown[] };
    if (!check.entries?.length) throw new Error(`the bench search found nothing: ${JSON.stringify(check).slice(0, 300)}`);
    const load = (path: string) => loadPath(ctx, base + path, { connections, seconds, headers });
    const floor = await load('/health/live');
    const ours = await load(search);
    return [
      { figure: `inventory search by name p50 (${entries} entries, ${connections} conns)`, unit: 'ms', ours: ours.latency.p50, baseline: floor.latency.p50, ratio: floor.latency.p50 / Math.max(ours.latency.p50, 0.001) },
      { figure: `inventory search by name p99 (${entries} entries, ${connections} conns)`, unit: 'ms', ours: ours.latency.p99, baseline: floor.latency.p99, ratio: floor.latency.p99 / Math.max(ours.latency.p99, 0.001) },
    ];
  } finally {
    stop();
    await ds.destroy();
  }
}
