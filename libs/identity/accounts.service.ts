import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, isUuid } from '../core/index.js';
import { one } from '../database/sql.js';
import { recordCustodyEvent } from '../custody/index.js';
import { AuthService } from './auth.service.js';
import type { Principal, RequestContext } from './principal.js';
import { UsersService, type User } from './users.service.js';

/**
 * What administrators do to accounts: deactivate (access ends at once), reactivate, unlock after
 * failed sign-ins, end every session. Each is recorded as a custody event, so an auditor can see
 * who changed whose access and when.
 */
@Injectable()
export class AccountsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(UsersService) private readonly users: UsersService,
  ) {}

  async deactivate(admin: Principal, userId: string, ctx: RequestContext): Promise<User> {
    if (userId === admin.userId) throw new AppError('CANNOT_DEACTIVATE_SELF', 'Administrators cannot deactivate their own account', 409);
    return this.change(admin, userId, ctx, 'account.deactivated', async (tx) => {
      await tx.query(`UPDATE users SET is_active = false, updated_at = now() WHERE id = $1`, [userId]);
      return this.auth.endAllSessions(userId, 'account_deactivated', { revokeApiTokens: true }, tx);
    });
  }

  async activate(admin: Principal, userId: string, ctx: RequestContext): Promise<User> {
    return this.change(admin, userId, ctx, 'account.activated', async (tx) => {
      await tx.query(`UPDATE users SET is_active = true, failed_logins = 0, locked_until = NULL, updated_at = now() WHERE id = $1`, [userId]);
      return {};
    });
  }

  async unlock(admin: Principal, userId: string, ctx: RequestContext): Promise<User> {
    return this.change(admin, userId, ctx, 'account.unlocked', async (tx) => {
      const before = await one<{ failed_logins: number; locked_until: Date | null }>(tx, `SELECT failed_logins, locked_until FROM users WHERE id = $1`, [userId]);
      await tx.query(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, [userId]);
      return { failedSignIns: before?.failed_logins ?? 0, wasLockedUntil: before?.locked_until ?? null };
    });
  }

  async endSessions(admin: Principal, userId: string, revokeApiTokens: boolean, ctx: RequestContext): Promise<{ sessions: number; apiTokens: number }> {
    let ended = { sessions: 0, apiTokens: 0 };
    await this.change(admin, userId, ctx, 'account.sessions_ended', async (tx) => {
      ended = await this.auth.endAllSessions(userId, 'ended_by_administrator', { revokeApiTokens }, tx);
      return ended;
    });
    return ended;
  }

  private async change(
    admin: Principal,
    userId: string,
    ctx: RequestContext,
    type: string,
    apply: (tx: import('typeorm').EntityManager) => Promise<Record<string, unknown>>,
  ): Promise<User> {
    if (!isUuid(userId)) throw new AppError('USER_NOT_FOUND', 'No such user', 404);
    await this.ds.transaction(async (tx) => {
      const exists = await one<{ id: string }>(tx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, [userId]);
      if (!exists) throw new AppError('USER_NOT_FOUND', 'No such user', 404);
      const details = await apply(tx);
      await recordCustodyEvent(tx, { type, operation: 'alteration', actor: admin, object: { type: 'user', id: userId }, context: ctx, details });
    });
    return this.users.get(userId);
  }
}
