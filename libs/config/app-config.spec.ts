import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { generateSignerKey, verifierKeyFromSigner } from '../ledger/checkpoint.js';
import { generateWitnessKey, witnessKeyFromSigner } from '../ledger/cosignature.js';
import { apiDocsEnabled, ConfigError, loadConfig, loadCliConfig, parseRateLimit } from './app-config.js';

const PUBLISHED_JWT = 'dev-only-secret-change-me-0123456789abcdef';
const PUBLISHED_LEDGER = 'PRIVATE+KEY+dems.dev.local/ledger+c497631e+AdrY2JlYiIlmqHmHAYbiQ7pvVv3dbgNTA3/1Hv6H1g2m';

const minimal = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/dems',
  REDIS_URL: 'redis://127.0.0.1:6379',
  S3_ACCESS_KEY_ID: 'dems:dev',
  S3_SECRET_ACCESS_KEY: 'secret',
  AUTH_JWT_SECRET: randomBytes(32).toString('base64url'),
  LEDGER_SIGNING_KEY: generateSignerKey('spec.local/ledger'),
};

function problems(env: Record<string, string | undefined>): ConfigError['problems'] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies documented defaults to a minimal environment', () => {
    const c = loadConfig(minimal);
    expect(c.API_PORT).toBe(3000);
    expect(c.S3_FORCE_PATH_STYLE).toBe(true);
    expect(c.S3_PART_SIZE_MB).toBe(8);
    expect(c.S3_BUCKET_ORIGINALS).toBe('dems-originals');
    expect(c.NODE_ENV).toBe('development');
    expect(c.DEMO_ADMIN_PASSWORD).toBeUndefined();
  });

  it('serves the OpenAPI UI by default in development and test, never by default in production', () => {
    expect(apiDocsEnabled(loadConfig(minimal))).toBe(true);
    expect(apiDocsEnabled(loadConfig({ ...minimal, NODE_ENV: 'test' }))).toBe(true);
    expect(apiDocsEnabled(loadConfig({ ...minimal, NODE_ENV: 'production' }))).toBe(false);
    expect(apiDocsEnabled(loadConfig({ ...minimal, NODE_ENV: 'production', API_DOCS_ENABLED: 'true' }))).toBe(true);
    expect(apiDocsEnabled(loadConfig({ ...minimal, API_DOCS_ENABLED: 'false' }))).toBe(false);
    expect(problems({ ...minimal, API_DOCS_ENABLED: 'sometimes' })).toEqual([{ variable: 'API_DOCS_ENABLED', problem: 'must be true or false' }]);
  });

  it('names every missing required variable', () => {
    const names = problems({}).map((p) => p.variable).sort();
    expect(names).toEqual(['AUTH_JWT_SECRET', 'DATABASE_URL', 'LEDGER_SIGNING_KEY', 'REDIS_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
    expect(problems({}).every((p) => p.problem === 'is required')).toBe(true);
  });

  it('treats an empty value as unset', () => {
    expect(problems({ ...minimal, DATABASE_URL: '' })).toEqual([{ variable: 'DATABASE_URL', problem: 'is required' }]);
    expect(loadConfig({ ...minimal, API_PORT: '' }).API_PORT).toBe(3000);
  });

  it.each([
    ['API_PORT', 'eighty', 'must be a whole number'],
    ['API_PORT', '70000', 'must be at most 65535'],
    ['DATABASE_URL', 'mysql://x/y', 'must be a URL (postgres, postgresql)'],
    ['REDIS_URL', 'not a url', 'must be a URL (redis, rediss)'],
    ['S3_FORCE_PATH_STYLE', 'maybe', 'must be true or false'],
    ['S3_PART_SIZE_MB', '4', 'must be at least 5'],
    ['S3_BUCKET_ORIGINALS', 'Bad_Bucket', 'must be a valid S3 bucket name'],
    ['DEMO_ADMIN_PASSWORD', 'short', 'must be at least 12 characters'],
    ['AUTH_JWT_SECRET', 'too-short', 'must be at least 32 characters (a random secret shared by every API replica)'],
  ])('rejects malformed %s=%s with a message naming it', (variable, value, problem) => {
    const found = problems({ ...minimal, [variable]: value });
    expect(found).toEqual([{ variable, problem }]);
  });

  it('puts every problem into one message that names the variables', () => {
    try {
      loadConfig({ ...minimal, API_PORT: 'x', REDIS_URL: undefined });
      throw new Error('expected failure');
    } catch (e) {
      expect((e as Error).message).toMatch(/API_PORT must be a whole number/);
      expect((e as Error).message).toMatch(/REDIS_URL is required/);
      expect((e as Error).message).toMatch(/\.env\.example/);
    }
  });

  it.each(['development', 'production'])('refuses the secrets this repository ever published (NODE_ENV=%s)', (nodeEnv) => {
    const found = problems({ ...minimal, NODE_ENV: nodeEnv, AUTH_JWT_SECRET: PUBLISHED_JWT, LEDGER_SIGNING_KEY: PUBLISHED_LEDGER });
    expect(found.map((p) => p.variable).sort()).toEqual(['AUTH_JWT_SECRET', 'LEDGER_SIGNING_KEY']);
    expect(found.every((p) => /published example/.test(p.problem))).toBe(true);
    expect(problems({ ...minimal, NODE_ENV: nodeEnv, AUTH_JWT_SECRET: 'compose-dev-secret-change-me-0123456789' })).toHaveLength(1);
  });

  it('allows the published secrets only in the test suite', () => {
    expect(loadConfig({ ...minimal, NODE_ENV: 'test', AUTH_JWT_SECRET: PUBLISHED_JWT, LEDGER_SIGNING_KEY: PUBLISHED_LEDGER }).NODE_ENV).toBe('test');
  });

  it('reads witness keys as a comma- or newline-separated list of cosignature/v1 verifier keys, none by default', () => {
    const [w1, w2] = ['cps.example/witness', 'psu.example/witness'].map((n) => witnessKeyFromSigner(generateWitnessKey(n)));
    expect(loadConfig(minimal).LEDGER_WITNESS_KEYS).toEqual([]);
    expect(loadConfig({ ...minimal, LEDGER_WITNESS_KEYS: `${w1}, ${w2}\n` }).LEDGER_WITNESS_KEYS).toEqual([w1, w2]);
    // A log (checkpoint) key is not a witness key, and one witness cannot count twice.
    const [logKey] = problems({ ...minimal, LEDGER_WITNESS_KEYS: verifierKeyFromSigner(minimal.LEDGER_SIGNING_KEY) });
    expect(logKey).toEqual({ variable: 'LEDGER_WITNESS_KEYS', problem: expect.stringContaining('not a cosignature/v1 witness key') });
    expect(problems({ ...minimal, LEDGER_WITNESS_KEYS: `${w1},${w1}` })[0].problem).toContain('listed twice');
  });

  it('reads rate limits as <requests>/<period> and names a malformed one', () => {
    const c = loadConfig({ ...minimal, RATE_LIMIT_READ: '50/10s' });
    expect(parseRateLimit(c.RATE_LIMIT_READ)).toEqual({ points: 50, durationSeconds: 10 });
    expect(parseRateLimit(c.RATE_LIMIT_EXPENSIVE)).toEqual({ points: 30, durationSeconds: 3600 });
    for (const bad of ['30', '30/min', '0/1m', '5/25h', '-1/1m']) {
      expect(problems({ ...minimal, RATE_LIMIT_AUTH: bad }).map((p) => p.variable)).toEqual(['RATE_LIMIT_AUTH']);
    }
  });

    it('parses booleans and numbers', () => {
    const c = loadConfig({ ...minimal, S3_FORCE_PATH_STYLE: 'false', TRUST_PROXY: '1', WORKER_CONCURRENCY: '8' });
    expect(c.S3_FORCE_PATH_STYLE).toBe(false);
    expect(c.TRUST_PROXY).toBe(true);
    expect(c.WORKER_CONCURRENCY).toBe(8);
  });
});

describe('loadCliConfig', () => {
  it('defaults to the local API and rejects a non-HTTP URL', () => {
    expect(loadCliConfig({}).DEMS_API_URL).toBe('http://127.0.0.1:3000');
    expect(() => loadCliConfig({ DEMS_API_URL: 'ftp://x' })).toThrow(/DEMS_API_URL must be a URL/);
  });
});
