import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import pg from 'pg';
import { loadConfig, type AppConfig } from '../../libs/config/index.js';

/**
 * The configuration the tests run with: the real environment set up by scripts/test.sh (real
 * PostgreSQL, Redis and the local Swift S3), quiet logs, and any overrides a test needs.
 */
export function testConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return { ...loadConfig(), LOG_LEVEL: 'silent', ...overrides };
}

/**
 * The schema owner's URL for the database `appUrl` names: DATABASE_OWNER_URL (set by
 * scripts/test.sh; the service's login role cannot migrate) pointed at that database. Without
 * one, the app URL itself.
 */
export function ownerUrlFor(appUrl: string): string {
  const owner = testConfig().DATABASE_OWNER_URL;
  if (!owner) return appUrl;
  const url = new URL(owner);
  url.pathname = new URL(appUrl).pathname;
  return url.toString();
}

/**
 * A new, empty PostgreSQL database for one test file, created by the owner: `url` connects as the
 * service's login role (as the API and worker do), `ownerUrl` as the owner (migrations, and tests
 * that need powers the service lacks); drop() removes it.
 */
export async function createScratchDatabase(): Promise<{ url: string; ownerUrl: string; drop: () => Promise<void> }> {
  const base = new URL(testConfig().DATABASE_URL);
  const name = `dems_scratch_${randomBytes(4).toString('hex')}`;
  const admin = new URL(ownerUrlFor(base.toString()));
  admin.pathname = '/postgres';
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), ownerUrl: ownerUrlFor(url.toString()), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * A TCP relay in front of a real server, so a test can take a dependency away and bring it back
 * (as an outage looks to the service) without stopping the server other tests use.
 */
export class TcpRelay {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(port = this.port): Promise<number> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Stops accepting and cuts every open connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

export function randomKey(prefix = 'test'): string {
  return `${prefix}/${Date.now()}-${randomBytes(6).toString('hex')}`;
}

/** Environment for a CLI child process: PATH plus exactly the settings given (nothing inherited). */
export function childEnv(settings: Record<string, string | number | boolean | readonly string[] | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) env[k] = Array.isArray(v) ? v.join(',') : String(v);
  return env;
}

/** The built CLI, and options to run it away from the project folder (so no developer .env is read). */
export const CLI = resolve('dist/apps/cli/main.js');
export function cliOptions(settings: Record<string, string | number | boolean | readonly string[] | undefined>) {
  return { env: childEnv(settings), cwd: tmpdir() };
}

/** What an auditor running `dems verify ledger` has: read access to database and storage, and the public key. Nothing else. */
export function verifierEnv(config: AppConfig) {
  return {
    DATABASE_URL: config.DATABASE_URL,
    S3_ENDPOINT: config.S3_ENDPOINT,
    S3_REGION: config.S3_REGION,
    S3_ACCESS_KEY_ID: config.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: config.S3_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: config.S3_FORCE_PATH_STYLE,
    S3_BUCKET_ORIGINALS: config.S3_BUCKET_ORIGINALS,
    S3_BUCKET_WORKING: config.S3_BUCKET_WORKING,
  };
}

/**
 * Settings that point the service at moto, the Object Lock test target started by scripts/test.sh
 * (undefined when it is not running: the Object Lock suites are then skipped, never faked).
 */
export function motoOverrides(): Partial<AppConfig> | undefined {
  const endpoint = process.env.DEMS_TEST_MOTO_ENDPOINT;
  if (!endpoint) return undefined;
  const c = testConfig();
  return {
    S3_ENDPOINT: endpoint,
    S3_ACCESS_KEY_ID: 'moto',
    S3_SECRET_ACCESS_KEY: 'moto',
    S3_BUCKET_ORIGINALS: `${c.S3_BUCKET_ORIGINALS}-lock`,
    S3_BUCKET_WORKING: `${c.S3_BUCKET_WORKING}-lock`,
  };
}
