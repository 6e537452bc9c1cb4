import { existsSync } from 'node:fs';
import { z } from 'zod';
import { SOURCE_TYPES } from '../cases/case.schemas.js';
import { ROLES } from '../identity/roles.js';
import { parseSignerKey } from '../ledger/checkpoint.js';
import { parseWitnessKeys } from '../ledger/cosignature.js';

/**
 * Every setting of the service, read from the environment in exactly one place (this file) and
 * checked at boot. A missing or malformed value stops the process with a message naming it.
 * `.env.example` documents each variable; test/unit/config-compose.spec.ts keeps docker's compose
 * file in step with this schema.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));

export interface RateLimit {
  points: number;
  durationSeconds: number;
}

const RATE_LIMIT = /^(\d+)\/(\d+)([smh])$/;

/** A checked RATE_LIMIT_* value (`<requests>/<period>`, e.g. `30/1m`) as the limiter takes it. */
export function parseRateLimit(v: string): RateLimit {
  const [, points, amount, unit] = RATE_LIMIT.exec(v) ?? [];
  return { points: Number(points), durationSeconds: Number(amount) * { s: 1, m: 60, h: 3600 }[unit as 's' | 'm' | 'h'] };
}

/** `<requests>/<period>`, e.g. `30/1m`: at most that many requests in each period (s, m or h, up to 24h). Kept as text, like every setting. */
const rateLimit = z.string().superRefine((v, ctx) => {
  const { points, durationSeconds } = parseRateLimit(v);
  if (!RATE_LIMIT.test(v)) ctx.addIssue({ code: 'custom', message: 'must be <requests>/<period>, such as 30/1m (period in s, m or h)' });
  else if (points < 1) ctx.addIssue({ code: 'custom', message: 'must allow at least 1 request' });
  else if (durationSeconds < 1 || durationSeconds > 86400) ctx.addIssue({ code: 'custom', message: 'must have a period from 1s to 24h' });
});

const url = (protocols: string[]) =>
  z
    .string()
    .min(1, { message: 'is required' })
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      { message: `must be a URL (${protocols.join(', ')})` },
    );

/** Empty, or why the witness key list does not parse. */
function witnessKeysProblem(v: string): string | undefined {
  try {
    parseWitnessKeys(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function isSignerKey(v: string): boolean {
  try {
    parseSignerKey(v);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every secret value this repository has ever published (examples, compose fall-backs). Kept
 * verbatim so that a deployment started from a copied example is refused, never quietly run.
 */
const PUBLISHED_SECRETS = new Set([
  'dev-only-secret-change-me-0123456789abcdef',
  'compose-dev-secret-change-me-0123456789',
  'PRIVATE+KEY+dems.dev.local/ledger+c497631e+AdrY2JlYiIlmqHmHAYbiQ7pvVv3dbgNTA3/1Hv6H1g2m',
]);

export function isPublishedSecret(value: string): boolean {
  return PUBLISHED_SECRETS.has(value.trim()) || /change-?me/i.test(value);
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const GENERATE_HINT = {
  jwt: `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))" (npm run up writes one into .env)`,
  ledger: '`dems admin ledger-key --name <origin>` (npm run up writes one into .env)',
};

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: int(1, 65535).default(3000),
  PUBLIC_URL: url(['http', 'https']).default('http://127.0.0.1:3000'),
  API_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, { message: 'must be a size such as 512kb or 1mb' })
    .default('1mb'),
  TRUST_PROXY: bool.default(false),
  // The OpenAPI UI and document (/api/docs, /api/docs-json): unset means on in development and
  // test, off in production (apiDocsEnabled), where the API's map is not handed to anyone who asks.
  API_DOCS_ENABLED: bool.optional(),
  SHUTDOWN_TIMEOUT_MS: int(1000, 600000).default(30000),
  // Prometheus metrics (GET /metrics) on a listener of their own, never the public API port:
  // unset, not served; 0, any free port (tests). Off loopback, METRICS_TOKEN is required.
  METRICS_PORT: int(0, 65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(32, { message: 'must be at least 32 characters (a random secret Prometheus sends as a bearer token)' }).optional(),

  // API and worker connect as a login role in dems_app (least privilege); migrations as the
  // schema owner (DATABASE_OWNER_URL, read by `dems admin migrate` only; unset: DATABASE_URL).
  DATABASE_URL: url(['postgres', 'postgresql']),
  DATABASE_OWNER_URL: url(['postgres', 'postgresql']).optional(),
  DATABASE_POOL_SIZE: int(1, 200).default(10),

  REDIS_URL: url(['redis', 'rediss']),
  QUEUE_PREFIX: z.string().regex(/^[a-z0-9-]+$/, { message: 'must be lower-case letters, digits or -' }).default('dems'),
  WORKER_CONCURRENCY: int(1, 64).default(2),
  // Per-queue exceptions to WORKER_CONCURRENCY, e.g. `media=1` (a video transcode takes every core it is given).
  WORKER_QUEUE_CONCURRENCY: z
    .string()
    .regex(/^$|^[a-z]+=\d{1,2}(,[a-z]+=\d{1,2})*$/, { message: 'must be queue=n pairs separated by commas, such as media=1,extraction=1' })
    .default(''),
  // Multiplies every job's retry delay (tests shorten retries with e.g. 0.001; 1 in production).
  JOB_RETRY_DELAY_SCALE: z
    .string()
    .regex(/^\d+(\.\d+)?$/, { message: 'must be a number such as 1 or 0.01' })
    .transform(Number)
    .pipe(z.number().min(0.001, { message: 'must be at least 0.001' }).max(100, { message: 'must be at most 100' }))
    .default(1),

  S3_ENDPOINT: url(['http', 'https']).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().min(1, { message: 'is required' }),
  S3_SECRET_ACCESS_KEY: z.string().min(1, { message: 'is required' }),
  S3_FORCE_PATH_STYLE: bool.default(true),
  S3_BUCKET_ORIGINALS: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be a valid S3 bucket name' })
    .default('dems-originals'),
  S3_BUCKET_WORKING: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be a valid S3 bucket name' })
    .default('dems-working'),
  S3_PART_SIZE_MB: int(5, 5120).default(8),
  S3_UPLOAD_CONCURRENCY: int(1, 32).default(4),
  S3_PRESIGN_TTL_SECONDS: int(1, 604800).default(300),

  AUTH_JWT_SECRET: z.string().min(32, { message: 'must be at least 32 characters (a random secret shared by every API replica)' }),
  AUTH_ACCESS_TOKEN_TTL_SECONDS: int(60, 86400).default(900),
  AUTH_REFRESH_TOKEN_TTL_SECONDS: int(300, 90 * 86400).default(7 * 86400),
  AUTH_LOGIN_MAX_FAILURES: int(1, 100).default(5),
  AUTH_LOGIN_LOCK_SECONDS: int(1, 86400).default(900),
  AUTH_API_TOKEN_DEFAULT_DAYS: int(1, 366).default(90),

  // Rate limits shared by every API replica (Redis), per route class: sign-in and other requests
  // that change state without a token count per client address, everything else per user
  // (apps/api/rate-limit). Over the limit: 429 RATE_LIMITED with Retry-After.
  RATE_LIMIT_AUTH: rateLimit.default('30/1m'),
  RATE_LIMIT_READ: rateLimit.default('1200/1m'),
  RATE_LIMIT_WRITE: rateLimit.default('300/1m'),
  RATE_LIMIT_UPLOAD: rateLimit.default('600/1m'),
  RATE_LIMIT_EXPENSIVE: rateLimit.default('30/1h'),

  LEDGER_SIGNING_KEY: z
    .string()
    .refine(isSignerKey, {
      message: 'must be a signed-note Ed25519 signer key (PRIVATE+KEY+<name>+<id>+<key>); make one with `dems admin ledger-key --name <origin>`',
    }),
  LEDGER_CHECKPOINT_EVERY_EVENTS: int(1, 1_000_000).default(1000),
  LEDGER_CHECKPOINT_INTERVAL_SECONDS: int(5, 86400).default(300),
  LEDGER_CHECKPOINT_RETENTION_DAYS: int(1, 36500).default(3650),
  // Witnesses (other organisations, each with its own key) whose cosignatures of checkpoints the
  // service accepts, stores and serves: C2SP cosignature/v1 verifier keys, comma- or newline-separated.
  LEDGER_WITNESS_KEYS: z
    .string()
    .superRefine((v, ctx) => {
      const problem = witnessKeysProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: `must be witness verifier keys (<name>+<id>+<key>, type 0x04, as \`dems witness init\` prints them), comma-separated: ${problem}` });
    })
    .transform((v) => v.split(/[\s,]+/).filter((k) => k !== ''))
    .default([]),

  FIXITY_PERIOD_DAYS: int(1, 3650).default(30),
  FIXITY_RUN_INTERVAL_MINUTES: int(1, 10080).default(60),

  // Ingest (tus uploads): limits, expiry of abandoned uploads, and the bounded temp space per upload.
  INGEST_MAX_FILE_SIZE_GB: int(1, 5000).default(200),
  INGEST_MAX_CONCURRENT_UPLOADS_PER_USER: int(1, 1000).default(8),
  INGEST_ALLOWED_SOURCE_TYPES: z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(SOURCE_TYPES, { message: `must be a comma-separated list of ${SOURCE_TYPES.join(', ')}` })).min(1, { message: 'must name at least one source type' }))
    .default([...SOURCE_TYPES]),
  INGEST_UPLOAD_EXPIRY_HOURS: int(1, 24 * 90).default(72),
  INGEST_EXPIRY_CHECK_MINUTES: int(1, 1440).default(30),
  INGEST_PART_SIZE_MB: int(5, 5120).default(16),
  INGEST_PARTS_IN_FLIGHT: int(1, 64).default(4),
  INGEST_STAGING_DIR: z.string().min(1).optional(),
  INGEST_LOCK_WAIT_SECONDS: int(3, 600).default(30),
  // A tus request body that sends nothing for this long is cut (the client resumes from the stored offset).
  INGEST_BODY_IDLE_SECONDS: int(1, 3600).default(15),
  INGEST_RETENTION_DAYS: int(1, 36500).default(3650),
  // Local bytes the worker may stage at once to verify E01 sets (segments copied to the system temp folder).
  EXTRACTION_STAGING_BUDGET_GB: int(1, 100000).default(50),

  DEMO_ADMIN_USERNAME: z.string().regex(/^[a-z][a-z0-9._-]{2,63}$/, { message: 'must be 3-64 lower-case letters, digits, . _ -' }).default('admin'),
  DEMO_ADMIN_PASSWORD: z.string().min(12, { message: 'must be at least 12 characters' }).optional(),

  // Sign-in with the force's identity provider (OpenID Connect): off unless OIDC_ISSUER_URL is set.
  OIDC_ISSUER_URL: url(['http', 'https']).optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_REDIRECT_URL: url(['http', 'https']).optional(),
  OIDC_SCOPES: z
    .string()
    .refine((v) => v.split(/\s+/).includes('openid'), { message: 'must be space-separated scopes including openid' })
    .default('openid profile email'),
  OIDC_USERNAME_CLAIM: z.string().regex(/^\S+$/, { message: 'must be a claim name' }).default('preferred_username'),
  OIDC_ROLE_CLAIM: z.string().regex(/^\S+$/, { message: 'must be a claim name' }).optional(),
  OIDC_DEFAULT_ROLE: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }).optional(),
  OIDC_ALLOW_INSECURE_HTTP: bool.default(false),
}).superRefine((c, ctx) => {
  // Secrets published in this repository (examples, compose defaults) sign anyone's tokens and
  // checkpoints: refused everywhere but in the test suite.
  if (c.NODE_ENV !== 'test') {
    if (isPublishedSecret(c.AUTH_JWT_SECRET)) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_SECRET'], message: `is a published example value that anyone can sign tokens with; generate your own: ${GENERATE_HINT.jwt}` });
    }
    if (isPublishedSecret(c.LEDGER_SIGNING_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['LEDGER_SIGNING_KEY'], message: `is a published example key that anyone can sign checkpoints with; generate your own: ${GENERATE_HINT.ledger}` });
    }
  }
}).superRefine((c, ctx) => {
  if (c.METRICS_PORT === undefined) return;
  if (!c.METRICS_TOKEN && !LOOPBACK.has(c.METRICS_HOST)) {
    ctx.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message: `is required when METRICS_HOST (${c.METRICS_HOST}) is not a loopback address: metrics name routes, queues and volumes` });
  }
  if (c.METRICS_TOKEN && c.NODE_ENV !== 'test' && isPublishedSecret(c.METRICS_TOKEN)) {
    ctx.addIssue({ code: 'custom', path: ['METRICS_TOKEN'], message: `is a published example value; generate your own: ${GENERATE_HINT.jwt}` });
  }
  if (c.METRICS_PORT !== 0 && c.METRICS_PORT === c.API_PORT) {
    ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from API_PORT: metrics are never served on the public port' });
  }
}).superRefine((c, ctx) => {
  if (!c.OIDC_ISSUER_URL) return;
  for (const name of ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_REDIRECT_URL'] as const) {
    if (!c[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when OIDC_ISSUER_URL is set' });
  }
  if (c.OIDC_ISSUER_URL.startsWith('http:') && !c.OIDC_ALLOW_INSECURE_HTTP) {
    ctx.addIssue({
      code: 'custom',
      path: ['OIDC_ISSUER_URL'],
      message: 'must be an https URL (OIDC_ALLOW_INSECURE_HTTP=true allows http, for a local test provider only)',
    });
  }
  // Checked even when other settings are wrong (every problem in one message), once the OIDC ones parsed.
}, { when: (payload) => !payload.issues.some((i) => String(i.path?.[0]).startsWith('OIDC_')) });

export type AppConfig = z.infer<typeof configSchema>;

/** Whether the API serves its OpenAPI UI and document: API_DOCS_ENABLED, or by default everywhere but production. */
export function apiDocsEnabled(c: Pick<AppConfig, 'API_DOCS_ENABLED' | 'NODE_ENV'>): boolean {
  return c.API_DOCS_ENABLED ?? c.NODE_ENV !== 'production';
}

/** Names of every variable the service reads; the compose test checks docker's environment against it. */
export const CONFIG_VARIABLES = Object.keys(configSchema.shape) as (keyof AppConfig)[];

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; problem: string }[]) {
    super(
      'Configuration error: ' +
        problems.map((p) => `${p.variable} ${p.problem}`).join('; ') +
        '. See .env.example for every setting.',
    );
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Checks `env` against a schema of settings; every bad variable named in one ConfigError. */
export function parseSettings<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  // Empty strings count as unset, so `FOO=` in a .env file falls back to the default.
  const input = Object.fromEntries(
    Object.keys(schema.shape)
      .map((k) => [k, env[k]] as const)
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '?'),
        problem: i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message,
      })),
    );
  }
  return result.data;
}

/**
 * Loads `.env` from the working directory into the environment if the file exists (development:
 * `npm run up` writes it). Variables already set in the environment win; production sets them
 * there and has no file.
 */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

/** Reads and checks the service configuration. Throws ConfigError naming each bad variable. */
export function loadConfig(env: Env = process.env): AppConfig {
  return parseSettings(configSchema, env);
}

export const cliConfigSchema = z.object({
  DEMS_API_URL: url(['http', 'https']).default('http://127.0.0.1:3000'),
  DEMS_TOKEN: z.string().optional(),
  // Where `dems login` keeps credentials; default ~/.config/dems (tests point it at a temp dir).
  DEMS_CONFIG_DIR: z.string().optional(),
});
export type CliConfig = z.infer<typeof cliConfigSchema>;

/** The CLI as an API client needs only where the API is (and, later, a token). */
export function loadCliConfig(env: Env = process.env): CliConfig {
  return parseSettings(cliConfigSchema, env);
}
