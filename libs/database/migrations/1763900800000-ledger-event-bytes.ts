import type { MigrationInterface, QueryRunner } from 'typeorm';
import { chainHash, encodeLedgerEvent, type JsonValue, type LedgerEvent } from '../../ledger/index.js';

/**
 * Each custody event keeps the exact bytes that were hashed (`canonical`), as transparency logs
 * keep leaf data verbatim: verification then never depends on re-serialising typed columns.
 *
 * Events already recorded get their bytes back from their columns. Before ids were canonical at
 * the API's boundary, a request naming a case or object in upper case hashed that spelling while
 * PostgreSQL stored the uuid in lower case; for those events the spelling that reproduces the
 * recorded hash is searched for (ids in upper case), so the bytes stored are provably the ones
 * that were hashed. An event whose bytes cannot be found keeps the encoding of its columns, and
 * verification reports it, as it did before.
 *
 * The row-to-event mapping is frozen here (encoding version 1), not imported from live code.
 */
export class LedgerEventBytes1763900800000 implements MigrationInterface {
  name = 'LedgerEventBytes1763900800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE custody_events ADD COLUMN canonical bytea`);
    const BATCH = 2000;
    let after = -1;
    let disabled = false;
    try {
      for (;;) {
        const found: Record<string, unknown>[] = await q.query(
          `SELECT seq, id, occurred_at, type, s62_operation, case_id, actor_id, actor_role, object_type, object_id, object_version, object_sha256,
                  justification_code, justification_text, recipient, outcome, client_address, request_id, details, prev_hash, hash, leaf_index
             FROM custody_events WHERE leaf_index > $1 ORDER BY leaf_index LIMIT $2`,
          [after, BATCH],
        );
        if (!found.length) break;
        if (!disabled) {
          await q.query(`ALTER TABLE custody_events DISABLE TRIGGER custody_events_no_update_delete`);
          disabled = true;
        }
        const seqs: string[] = [];
        const bytes: Buffer[] = [];
        for (const r of found) {
          seqs.push(String(r.seq));
          bytes.push(hashedBytes(r));
          after = Number(r.leaf_index);
        }
        await q.query(`UPDATE custody_events e SET canonical = b.bytes FROM unnest($1::bigint[], $2::bytea[]) AS b(seq, bytes) WHERE e.seq = b.seq`, [seqs, bytes]);
      }
    } finally {
      if (disabled) await q.query(`ALTER TABLE custody_events ENABLE TRIGGER custody_events_no_update_delete`);
    }
    await q.query(`ALTER TABLE custody_events ALTER COLUMN canonical SET NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE custody_events DROP COLUMN canonical`);
  }
}

/** The bytes whose chain hash is the recorded one, trying the id spellings the old bug produced. */
function hashedBytes(r: Record<string, unknown>): Buffer {
  const base = eventFromColumns(r);
  const prev = r.prev_hash as Buffer;
  const recorded = r.hash as Buffer;
  const upper = (s: string) => s.toUpperCase();
  const variants: ((e: LedgerEvent) => LedgerEvent)[] = [
    (e) => e,
    (e) => (e.caseId ? { ...e, caseId: upper(e.caseId), chain: `case:${upper(e.caseId)}` } : e),
    (e) => (e.object ? { ...e, object: { ...e.object, id: upper(e.object.id) } } : e),
    (e) => (e.caseId && e.object ? { ...e, caseId: upper(e.caseId), chain: `case:${upper(e.caseId)}`, object: { ...e.object, id: upper(e.object.id) } } : e),
  ];
  for (const variant of variants) {
    const bytes = encodeLedgerEvent(variant(base));
    if (chainHash(prev, bytes).equals(recorded)) return bytes;
  }
  return encodeLedgerEvent(base);
}

function eventFromColumns(r: Record<string, unknown>): LedgerEvent {
  const caseId = (r.case_id as string) ?? null;
  return {
    v: 1,
    id: r.id as string,
    leafIndex: Number(r.leaf_index),
    chain: caseId ? `case:${caseId}` : 'global',
    prevHash: (r.prev_hash as Buffer).toString('hex'),
    occurredAt: (r.occurred_at as Date).toISOString(),
    type: r.type as string,
    operation: r.s62_operation as string,
    caseId,
    actor: r.actor_id ? { id: r.actor_id as string, role: (r.actor_role as string) ?? null } : null,
    object: r.object_type
      ? {
          type: r.object_type as string,
          id: r.object_id as string,
          version: r.object_version === null || r.object_version === undefined ? null : Number(r.object_version),
          sha256: (r.object_sha256 as string) ?? null,
        }
      : null,
    justification: r.justification_code ? { code: r.justification_code as string, text: (r.justification_text as string) ?? '' } : null,
    recipient: (r.recipient as string) ?? null,
    outcome: r.outcome as string,
    clientAddress: (r.client_address as string) ?? null,
    requestId: (r.request_id as string) ?? null,
    details: (r.details as JsonValue) ?? {},
  };
}
