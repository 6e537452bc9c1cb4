import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
// @ts-expect-error -- oidc-provider ships no type declarations; the little used here is typed below.
import Provider from 'oidc-provider';
import { ApiHarness } from '../support/api-harness.js';

/**
 * Sign-in with an identity provider, end to end: a real OpenID Connect provider (oidc-provider, in
 * this process, on a random port) and the real API. The "browser" is fetch with redirects followed
 * by hand and a cookie jar; the provider's login page is a tiny handler that signs in whichever
 * account the test posts, and consent is pre-granted (loadExistingGrant), so no HTML is involved.
 */

interface Interaction {
  uid: string;
  prompt: { name: string };
}
interface GrantLike {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface ProviderContext {
  oidc: {
    provider: { Grant: { new (p: { clientId: string; accountId: string }): GrantLike; find(id: string): Promise<GrantLike | undefined> } };
    client: { clientId: string };
    session: { accountId?: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
  };
}
interface OidcProvider {
  callback(): http.RequestListener;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<Interaction>;
  interactionFinished(req: http.IncomingMessage, res: http.ServerResponse, result: object, opts?: { mergeWithLastSubmission?: boolean }): Promise<void>;
}
const ProviderClass = Provider as new (issuer: string, configuration: object) => OidcProvider;

/** The provider's storage: a plain Map (the library's own memory adapter prints a warning). */
const store = new Map<string, Record<string, unknown>>();
class MapAdapter {
  constructor(private readonly model: string) {}
  private key(id: string) {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: Record<string, unknown>) {
    store.set(this.key(id), payload);
    if (this.model === 'Session') store.set(`sessionUid:${String(payload.uid)}`, { id });
  }
  async find(id: string) {
    return store.get(this.key(id));
  }
  async findByUid(uid: string) {
    const ref = store.get(`sessionUid:${uid}`);
    return ref ? this.find(String(ref.id)) : undefined;
  }
  async findByUserCode() {
    return undefined;
  }
  async consume(id: string) {
    const p = store.get(this.key(id));
    if (p) p.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    store.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string) {
    for (const [k, v] of store) if (v.grantId === grantId) store.delete(k);
  }
}

/** A browser, as far as redirects and cookies go (cookies kept per origin; paths ignored). */
class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  async request(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const origin = new URL(url).origin;
    const cookies = [...(this.jar.get(origin) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, ...(cookies ? { cookie: cookies } : {}) } });
    const jar = this.jar.get(origin) ?? new Map<string, string>();
    this.jar.set(origin, jar);
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || attrs.some((a) => /^\s*expires=.*1970/i.test(a));
      if (gone) jar.delete(name);
      else jar.set(name, pair.slice(eq + 1).trim());
    }
    return res;
  }

  /** Follows redirects (as GETs) until an answer that is not one, or until `stopAt` matches the next URL. */
  async follow(
    url: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
    stopAt?: (next: string) => boolean,
  ): Promise<{ res?: Response; url: string }> {
    let current = url;
    let opts = init;
    for (let hop = 0; hop < 10; hop++) {
      const res = await this.request(current, opts);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { res, url: current };
      await res.arrayBuffer();
      current = new URL(location, current).href;
      opts = {};
      if (stopAt?.(current)) return { url: current };
    }
    throw new Error('too many redirects');
  }

  cookies(origin: string): Map<string, string> {
    return this.jar.get(origin) ?? new Map();
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type Json = Record<string, unknown> & { code?: string };
const CALLBACK = '/api/v1/auth/oidc/callback';
const CLIENT_ID = 'dems-test';
const CLIENT_SECRET = randomBytes(24).toString('base64url');

describe('sign-in with an OpenID Connect provider (real oidc-provider, real API)', () => {
  const sfx = randomBytes(3).toString('hex');
  /** The provider's people: subject -> claims. */
  const ACCOUNTS: Record<string, Record<string, unknown>> = {
    [`new-${sfx}`]: { preferred_username: `Oidc.New-${sfx}`, name: 'Nia Newcomer', email: `nia-${sfx}@force.example` },
    [`stranger-${sfx}`]: { preferred_username: `stranger-${sfx}`, name: 'Sam Stranger' },
    [`analyst-${sfx}`]: { preferred_username: `analyst-${sfx}`, name: 'Ana Lyst', dems_role: ['not-a-role', 'forensic_analyst'] },
  };

  let server: http.Server;
  let issuer: string;
  const h = new ApiHarness(); // OIDC with OIDC_DEFAULT_ROLE=investigator
  const strict = new ApiHarness(); // OIDC with a role claim and no default role
  const off = new ApiHarness(); // no OIDC

  beforeAll(async () => {
    const [hPort, strictPort] = [await freePort(), await freePort()];
    let handle: http.RequestListener = (_req, res) => res.end();
    server = http.createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

    const signingKey = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'test-1', use: 'sig' };
    const provider = new ProviderClass(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [`http://127.0.0.1:${hPort}${CALLBACK}`, `http://127.0.0.1:${strictPort}${CALLBACK}`],
        },
      ],
      adapter: MapAdapter,
      jwks: { keys: [signingKey] },
      cookies: { keys: [randomBytes(16).toString('hex')], long: { httpOnly: true, sameSite: 'lax' } },
      pkce: { methods: ['S256'], required: () => true },
      ttl: { AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
      features: { devInteractions: { enabled: false } },
      claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'dems_role'], email: ['email'] },
      findAccount: async (_ctx: unknown, sub: string) =>
        ACCOUNTS[sub] ? { accountId: sub, claims: async () => ({ sub, ...ACCOUNTS[sub] }) } : undefined,
      // First-party client: consent is implied, so the only interaction is the login.
      loadExistingGrant: async (ctx: ProviderContext) => {
        const { provider: p, client, session, result } = ctx.oidc;
        const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
        if (grantId) return p.Grant.find(grantId);
        if (!session.accountId) return undefined;
        const grant = new p.Grant({ clientId: client.clientId, accountId: session.accountId });
        grant.addOIDCScope('openid profile email');
        await grant.save();
        return grant;
      },
    });
    const providerHandler = provider.callback();
    // The provider's login page: GET shows the pending interaction, POST login=<subject> signs in
    // as that account (login=deny: the person cancels).
    handle = (req, res) => {
      const m = /^\/interaction\/([\w-]+)$/.exec(req.url ?? '');
      if (!m) return providerHandler(req, res);
      (async () => {
        const details = await provider.interactionDetails(req, res);
        if (req.method === 'GET') {
          res.setHeader('content-type', 'application/json');
          return res.end(JSON.stringify({ uid: details.uid, prompt: details.prompt.name }));
        }
        const login = new URLSearchParams(await readBody(req)).get('login') ?? '';
        if (login === 'deny') {
          return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person cancelled' }, { mergeWithLastSubmission: false });
        }
        return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      })().catch((e: Error) => {
        res.statusCode = 500;
        res.end(e.message);
      });
    };

    const common = {
      OIDC_ISSUER_URL: issuer,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_ALLOW_INSECURE_HTTP: true,
      OIDC_SCOPES: 'openid profile email',
      OIDC_USERNAME_CLAIM: 'preferred_username',
    };
    await h.start({ ...common, OIDC_REDIRECT_URL: `http://127.0.0.1:${hPort}${CALLBACK}`, OIDC_DEFAULT_ROLE: 'investigator', OIDC_ROLE_CLAIM: undefined }, hPort);
    await strict.start({ ...common, OIDC_REDIRECT_URL: `http://127.0.0.1:${strictPort}${CALLBACK}`, OIDC_DEFAULT_ROLE: undefined, OIDC_ROLE_CLAIM: 'dems_role' }, strictPort);
    await off.start({ OIDC_ISSUER_URL: undefined });
  });

  afterAll(async () => {
    await Promise.all([h.stop(), strict.stop(), off.stop()]);
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  /** Starts a sign-in at `api` and logs in at the provider as `subject`; stops before our callback when asked. */
  async function toCallback(api: ApiHarness, subject: string, b = new Browser()): Promise<{ b: Browser; callbackUrl: string }> {
    const start = await b.request(`${api.base}/api/v1/auth/oidc/login`);
    expect(start.status).toBe(302);
    const page = await b.follow(start.headers.get('location')!);
    expect(page.url).toMatch(new RegExp(`^${issuer}/interaction/`));
    expect(await page.res!.json()).toMatchObject({ prompt: 'login' });
    const back = await b.follow(
      page.url,
      { method: 'POST', body: new URLSearchParams({ login: subject }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (next) => next.startsWith(api.base + CALLBACK),
    );
    expect(back.url.startsWith(api.base + CALLBACK)).toBe(true);
    return { b, callbackUrl: back.url };
  }

  async function signIn(api: ApiHarness, subject: string): Promise<{ status: number; body: Json; res: Response }> {
    const { b, callbackUrl } = await toCallback(api, subject);
    const res = await b.request(callbackUrl);
    return { status: res.status, body: (await res.json()) as Json, res };
  }

  it('redirects to the provider with PKCE (S256), state and nonce, kept in a signed HttpOnly cookie', async () => {
    const res = await new Browser().request(`${h.base}/api/v1/auth/oidc/login`);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location')!);
    expect(to.origin).toBe(issuer);
    const p = to.searchParams;
    expect(p.get('client_id')).toBe(CLIENT_ID);
    expect(p.get('response_type')).toBe('code');
    expect(p.get('redirect_uri')).toBe(h.base + CALLBACK);
    expect(p.get('scope')).toBe('openid profile email');
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(p.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(p.get('nonce')).toMatch(/^[\w-]{20,}$/);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`dems_oidc_${p.get('state')}=`));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\/api\/v1\/auth\/oidc\/callback/);
    expect(cookie).toMatch(/; Max-Age=600/);
    // Nothing of the PKCE verifier is in the URL.
    expect(cookie).not.toContain(p.get('code_challenge')!);
  });

  let newUserId: string;

  it('signs a new person in: our own tokens, an account named after the provider username, the default role', async () => {
    const { status, body, res } = await signIn(h, `new-${sfx}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: expect.any(Number), refreshExpiresIn: expect.any(Number) });
    expect(String(body.refreshToken)).toMatch(/^dems_rt_/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    // The attempt's cookie is spent.
    expect(res.headers.getSetCookie().some((c) => c.startsWith('dems_oidc_') && /Max-Age=0/.test(c))).toBe(true);

    const me = await h.call('GET', '/api/v1/me', { token: String(body.accessToken) });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: `oidc.new-${sfx}`, displayName: 'Nia Newcomer', role: 'investigator', isActive: true });
    newUserId = String(me.body.id);

    const refreshed = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: body.refreshToken } });
    expect(refreshed.status).toBe(200);
  });

  it('maps a second sign-in of the same person to the same account (no duplicate)', async () => {
    const { status, body } = await signIn(h, `new-${sfx}`);
    expect(status).toBe(200);
    const me = await h.call('GET', '/api/v1/me', { token: String(body.accessToken) });
    expect(me.body.id).toBe(newUserId);
    const rows = await h.ds.query(`SELECT id, oidc_issuer, oidc_subject, password_hash FROM users WHERE username = $1 OR oidc_subject = $2`, [
      `oidc.new-${sfx}`,
      `new-${sfx}`,
    ]);
    expect(rows).toEqual([{ id: newUserId, oidc_issuer: issuer, oidc_subject: `new-${sfx}`, password_hash: null }]);
  });

  it('links the provider account to an existing local account of the same username', async () => {
    const local = await h.user('linked', 'supervisor');
    ACCOUNTS[`linked-${sfx}`] = { preferred_username: local.username, name: 'Lee Linked' };
    const { status, body } = await signIn(h, `linked-${sfx}`);
    expect(status).toBe(200);
    const me = await h.call('GET', '/api/v1/me', { token: String(body.accessToken) });
    expect(me.body).toMatchObject({ id: local.id, username: local.username, role: 'supervisor' });
    const [row] = await h.ds.query(`SELECT oidc_subject FROM users WHERE id = $1`, [local.id]);
    expect(row.oidc_subject).toBe(`linked-${sfx}`);
    // The password still works too.
    expect((await h.call('POST', '/api/v1/auth/login', { body: { username: local.username, password: local.password } })).status).toBe(200);
  });

  it('refuses a tampered, missing or replayed state, and a forged state cookie', async () => {
    const { b, callbackUrl } = await toCallback(h, `new-${sfx}`);
    const url = new URL(callbackUrl);
    const state = url.searchParams.get('state')!;

    const tampered = new URL(url);
    tampered.searchParams.set('state', state.slice(0, -2) + (state.endsWith('AA') ? 'BB' : 'AA'));
    let res = await b.request(tampered.href);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).code).toBe('OIDC_STATE_INVALID');

    const missing = new URL(url);
    missing.searchParams.delete('state');
    res = await b.request(missing.href);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).code).toBe('OIDC_STATE_INVALID');

    // A cookie of the right name with a payload of the attacker's choosing.
    const [body] = b.cookies(h.base).get(`dems_oidc_${state}`)!.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), v: 'x'.repeat(43) })).toString('base64url');
    res = await fetch(url, { headers: { cookie: `dems_oidc_${state}=${forged}.${'A'.repeat(43)}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).code).toBe('OIDC_STATE_INVALID');

    // The genuine answer still works once; its cookie is then gone, so a replay is refused.
    res = await b.request(url.href);
    expect(res.status).toBe(200);
    res = await b.request(url.href);
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).code).toBe('OIDC_STATE_INVALID');
  });

  it('answers 401 OIDC_LOGIN_FAILED when the code exchange fails, and 401 OIDC_ACCESS_DENIED when the person cancels', async () => {
    const { b, callbackUrl } = await toCallback(h, `new-${sfx}`);
    const bogus = new URL(callbackUrl);
    bogus.searchParams.set('code', 'not-a-code-the-provider-issued');
    let res = await b.request(bogus.href);
    expect(res.status).toBe(401);
    expect(((await res.json()) as Json).code).toBe('OIDC_LOGIN_FAILED');

    const denied = await toCallback(h, 'deny');
    expect(new URL(denied.callbackUrl).searchParams.get('error')).toBe('access_denied');
    res = await denied.b.request(denied.callbackUrl);
    expect(res.status).toBe(401);
    expect(((await res.json()) as Json)).toMatchObject({ code: 'OIDC_ACCESS_DENIED', details: { error: 'access_denied' } });
  });

  it('refuses a person with no account here when no default role is set (403), and creates one from a valid role claim', async () => {
    const refused = await signIn(strict, `stranger-${sfx}`);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('OIDC_USER_NOT_ALLOWED');
    expect(await strict.ds.query(`SELECT id FROM users WHERE username = $1`, [`stranger-${sfx}`])).toEqual([]);

    const analyst = await signIn(strict, `analyst-${sfx}`);
    expect(analyst.status).toBe(200);
    const me = await strict.call('GET', '/api/v1/me', { token: String(analyst.body.accessToken) });
    expect(me.body).toMatchObject({ username: `analyst-${sfx}`, role: 'forensic_analyst' });
  });

  it('answers 404 OIDC_NOT_CONFIGURED on both routes when no provider is set up', async () => {
    for (const path of ['/api/v1/auth/oidc/login', '/api/v1/auth/oidc/callback?code=x&state=y']) {
      const res = await off.call('GET', path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('OIDC_NOT_CONFIGURED');
    }
  });
});
