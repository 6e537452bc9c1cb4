import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { EntityManager } from 'typeorm';
import { loadConfig } from '../libs/config/index.js';
import { LedgerService, recordCustodyEvent, verifyLedger } from '../libs/custody/index.js';
import { createDataSource, runMigrations } from '../libs/database/index.js';
import { chainHash, chainName, encodeLedgerEvent, GENESIS_HASH, leafHash, nodeHash, type LedgerEvent } from '../libs/ledger/index.js';
import { createObjectStore } from '../libs/storage/index.js';
import type { Benchmark, Figure } from './harness.js';

/**
 * The custody ledger at scale, in a database of its own (recreated each run):
 * - bulk-builds a ledger of --events events (default 1,000,000) over --cases cases with the real
 *   encoding, chains and Merkle nodes, and signs a checkpoint;
 * - full verification rate (dems verify ledger's code) vs raw SHA-256 over the same bytes;
 * - proof cost in node reads and time at 10^4 and at the full size;
 * - append throughput of --writers concurrent writers through the real recorder vs plain INSERTs
 *   of the same rows without hashing.
 */
export const ledgerBench: Benchmark = {
  name: 'ledger',
  description: 'custody ledger: append rate, full verification rate, proof reads',
  smoke: { events: '500', cases: '3', writers: '2', seconds: '1' },
  async run(ctx) {
    const total = Number(ctx.args.get('events') ?? 1_000_000);
    const caseCount = Number(ctx.args.get('cases') ?? 100);
    const writers = Number(ctx.args.get('writers') ?? 16);
    const seconds = Number(ctx.args.get('seconds') ?? 10);
    const base = loadConfig();
    // Named after the bench database (dems_bench_ledger under npm run bench): a run with a database of its own (the smoke test) gets its own.
    const dbName = `${new URL(base.DATABASE_URL).pathname.slice(1)}_ledger`;
    const admin = new URL(base.DATABASE_URL);
    admin.pathname = '/postgres';
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${dbName}`);
    await c.end();
    const url = new URL(base.DATABASE_URL);
    url.pathname = `/${dbName}`;
    const config = { ...base, DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: writers + 4 };
    const ds = createDataSource(config);
    await ds.initialize();
    const store = createObjectStore(config);
    await store.ensureBuckets();
    const figures: Figure[] = [];
    try {
      await runMigrations(ds);
      const [user] = await ds.query(`INSERT INTO users (username, display_name, role) VALUES ('bench-ledger', 'Bench', 'investigator') RETURNING id`);
      const cases: string[] = await ds.transaction(async (tx) => {
        const made = await tx.query(
          `INSERT INTO cases (urn, title, created_by) SELECT '07LB' || lpad(g::text, 5, '0') || '26', 'Ledger bench ' || g, $1 FROM generate_series(1, $2::int) g RETURNING id`,
          [user.id, caseCount],
        );
        // The database refuses a case without a custody event of that case in the same transaction.
        for (const r of made as { id: string }[]) await recordCustodyEvent(tx, { type: 'bench.seeded', operation: 'collection', caseId: r.id });
        return made.map((r: { id: string }) => r.id);
      });

      // 1. Bulk build, with the same encoding the recorder uses.
      const t0 = performance.now();
      const heads = new Map<string, Buffer>();
      const frontier: { level: number; hash: Buffer }[] = [];
      // Continue after what is already logged (the seeding event): its leaves and chain heads.
      const existing = await ds.query(`SELECT e.leaf_index, e.case_id, e.hash, n.hash AS leaf FROM custody_events e JOIN ledger_nodes n ON n.level = 0 AND n.idx = e.leaf_index ORDER BY e.leaf_index`);
      for (const r of existing) {
        heads.set(chainName(r.case_id), r.hash);
        let node = { level: 0, hash: r.leaf as Buffer };
        while (frontier.length && frontier[frontier.length - 1].level === node.level) node = { level: node.level + 1, hash: nodeHash(frontier.pop()!.hash, node.hash) };
        frontier.push(node);
      }
      const offset = existing.length;
      const sample: Buffer[] = [];
      let bytes = 0;
      const BATCH = 5000;
      for (let start = offset; start < offset + total; start += BATCH) {
        const cols: unknown[][] = Array.from({ length: 13 }, () => []);
        const nodes: [number[], string[], Buffer[]] = [[], [], []];
        for (let i = start; i < Math.min(offset + total, start + BATCH); i++) {
          const caseId = cases[i % cases.length];
          const chain = chainName(caseId);
          const prev = heads.get(chain) ?? GENESIS_HASH;
          const event: LedgerEvent = {
            v: 1, id: randomUUID(), leafIndex: i, chain, prevHash: prev.toString('hex'), occurredAt: new Date(1_790_000_000_000 + i * 1000).toISOString(),
            type: 'exhibit.consulted', operation: 'consultation', caseId, actor: { id: user.id, role: 'investigator' },
            object: { type: 'exhibit', id: randomUUID(), version: 1, sha256: null }, justification: { code: 'investigation', text: 'bench consultation' },
            recipient: null, outcome: 'success', clientAddress: '127.0.0.1', requestId: `bench-${i}`, details: { n: i },
          };
          const canonical = encodeLedgerEvent(event);
          bytes += canonical.length;
          if (sample.length < 10_000) sample.push(canonical);
          const hash = chainHash(prev, canonical);
          heads.set(chain, hash);
          [event.id, event.occurredAt, caseId, event.object!.id, event.requestId, JSON.stringify(event.details), prev, hash, i, user.id, event.justification!.text, event.type, canonical].forEach((v, k) => cols[k].push(v));
          let node = { level: 0, hash: leafHash(canonical) };
          const addNode = (level: number, index: number, hash: Buffer) => {
            nodes[0].push(level);
            nodes[1].push(String(index));
            nodes[2].push(hash);
          };
          addNode(0, i, node.hash);
          while (frontier.length && frontier[frontier.length - 1].level === node.level) {
            node = { level: node.level + 1, hash: nodeHash(frontier.pop()!.hash, node.hash) };
            addNode(node.level, i >> node.level, node.hash);
          }
          frontier.push(node);
        }
        await ds.query(
          `INSERT INTO custody_events (id, occurred_at, case_id, object_id, request_id, details, prev_hash, hash, leaf_index, actor_id, justification_text, type,
              canonical, s62_operation, actor_role, object_type, object_version, justification_code, outcome, client_address)
           SELECT a, b, c, d, e, f::jsonb, g, h, i, j, k, l, m, 'consultation', 'investigator', 'exhibit', 1, 'investigation', 'success', '127.0.0.1'
             FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[], $9::bigint[], $10::uuid[], $11::text[], $12::text[],
                         $13::bytea[])
               AS t(a, b, c, d, e, f, g, h, i, j, k, l, m)`,
          cols,
        );
        await ds.query(`INSERT INTO ledger_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, nodes);
        if (((start - offset) / BATCH) % 40 === 0) ctx.log(`built ${Math.min(total, start - offset + BATCH)} / ${total} events`);
      }
      ctx.log(`built ${total} events in ${((performance.now() - t0) / 1000).toFixed(1)} s (${(bytes / total).toFixed(0)} bytes each)`);
      await ds.query('ANALYZE');
      const ledger = new LedgerService(ds, store, config);
      const cp = (await ledger.publishCheckpoint())!;

      // 2. Full verification vs raw SHA-256 of the same bytes (two hashes per event: chain and leaf).
      const v0 = performance.now();
      const result = await verifyLedger(ds, ledger.verifierKey, { batch: 10_000 });
      const verifySeconds = (performance.now() - v0) / 1000;
      if (!result.ok || result.events !== offset + total) throw new Error(`verification failed: ${JSON.stringify(result.problem)}`);
      const h0 = performance.now();
      for (let i = 0; i < total; i++) {
        const b = sample[i % sample.length];
        createHash('sha256').update(GENESIS_HASH).update(b).digest();
        createHash('sha256').update(Buffer.of(0)).update(b).digest();
      }
      const hashSeconds = (performance.now() - h0) / 1000;
      figures.push({ figure: `full verification (${total} events)`, unit: 'events/s', ours: total / verifySeconds, baseline: total / hashSeconds, ratio: hashSeconds / verifySeconds });
      ctx.log(`verified ${total} events in ${verifySeconds.toFixed(1)} s; raw SHA-256 of the same bytes: ${hashSeconds.toFixed(1)} s`);

      // 3. Proof cost: O(log n) reads.
      for (const size of [10_000, cp.treeSize].filter((s) => s <= cp.treeSize)) {
        const p0 = performance.now();
        const p = await ledger.inclusion(Math.floor(size / 3), size);
        const ms = performance.now() - p0;
        figures.push({ figure: `inclusion proof at ${size} events`, unit: 'node reads', ours: p.nodeReads, target: `<= ${3 * Math.ceil(Math.log2(size)) + 3} (3 log2 n + 3)`, pass: p.nodeReads <= 3 * Math.ceil(Math.log2(size)) + 3 });
        figures.push({ figure: `inclusion proof time at ${size} events`, unit: 'ms', ours: ms });
        if (size > 10_000) {
          const c2 = await ledger.consistency(10_000, size);
          figures.push({ figure: `consistency proof 10^4 -> ${size}`, unit: 'node reads', ours: c2.nodeReads, target: `<= ${3 * Math.ceil(Math.log2(size)) + 3}`, pass: c2.nodeReads <= 3 * Math.ceil(Math.log2(size)) + 3 });
        }
      }

      // 4. Append throughput through the recorder vs plain INSERTs of the same rows.
      // Same columns, defaults and indexes; no trigger, no hashing, no lock.
      await ds.query(`CREATE TABLE bench_plain_events (LIKE custody_events INCLUDING DEFAULTS INCLUDING INDEXES)`);
      const row = (i: number) => ({ caseId: cases[i % cases.length], i });
      const appendOurs = (tx: EntityManager, r: ReturnType<typeof row>) =>
        recordCustodyEvent(tx, {
          type: 'exhibit.consulted', operation: 'consultation', caseId: r.caseId, actor: { userId: user.id, username: 'bench', role: 'investigator', via: 'access_token' },
          object: { type: 'exhibit', id: randomUUID(), version: 1 }, justification: { code: 'investigation', text: 'bench consultation' },
          context: { clientAddress: '127.0.0.1', requestId: `append-${r.i}` }, details: { n: r.i },
        });
      // The row keeps its event's bytes (canonical, NOT NULL) as ours does: the same encoding, no hashing, no chain.
      const appendPlain = (tx: EntityManager, r: ReturnType<typeof row>) => {
        const id = randomUUID();
        const objectId = randomUUID();
        const canonical = encodeLedgerEvent({
          v: 1, id, leafIndex: r.i, chain: chainName(r.caseId), prevHash: GENESIS_HASH.toString('hex'), occurredAt: new Date().toISOString(),
          type: 'exhibit.consulted', operation: 'consultation', caseId: r.caseId, actor: { id: user.id, role: 'investigator' },
          object: { type: 'exhibit', id: objectId, version: 1, sha256: null }, justification: { code: 'investigation', text: 'bench consultation' },
          recipient: null, outcome: 'success', clientAddress: '127.0.0.1', requestId: `append-${r.i}`, details: { n: r.i },
        });
        return tx.query(
          `INSERT INTO bench_plain_events (id, occurred_at, type, s62_operation, case_id, actor_id, actor_role, object_type, object_id, object_version,
              justification_code, justification_text, outcome, client_address, request_id, details, canonical)
           VALUES ($1, now(), 'exhibit.consulted', 'consultation', $2, $3, 'investigator', 'exhibit', $4, 1, 'investigation', 'bench consultation', 'success', '127.0.0.1', $5, $6, $7)`,
          [id, r.caseId, user.id, objectId, `append-${r.i}`, JSON.stringify({ n: r.i }), canonical],
        );
      };
      const rate = async (fn: (tx: EntityManager, r: ReturnType<typeof row>) => Promise<unknown>) => {
        let n = 0;
        const end = performance.now() + seconds * 1000;
        const s0 = performance.now();
        await Promise.all(
          Array.from({ length: writers }, async () => {
            while (performance.now() < end) {
              const r = row(n++);
              await ds.transaction((tx) => fn(tx, r));
            }
          }),
        );
        return n / ((performance.now() - s0) / 1000);
      };
      const plain = await rate(appendPlain);
      const ours = await rate(appendOurs);
      figures.unshift({ figure: `append, ${writers} writers over ${caseCount} cases`, unit: 'events/s', ours, baseline: plain, ratio: ours / plain });
      const after = await verifyLedger(ds, ledger.verifierKey, { batch: 10_000 });
      if (!after.ok) throw new Error(`ledger invalid after concurrent appends: ${JSON.stringify(after.problem)}`);
      ctx.log(`append: ours ${ours.toFixed(0)} events/s, plain INSERT ${plain.toFixed(0)} rows/s; ledger still verifies (${after.events} events)`);
      return figures;
    } finally {
      await ds.destroy();
      store.destroy();
    }
  },
};
