import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { randomBytes } from 'node:crypto';
import { apiDocsEnabled, CONFIG_VARIABLES, isPublishedSecret, loadConfig, webConfigSchema } from '../../libs/config/index.js';
import { generateSignerKey } from '../../libs/ledger/index.js';

// No Docker engine runs where the tests run, so the compose file and Dockerfile are checked as
// documents: the services, health checks and volumes exist, and the environment they give the
// app is exactly what the configuration schema accepts.

type Service = {
  image?: string;
  build?: unknown;
  command?: unknown;
  environment?: Record<string, string>;
  healthcheck?: { test: unknown };
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
};
const compose = parse(readFileSync('docker/compose.yaml', 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

/** An installation's own secrets, as an operator sets them for the variables compose requires. */
const OPERATOR_SET: Record<string, string> = {
  AUTH_JWT_SECRET: randomBytes(32).toString('base64url'),
  LEDGER_SIGNING_KEY: generateSignerKey('compose.test/ledger'),
  DEMS_API_DB_PASSWORD: randomBytes(18).toString('hex'),
  METRICS_TOKEN: randomBytes(32).toString('base64url'),
};

/** Resolves ${VAR:-default} the way compose does with nothing set in the shell, and ${VAR:?error} with what the operator set. */
function resolve(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      String(v)
        .replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1')
        .replace(/\$\{([A-Z0-9_]+):\?[^}]*\}/g, (_, name: string) => OPERATOR_SET[name] ?? ''),
    ]),
  );
}

describe('docker/compose.yaml', () => {
  it('has the whole stack', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'minio', 'minio-init', 'migrate', 'api', 'worker']));
  });

  it.each(['postgres', 'redis', 'minio', 'api', 'worker'])('gives %s a health check', (name) => {
    expect(compose.services[name].healthcheck?.test).toBeTruthy();
  });

  it('keeps data on named volumes', () => {
    for (const [svc, mount] of [['postgres', '/var/lib/postgresql/data'], ['redis', '/data'], ['minio', '/data']]) {
      const vol = compose.services[svc].volumes?.find((v) => v.endsWith(`:${mount}`));
      expect(vol).toBeDefined();
      expect(Object.keys(compose.volumes)).toContain(vol!.split(':')[0]);
    }
  });

  it('creates the originals bucket with Object Lock on MinIO', () => {
    expect(JSON.stringify(compose.services['minio-init'].command)).toMatch(/mc mb --ignore-existing --with-lock local\/dems-originals/);
  });

  it.each(['api', 'worker', 'migrate'])('gives %s an environment the config schema accepts, with no unknown variables', (name) => {
    const env = resolve(compose.services[name].environment ?? {});
    const unknown = Object.keys(env).filter((k) => !(CONFIG_VARIABLES as string[]).includes(k));
    expect(unknown).toEqual([]);
    const config = loadConfig(env);
    expect(config.S3_ENDPOINT).toBe('http://minio:9000');
    expect(config.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(config.API_HOST).toBe('0.0.0.0');
  });

  it('requires the token and ledger secrets from the operator, with no fall-back value', () => {
    const text = readFileSync('docker/compose.yaml', 'utf8');
    for (const name of ['AUTH_JWT_SECRET', 'LEDGER_SIGNING_KEY', 'METRICS_TOKEN']) {
      expect(text).toMatch(new RegExp(`\\$\\{${name}:\\?[^}]+\\}`));
      expect(text).not.toMatch(new RegExp(`\\$\\{${name}:?-`));
    }
    expect(text.split(/\s+/).filter((word) => isPublishedSecret(word.replace(/^\$\{[A-Z_]+:-|\}$/g, '')))).toEqual([]);
  });

  it('runs api and worker as the login role in dems_app, and only migrate as the owner', () => {
    const owner = compose.services.postgres.environment?.POSTGRES_USER;
    for (const name of ['api', 'worker']) {
      const env = resolve(compose.services[name].environment ?? {});
      expect(new URL(env.DATABASE_URL).username).toBe('dems_api');
      expect(new URL(env.DATABASE_URL).password).toBe(OPERATOR_SET.DEMS_API_DB_PASSWORD);
      expect(env.DATABASE_OWNER_URL).toBeUndefined();
    }
    const migrate = resolve(compose.services.migrate.environment ?? {});
    expect(new URL(migrate.DATABASE_OWNER_URL).username).toBe(owner);
    expect(new URL(migrate.DATABASE_URL).username).toBe('dems_api');
    expect(readFileSync('docker/compose.yaml', 'utf8')).toMatch(/\$\{DEMS_API_DB_PASSWORD:\?[^}]+\}/);
  });

  it('keeps the OpenAPI UI off unless the operator turns it on, and says so in .env.example and the schema alike', () => {
    const env = resolve(compose.services.api.environment ?? {});
    expect(env.API_DOCS_ENABLED).toBe('false');
    expect(apiDocsEnabled(loadConfig(env))).toBe(false);
    expect(readFileSync('docker/compose.yaml', 'utf8')).toMatch(/API_DOCS_ENABLED: \$\{API_DOCS_ENABLED:-false\}/);
    expect(readFileSync('.env.example', 'utf8')).toMatch(/^API_DOCS_ENABLED=$/m);
  });

  it("checks the worker's health through its heartbeat, not a process that merely exists", () => {
    const test = JSON.stringify(compose.services.worker.healthcheck?.test);
    expect(test).not.toMatch(/kill -0/);
    expect(test).toMatch(/admin.*health-check.*--role.*worker/);
  });

  it('starts api and worker only after migrations succeeded', () => {
    for (const name of ['api', 'worker']) {
      expect(compose.services[name].depends_on?.migrate?.condition).toBe('service_completed_successfully');
    }
  });

  it('gives the worker longer to stop than its shutdown timeout', () => {
    const env = resolve(compose.services.worker.environment ?? {});
    const grace = Number(compose.services.worker.stop_grace_period?.replace(/s$/, '')) * 1000;
    expect(grace).toBeGreaterThan(Number(env.SHUTDOWN_TIMEOUT_MS));
  });
});

describe('images and the scaled deployment', () => {
  /** `!reset` (compose 2.18+) clears a value set by the base file; read as an empty list here. */
  const scaled = parse(readFileSync('docker/compose.scaled.yaml', 'utf8'), { customTags: [{ tag: '!reset', collection: 'seq', resolve: () => [] }] }) as {
    services: Record<string, Service & { ports?: string[] }>;
  };
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

  it.each([['compose.yaml', compose.services], ['compose.scaled.yaml', scaled.services]] as const)('%s pins every image to a release, never latest or a bare major', (_file, services) => {
    for (const [name, svc] of Object.entries(services)) {
      if (!svc.image) continue;
      const tag = svc.image.split(':')[1] ?? '';
      expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/^(RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z|\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?)$/) });
    }
    // The service's own image carries the version it is built from.
    for (const name of ['migrate', 'api', 'worker']) expect(compose.services[name].image).toBe(`dems:${version}`);
  });

  it('serves /metrics only inside the network, with the token, and accepts that configuration', () => {
    for (const name of ['api', 'worker']) {
      const env = resolve(compose.services[name].environment ?? {});
      const config = loadConfig(env);
      expect(config.METRICS_PORT).toBe(9464);
      expect(config.METRICS_TOKEN).toBe(OPERATOR_SET.METRICS_TOKEN);
      expect(JSON.stringify((compose.services[name] as { ports?: string[] }).ports ?? [])).not.toContain('9464');
    }
    // Off loopback without a token the service refuses to start.
    expect(() => loadConfig({ ...resolve(compose.services.api.environment ?? {}), METRICS_TOKEN: '' })).toThrow(/METRICS_TOKEN is required when METRICS_HOST/);
  });

  it('runs scaled API replicas behind nginx: no host port of their own, forwarded headers trusted', () => {
    expect(scaled.services.api.ports).toEqual([]);
    expect(scaled.services.proxy.ports?.[0]).toMatch(/^127\.0\.0\.1:.*:8080$/);
    expect(scaled.services.proxy.healthcheck?.test).toBeTruthy();
    const env = resolve({ ...compose.services.api.environment, ...scaled.services.api.environment });
    expect(loadConfig(env).TRUST_PROXY).toBe(true);
    expect(loadConfig(resolve({ ...compose.services.worker.environment, ...scaled.services.worker.environment })).WORKER_CONCURRENCY).toBe(2);
  });

  it('streams uploads through the proxy to every replica, without a size limit or buffering on its disk', () => {
    const conf = readFileSync('docker/nginx/dems.conf', 'utf8');
    expect(scaled.services.proxy.volumes).toContain('./nginx/dems.conf:/etc/nginx/conf.d/default.conf:ro');
    for (const directive of ['client_max_body_size 0;', 'proxy_request_buffering off;', 'proxy_buffering off;', 'resolver 127.0.0.11', 'set $api http://api:3000;', 'proxy_pass $api;', 'proxy_set_header X-Forwarded-For', 'proxy_set_header X-Forwarded-Proto']) {
      expect(conf).toContain(directive);
    }
  });
});

describe('docker/Dockerfile', () => {
  it('leaves benchmarks and tests out of the production image', () => {
    const text = readFileSync('docker/Dockerfile', 'utf8');
    expect(text).not.toMatch(/^COPY\s+(bench|test)\b/m);
    // Nothing the image runs reaches into bench/ (the build would then need it).
    const sources = ['apps', 'libs'].flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`));
    expect(sources.length).toBeGreaterThan(50);
    expect(sources.filter((f) => /from '(\.\.\/)+bench\//.test(readFileSync(f, 'utf8')))).toEqual([]);
  });

  const text = readFileSync('docker/Dockerfile', 'utf8');
  it('is multi-stage, runs as a non-root user and ships ffmpeg and ewf-tools', () => {
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    const runtime = text.slice(text.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/apt-get install[^\n]*\bffmpeg\b[^\n]*\bewf-tools\b/);
    expect(runtime).toMatch(/^USER (?!root)\w+/m);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
    // The same image runs as API or worker: its health check must suit both, not probe the API port only.
    expect(runtime).toMatch(/admin", "health-check"/);
  });
});

describe('Node.js version', () => {
  it('is the one pinned in package-lock.json, in the image and in engines', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { version?: string }> };
    const pinned = lock.packages['node_modules/node']?.version;
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    const dockerfile = readFileSync('docker/Dockerfile', 'utf8');
    const froms = dockerfile.match(/^FROM node:(\S+?)-bookworm-slim/gm) ?? [];
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toBe(`FROM node:${pinned}-bookworm-slim`);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
    expect(pkg.devDependencies.node).toBe(pinned);
    expect(pkg.engines.node).toBe(`>=${pinned!.split('.').slice(0, 2).join('.')}`);
    // The tests themselves run on it (npm test puts node_modules/.bin first on PATH).
    expect(process.versions.node).toBe(pinned);
  });
});

describe('.env.example', () => {
  it('documents every configuration variable and nothing else', () => {
    const keys = readFileSync('.env.example', 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => l.split('=')[0]);
    // The service's settings and the web application's (which shares a few of them).
    expect([...keys].sort()).toEqual([...new Set([...CONFIG_VARIABLES, ...Object.keys(webConfigSchema.shape)])].sort());
  });
});
