import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Least privilege that binds the running service (a login role in `dems_app`), not only its owner:
 * - "No change without its custody event" no longer trusts a transaction-local setting (any role
 *   may set one): at commit, a change to a case's rows needs a custody event of that case
 *   written by the same transaction. Each event row carries the id of the transaction that
 *   inserted it, stamped by a trigger, so no role can claim another transaction's event.
 * - A sealed file's case, exhibit, file name, declared type, declared hashes and seal facts are
 *   immutable for every role, like its bytes' hashes already were.
 * - stored_objects keeps the SHA-256 every fixity run compares with: its recorded facts cannot
 *   change for any role; the application may not delete rows and may update only the fixity
 *   columns (column-level grant).
 * Trigger functions pin their search_path (public, then pg_temp) so a temporary table of the
 * same name cannot stand in for custody_events.
 */
export class LeastPrivilege1763902300000 implements MigrationInterface {
  name = 'LeastPrivilege1763902300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dems_app') THEN
          RAISE EXCEPTION 'role dems_app does not exist: an administrator must create it (CREATE ROLE dems_app NOLOGIN) before migrating'
            USING ERRCODE = 'undefined_object';
        END IF;
      END $$`);

    await q.query(`ALTER TABLE custody_events ADD COLUMN txid bigint`);
    await q.query(`
      CREATE FUNCTION custody_events_stamp_txid() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
      BEGIN
        NEW.txid := txid_current();
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER custody_events_txid BEFORE INSERT ON custody_events FOR EACH ROW EXECUTE FUNCTION custody_events_stamp_txid()`);
    await q.query(`CREATE INDEX custody_events_txid_case ON custody_events (txid, case_id) WHERE txid IS NOT NULL`);
    // The case a guarded row belongs to: its own id for cases, its case_id elsewhere.
    await q.query(`
      CREATE OR REPLACE FUNCTION require_custody_event() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
      DECLARE
        case_of_row uuid := ((CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END)
                              ->> CASE WHEN TG_TABLE_NAME = 'cases' THEN 'id' ELSE 'case_id' END)::uuid;
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM public.custody_events WHERE txid = txid_current() AND case_id = case_of_row) THEN
          RAISE EXCEPTION '% on % without a custody event in the same transaction', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
      END $$`);

    await q.query(`
      CREATE OR REPLACE FUNCTION evidence_files_sealed_immutable() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'evidence files are never deleted (erasure is a recorded disposal)' USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.state = 'sealed' AND (NEW.id, NEW.case_id, NEW.exhibit_id, NEW.original_filename, NEW.declared_type, NEW.declared_empty,
               NEW.declared_hashes, NEW.sha256, NEW.sha1, NEW.md5, NEW.hashed_from, NEW.size, NEW.bucket, NEW.object_key, NEW.state,
               NEW.sealed_at, NEW.created_by, NEW.created_at)
             IS DISTINCT FROM (OLD.id, OLD.case_id, OLD.exhibit_id, OLD.original_filename, OLD.declared_type, OLD.declared_empty,
               OLD.declared_hashes, OLD.sha256, OLD.sha1, OLD.md5, OLD.hashed_from, OLD.size, OLD.bucket, OLD.object_key, OLD.state,
               OLD.sealed_at, OLD.created_by, OLD.created_at) THEN
          RAISE EXCEPTION 'evidence file % is sealed: its case, exhibit, name, declared and computed hashes and object cannot change', OLD.id
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);

    await q.query(`
      CREATE FUNCTION stored_objects_facts_immutable() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
      BEGIN
        IF (NEW.id, NEW.bucket, NEW.object_key, NEW.kind, NEW.case_id, NEW.size, NEW.sha256, NEW.created_at)
             IS DISTINCT FROM (OLD.id, OLD.bucket, OLD.object_key, OLD.kind, OLD.case_id, OLD.size, OLD.sha256, OLD.created_at) THEN
          RAISE EXCEPTION 'stored object % is recorded: its object, size and SHA-256 cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER stored_objects_guard BEFORE UPDATE ON stored_objects FOR EACH ROW EXECUTE FUNCTION stored_objects_facts_immutable()`);
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON stored_objects FROM dems_app`);
    await q.query(`GRANT UPDATE (last_fixity_at, last_outcome) ON stored_objects TO dems_app`);
    await q.query(`REVOKE DELETE, TRUNCATE ON evidence_files FROM dems_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`GRANT UPDATE, DELETE ON stored_objects, evidence_files TO dems_app`);
    await q.query(`DROP TRIGGER stored_objects_guard ON stored_objects`);
    await q.query(`DROP FUNCTION stored_objects_facts_immutable`);
    await q.query(`
      CREATE OR REPLACE FUNCTION evidence_files_sealed_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.state = 'sealed' AND (NEW.sha256, NEW.sha1, NEW.md5, NEW.size, NEW.bucket, NEW.object_key, NEW.state)
             IS DISTINCT FROM (OLD.sha256, OLD.sha1, OLD.md5, OLD.size, OLD.bucket, OLD.object_key, OLD.state) THEN
          RAISE EXCEPTION 'evidence file % is sealed: its object and hashes cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'evidence files are never deleted (erasure is a recorded disposal)' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION require_custody_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF current_setting('dems.custody_event_recorded', true) IS DISTINCT FROM 'on' THEN
          RAISE EXCEPTION '% on % without a custody event in the same transaction', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`DROP INDEX custody_events_txid_case`);
    await q.query(`DROP TRIGGER custody_events_txid ON custody_events`);
    await q.query(`DROP FUNCTION custody_events_stamp_txid`);
    await q.query(`ALTER TABLE custody_events DROP COLUMN txid`);
  }
}
