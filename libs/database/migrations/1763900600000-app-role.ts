import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A least-privilege group role for the running service. Deployments run migrations as the
 * schema owner and the API/worker as a login role that is a member of `dems_app`
 * (`GRANT dems_app TO <api login role>`): it may read and write ordinary tables but only INSERT
 * into the append-only ones (custody events, ledger nodes and checkpoints, fixity results), and,
 * not being the owner, cannot disable the triggers that guard them. New tables get the ordinary
 * grants by default; a migration that adds an append-only table must revoke UPDATE and DELETE.
 */
export class AppRole1763900600000 implements MigrationInterface {
  name = 'AppRole1763900600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dems_app') THEN
          CREATE ROLE dems_app NOLOGIN;
        END IF;
      EXCEPTION
        -- Another database's migration created it at the same moment.
        WHEN duplicate_object OR unique_violation THEN NULL;
        -- Fail, so the migration is not recorded as applied without the role and its grants.
        WHEN insufficient_privilege THEN
          RAISE EXCEPTION 'cannot create role dems_app: the migrating role lacks CREATEROLE'
            USING ERRCODE = 'insufficient_privilege', HINT = 'an administrator runs CREATE ROLE dems_app NOLOGIN once, then migrate again';
      END $$`);
    await q.query(`GRANT USAGE ON SCHEMA public TO dems_app`);
    await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO dems_app`);
    await q.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO dems_app`);
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON custody_events, ledger_nodes, ledger_checkpoints, fixity_results FROM dems_app`);
    await q.query(`REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM dems_app`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO dems_app`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO dems_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM dems_app`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM dems_app`);
    await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM dems_app`);
    await q.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM dems_app`);
    await q.query(`REVOKE USAGE ON SCHEMA public FROM dems_app`);
  }
}
