import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
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
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const INVALID = () => new AppError('INVALID_CREDENTIALS', 'Username or password is wrong', 401);

/**
 * Sign-in (passwords with lockout), refresh-token rotation with reuse detection, personal API
 * tokens for the CLI, and turning a bearer token into a Principal.
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

  async login(username: string, password: string, clientAddress?: string): Promise<TokenPair> {
    const user = await one<{ id: string; username: string; role: Role; password_hash: string | null; is_active: boolean; locked_until: Date | null }>(
      this.ds,
      `SELECT id, username, role, password_hash, is_active, failed_logins, locked_until FROM users WHERE username = $1`,
      [String(username).toLowerCase()],
    );
    if (!user || !user.password_hash || !user.is_active) {
      // Same work as a real check, so timing does not tell which usernames exist.
      await this.hasher.verify(await (this.dummyHash ??= this.hasher.hash('not-a-real-password')), password);
      this.logger.warn({ username, clientAddress }, 'failed login: unknown or inactive account');
      throw INVALID();
    }
    if (user.locked_until && new Date(user.locked_until) > new Date()) {
      const seconds = Math.ceil((new Date(user.locked_until).getTime() - Date.now()) / 1000);
      throw new AppError('ACCOUNT_LOCKED', `Too many failed sign-ins; try again in ${seconds} s`, 429, { retryAfterSeconds: seconds });
    }
    if (!(await this.hasher.verify(user.password_hash, password))) {
      const row = await one<{ failed_logins: number }>(
        this.ds,
        `UPDATE users SET failed_logins = failed_logins + 1,
           locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(secs => $3) ELSE locked_until END
         WHERE id = $1 RETURNING failed_logins`,
        [user.id, this.config.AUTH_LOGIN_MAX_FAILURES, this.config.AUTH_LOGIN_LOCK_SECONDS],
      );
      this.logger.warn({ userId: user.id, failures: row?.failed_logins, clientAddress }, 'failed login');
      throw INVALID();
    }
    await this.ds.query(`UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE id = $1`, [user.id]);
    return this.issuePair({ userId: user.id, username: user.username, role: user.role });
  }

  /**
   * Signs in a user whom another mechanism has already authenticated (OpenID Connect): the same
   * access and refresh tokens as a password sign-in. The account must exist and be active.
   */
  async issueForUser(userId: string): Promise<TokenPair> {
    const user = await one<{ id: string; username: string; role: Role }>(
      this.ds,
      `UPDATE users SET last_login_at = now() WHERE id = $1 AND is_active RETURNING id, username, role`,
      [userId],
    );
    if (!user) throw new AppError('ACCOUNT_INACTIVE', 'The account does not exist or has been deactivated', 403);
    return this.issuePair({ userId: user.id, username: user.username, role: user.role });
  }

  /** Rotates a refresh token. A token used twice means it leaked: every session of the user ends. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    if (typeof refreshToken !== 'string' || !refreshToken.startsWith(REFRESH_PREFIX)) throw this.badRefresh();
    const outcome: { pair?: TokenPair; reusedBy?: string } = await this.ds.transaction(async (em) => {
      const row = await one<{ id: string; user_id: string; expires_at: Date; revoked_at: Date | null; username: string; role: Role; is_active: boolean }>(
        em,
        `SELECT t.id, t.user_id, t.expires_at, t.revoked_at, u.username, u.role, u.is_active
           FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 FOR UPDATE OF t`,
        [hashSecret(refreshToken)],
      );
      if (!row) return {};
      if (row.revoked_at) return { reusedBy: row.user_id };
      if (new Date(row.expires_at) <= new Date() || !row.is_active) return {};
      const pair = await this.issuePair({ userId: row.user_id, username: row.username, role: row.role }, em);
      await em.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE id = $1`, [row.id]);
      return { pair };
    });
    if (outcome.pair) return outcome.pair;
    if (outcome.reusedBy) {
      // Outside the transaction above, so the revocation is not rolled back with the refusal.
      await this.ds.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [outcome.reusedBy]);
      this.logger.warn({ userId: outcome.reusedBy }, 'refresh token reused: all sessions of the user revoked');
    }
    throw this.badRefresh();
  }

  async logout(refreshToken: string): Promise<void> {
    if (typeof refreshToken !== 'string') return;
    await this.ds.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL`, [hashSecret(refreshToken)]);
  }

  /** Turns an Authorization bearer value into a Principal, or throws 401. */
  async authenticate(bearer: string | undefined): Promise<Principal> {
    if (!bearer) throw new AppError('UNAUTHENTICATED', 'Sign in first: send Authorization: Bearer <token>', 401);
    if (bearer.startsWith(API_TOKEN_PREFIX)) {
      const user = await one<{ id: string; username: string; role: Role }>(
        this.ds,
        `UPDATE api_tokens t SET last_used_at = now()
           FROM users u
          WHERE t.token_hash = $1 AND u.id = t.user_id AND t.revoked_at IS NULL
            AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.is_active
          RETURNING u.id, u.username, u.role`,
        [hashSecret(bearer)],
      );
      if (!user) throw new AppError('TOKEN_INVALID', 'The API token is not valid (unknown, revoked or expired)', 401);
      return { userId: user.id, username: user.username, role: user.role, via: 'api_token' };
    }
    const claims = await this.access.verify(bearer);
    return { ...claims, via: 'access_token' };
  }

  async createApiToken(userId: string, name: string, expiresInDays?: number): Promise<{ token: string } & ApiTokenView> {
    const secret = newSecret(API_TOKEN_PREFIX);
    const row = await one(
      this.ds,
      `INSERT INTO api_tokens (user_id, name, token_hash, prefix, expires_at)
       VALUES ($1, $2, $3, $4, CASE WHEN $5::int IS NULL THEN NULL ELSE now() + make_interval(days => $5::int) END)
       RETURNING id, name, prefix, created_at, expires_at, last_used_at, revoked_at`,
      [userId, name, secret.hash, secret.display, expiresInDays ?? null],
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
    const count = await affected(this.ds, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND user_id = $2`, [id, userId]);
    if (!count) throw new AppError('API_TOKEN_NOT_FOUND', 'No such API token', 404);
  }

  private async issuePair(claims: { userId: string; username: string; role: Role }, em: Queryable = this.ds): Promise<TokenPair> {
    const refresh = newSecret(REFRESH_PREFIX);
    await em.query(`INSERT INTO refresh_tokens (user_id, token_hash, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`, [
      claims.userId,
      refresh.hash,
      this.config.AUTH_REFRESH_TOKEN_TTL_SECONDS,
    ]);
    return {
      accessToken: await this.access.issue(claims),
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
    expiresAt: (r.expires_at as Date) ?? null,
    lastUsedAt: (r.last_used_at as Date) ?? null,
    revokedAt: (r.revoked_at as Date) ?? null,
  };
}
