import { z } from 'zod';
import { configSchema, parseSettings } from './app-config.js';

/**
 * What the web application (apps/web) reads. It is a client of the API, so it never sees the
 * database, S3 or the signing keys: only where the API is, where it listens itself, its session
 * secret and the Redis that keeps its sessions.
 */
const service = configSchema.shape;

const httpUrl = z
  .string()
  .refine((v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, { message: 'must be an http or https URL' })
  .transform((v) => v.replace(/\/+$/, ''));

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }));

export const webConfigSchema = z
  .object({
    NODE_ENV: service.NODE_ENV,
    LOG_LEVEL: service.LOG_LEVEL,
    TRUST_PROXY: service.TRUST_PROXY,
    REDIS_URL: service.REDIS_URL,
    QUEUE_PREFIX: service.QUEUE_PREFIX,
    WEB_HOST: z.string().min(1).default('127.0.0.1'),
    WEB_PORT: wholeNumber(1, 65535).default(3001),
    // How users reach the web application; https (always in production) makes the session cookie Secure.
    WEB_PUBLIC_URL: httpUrl.default('http://127.0.0.1:3001'),
    // Where the web server calls the REST API (server to server; browsers never call it).
    WEB_API_URL: httpUrl.default('http://127.0.0.1:3000'),
    WEB_SESSION_SECRET: z.string().min(32, { message: 'must be at least 32 characters (a random secret shared by every web replica)' }),
    WEB_SESSION_IDLE_MINUTES: wholeNumber(5, 600).default(30),
    // The force's OpenID Connect sign-in, when the API has it (OIDC_ISSUER_URL): the address users start from.
    WEB_OIDC_SIGN_IN_URL: httpUrl.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === 'production' && !c.WEB_PUBLIC_URL.startsWith('https:')) {
      ctx.addIssue({ code: 'custom', path: ['WEB_PUBLIC_URL'], message: 'must be https in production (the session cookie is Secure)' });
    }
  });
export type WebConfig = z.infer<typeof webConfigSchema>;

/** Reads and checks the web application's settings. Throws ConfigError naming each bad variable. */
// eslint-disable-next-line no-restricted-properties -- libs/config is where settings are read; this is the web application's reader
export function loadWebConfig(env: Record<string, string | undefined> = process.env): WebConfig {
  return parseSettings(webConfigSchema, env);
}
