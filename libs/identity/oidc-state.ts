import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../core/index.js';

/**
 * What the callback of an OpenID Connect sign-in needs from its start (state, nonce, PKCE code
 * verifier). API replicas are stateless, so it travels in a cookie the browser keeps for a few
 * minutes: HMAC-signed (key derived from AUTH_JWT_SECRET), HttpOnly, SameSite=Lax, limited to the
 * callback path. One cookie per sign-in attempt, named after its state, so that two tabs signing
 * in at once do not overwrite each other.
 */
export interface OidcPending {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Unix seconds after which the callback is refused. */
  expiresAt: number;
}

export const OIDC_STATE_TTL_SECONDS = 600;
const COOKIE_PREFIX = 'dems_oidc_';
/** openid-client's randomState(): 32 random bytes, base64url. Anything else is not ours. */
const STATE_FORMAT = /^[A-Za-z0-9_-]{16,128}$/;

export interface CookieSpec {
  name: string;
  value: string;
  path: string;
  maxAgeSeconds: number;
  secure: boolean;
}

export class OidcStateCodec {
  private readonly key: Buffer;

  constructor(secret: string) {
    // A key of its own (domain separation), so a cookie signature is never valid as anything else.
    this.key = createHmac('sha256', secret).update('dems/oidc-state-cookie/v1').digest();
  }

  cookieName(state: string): string {
    return COOKIE_PREFIX + state;
  }

  seal(p: OidcPending): string {
    const body = Buffer.from(JSON.stringify({ s: p.state, n: p.nonce, v: p.codeVerifier, e: p.expiresAt })).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /**
   * The pending sign-in for `state`, from the request's cookies. Throws OIDC_STATE_INVALID when
   * the state is missing or malformed, its cookie is absent or forged, and OIDC_STATE_EXPIRED
   * when it is too old.
   */
  open(state: string | null | undefined, cookieHeader: string | undefined, now = Date.now()): OidcPending {
    if (!state || !STATE_FORMAT.test(state)) throw stateInvalid('The sign-in response has no valid state');
    const value = parseCookies(cookieHeader).get(this.cookieName(state));
    if (!value) throw stateInvalid('No sign-in was started from this browser for this state (or it has expired); start again');
    const [body, signature, extra] = value.split('.');
    if (!body || !signature || extra !== undefined || !this.verify(body, signature)) throw stateInvalid('The sign-in state cookie is not valid');
    let p: { s?: unknown; n?: unknown; v?: unknown; e?: unknown };
    try {
      p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw stateInvalid('The sign-in state cookie is not valid');
    }
    if (typeof p.s !== 'string' || typeof p.n !== 'string' || typeof p.v !== 'string' || typeof p.e !== 'number') {
      throw stateInvalid('The sign-in state cookie is not valid');
    }
    if (p.s !== state) throw stateInvalid('The sign-in response does not belong to the sign-in started here');
    if (p.e * 1000 <= now) throw new AppError('OIDC_STATE_EXPIRED', 'The sign-in took too long; start again', 400);
    return { state: p.s, nonce: p.n, codeVerifier: p.v, expiresAt: p.e };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private verify(body: string, signature: string): boolean {
    const want = Buffer.from(this.sign(body));
    const got = Buffer.from(signature);
    return want.length === got.length && timingSafeEqual(want, got);
  }
}

function stateInvalid(message: string): AppError {
  return new AppError('OIDC_STATE_INVALID', message, 400);
}

/** Cookie header to name -> value (the first of duplicate names wins, as browsers send the most specific path first). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

/** A Set-Cookie header value: HttpOnly and SameSite=Lax always, Secure on https. */
export function serializeCookie(c: CookieSpec): string {
  return [
    `${c.name}=${c.value}`,
    `Path=${c.path}`,
    `Max-Age=${c.maxAgeSeconds}`,
    ...(c.maxAgeSeconds === 0 ? ['Expires=Thu, 01 Jan 1970 00:00:00 GMT'] : []),
    'HttpOnly',
    'SameSite=Lax',
    ...(c.secure ? ['Secure'] : []),
  ].join('; ');
}
