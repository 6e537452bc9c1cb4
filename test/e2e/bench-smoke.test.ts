import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { createRedis } from '../../libs/queue/index.js';
import { createObjectStore } from '../../libs/storage/index.js';
import { inheritedEnv } from '../support/inherited-env.js';
import { ownerUrlFor, testConfig } from '../support/test-env.js';

const run = promisify(execFile);

/**
 * `npm run bench` on a fresh machine: every benchmark (each bench/*.bench.ts) runs once at its tiny
 * `--smoke` size against the real services, with a database and buckets no earlier run made, so a
 * benchmark that cannot set itself up (the NoSuchBucket of issue #17) fails here.
 */
describe('benchmarks, smoke run (real PostgreSQL, Redis, S3, ffmpeg)', () => {
  const config = testConfig();
  const tag = randomBytes(3).toString('hex');
  const database = `${new URL(config.DATABASE_URL).pathname.slice(1)}_bench_${tag}`;
  const prefix = `${config.QUEUE_PREFIX}-bench-${tag}`;
  const buckets = { S3_BUCKET_ORIGINALS: `${prefix}-originals`, S3_BUCKET_WORKING: `${prefix}-working` };
  const store = createObjectStore({ ...config, ...buckets });
  // Benchmarks create and migrate databases of their own: they connect as the owner (as scripts/bench.sh does).
  const ownerUrl = Object.assign(new URL(ownerUrlFor(config.DATABASE_URL)), { pathname: `/${database}` }).toString();
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: Object.assign(new URL(ownerUrl), { pathname: '/postgres' }).toString() });
    await c.connect();
    try {
      return (await c.query(sql)).rows as Record<string, string>[];
    } finally {
      await c.end();
    }
  };

  afterAll(async () => {
    // The databases the run made (its own and the ledger bench's) and every object it left.
    for (const { datname } of await admin(`SELECT datname FROM pg_database WHERE datname LIKE '${database}%'`)) await admin(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    for (const bucket of Object.values(buckets)) {
      const page = await store.list(bucket).catch(() => undefined);
      for (const e of page?.entries ?? []) await store.delete(bucket, e.key).catch(() => undefined);
    }
    store.destroy();
    // The queues of the run (its own prefix and the prefixes of the workers it started below it).
    const redis = createRedis(config.REDIS_URL);
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 }) as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('every benchmark sets itself up and prints its figures; the run exits 0', async () => {
    const names = readdirSync('bench').filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, ''));
    expect(names.length).toBeGreaterThan(0);
    for (const bucket of Object.values(buckets)) await expect(store.list(bucket)).rejects.toThrow();
    await admin(`CREATE DATABASE ${database}`);

    const env = inheritedEnv({ ...buckets, DATABASE_URL: ownerUrl, DATABASE_OWNER_URL: undefined, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
    const { stdout } = await run(process.execPath, ['--expose-gc', 'dist/bench/run.js', '--smoke'], { env, maxBuffer: 1 << 24, timeout: 600_000 }).catch(
      (e: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`the smoke run failed: ${e.message}\n${e.stdout?.slice(-4000)}\n${e.stderr?.slice(-4000)}`);
      },
    );
    for (const name of names) {
      expect(stdout).toContain(`# ${name}: `);
      // At least one row of figures in the table (first column: the benchmark's name).
      expect(stdout).toMatch(new RegExp(`^\\W+${name}\\s+\\W`, 'm'));
    }
    expect(stdout).toContain(`smoke run: ${names.length} benchmark(s) set up and ran`);
    expect(stdout).not.toContain('targets missed');
    // The run made the buckets it needed.
    for (const bucket of Object.values(buckets)) await expect(store.list(bucket)).resolves.toBeDefined();
  }, 600_000);
});
