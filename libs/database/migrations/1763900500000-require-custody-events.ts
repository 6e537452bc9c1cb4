import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * No change without its custody event, enforced by the database: a transaction that inserts,
 * updates or deletes cases, exhibits or case memberships cannot commit unless it also recorded
 * a custody event (recordCustodyEvent sets a transaction-local flag next to the ledger lock; a
 * deferred constraint trigger checks it at commit).
 */
export class RequireCustodyEvents1763900500000 implements MigrationInterface {
  name = 'RequireCustodyEvents1763900500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION require_custody_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF current_setting('dems.custody_event_recorded', true) IS DISTINCT FROM 'on' THEN
          RAISE EXCEPTION '% on % without a custody event in the same transaction', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
      END $$`);
    for (const t of ['cases', 'exhibits', 'case_members']) {
      await q.query(`
        CREATE CONSTRAINT TRIGGER ${t}_require_custody_event AFTER INSERT OR UPDATE OR DELETE ON ${t}
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION require_custody_event()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['cases', 'exhibits', 'case_members']) await q.query(`DROP TRIGGER ${t}_require_custody_event ON ${t}`);
    await q.query(`DROP FUNCTION require_custody_event`);
  }
}
