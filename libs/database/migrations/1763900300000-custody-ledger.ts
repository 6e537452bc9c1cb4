import type { MigrationInterface, QueryRunner } from 'typeorm';
import { appendLedgerEvent, ledgerEventFromRow, unchainedEvents } from '../../custody/ledger-append.js';

/**
 * The custody ledger: Merkle nodes (perfect subtrees, level 0 = leaves) and signed checkpoints,
 * both append-only like custody_events. Events recorded before the ledger existed are chained
 * and logged here, in their original order, with their original ids and times.
 */
export class CustodyLedger1763900300000 implements MigrationInterface {
  name = 'CustodyLedger1763900300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`CREATE TABLE ledger_nodes (level smallint NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL CHECK (length(hash) = 32), PRIMARY KEY (level, idx))`);
    await q.query(`
      CREATE TABLE ledger_checkpoints (
        tree_size  bigint PRIMARY KEY,
        root_hash  bytea NOT NULL CHECK (length(root_hash) = 32),
        note       text NOT NULL,
        object_key text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    for (const t of ['ledger_nodes', 'ledger_checkpoints']) {
      await q.query(`CREATE TRIGGER ${t}_no_update_delete BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
      await q.query(`CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`);
    }
    await q.query(`CREATE INDEX custody_events_chain ON custody_events (case_id, leaf_index)`);
    await q.query(`CREATE INDEX custody_events_global_chain ON custody_events (leaf_index) WHERE case_id IS NULL`);
    // The application may add events, never change them (the trigger refuses even the owner).
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON custody_events, ledger_nodes, ledger_checkpoints FROM PUBLIC`);

    const pending = await unchainedEvents(q);
    if (pending.length) {
      await q.query(`ALTER TABLE custody_events DISABLE TRIGGER custody_events_no_update_delete`);
      for (const row of pending) {
        const e = ledgerEventFromRow({ ...row, leaf_index: 0, prev_hash: Buffer.alloc(32) });
        await appendLedgerEvent(
          q,
          { caseId: e.caseId, type: e.type, operation: e.operation, actorId: e.actor?.id ?? null, actorRole: e.actor?.role ?? null, object: e.object,
            justification: e.justification, recipient: e.recipient, outcome: e.outcome, clientAddress: e.clientAddress, requestId: e.requestId, details: e.details },
          { id: e.id, occurredAt: e.occurredAt, seq: String(row.seq) },
        );
      }
      await q.query(`ALTER TABLE custody_events ENABLE TRIGGER custody_events_no_update_delete`);
    }
    await q.query(`ALTER TABLE custody_events ADD CONSTRAINT custody_events_ledgered CHECK (leaf_index IS NOT NULL AND hash IS NOT NULL AND prev_hash IS NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE custody_events DROP CONSTRAINT custody_events_ledgered`);
    await q.query(`DROP INDEX custody_events_global_chain`);
    await q.query(`DROP INDEX custody_events_chain`);
    await q.query(`DROP TABLE ledger_checkpoints`);
    await q.query(`DROP TABLE ledger_nodes`);
    await q.query(`DROP FUNCTION refuse_change`);
  }
}
