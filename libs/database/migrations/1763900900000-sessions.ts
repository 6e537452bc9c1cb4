import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sign-in sessions that can be ended at once. Every access token names its session (`sid`) and
 * is accepted only while the session is open and the account active, so signing out, a reused
 * refresh token, deactivation or "end all sessions" stop access immediately rather than when the
 * access token expires. API tokens always expire and remember the interactive session that made
 * them. Refresh tokens issued before sessions existed belong to no session and are revoked (their
 * holders sign in again); API tokens without an expiry get the default of 90 days from now.
 */
export class Sessions1763900900000 implements MigrationInterface {
  name = 'Sessions1763900900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sessions (
        id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id    uuid NOT NULL REFERENCES users(id),
        method     text NOT NULL CHECK (method IN ('password', 'oidc')),
        client_address text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        ended_at   timestamptz,
        end_reason text CHECK (end_reason IN ('signed_out', 'refresh_token_reused', 'ended_by_user', 'ended_by_administrator', 'account_deactivated', 'password_changed', 'expired')),
        CHECK ((ended_at IS NULL) = (end_reason IS NULL))
      )`);
    await q.query(`CREATE INDEX sessions_user_open ON sessions (user_id) WHERE ended_at IS NULL`);
    await q.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL`);
    await q.query(`ALTER TABLE refresh_tokens ADD COLUMN session_id uuid REFERENCES sessions(id)`);
    await q.query(`CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`);
    await q.query(`UPDATE api_tokens SET expires_at = now() + interval '90 days' WHERE expires_at IS NULL`);
    await q.query(`ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL`);
    await q.query(`ALTER TABLE api_tokens ADD COLUMN session_id uuid REFERENCES sessions(id), ADD COLUMN revoke_reason text`);
    await q.query(`ALTER TABLE users ADD COLUMN password_changed_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP COLUMN password_changed_at`);
    await q.query(`ALTER TABLE api_tokens DROP COLUMN session_id, DROP COLUMN revoke_reason`);
    await q.query(`ALTER TABLE api_tokens ALTER COLUMN expires_at DROP NOT NULL`);
    await q.query(`ALTER TABLE refresh_tokens DROP COLUMN session_id`);
    await q.query(`DROP TABLE sessions`);
  }
}
