import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateUsers1763900000000 implements MigrationInterface {
  name = 'CreateUsers1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        username      text NOT NULL,
        display_name  text NOT NULL,
        password_hash text,
        role          text NOT NULL CHECK (role IN ('investigator', 'forensic_analyst', 'disclosure_officer',
                        'supervisor', 'cps_prosecutor', 'auditor', 'administrator')),
        is_active     boolean NOT NULL DEFAULT true,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_username_format CHECK (username ~ '^[a-z][a-z0-9._-]{2,63}$')
      )`);
    await q.query(`CREATE UNIQUE INDEX users_username_key ON users (username)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE users`);
  }
}
