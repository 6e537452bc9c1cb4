import { emptyRoot, leafHash, nodeHash, openCheckpoint, type VerifierKey } from '../ledger/index.js';
import { chainHash, chainName, GENESIS_HASH } from '../ledger/index.js';
import { rows, type Queryable } from '../database/sql.js';
import { columnsDisagree, LEDGER_ROW_COLUMNS, storedLedgerEvent } from './ledger-append.js';

export interface LedgerProblem {
  leafIndex?: number;
  seq?: string;
  eventId?: string;
  checkpointSize?: number;
  reason: string;
}

export interface LedgerVerification {
  ok: boolean;
  events: number;
  checkpointsChecked: number;
  root: string;
  problem?: LedgerProblem;
  eventsPerSecond: number;
}

/**
 * Recomputes the whole ledger from the rows a court would rely on: every event's hashed bytes
 * (as stored, and against the typed columns the service shows), its case chain link and hash,
 * its Merkle leaf (also against the stored node), and the
 * root at every signed checkpoint. Memory stays O(log n) (a compact range of perfect subtrees),
 * whatever the number of events. Stops at the first problem and names it.
 */
export async function verifyLedger(
  q: Queryable,
  verifier: VerifierKey | string,
  options: { batch?: number; checkpointText?: (size: number, key: string | null) => Promise<string | undefined> } = {},
): Promise<LedgerVerification> {
  const t0 = performance.now();
  const checkpoints = await rows<{ tree_size: string; root_hash: Buffer; note: string; object_key: string | null }>(
    q,
    `SELECT tree_size, root_hash, note, object_key FROM ledger_checkpoints ORDER BY tree_size`,
  );
  const heads = new Map<string, Buffer>();
  const frontier: { level: number; hash: Buffer }[] = [];
  let next = 0;
  let checkpointIdx = 0;
  let checked = 0;
  const batch = options.batch ?? 5000;
  const fail = (problem: LedgerProblem): LedgerVerification => ({
    ok: false,
    events: next,
    checkpointsChecked: checked,
    root: rootOf(frontier).toString('hex'),
    problem,
    eventsPerSecond: next / ((performance.now() - t0) / 1000),
  });

  const checkCheckpoint = async (size: number): Promise<LedgerProblem | undefined> => {
    while (checkpointIdx < checkpoints.length && Number(checkpoints[checkpointIdx].tree_size) === size) {
      const cp = checkpoints[checkpointIdx++];
      let opened;
      try {
        opened = openCheckpoint(cp.note, verifier);
      } catch (e) {
        return { checkpointSize: size, reason: `checkpoint at size ${size} does not verify with the ledger key (${(e as Error).message})` };
      }
      const root = rootOf(frontier);
      if (opened.size !== size || !opened.rootHash.equals(cp.root_hash)) return { checkpointSize: size, reason: `checkpoint row at size ${size} differs from its signed note` };
      if (!root.equals(opened.rootHash)) {
        return { checkpointSize: size, reason: `the events do not match the checkpoint signed at size ${size} (root ${root.toString('hex')} ≠ ${opened.rootHash.toString('hex')}): history was changed or forked` };
      }
      if (options.checkpointText) {
        const published = await options.checkpointText(size, cp.object_key);
        if (published === undefined) return { checkpointSize: size, reason: `the published copy of the checkpoint at size ${size} is missing from storage` };
        if (published !== cp.note) return { checkpointSize: size, reason: `the published copy of the checkpoint at size ${size} differs from the database` };
      }
      checked++;
    }
    return undefined;
  };

  const before = await checkCheckpoint(0);
  if (before) return fail(before);
  for (;;) {
    const found = await rows(
      q,
      `SELECT ${LEDGER_ROW_COLUMNS.split(',').map((c) => `e.${c.trim()}`).join(', ')}, n.hash AS stored_leaf
         FROM custody_events e LEFT JOIN ledger_nodes n ON n.level = 0 AND n.idx = e.leaf_index
        WHERE e.leaf_index >= $1 ORDER BY e.leaf_index LIMIT $2`,
      [next, batch],
    );
    if (!found.length) break;
    for (const r of found) {
      const where = { leafIndex: Number(r.leaf_index), seq: String(r.seq), eventId: String(r.id) };
      if (Number(r.leaf_index) !== next) return fail({ ...where, reason: `leaf index ${r.leaf_index} where ${next} was expected: events are missing` });
      // The chain is the case the database files the event under; the hashed bytes must say the same.
      const chain = chainName((r.case_id as string) ?? null);
      const expectedPrev = heads.get(chain) ?? GENESIS_HASH;
      if (!(r.prev_hash as Buffer).equals(expectedPrev)) return fail({ ...where, reason: `broken chain: prev_hash does not match the previous event of ${chain}` });
      if (!r.canonical) return fail({ ...where, reason: 'the bytes that were hashed are missing from the event' });
      const { event, canonical } = storedLedgerEvent(r);
      const hash = chainHash(expectedPrev, canonical);
      if (!hash.equals(r.hash as Buffer)) return fail({ ...where, reason: 'the event differs from what was recorded: its hash does not match its contents' });
      if (event.leafIndex !== next || event.prevHash !== expectedPrev.toString('hex')) {
        return fail({ ...where, reason: 'the hashed record names another position in the log than the one it is stored at' });
      }
      const disagreement = columnsDisagree(r, canonical);
      if (disagreement) return fail({ ...where, reason: `the event was changed: ${disagreement}` });
      const leaf = leafHash(canonical);
      if (!r.stored_leaf || !(r.stored_leaf as Buffer).equals(leaf)) return fail({ ...where, reason: 'the stored Merkle leaf does not match the event' });
      heads.set(chain, hash);
      push(frontier, leaf);
      next++;
      const problem = await checkCheckpoint(next);
      if (problem) return fail(problem);
    }
  }
  if (checkpointIdx < checkpoints.length) {
    const size = Number(checkpoints[checkpointIdx].tree_size);
    return fail({ checkpointSize: size, reason: `a checkpoint was signed at size ${size} but only ${next} events exist: events were deleted` });
  }
  return { ok: true, events: next, checkpointsChecked: checked, root: rootOf(frontier).toString('hex'), eventsPerSecond: next / ((performance.now() - t0) / 1000) };
}

/** Adds a leaf to a compact range: merge equal-height perfect subtrees from the right. */
function push(frontier: { level: number; hash: Buffer }[], leaf: Buffer): void {
  let node = { level: 0, hash: leaf };
  while (frontier.length && frontier[frontier.length - 1].level === node.level) {
    const left = frontier.pop()!;
    node = { level: node.level + 1, hash: nodeHash(left.hash, node.hash) };
  }
  frontier.push(node);
}

/** RFC 9162 root of the leaves so far: fold the perfect subtrees from the right. */
function rootOf(frontier: { level: number; hash: Buffer }[]): Buffer {
  if (!frontier.length) return emptyRoot();
  let acc = frontier[frontier.length - 1].hash;
  for (let i = frontier.length - 2; i >= 0; i--) acc = nodeHash(frontier[i].hash, acc);
  return acc;
}
