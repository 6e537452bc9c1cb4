import { describe, expect, it } from '@jest/globals';
import { ConfigError, configSchema, loadConfig } from '../config/app-config.js';
import { OidcStateCodec, parseCookies, serializeCookie } from './oidc-state.js';
import { roleFromClaims, usernameFromClaims } from './oidc.service.js';

const codec = new OidcStateCodec('s'.repeat(32));
const STATE = 'a'.repeat(43);
const pending = { state: STATE, nonce: 'n'.repeat(43), codeVerifier: 'v'.repeat(43), expiresAt: 2_000_000_000 };
const cookieOf = (value: string, state = STATE) => `other=1; ${codec.cookieName(state)}=${value}`;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('OIDC state cookie', () => {
  it('opens what it sealed, for the same state', () => {
    expect(codec.open(STATE, cookieOf(codec.seal(pending)), 1_999_999_000_000)).toEqual(pending);
  });

  it('refuses a missing or malformed state, a missing cookie, another state and a forged signature', () => {
    const sealed = codec.seal(pending);
    expect(codeOf(() => codec.open(null, cookieOf(sealed)))).toBe('OIDC_STATE_INVALID');
    expect(codeOf(() => codec.open('bad state!', cookieOf(sealed)))).toBe('OIDC_STATE_INVALID');
    expect(codeOf(() => codec.open(STATE, undefined))).toBe('OIDC_STATE_INVALID');
    const other = 'b'.repeat(43);
    // A cookie moved under another state's name: its payload names the original state.
    expect(codeOf(() => codec.open(other, cookieOf(sealed, other), 0))).toBe('OIDC_STATE_INVALID');
    const [body] = sealed.split('.');
    expect(codeOf(() => codec.open(STATE, cookieOf(`${body}.${'A'.repeat(43)}`), 0))).toBe('OIDC_STATE_INVALID');
    expect(codeOf(() => codec.open(STATE, cookieOf(`${sealed}.x`), 0))).toBe('OIDC_STATE_INVALID');
    // Signed with another secret (another deployment).
    const foreign = new OidcStateCodec('t'.repeat(32)).seal(pending);
    expect(codeOf(() => codec.open(STATE, cookieOf(foreign), 0))).toBe('OIDC_STATE_INVALID');
  });

  it('refuses an expired attempt', () => {
    expect(codeOf(() => codec.open(STATE, cookieOf(codec.seal(pending)), 2_000_000_000_000))).toBe('OIDC_STATE_EXPIRED');
  });

  it('writes HttpOnly, SameSite=Lax cookies, Secure on https, and reads cookie headers', () => {
    expect(serializeCookie({ name: 'n', value: 'v', path: '/cb', maxAgeSeconds: 600, secure: true })).toBe('n=v; Path=/cb; Max-Age=600; HttpOnly; SameSite=Lax; Secure');
    expect(serializeCookie({ name: 'n', value: '', path: '/cb', maxAgeSeconds: 0, secure: false })).toBe(
      'n=; Path=/cb; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
    );
    expect([...parseCookies('a=1; b="2"; junk; a=3;  c = x=y ')]).toEqual([['a', '1'], ['b', '2'], ['c', 'x=y']]);
  });
});

describe('OIDC claims', () => {
  it('takes the username claim lower-cased, and the first valid role of the role claim', () => {
    expect(usernameFromClaims({ preferred_username: ' J.Smith ' }, 'preferred_username')).toBe('j.smith');
    expect(usernameFromClaims({ preferred_username: 42 }, 'preferred_username')).toBeUndefined();
    expect(roleFromClaims({ roles: ['staff', 'supervisor', 'auditor'] }, 'roles')).toBe('supervisor');
    expect(roleFromClaims({ roles: 'auditor' }, 'roles')).toBe('auditor');
    expect(roleFromClaims({ roles: 'root' }, 'roles')).toBeUndefined();
    expect(roleFromClaims({ roles: 'auditor' }, undefined)).toBeUndefined();
  });
});

describe('OIDC configuration', () => {
  const minimal = {
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/dems',
    REDIS_URL: 'redis://127.0.0.1:6379',
    S3_ACCESS_KEY_ID: 'dems:dev',
    S3_SECRET_ACCESS_KEY: 'secret',
    AUTH_JWT_SECRET: 'x'.repeat(32),
  };
  /** The OIDC problems only (other required settings may come and go). */
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...minimal, ...env });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return e.problems.filter((p) => p.variable.startsWith('OIDC_'));
    }
    return [];
  };

  it('is off by default, with documented defaults', () => {
    const s = configSchema.shape;
    expect(s.OIDC_ISSUER_URL.parse(undefined)).toBeUndefined();
    expect(s.OIDC_SCOPES.parse(undefined)).toBe('openid profile email');
    expect(s.OIDC_USERNAME_CLAIM.parse(undefined)).toBe('preferred_username');
    expect(s.OIDC_ALLOW_INSECURE_HTTP.parse(undefined)).toBe(false);
    expect(problems({})).toEqual([]);
  });

  it('needs client id, secret and redirect URL once an issuer is set, and https unless allowed', () => {
    expect(problems({ OIDC_ISSUER_URL: 'https://idp.example' })).toEqual([
      { variable: 'OIDC_CLIENT_ID', problem: 'is required when OIDC_ISSUER_URL is set' },
      { variable: 'OIDC_CLIENT_SECRET', problem: 'is required when OIDC_ISSUER_URL is set' },
      { variable: 'OIDC_REDIRECT_URL', problem: 'is required when OIDC_ISSUER_URL is set' },
    ]);
    const full = { OIDC_CLIENT_ID: 'dems', OIDC_CLIENT_SECRET: 'secret', OIDC_REDIRECT_URL: 'https://dems.example/api/v1/auth/oidc/callback' };
    expect(problems({ ...full, OIDC_ISSUER_URL: 'https://idp.example' })).toEqual([]);
    expect(problems({ ...full, OIDC_ISSUER_URL: 'http://idp.example' }).map((p) => p.variable)).toEqual(['OIDC_ISSUER_URL']);
    expect(problems({ ...full, OIDC_ISSUER_URL: 'http://127.0.0.1:9000', OIDC_ALLOW_INSECURE_HTTP: 'true' })).toEqual([]);
  });

  it('checks scopes and the default role', () => {
    expect(problems({ OIDC_SCOPES: 'profile email' })).toEqual([{ variable: 'OIDC_SCOPES', problem: 'must be space-separated scopes including openid' }]);
    expect(problems({ OIDC_DEFAULT_ROLE: 'root' }).map((p) => p.variable)).toEqual(['OIDC_DEFAULT_ROLE']);
    expect(problems({ OIDC_DEFAULT_ROLE: 'investigator' })).toEqual([]);
  });
});
