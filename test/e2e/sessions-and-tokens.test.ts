import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { isPublishedSecret, loadConfig } from '../../libs/config/index.js';
import { ApiHarness, type TestUser } from '../support/api-harness.js';
import { CLI, cliOptions } from '../support/test-env.js';

const run = promisify(execFile);

/**
 * Tokens cannot be forged into power, sessions end when they are ended, and sign-in resists
 * guessing: the attacks of the security review, each against the running API and database.
 */
describe('tokens, sessions and sign-in', () => {
  const h = new ApiHarness();
  let admin: TestUser;
  let inv: TestUser;

  beforeAll(async () => {
    await h.start({ AUTH_LOGIN_MAX_FAILURES: 5, AUTH_LOGIN_LOCK_SECONDS: 600 });
    admin = await h.user('secadmin', 'administrator');
    inv = await h.user('secinv', 'investigator');
  });
  afterAll(() => h.stop());

  const login = async (u: TestUser, password = u.password) => h.call('POST', '/api/v1/auth/login', { body: { username: u.username, password } });
  const sign = (claims: Record<string, unknown>, opts: { exp?: number | null; sub?: string } = {}) => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('dems').setAudience('dems-api').setIssuedAt();
    if (opts.sub !== undefined) jwt.setSubject(opts.sub);
    if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? '5m');
    return jwt.sign(new TextEncoder().encode(h.config.AUTH_JWT_SECRET));
  };
  const sessionOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid as string;

  describe('forged tokens', () => {
    it('takes the role from the database, never from the token', async () => {
      const sid = sessionOf(inv.token);
      const token = await sign({ sid, role: 'administrator', username: admin.username }, { sub: inv.id });
      const me = await h.call('GET', '/api/v1/me', { token });
      expect([me.status, me.body.role]).toEqual([200, 'investigator']);
      const users = await h.call('GET', '/api/v1/users', { token });
      expect([users.status, users.body.code]).toEqual([403, 'ROLE_NOT_ALLOWED']);
      // A role changed in the database applies to tokens already issued.
      await h.ds.query(`UPDATE users SET role = 'auditor' WHERE id = $1`, [inv.id]);
      try {
        expect((await h.call('GET', '/api/v1/me', { token: inv.token })).body.role).toBe('auditor');
      } finally {
        await h.ds.query(`UPDATE users SET role = 'investigator' WHERE id = $1`, [inv.id]);
      }
    });

    it('refuses a token without exp, without a session, for a session of another user, or for a user that does not exist', async () => {
      const sid = sessionOf(inv.token);
      const cases: [string, string][] = [
        ['no exp', await sign({ sid }, { sub: inv.id, exp: null })],
        ['no session', await sign({}, { sub: inv.id })],
        ['unknown session', await sign({ sid: randomUUID() }, { sub: inv.id })],
        ['session of another user', await sign({ sid }, { sub: admin.id })],
        ['user that does not exist', await sign({ sid }, { sub: randomUUID() })],
        ['subject not a uuid', await sign({ sid }, { sub: 'admin' })],
      ];
      for (const [name, token] of cases) {
        const res = await h.call('GET', '/api/v1/me', { token });
        expect({ name, status: res.status, code: typeof res.body.code }).toEqual({ name, status: 401, code: 'string' });
      }
    });
  });

  describe('secrets of an installation', () => {
    it('init-secrets replaces published or missing secrets with fresh ones, and keeps its own on a second run', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dems-secrets-'));
      const env = join(dir, '.env');
      writeFileSync(
        env,
        'API_PORT=3000\nAUTH_JWT_SECRET=dev-only-secret-change-me-0123456789abcdef\nLEDGER_SIGNING_KEY=PRIVATE+KEY+dems.dev.local/ledger+c497631e+AdrY2JlYiIlmqHmHAYbiQ7pvVv3dbgNTA3/1Hv6H1g2m\n',
      );
      const first = await run('node', [CLI, 'admin', 'init-secrets', '--dotenv', env], cliOptions({}));
      expect(first.stdout).toMatch(/AUTH_JWT_SECRET: generated/);
      const values = () => Object.fromEntries(readFileSync(env, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const made = values();
      expect(made.API_PORT).toBe('3000');
      expect(isPublishedSecret(made.AUTH_JWT_SECRET)).toBe(false);
      expect(isPublishedSecret(made.LEDGER_SIGNING_KEY)).toBe(false);
      // Prometheus's bearer token for /metrics (compose requires it), 32 random bytes.
      expect(made.METRICS_TOKEN).toMatch(/^[\w-]{43}$/);
      // The service accepts them outside tests.
      const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1', S3_ACCESS_KEY_ID: 'a', S3_SECRET_ACCESS_KEY: 'b', NODE_ENV: 'production' };
      expect(() => loadConfig({ ...base, AUTH_JWT_SECRET: made.AUTH_JWT_SECRET, LEDGER_SIGNING_KEY: made.LEDGER_SIGNING_KEY })).not.toThrow();
      const second = await run('node', [CLI, 'admin', 'init-secrets', '--dotenv', env], cliOptions({}));
      expect(second.stdout).toMatch(/AUTH_JWT_SECRET: kept/);
      expect(values()).toEqual(made);
      // Two installations never share them.
      const other = join(dir, 'other.env');
      await run('node', [CLI, 'admin', 'init-secrets', '--dotenv', other], cliOptions({}));
      const otherValues = Object.fromEntries(readFileSync(other, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      expect(otherValues.AUTH_JWT_SECRET).not.toBe(made.AUTH_JWT_SECRET);
      expect(otherValues.LEDGER_SIGNING_KEY).not.toBe(made.LEDGER_SIGNING_KEY);
      expect(otherValues.METRICS_TOKEN).not.toBe(made.METRICS_TOKEN);
    });

    it('the API refuses to start outside tests with a published secret', async () => {
      const published = 'PRIVATE+KEY+dems.dev.local/ledger+c497631e+AdrY2JlYiIlmqHmHAYbiQ7pvVv3dbgNTA3/1Hv6H1g2m';
      const c = h.config;
      const settings = { NODE_ENV: 'development', LEDGER_SIGNING_KEY: published, AUTH_JWT_SECRET: c.AUTH_JWT_SECRET, DATABASE_URL: c.DATABASE_URL, REDIS_URL: c.REDIS_URL,
        S3_ENDPOINT: c.S3_ENDPOINT, S3_ACCESS_KEY_ID: c.S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: c.S3_SECRET_ACCESS_KEY, API_PORT: 0 };
      const started = run('node', [resolve('dist/apps/api/main.js')], { ...cliOptions(settings), timeout: 30_000 });
      await expect(started).rejects.toMatchObject({ stderr: expect.stringMatching(/LEDGER_SIGNING_KEY is a published example key/) });
    });
  });

  describe('sessions that end', () => {
    it('signing out ends the access token at once; the other sessions go on', async () => {
      const a = await login(inv);
      const b = await login(inv);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect((await h.call('GET', '/api/v1/me', { token: a.body.accessToken as string })).status).toBe(200);
      expect((await h.call('POST', '/api/v1/auth/logout', { body: { refreshToken: a.body.refreshToken } })).status).toBe(204);
      const after = await h.call('GET', '/api/v1/me', { token: a.body.accessToken as string });
      expect([after.status, after.body.code]).toEqual([401, 'SESSION_ENDED']);
      expect((await h.call('GET', '/api/v1/me', { token: b.body.accessToken as string })).status).toBe(200);
      const sessions = await h.call('GET', '/api/v1/me/sessions', { token: b.body.accessToken as string });
      const listed = sessions.body as unknown as { id: string; endReason: string | null; current: boolean }[];
      expect(listed.find((s) => s.id === sessionOf(a.body.accessToken as string))?.endReason).toBe('signed_out');
      expect(listed.find((s) => s.current)?.id).toBe(sessionOf(b.body.accessToken as string));
    });

    it('a reused refresh token ends every session and every API token of the user', async () => {
      const u = await h.user('reuse', 'investigator');
      const a = await login(u);
      const other = await login(u);
      const pat = await h.call('POST', '/api/v1/me/tokens', { token: a.body.accessToken as string, body: { name: 'cli' } });
      expect(pat.status).toBe(201);
      const rotated = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: a.body.refreshToken } });
      expect(rotated.status).toBe(200);
      const replay = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: a.body.refreshToken } });
      expect(replay.status).toBe(401);
      for (const token of [a.body.accessToken, rotated.body.accessToken, other.body.accessToken, pat.body.token] as string[]) {
        expect((await h.call('GET', '/api/v1/me', { token })).status).toBe(401);
      }
    });

    it('API tokens expire by default and cannot mint API tokens', async () => {
      const made = await h.call('POST', '/api/v1/me/tokens', { token: inv.token, body: { name: 'default expiry' } });
      expect(made.status).toBe(201);
      const days = (new Date(made.body.expiresAt as string).getTime() - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(h.config.AUTH_API_TOKEN_DEFAULT_DAYS - 1);
      expect(days).toBeLessThanOrEqual(h.config.AUTH_API_TOKEN_DEFAULT_DAYS);
      const minted = await h.call('POST', '/api/v1/me/tokens', { token: made.body.token as string, body: { name: 'from a token' } });
      expect([minted.status, minted.body.code]).toEqual([403, 'INTERACTIVE_SIGN_IN_REQUIRED']);
      const forever = await h.call('POST', '/api/v1/me/tokens', { token: inv.token, body: { name: 'forever', expiresInDays: 100000 } });
      expect(forever.status).toBe(400);
      // An expired token stops working.
      await h.ds.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [made.body.id]);
      expect((await h.call('GET', '/api/v1/me', { token: made.body.token as string })).status).toBe(401);
    });

    it('an administrator deactivates (all access ends), reactivates, and ends all sessions of a user; each is a custody event', async () => {
      const u = await h.user('managed', 'investigator');
      const pat = (await h.call('POST', '/api/v1/me/tokens', { token: u.token, body: { name: 'cli' } })).body.token as string;
      const off = await h.call('POST', `/api/v1/users/${u.id}/deactivate`, { token: admin.token });
      expect([off.status, off.body.isActive]).toEqual([200, false]);
      for (const token of [u.token, pat]) expect((await h.call('GET', '/api/v1/me', { token })).status).toBe(401);
      expect((await login(u)).status).toBe(401);
      const on = await h.call('POST', `/api/v1/users/${u.id}/activate`, { token: admin.token });
      expect([on.status, on.body.isActive]).toEqual([200, true]);
      // Deactivation revoked the API token for good; sessions restart by signing in.
      expect((await h.call('GET', '/api/v1/me', { token: pat })).status).toBe(401);
      const again = await login(u);
      expect(again.status).toBe(200);
      const ended = await h.call('POST', `/api/v1/users/${u.id}/end-sessions`, { token: admin.token });
      // Deactivation ended the earlier sessions; only the new one was open.
      expect([ended.status, ended.body.sessions]).toEqual([200, 1]);
      expect((await h.call('GET', '/api/v1/me', { token: again.body.accessToken as string })).status).toBe(401);
      const events = await h.ds.query(`SELECT type, actor_id FROM custody_events WHERE object_type = 'user' AND object_id = $1 ORDER BY leaf_index`, [u.id]);
      expect(events).toEqual(['account.deactivated', 'account.activated', 'account.sessions_ended'].map((type) => ({ type, actor_id: admin.id })));
      const self = await h.call('POST', `/api/v1/users/${admin.id}/deactivate`, { token: admin.token });
      expect([self.status, self.body.code]).toEqual([409, 'CANNOT_DEACTIVATE_SELF']);
      expect((await h.call('POST', `/api/v1/users/${randomUUID()}/deactivate`, { token: admin.token })).status).toBe(404);
    });

    it('a user changes their password: other sessions and API tokens end, this one goes on, and weak passwords are refused', async () => {
      const u = await h.user('changer', 'investigator');
      const elsewhere = await login(u);
      const pat = (await h.call('POST', '/api/v1/me/tokens', { token: u.token, body: { name: 'cli' } })).body.token as string;
      const change = (token: string, currentPassword: string, newPassword: string) => h.call('POST', '/api/v1/me/password', { token, body: { currentPassword, newPassword } });
      expect((await change(u.token, 'not-my-password', 'correct horse battery staple')).body.code).toBe('CURRENT_PASSWORD_WRONG');
      for (const [weak, rule] of [['short-pw', 'length'], ['password1234', 'common'], ['Password123!', 'common'], [`my-${u.username}-pw`, 'username'], ['aaaaaaaaaaaaaaaa', 'repetition']]) {
        const res = await change(u.token, u.password, weak);
        expect({ weak, status: res.status, code: res.body.code, rule: (res.body.details as { rule?: string })?.rule }).toEqual({ weak, status: 422, code: 'PASSWORD_TOO_WEAK', rule });
      }
      expect((await change(pat, u.password, 'correct horse battery staple')).status).toBe(403);
      const ok = await change(u.token, u.password, 'correct horse battery staple');
      expect([ok.status, ok.body.sessionsEnded, ok.body.apiTokensRevoked]).toEqual([200, 1, 1]);
      expect((await h.call('GET', '/api/v1/me', { token: u.token })).status).toBe(200);
      for (const token of [elsewhere.body.accessToken as string, pat]) expect((await h.call('GET', '/api/v1/me', { token })).status).toBe(401);
      expect((await login(u)).status).toBe(401);
      expect((await login(u, 'correct horse battery staple')).status).toBe(200);
    });

    it('administrators cannot create accounts with weak passwords', async () => {
      const res = await h.call('POST', '/api/v1/users', { token: admin.token, body: { username: `weak-${Date.now() % 100000}`, displayName: 'Weak', role: 'investigator', password: 'qwertyuiop123' } });
      expect([res.status, res.body.code]).toEqual([422, 'PASSWORD_TOO_WEAK']);
    });
  });

  describe('lockout', () => {
    it('evaluates at most AUTH_LOGIN_MAX_FAILURES of a burst of parallel guesses; then even the right password is refused, like an unknown account', async () => {
      const victim = await h.user('burst', 'investigator');
      const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => login(victim, `wrong-guess-${i}-xxxxxxxx`)));
      expect(burst.every((r) => r.status === 401)).toBe(true);
      const [row] = await h.ds.query(`SELECT failed_logins, locked_until > now() AS locked FROM users WHERE id = $1`, [victim.id]);
      expect(row).toEqual({ failed_logins: h.config.AUTH_LOGIN_MAX_FAILURES, locked: true });
      const right = await login(victim);
      const unknown = await h.call('POST', '/api/v1/auth/login', { body: { username: 'nobody-at-all', password: victim.password } });
      expect([right.status, right.body]).toEqual([401, unknown.body]);
      // An administrator unlocks; the right password then works.
      const unlocked = await h.call('POST', `/api/v1/users/${victim.id}/unlock`, { token: admin.token });
      expect([unlocked.status, unlocked.body.lockedUntil]).toEqual([200, null]);
      expect((await login(victim)).status).toBe(200);
    });

    it('a right password racing a burst of wrong ones cannot reset the count after the lock', async () => {
      const victim = await h.user('race', 'investigator');
      const attempts = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => login(victim, `wrong-race-${i}-xxxxxxxx`)),
        login(victim),
        ...Array.from({ length: 20 }, (_, i) => login(victim, `wrong-race-b${i}-xxxxxxx`)),
      ]);
      const [row] = await h.ds.query(`SELECT failed_logins, locked_until > now() AS locked FROM users WHERE id = $1`, [victim.id]);
      const succeeded = attempts.filter((r) => r.status === 200).length;
      expect(succeeded).toBeLessThanOrEqual(1);
      // However the race went, no more than the allowed number of wrong guesses were evaluated in a row.
      expect(row.failed_logins).toBeLessThanOrEqual(h.config.AUTH_LOGIN_MAX_FAILURES);
      if (succeeded === 0) expect(row.locked).toBe(true);
    });
  });
});
