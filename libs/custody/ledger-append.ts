import { randomUUID } from 'node:crypto';
import { AppError } from '../core/index.js';
import { one, rows, type Queryable } from '../database/sql.js';
import { appendSiblings, chainHash, chainName, encodeLedgerEvent, GENESIS_HASH, leafHash, nodesCompletedByAppend, type JsonValue, type LedgerEvent, type NodeReader } from '../ledger/index.js';

/**
 * Appending to the ledger is serialised by one transaction-scoped advisory lock: leaf indexes are
 * then gapless and in commit order, and each case's chain has one head. The lock is held until
 * the surrounding transaction commits, so events are recorded last in a transaction (measured
 * trade-off: simple and obviously correct; see npm run bench for the append rate it allows).
 */
export const LEDGER_LOCK_KEY = 0x6c656467; // "ledg"

export interface LedgerRowInput {
  caseId: string | null;
  type: string;
  operation: string;
  actorId: string | null;
  actorRole: string | null;
  object: LedgerEvent['object'];
  justification: LedgerEvent['justification'];
  recipient: string | null;
  outcome: string;
  clientAddress: string | null;
  requestId: string | null;
  details: JsonValue;
}

/**
 * Reads stored Merkle nodes. The proof code asks for several nodes at once; reads are queued one
 * after another because a transaction's connection runs one query at a time (pg deprecates
 * overlapping queries on one client).
 */
export function nodeReader(q: Queryable): NodeReader {
  let queue: Promise<unknown> = Promise.resolve();
  return (level, index) => {
    const read = queue.then(async () => {
      const row = await one<{ hash: Buffer }>(q, `SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2`, [level, index]);
      if (!row) throw new AppError('LEDGER_NODE_MISSING', `Ledger node (${level}, ${index}) is missing`, 500);
      return row.hash;
    });
    queue = read.catch(() => undefined);
    return read;
  };
}

/** Size of the log (number of leaves), read under the ledger lock. */
export async function ledgerSize(q: Queryable): Promise<number> {
  const tail = await one<{ leaf_index: string }>(q, `SELECT leaf_index FROM custody_events WHERE leaf_index IS NOT NULL ORDER BY leaf_index DESC LIMIT 1`);
  return tail ? Number(tail.leaf_index) + 1 : 0;
}

/**
 * Inserts one event with its chain hash and Merkle leaf, and the Merkle nodes it completes.
 * Round trips are kept to four (lock; tail and chain head; sibling nodes, only when the new leaf
 * is a right child; one INSERT of the event and its nodes), because the lock is held until commit
 * and every round trip inside it limits the append rate of the whole service.
 */
export async function appendLedgerEvent(tx: Queryable, input: LedgerRowInput, existing?: { id: string; occurredAt: string; seq?: string }): Promise<{ seq: string; id: string; leafIndex: number; hash: Buffer }> {
  await tx.query(`SELECT pg_advisory_xact_lock($1)`, [LEDGER_LOCK_KEY]);
  const head = await one<{ tail: string | null; prev: Buffer | null }>(
    tx,
    `SELECT (SELECT leaf_index FROM custody_events WHERE leaf_index IS NOT NULL ORDER BY leaf_index DESC LIMIT 1) AS tail,
            (SELECT hash FROM custody_events WHERE ${input.caseId ? 'case_id = $1' : 'case_id IS NULL'} AND leaf_index IS NOT NULL
              ORDER BY leaf_index DESC LIMIT 1) AS prev`,
    input.caseId ? [input.caseId] : [],
  );
  const size = head?.tail === null || head?.tail === undefined ? 0 : Number(head.tail) + 1;
  const prevHash = head?.prev ?? GENESIS_HASH;
  const id = existing?.id ?? randomUUID();
  const occurredAt = existing?.occurredAt ?? new Date().toISOString();
  const event: LedgerEvent = {
    v: 1,
    id,
    leafIndex: size,
    chain: chainName(input.caseId),
    prevHash: prevHash.toString('hex'),
    occurredAt,
    type: input.type,
    operation: input.operation,
    caseId: input.caseId,
    actor: input.actorId ? { id: input.actorId, role: input.actorRole } : null,
    object: input.object,
    justification: input.justification,
    recipient: input.recipient,
    outcome: input.outcome,
    clientAddress: input.clientAddress,
    requestId: input.requestId,
    details: input.details,
  };
  const canonical = encodeLedgerEvent(event);
  const hash = chainHash(prevHash, canonical);
  const nodes = await nodesCompletedByAppend(size, leafHash(canonical), await prefetchedSiblings(tx, size));
  const nodeArrays = [nodes.map((n) => n.level), nodes.map((n) => String(n.index)), nodes.map((n) => n.hash)];
  if (existing?.seq) {
    // Migration backfill of events recorded before the ledger existed (trigger disabled there);
    // their exact bytes are stored by the later migration that added the column.
    await tx.query(`UPDATE custody_events SET leaf_index = $2, prev_hash = $3, hash = $4 WHERE seq = $1`, [existing.seq, size, prevHash, hash]);
    await tx.query(`INSERT INTO ledger_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, nodeArrays);
    return { seq: existing.seq, id, leafIndex: size, hash };
  }
  const row = await one<{ seq: string }>(
    tx,
    `WITH nodes AS (INSERT INTO ledger_nodes (level, idx, hash) SELECT * FROM unnest($22::smallint[], $23::bigint[], $24::bytea[]))
     INSERT INTO custody_events (id, occurred_at, type, s62_operation, case_id, actor_id, actor_role, object_type, object_id, object_version,
        object_sha256, justification_code, justification_text, recipient, outcome, client_address, request_id, details, prev_hash, hash, leaf_index, canonical)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $25) RETURNING seq`,
    [id, occurredAt, input.type, input.operation, input.caseId, input.actorId, input.actorRole, input.object?.type ?? null, input.object?.id ?? null,
      input.object?.version ?? null, input.object?.sha256 ?? null, input.justification?.code ?? null, input.justification?.text ?? null,
      input.recipient, input.outcome, input.clientAddress, input.requestId, JSON.stringify(input.details), prevHash, hash, size, ...nodeArrays, canonical],
  );
  return { seq: row!.seq, id, leafIndex: size, hash };
}

/** Reads, in one query, the stored nodes an append at `size` combines with. */
async function prefetchedSiblings(tx: Queryable, size: number): Promise<NodeReader> {
  const ids = appendSiblings(size);
  const found = new Map<string, Buffer>();
  if (ids.length) {
    const got = await rows<{ level: number; idx: string; hash: Buffer }>(
      tx,
      `SELECT n.level, n.idx, n.hash FROM ledger_nodes n JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx`,
      [ids.map((i) => i.level), ids.map((i) => String(i.index))],
    );
    for (const g of got) found.set(`${g.level}/${g.idx}`, g.hash);
  }
  return async (level, index) => {
    const hash = found.get(`${level}/${index}`);
    if (!hash) throw new AppError('LEDGER_NODE_MISSING', `Ledger node (${level}, ${index}) is missing`, 500);
    return hash;
  };
}

/**
 * The event as it was hashed: the exact bytes stored with it (transparency logs keep leaf data
 * verbatim), so verification never depends on re-serialising typed columns.
 */
export function storedLedgerEvent(r: Record<string, unknown>): { event: LedgerEvent; canonical: Buffer } {
  const canonical = r.canonical as Buffer;
  return { event: JSON.parse(canonical.toString('utf8')) as LedgerEvent, canonical };
}

/**
 * Why an event's typed columns (what the API and the s.62 log show) say something other than
 * its hashed bytes, or undefined when they agree. Ids compare case-insensitively: events
 * recorded before ids were canonical at the boundary hashed an id in the case the client sent.
 */
export function columnsDisagree(r: Record<string, unknown>, canonical: Buffer): string | undefined {
  const fromColumns = encodeLedgerEvent(ledgerEventFromRow(r));
  if (fromColumns.equals(canonical)) return undefined;
  const fold = (b: Buffer) => b.toString('utf8').replace(/[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}/gi, (u) => u.toLowerCase());
  if (fold(fromColumns) === fold(canonical)) return undefined;
  const a = JSON.parse(fromColumns.toString('utf8')) as Record<string, unknown>;
  const b = JSON.parse(canonical.toString('utf8')) as Record<string, unknown>;
  const fields = Object.keys({ ...a, ...b }).filter((k) => fold(Buffer.from(JSON.stringify(a[k] ?? null))) !== fold(Buffer.from(JSON.stringify(b[k] ?? null))));
  return `its stored columns (${fields.join(', ')}) differ from the record that was hashed`;
}

/** Turns a row's typed columns into an event (the shape that was hashed), to compare with its stored bytes. */
export function ledgerEventFromRow(r: Record<string, unknown>): LedgerEvent {
  const objectType = (r.object_type as string) ?? null;
  return {
    v: 1,
    id: r.id as string,
    leafIndex: Number(r.leaf_index),
    chain: chainName((r.case_id as string) ?? null),
    prevHash: (r.prev_hash as Buffer).toString('hex'),
    occurredAt: (r.occurred_at as Date).toISOString(),
    type: r.type as string,
    operation: r.s62_operation as string,
    caseId: (r.case_id as string) ?? null,
    actor: r.actor_id ? { id: r.actor_id as string, role: (r.actor_role as string) ?? null } : null,
    object: objectType
      ? { type: objectType, id: r.object_id as string, version: r.object_version === null || r.object_version === undefined ? null : Number(r.object_version), sha256: (r.object_sha256 as string) ?? null }
      : null,
    justification: r.justification_code ? { code: r.justification_code as string, text: (r.justification_text as string) ?? '' } : null,
    recipient: (r.recipient as string) ?? null,
    outcome: r.outcome as string,
    clientAddress: (r.client_address as string) ?? null,
    requestId: (r.request_id as string) ?? null,
    details: (r.details as JsonValue) ?? {},
  };
}

/** An event's typed columns and chain fields (the ledger migration reads these, before `canonical` existed). */
const TYPED_COLUMNS = `seq, id, occurred_at, type, s62_operation, case_id, actor_id, actor_role, object_type, object_id, object_version,
  object_sha256, justification_code, justification_text, recipient, outcome, client_address, request_id, details, prev_hash, hash, leaf_index`;

/** Everything stored for an event, including the exact bytes that were hashed. */
export const LEDGER_ROW_COLUMNS = `${TYPED_COLUMNS}, canonical`;

export async function unchainedEvents(q: Queryable): Promise<Record<string, unknown>[]> {
  return rows(q, `SELECT ${TYPED_COLUMNS} FROM custody_events WHERE leaf_index IS NULL ORDER BY seq`);
}
