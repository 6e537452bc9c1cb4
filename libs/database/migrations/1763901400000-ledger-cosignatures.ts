import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Witness cosignatures of checkpoints (C2SP tlog-cosignature): one signature line per witness
 * and checkpoint, kept as received and append-only like the checkpoints themselves. Each is
 * verified against a configured witness key before it is stored, and is self-authenticating
 * afterwards: anyone can check the line against the checkpoint's note and the witness's key.
 */
export class LedgerCosignatures1763901400000 implements MigrationInterface {
  name = 'LedgerCosignatures1763901400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ledger_cosignatures (
        tree_size    bigint NOT NULL REFERENCES ledger_checkpoints (tree_size),
        witness_key  text NOT NULL,
        witness_name text NOT NULL,
        cosigned_at  timestamptz NOT NULL,
        line         text NOT NULL CHECK (line LIKE '— % %' AND position(E'\\n' IN line) = 0),
        received_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tree_size, witness_key)
      )`);
    await q.query(`CREATE TRIGGER ledger_cosignatures_no_update_delete BEFORE UPDATE OR DELETE ON ledger_cosignatures FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
    await q.query(`CREATE TRIGGER ledger_cosignatures_no_truncate BEFORE TRUNCATE ON ledger_cosignatures FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`);
    // Append-only for the application too (see the app-role migration: new tables get ordinary grants by default).
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ledger_cosignatures FROM PUBLIC`);
    if ((await q.query(`SELECT 1 FROM pg_roles WHERE rolname = 'dems_app'`)).length) {
      await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ledger_cosignatures FROM dems_app`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ledger_cosignatures`);
  }
}
