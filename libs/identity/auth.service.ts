import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError, isUuid } from '../core/index.js';
import { affected, one, rows, type Queryable } from '../database/sql.js';
import { AccessTokenService } from './access-token.service.js';
import { PasswordHasher } from './password-hasher.js';
import type { Principal } from './principal.js';
import { API_TOKEN_PREFIX, hashSecret, newSecret, REFRESH_PREFIX } from './secret-tokens.js';
import type { Role } from './roles.js';

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

export interface ApiTokenView {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface SessionView {
  id: string;
  method: 'password' | 'oidc';
  clientAddress: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  endedAt: Date | null;
  endReason: SessionEndReason | null;
  current: boolean;
}

export type SessionEndReason =
  | 'signed_out'
  | 'refresh_token_reused'
  | 'ended_by_user'
  | 'ended_by_administrator'
  | 'account_deactivated'
  | 'password_changed';

/** Every refused sign-in looks the same: wrong password, unknown, inactive or locked account. */
const INVALID = () =>
  new AppError('INVALID_CREDENTIALS', 'Username or password is wrong, or the account is locked after too many failed sign-ins; try again later', 401);
const SESSION_ENDED = () => new AppError('SESSION_ENDED', 'This sign-in session has ended (signed out, revoked, or the account was deactivated); sign in again', 401);

/**
 * Sign-in (passwords with lockout), sessions that end at once, refresh-token rotation with reuse
 * detection, personal API tokens for the CLI, and turning a bearer token into a Principal whose
 * role and account state come from the database on every request.
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');
  private readonly hasher = new PasswordHasher();
  private dummyHash?: Promise<string>;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AccessTokenService) private readonly access: AccessTokenService,
  ) {}

  /**
   * Each attempt is counted before the password is checked, in one statement, so parallel
   * attempts cannot all be evaluated: once AUTH_LOGIN_MAX_FAILURES attempts are pending or failed,
   * the account is locked and later attempts are refused unevaluated. A success clears the count
   * only if the account did not lock meanwhile.
   */
  async login(username: string, password: string, clientAddress?: string): Promise<TokenPair> {
    const attempt = await one<{ id: string; password_hash: string; attempts: number }>(
      this.ds,
      `UPDATE users SET
          failed_logins = CASE WHEN locked_until IS NOT NULL AND locked_until <= now() THEN 1 ELSE failed_logins + 1 END,
          locked_until = CASE
            WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= now() THEN 1 ELSE failed_logins + 1 END) >= $2
              THEN now() + make_interval(secs => $3)
            WHEN locked_until IS NOT NULL AND locked_until <= now() THEN NULL
            ELSE locked_until END
        WHERE username = $1 AND is_active AND password_hash IS NOT NULL AND (locked_until IS NULL OR locked_until <= now())
        RETURNING id, password_hash, failed_logins AS attempts`,
      [String(username).toLowerCase(), this.config.AUTH_LOGIN_MAX_FAILURES, this.config.AUTH_LOGIN_LOCK_SECONDS],
    );
    if (!attempt) {
      // Unknown, inactive or locked: the same work and the same answer as a wrong password.
      await this.hasher.verify(await (this.dummyHash ??= this.hasher.hash('not-a-real-password')), password);
      this.logger.warn({ username, clientAddress }, 'failed login: unknown, inactive or locked account');
      throw INVALID();
    }
    if (!(await this.hasher.verify(attempt.password_hash, password))) {
      this.logger.warn({ userId: attempt.id, attempts: attempt.attempts, clientAddress }, 'failed login');
      throw INVALID();
    }
    const cleared = await one<{ id: string }>(
      this.ds,
      `UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now()
        WHERE id = $1 AND is_active AND (locked_until IS NULL OR failed_logins <= $2) RETURNING id`,
      [attempt.id, attempt.attempts],
    );
    if (!cleared) {
      this.logger.warn({ userId: attempt.id, clientAddress }, 'right password refused: the account locked during the attempt');
      throw INVALID();
    }
    return this.openSession(attempt.id, 'password', clientAddress);
  }

  /**
   * Signs in a user whom another mechanism has already authenticated (OpenID Connect): the same
   * session, access and refresh tokens as a password sign-in. The account must exist and be active.
   */
  async issueForUser(userId: string, clientAddress?: string): Promise<TokenPair> {
    const user = await one<{ id: string }>(this.ds, `UPDATE users SET last_login_at = now() WHERE id = $1 AND is_active RETURNING id`, [userId]);
    if (!user) throw new AppError('ACCOUNT_INACTIVE', 'The account does not exist or has been deactivated', 403);
    return this.openSession(user.id, 'oidc', clientAddress);
  }

  /** Rotates a refresh token. A token used twice means it leaked: every session and API token of the user ends. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    if (typeof refreshToken !== 'string' || !refreshToken.startsWith(REFRESH_PREFIX)) throw this.badRefresh();
    const outcome: { pair?: TokenPair; reusedBy?: string } = await this.ds.transaction(async (em) => {
      const row = await one<{ id: string; user_id: string; session_id: string | null; expires_at: Date; revoked_at: Date | null; open: boolean }>(
        em,
        `SELECT t.id, t.user_id, t.session_id, t.expires_at, t.revoked_at, (s.ended_at IS NULL AND u.is_active) AS open
           FROM refresh_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN sessions s ON s.id = t.session_id
          WHERE t.token_hash = $1 FOR UPDATE OF t`,
        [hashSecret(refreshToken)],
      );
      if (!row) return {};
      if (row.revoked_at) return row.session_id ? { reusedBy: row.user_id } : {};
      if (new Date(row.expires_at) <= new Date() || !row.open || !row.session_id) return {};
      const pair = await this.issuePair(row.user_id, row.session_id, em);
      await em.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE id = $1`, [row.id]);
      await em.query(`UPDATE sessions SET last_seen_at = now() WHERE id = $1`, [row.session_id]);
      return { pair };
    });
    if (outcome.pair) return outcome.pair;
    if (outcome.reusedBy) {
      // Outside the transaction above, so the revocation is not rolled back with the refusal.
      await this.endAllSessions(outcome.reusedBy, 'refresh_token_reused', { revokeApiTokens: true });
      this.logger.warn({ userId: outcome.reusedBy }, 'refresh token reused: every session and API token of the user revoked');
    }
    throw this.badRefresh();
  }

  /** Ends the session the refresh token belongs to: its access tokens stop working at once. */
  async logout(refreshToken: string): Promise<void> {
    if (typeof refreshToken !== 'string') return;
    const row = await one<{ session_id: string | null; user_id: string }>(this.ds, `SELECT session_id, user_id FROM refresh_tokens WHERE token_hash = $1`, [hashSecret(refreshToken)]);
    await this.ds.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`, [hashSecret(refreshToken)]);
    if (row?.session_id) await this.endSession(row.user_id, row.session_id, 'signed_out');
  }

  /** Turns an Authorization bearer value into a Principal, or throws 401. */
  async authenticate(bearer: string | undefined): Promise<Principal> {
    if (!bearer) throw new AppError('UNAUTHENTICATED', 'Sign in first: send Authorization: Bearer <token>', 401);
    if (bearer.startsWith(API_TOKEN_PREFIX)) {
      const user = await one<{ id: string; username: string; role: Role }>(
        this.ds,
        `UPDATE api_tokens t SET last_used_at = now()
           FROM users u
          WHERE t.token_hash = $1 AND u.id = t.user_id AND t.revoked_at IS NULL AND t.expires_at > now() AND u.is_active
          RETURNING u.id, u.username, u.role`,
        [hashSecret(bearer)],
      );
      if (!user) throw new AppError('TOKEN_INVALID', 'The API token is not valid (unknown, revoked or expired)', 401);
      return { userId: user.id, username: user.username, role: user.role, via: 'api_token' };
    }
    const claims = await this.access.verify(bearer);
    // One indexed read per request: the session must be open and the account active, and the
    // role is the account's role now, not when the token was issued.
    const user = await one<{ id: string; username: string; role: Role }>(
      this.ds,
      `SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.user_id = $2 AND s.ended_at IS NULL AND u.is_active`,
      [claims.sessionId, claims.userId],
    );
    if (!user) throw SESSION_ENDED();
    return { userId: user.id, username: user.username, role: user.role, via: 'access_token', sessionId: claims.sessionId };
  }

  /** API tokens come only from an interactive sign-in (never from another API token) and always expire. */
  async createApiToken(principal: Principal, name: string, expiresInDays?: number): Promise<{ token: string } & ApiTokenView> {
    if (principal.via !== 'access_token' || !principal.sessionId) {
      throw new AppError('INTERACTIVE_SIGN_IN_REQUIRED', 'API tokens can be created only from an interactive sign-in, not with another API token', 403);
    }
    const days = expiresInDays ?? this.config.AUTH_API_TOKEN_DEFAULT_DAYS;
    const secret = newSecret(API_TOKEN_PREFIX);
    const row = await one(
      this.ds,
      `INSERT INTO api_tokens (user_id, name, token_hash, prefix, expires_at, session_id)
       VALUES ($1, $2, $3, $4, now() + make_interval(days => $5::int), $6)
       RETURNING id, name, prefix, created_at, expires_at, last_used_at, revoked_at`,
      [principal.userId, name, secret.hash, secret.display, days, principal.sessionId],
    );
    return { token: secret.token, ...toApiToken(row!) };
  }

  async listApiTokens(userId: string): Promise<ApiTokenView[]> {
    const found = await rows(
      this.ds,
      `SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC`,
      [userId],
    );
    return found.map(toApiToken);
  }

  async revokeApiToken(userId: string, id: string): Promise<void> {
    const count = isUuid(id)
      ? await affected(this.ds, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()), revoke_reason = coalesce(revoke_reason, 'revoked_by_user') WHERE id = $1 AND user_id = $2`, [id, userId])
      : 0;
    if (!count) throw new AppError('API_TOKEN_NOT_FOUND', 'No such API token', 404);
  }

  async listSessions(userId: string, currentSessionId?: string): Promise<SessionView[]> {
    const found = await rows(
      this.ds,
      `SELECT id, method, client_address, created_at, last_seen_at, ended_at, end_reason FROM sessions WHERE user_id = $1
        ORDER BY ended_at IS NULL DESC, created_at DESC LIMIT 100`,
      [userId],
    );
    return found.map((r) => ({
      id: r.id as string,
      method: r.method as SessionView['method'],
      clientAddress: (r.client_address as string) ?? null,
      createdAt: r.created_at as Date,
      lastSeenAt: r.last_seen_at as Date,
      endedAt: (r.ended_at as Date) ?? null,
      endReason: (r.end_reason as SessionEndReason) ?? null,
      current: r.id === currentSessionId,
    }));
  }

  /** Ends one session of a user (and its refresh tokens); false when there is no such open session. */
  async endSession(userId: string, sessionId: string, reason: SessionEndReason, q: Queryable = this.ds): Promise<boolean> {
    if (!isUuid(sessionId)) return false;
    const ended = await affected(q, `UPDATE sessions SET ended_at = now(), end_reason = $3 WHERE id = $1 AND user_id = $2 AND ended_at IS NULL`, [sessionId, userId, reason]);
    await q.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE session_id = $1 AND revoked_at IS NULL`, [sessionId]);
    return ended > 0;
  }

  /** Ends every open session of a user (but `except`), optionally revoking their API tokens too. */
  async endAllSessions(
    userId: string,
    reason: SessionEndReason,
    options: { except?: string; revokeApiTokens?: boolean } = {},
    q: Queryable = this.ds,
  ): Promise<{ sessions: number; apiTokens: number }> {
    const except = options.except ?? null;
    const sessions = await affected(
      q,
      `UPDATE sessions SET ended_at = now(), end_reason = $2 WHERE user_id = $1 AND ended_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid)`,
      [userId, reason, except],
    );
    await q.query(
      `UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR session_id IS DISTINCT FROM $2::uuid)`,
      [userId, except],
    );
    const apiTokens = options.revokeApiTokens
      ? await affected(q, `UPDATE api_tokens SET revoked_at = now(), revoke_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL`, [userId, reason])
      : 0;
    return { sessions, apiTokens };
  }

  /**
   * A user changes their own password: the current one is checked, the new one must meet the
   * password rules, and every other session and every API token ends (whoever else held them).
   */
  async changePassword(principal: Principal, current: string, next: string, checkRules: (password: string, username: string) => void): Promise<{ sessionsEnded: number; apiTokensRevoked: number }> {
    if (principal.via !== 'access_token' || !principal.sessionId) {
      throw new AppError('INTERACTIVE_SIGN_IN_REQUIRED', 'Change your password from an interactive sign-in, not with an API token', 403);
    }
    const user = await one<{ password_hash: string | null; username: string }>(this.ds, `SELECT password_hash, username FROM users WHERE id = $1`, [principal.userId]);
    if (!user?.password_hash) throw new AppError('PASSWORD_NOT_SET', 'This account signs in through the identity provider; change the password there', 409);
    if (!(await this.hasher.verify(user.password_hash, current))) throw new AppError('CURRENT_PASSWORD_WRONG', 'The current password is wrong', 403);
    checkRules(next, user.username);
    const hash = await this.hasher.hash(next);
    return this.ds.transaction(async (tx) => {
      await tx.query(`UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1`, [principal.userId, hash]);
      const ended = await this.endAllSessions(principal.userId, 'password_changed', { except: principal.sessionId, revokeApiTokens: true }, tx);
      return { sessionsEnded: ended.sessions, apiTokensRevoked: ended.apiTokens };
    });
  }

  private async openSession(userId: string, method: 'password' | 'oidc', clientAddress?: string): Promise<TokenPair> {
    return this.ds.transaction(async (tx) => {
      const session = await one<{ id: string }>(tx, `INSERT INTO sessions (user_id, method, client_address) VALUES ($1, $2, $3) RETURNING id`, [userId, method, clientAddress ?? null]);
      return this.issuePair(userId, session!.id, tx);
    });
  }

  private async issuePair(userId: string, sessionId: string, em: Queryable): Promise<TokenPair> {
    const refresh = newSecret(REFRESH_PREFIX);
    await em.query(`INSERT INTO refresh_tokens (user_id, session_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`, [
      userId,
      sessionId,
      refresh.hash,
      this.config.AUTH_REFRESH_TOKEN_TTL_SECONDS,
    ]);
    return {
      accessToken: await this.access.issue({ userId, sessionId }),
      tokenType: 'Bearer',
      expiresIn: this.access.ttlSeconds,
      refreshToken: refresh.token,
      refreshExpiresIn: this.config.AUTH_REFRESH_TOKEN_TTL_SECONDS,
    };
  }

  private badRefresh() {
    return new AppError('REFRESH_TOKEN_INVALID', 'The refresh token is not valid (unknown, used, revoked or expired); sign in again', 401);
  }
}

function toApiToken(r: Record<string, unknown>): ApiTokenView {
  return {
    id: r.id as string,
    name: r.name as string,
    prefix: r.prefix as string,
    createdAt: r.created_at as Date,
    expiresAt: r.expires_at as Date,
    lastUsedAt: (r.last_used_at as Date) ?? null,
    revokedAt: (r.revoked_at as Date) ?? null,
  };
}
