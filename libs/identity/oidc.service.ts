import { Inject, Injectable, Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
import { affected, one } from '../database/sql.js';
import { AuthService, type TokenPair } from './auth.service.js';
import { OIDC_STATE_TTL_SECONDS, OidcStateCodec, serializeCookie } from './oidc-state.js';
import { ROLES, type Role } from './roles.js';

/** Same rule as the users table's CHECK constraint. */
const USERNAME_FORMAT = /^[a-z][a-z0-9._-]{2,63}$/;
/** Provider metadata is fetched on first use and refreshed after this long (keys refresh on their own). */
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
const PROVIDER_TIMEOUT_SECONDS = 10;

type Claims = Record<string, unknown>;

/** The username an identity provider asserts, lower-cased; undefined when the claim is absent or not a string. */
export function usernameFromClaims(claims: Claims, claim: string): string | undefined {
  const v = claims[claim];
  return typeof v === 'string' && v.trim() ? v.trim().toLowerCase() : undefined;
}

/** The first valid role name in the claim (a string or a list of strings), if any. */
export function roleFromClaims(claims: Claims, claim: string | undefined): Role | undefined {
  if (!claim) return undefined;
  const v = claims[claim];
  const values = Array.isArray(v) ? v : [v];
  return values.find((r): r is Role => typeof r === 'string' && (ROLES as readonly string[]).includes(r));
}

function displayNameFrom(claims: Claims, username: string): string {
  const joined = [claims.given_name, claims.family_name].filter((p) => typeof p === 'string' && p.trim()).join(' ');
  const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim() : joined || username;
  return name.slice(0, 200);
}

/** fetch() could not reach the provider, or gave up waiting. */
function isUnreachable(e: unknown): boolean {
  const err = e as { name?: string; message?: string; cause?: unknown };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return true;
  if (err?.name === 'TypeError' && err.message === 'fetch failed') return true;
  return err?.cause !== undefined && err.cause !== e && isUnreachable(err.cause);
}

const notConfigured = () => new AppError('OIDC_NOT_CONFIGURED', 'Sign-in with an identity provider is not set up on this service', 404);
const unavailable = () => new AppError('OIDC_PROVIDER_UNAVAILABLE', 'The identity provider cannot be reached; try again later', 503);
const loginFailed = (details?: Record<string, unknown>) =>
  new AppError('OIDC_LOGIN_FAILED', 'Sign-in with the identity provider failed; start again', 401, details);
const inactive = () => new AppError('OIDC_USER_INACTIVE', 'Your account on this service has been deactivated', 403);
const conflict = (username: string) =>
  new AppError('OIDC_ACCOUNT_CONFLICT', `The account "${username}" here is already linked to another identity provider account`, 409);

/**
 * Sign-in with the force's identity provider (OpenID Connect authorization code flow with PKCE,
 * state and nonce, by openid-client). The provider's metadata is discovered on first use. What
 * the callback needs travels in a signed cookie (see oidc-state.ts), never in process memory.
 * The provider account is mapped to a user here: by its (issuer, subject) link; else by the
 * username claim to an existing active account, which is then linked; else a new account when
 * a valid role claim or OIDC_DEFAULT_ROLE allows it. The answer is this service's own TokenPair.
 */
@Injectable()
export class OidcService {
  private readonly logger = new Logger('OIDC');
  private readonly codec: OidcStateCodec;
  private discovery?: { at: number; client: Promise<oidc.Configuration> };

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AuthService) private readonly auth: AuthService,
  ) {
    this.codec = new OidcStateCodec(config.AUTH_JWT_SECRET);
  }

  get enabled(): boolean {
    return Boolean(this.config.OIDC_ISSUER_URL);
  }

  /** Where to send the browser, and the Set-Cookie value that remembers this attempt. */
  async start(): Promise<{ authorizationUrl: string; setCookie: string }> {
    if (!this.enabled) throw notConfigured();
    const client = await this.client();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(client, {
      redirect_uri: this.config.OIDC_REDIRECT_URL!,
      scope: this.config.OIDC_SCOPES,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const expiresAt = Math.floor(Date.now() / 1000) + OIDC_STATE_TTL_SECONDS;
    const setCookie = this.cookie(state, this.codec.seal({ state, nonce, codeVerifier, expiresAt }), OIDC_STATE_TTL_SECONDS);
    return { authorizationUrl: url.href, setCookie };
  }

  /** The Set-Cookie value that removes the cookie of the attempt with this state (none for a malformed state). */
  clearCookie(state: string | null): string | undefined {
    if (!this.enabled || !state || !/^[A-Za-z0-9_-]{16,128}$/.test(state)) return undefined;
    return this.cookie(state, '', 0);
  }

  /**
   * Completes a sign-in from the provider's redirect: `query` is the callback's query string,
   * `cookieHeader` the request's Cookie header.
   */
  async finish(query: URLSearchParams, cookieHeader: string | undefined, clientAddress?: string): Promise<TokenPair> {
    if (!this.enabled) throw notConfigured();
    const pending = this.codec.open(query.get('state'), cookieHeader);

    const error = query.get('error');
    if (error) {
      const details = { error: error.slice(0, 100), errorDescription: query.get('error_description')?.slice(0, 300) };
      this.logger.warn({ ...details, clientAddress }, 'identity provider refused the sign-in');
      if (error === 'access_denied') throw new AppError('OIDC_ACCESS_DENIED', 'The identity provider did not allow the sign-in', 401, details);
      throw loginFailed(details);
    }

    const client = await this.client();
    // The URL the provider redirected to, rebuilt from configuration (never from Host headers).
    const currentUrl = new URL(this.config.OIDC_REDIRECT_URL!);
    currentUrl.search = query.toString();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(client, currentUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (e) {
      if (isUnreachable(e)) {
        this.logger.warn({ err: e }, 'identity provider unreachable during code exchange');
        throw unavailable();
      }
      this.logger.warn({ err: e, clientAddress }, 'code exchange or ID token validation failed');
      throw loginFailed();
    }

    const idClaims = tokens.claims();
    if (!idClaims) throw loginFailed();
    const issuer = client.serverMetadata().issuer;
    let claims: Claims = { ...idClaims };
    const wanted = [this.config.OIDC_USERNAME_CLAIM, this.config.OIDC_ROLE_CLAIM].filter((c): c is string => Boolean(c));
    if (wanted.some((c) => claims[c] === undefined) && client.serverMetadata().userinfo_endpoint) {
      // Providers commonly return scope claims from userinfo only, when an access token was issued too.
      try {
        claims = { ...(await oidc.fetchUserInfo(client, tokens.access_token, idClaims.sub)), ...idClaims };
      } catch (e) {
        if (isUnreachable(e)) throw unavailable();
        this.logger.warn({ err: e }, 'userinfo request failed');
        throw loginFailed();
      }
    }

    const userId = await this.resolveUser(issuer, idClaims.sub, claims, clientAddress);
    return this.auth.issueForUser(userId, clientAddress);
  }

  private async resolveUser(issuer: string, subject: string, claims: Claims, clientAddress?: string): Promise<string> {
    const linked = await this.findLinked(issuer, subject);
    if (linked) {
      if (!linked.is_active) throw inactive();
      return linked.id;
    }

    const claim = this.config.OIDC_USERNAME_CLAIM;
    const username = usernameFromClaims(claims, claim);
    if (!username) throw new AppError('OIDC_CLAIM_MISSING', `The identity provider did not send the "${claim}" claim this service needs`, 403);

    const local = await one<{ id: string; is_active: boolean; oidc_subject: string | null }>(
      this.ds,
      `SELECT id, is_active, oidc_subject FROM users WHERE username = $1`,
      [username],
    );
    if (local) {
      if (local.oidc_subject) throw conflict(username);
      if (!local.is_active) throw inactive();
      const linkedNow = await this.uniqueOrRetry(issuer, subject, () =>
        affected(this.ds, `UPDATE users SET oidc_issuer = $2, oidc_subject = $3, updated_at = now() WHERE id = $1 AND oidc_subject IS NULL AND is_active`, [
          local.id,
          issuer,
          subject,
        ]).then((n) => (n ? local.id : undefined)),
      );
      if (!linkedNow) throw conflict(username);
      this.logger.log({ userId: local.id, issuer, subject, clientAddress }, 'identity provider account linked to an existing user');
      return linkedNow;
    }

    const role = roleFromClaims(claims, this.config.OIDC_ROLE_CLAIM) ?? this.config.OIDC_DEFAULT_ROLE;
    if (!role) {
      this.logger.warn({ username, issuer, subject, clientAddress }, 'identity provider sign-in refused: no account and no role');
      throw new AppError('OIDC_USER_NOT_ALLOWED', `There is no account for "${username}" on this service; ask an administrator for one`, 403);
    }
    if (!USERNAME_FORMAT.test(username)) {
      throw new AppError('OIDC_USERNAME_INVALID', `The username "${username}" from the identity provider is not a valid username here (3-64 lower-case letters, digits, . _ -)`, 403);
    }
    const created = await this.uniqueOrRetry(issuer, subject, async () => {
      const row = await one<{ id: string }>(
        this.ds,
        `INSERT INTO users (username, display_name, role, password_hash, oidc_issuer, oidc_subject) VALUES ($1, $2, $3, NULL, $4, $5) RETURNING id`,
        [username, displayNameFrom(claims, username), role, issuer, subject],
      );
      return row?.id;
    });
    if (!created) throw conflict(username);
    this.logger.log({ userId: created, username, role, issuer, subject, clientAddress }, 'user created at first identity provider sign-in');
    return created;
  }

  private findLinked(issuer: string, subject: string) {
    return one<{ id: string; is_active: boolean }>(this.ds, `SELECT id, is_active FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`, [issuer, subject]);
  }

  /**
   * Runs a write that links (issuer, subject); if it hits a unique constraint (a concurrent first
   * sign-in of the same person, or a username taken meanwhile), answers with whoever holds the link.
   */
  private async uniqueOrRetry(issuer: string, subject: string, write: () => Promise<string | undefined>): Promise<string | undefined> {
    try {
      return await write();
    } catch (e) {
      if ((e as { code?: string }).code !== '23505') throw e;
      const winner = await this.findLinked(issuer, subject);
      if (winner && !winner.is_active) throw inactive();
      return winner?.id;
    }
  }

  private cookie(state: string, value: string, maxAgeSeconds: number): string {
    const redirect = new URL(this.config.OIDC_REDIRECT_URL!);
    return serializeCookie({
      name: this.codec.cookieName(state),
      value,
      path: redirect.pathname,
      maxAgeSeconds,
      secure: redirect.protocol === 'https:',
    });
  }

  /** The provider's metadata and our client, discovered on first use and cached (a failure is not cached). */
  private client(): Promise<oidc.Configuration> {
    if (this.discovery && Date.now() - this.discovery.at < DISCOVERY_TTL_MS) return this.discovery.client;
    const c = this.config;
    const client = oidc
      .discovery(new URL(c.OIDC_ISSUER_URL!), c.OIDC_CLIENT_ID!, undefined, oidc.ClientSecretBasic(c.OIDC_CLIENT_SECRET!), {
        execute: c.OIDC_ALLOW_INSECURE_HTTP ? [oidc.allowInsecureRequests] : [],
        timeout: PROVIDER_TIMEOUT_SECONDS,
      })
      .catch((e: unknown) => {
        this.discovery = undefined;
        this.logger.error({ err: e, issuer: c.OIDC_ISSUER_URL }, 'OpenID Connect discovery failed');
        throw unavailable();
      });
    this.discovery = { at: Date.now(), client };
    return client;
  }
}
