import pg from 'pg';
import type { DataSource } from 'typeorm';
import { AppError } from '../core/index.js';
import { one } from './sql.js';

/** The group role the migrations grant the running service's privileges to. */
export const APP_GROUP_ROLE = 'dems_app';

export type AppLoginOutcome = 'created' | 'granted' | 'ready' | 'is-owner';

/**
 * Makes DATABASE_URL's user the least-privileged login role the API and worker need: created as a
 * member of dems_app (with the URL's password) when it does not exist, made a member when it is
 * not one. Run as the owner after the migrations. A superuser is refused: it bypasses every
 * guard the migrations put on the tables. `is-owner` means DATABASE_URL connects as the owner
 * itself, which the service then runs as (development without a separate owner URL).
 */
export async function ensureAppLoginRole(owner: DataSource, appUrl: string): Promise<AppLoginOutcome> {
  const url = new URL(appUrl);
  const name = decodeURIComponent(url.username);
  const me = await one<{ name: string }>(owner, `SELECT current_user AS name`);
  if (!name || name === me?.name) return 'is-owner';
  let role = await one<{ super: boolean; member: boolean }>(owner, `SELECT rolsuper AS super, pg_has_role(oid, $2, 'MEMBER') AS member FROM pg_roles WHERE rolname = $1`, [name, APP_GROUP_ROLE]);
  if (role?.super) {
    throw new AppError('APP_ROLE_SUPERUSER', `DATABASE_URL connects as ${name}, a superuser, which bypasses the database's guards: use a plain login role (it is made a member of ${APP_GROUP_ROLE})`, 500);
  }
  if (!role) {
    const password = url.password ? ` PASSWORD ${pg.escapeLiteral(decodeURIComponent(url.password))}` : '';
    try {
      await owner.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN${password} IN ROLE ${APP_GROUP_ROLE}`);
      return 'created';
    } catch (e) {
      // Another migration (another database on this server) created it at the same moment.
      if (!['42710', '23505'].includes((e as { code?: string }).code ?? '')) throw e;
      role = { super: false, member: true };
    }
  }
  if (role.member) return 'ready';
  await owner.query(`GRANT ${APP_GROUP_ROLE} TO ${pg.escapeIdentifier(name)}`);
  return 'granted';
}

/**
 * Whether this connection's role is the least-privileged one the service should run as: a member
 * of dems_app that is neither a superuser nor the owner of the tables.
 */
export async function connectsWithLeastPrivilege(ds: DataSource): Promise<boolean> {
  const r = await one<{ ok: boolean }>(
    ds,
    `SELECT pg_has_role(current_user, $1, 'MEMBER') AND NOT r.rolsuper
            AND NOT EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND pg_has_role(current_user, t.tableowner, 'MEMBER')) AS ok
       FROM pg_roles r WHERE r.rolname = current_user`,
    [APP_GROUP_ROLE],
  );
  return r?.ok === true;
}
