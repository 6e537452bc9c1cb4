import { checkWitnesses, emptyRoot, formatKeyId, leafHash, nodeHash, openCheckpoint, parseVerifierKey, withSignatureLines, type VerifierKey, type WitnessKey } from '../ledger/index.js';
import { chainHash, chainName, GENESIS_HASH } from '../ledger/index.js';
import { one, rows, type Queryable } from '../database/sql.js';
import { columnsDisagree, LEDGER_ROW_COLUMNS, storedLedgerEvent } from './ledger-append.js';
import type { PublishedCheckpoint, PublishedCheckpoints } from './published-checkpoints.js';

export interface LedgerProblem {
  leafIndex?: number;
  seq?: string;
  eventId?: string;
  checkpointSize?: number;
  /** The published checkpoint object in storage the problem is about. */
  objectKey?: string;
  reason: string;
  /** Everything matched, but no checkpoint has the cosignatures required. */
  unwitnessed?: boolean;
}

export interface LedgerVerification {
  ok: boolean;
  events: number;
  /** Checkpoint rows of the database that matched the events (and their published copy). */
  checkpointsChecked: number;
  /** Checkpoints published in storage that matched the events (when storage was given). */
  publishedChecked?: number;
  /** Where published checkpoints were listed. */
  publishedLocation?: string;
  root: string;
  problem?: LedgerProblem;
  eventsPerSecond: number;
  /** With witnesses required: the largest checkpoint at least that many of them cosigned. */
  witnessed?: WitnessedCheckpoint;
}

export interface WitnessedCheckpoint {
  required: number;
  /** Tree size of the largest checkpoint cosigned by enough of the given witnesses; null when none is. */
  size: number | null;
  /** The given witnesses that cosigned it (or, when none has enough, the most cosigned one). */
  witnesses: string[];
  /** Events after it: checked against the log's own checkpoints, not yet vouched for by witnesses. */
  eventsAfter: number;
  /** When no checkpoint has enough: the one with the most cosignatures by the given witnesses. */
  best?: { size: number; witnesses: string[] };
}

/** Verification may require k of the given witnesses to have cosigned a checkpoint (C2SP tlog-cosignature). */
export interface WitnessRequirement {
  keys: readonly WitnessKey[];
  required: number;
}

interface CheckpointRow {
  tree_size: string;
  root_hash: Buffer;
  note: string;
  object_key: string | null;
}

const CHECKPOINT_COLUMNS = 'tree_size, root_hash, note, object_key';
// A publish writes storage first and its row a moment later; an object met in that moment waits this long for its row.
const LATE_ROW_WAIT_MS = 1000;

/**
 * Recomputes the whole ledger from the rows a court would rely on: every event's hashed bytes
 * (as stored, and against the typed columns the service shows), its case chain link and hash,
 * its Merkle leaf (also against the stored node), and the root at every signed checkpoint, both
 * the database's rows and, given `published`, every checkpoint published in object storage.
 * Storage is what a database superuser cannot rewrite: a checkpoint there beyond the events,
 * or with a root the events do not reproduce, shows deleted or rewritten history even when
 * the checkpoint rows went with it. Only the public verifier key is needed.
 *
 * One pass in leaf order; checkpoints (rows and objects, both read page by page in tree-size
 * order) are checked as the pass reaches their size. Memory stays O(log n) for the events (a
 * compact range of perfect subtrees) plus a page of checkpoints. Stops at the first problem and
 * names it.
 */
export async function verifyLedger(
  q: Queryable,
  verifier: VerifierKey | string,
  options: { batch?: number; published?: PublishedCheckpoints; witnesses?: WitnessRequirement } = {},
): Promise<LedgerVerification> {
  const t0 = performance.now();
  const key = typeof verifier === 'string' ? parseVerifierKey(verifier) : verifier;
  const published = options.published;
  const witnesses = options.witnesses;
  if (witnesses && (!Number.isSafeInteger(witnesses.required) || witnesses.required < 1 || witnesses.required > witnesses.keys.length)) {
    throw new RangeError(`witnesses required must be between 1 and the ${witnesses.keys.length} witness key(s) given, not ${witnesses.required}`);
  }
  // The largest checkpoint with enough cosignatures, and the most cosigned one (for the message when none has enough).
  let witnessedAt: { size: number; witnesses: string[] } | undefined;
  let mostCosigned: { size: number; witnesses: string[] } | undefined;
  const dbCheckpoints = new Lookahead(checkpointRows(q));
  const stored = published ? new Lookahead(published.list()[Symbol.asyncIterator]()) : undefined;
  const heads = new Map<string, Buffer>();
  const frontier: { level: number; hash: Buffer }[] = [];
  let next = 0;
  let checked = 0;
  let publishedChecked = 0;
  // The smallest tree size with a checkpoint still to check: the event loop compares a number, and awaits only there.
  let pendingSize = 0;
  const batch = options.batch ?? 5000;
  const summary = () => ({
    events: next,
    checkpointsChecked: checked,
    ...(published ? { publishedChecked, publishedLocation: published.location } : {}),
    root: rootOf(frontier).toString('hex'),
    eventsPerSecond: next / ((performance.now() - t0) / 1000),
    ...(witnesses
      ? {
          witnessed: {
            required: witnesses.required,
            size: witnessedAt?.size ?? null,
            witnesses: witnessedAt?.witnesses ?? [],
            eventsAfter: next - (witnessedAt?.size ?? 0),
            ...(!witnessedAt && mostCosigned ? { best: mostCosigned } : {}),
          },
        }
      : {}),
  });
  const fail = (problem: LedgerProblem): LedgerVerification => ({ ok: false, ...summary(), problem });
  const open = (note: string) => openCheckpoint(note, key, { origin: key.name });

  /** A published object, on its own: it verifies with the key and says what its name says. */
  const openPublished = (o: PublishedCheckpoint): { problem?: LedgerProblem; opened?: ReturnType<typeof open> } => {
    const at = { checkpointSize: o.size, objectKey: o.key };
    if (o.root === undefined) return { problem: { objectKey: o.key, reason: `${o.key} in the checkpoint folder is not named as a checkpoint (<size>-<root>.note): the service never wrote it` } };
    if (o.text === undefined) {
      return { problem: { ...at, reason: o.bytes > 64 * 1024 ? `${o.key} is ${o.bytes} bytes, too large to be a checkpoint` : `${o.key} was listed in storage but could not be read back` } };
    }
    let opened;
    try {
      opened = open(o.text);
    } catch (e) {
      return { problem: { ...at, reason: `the checkpoint published in storage at ${o.key} does not verify with the ledger key (${(e as Error).message})` } };
    }
    if (opened.size !== o.size || opened.rootHash.toString('hex') !== o.root) {
      return { problem: { ...at, reason: `the checkpoint published at ${o.key} is signed for size ${opened.size} and root ${opened.rootHash.toString('hex')}, not what its name says` } };
    }
    return { opened };
  };

  const checkRow = async (size: number, cp: CheckpointRow, objects: PublishedCheckpoint[], root: Buffer): Promise<LedgerProblem | undefined> => {
    const at = { checkpointSize: size };
    let opened;
    try {
      opened = open(cp.note);
    } catch (e) {
      return { ...at, reason: `checkpoint at size ${size} does not verify with the ledger key (${(e as Error).message})` };
    }
    if (opened.size !== size || !opened.rootHash.equals(cp.root_hash)) return { ...at, reason: `checkpoint row at size ${size} differs from its signed note` };
    if (!root.equals(opened.rootHash)) {
      return { ...at, reason: `the events do not match the checkpoint signed at size ${size} (root ${root.toString('hex')} ≠ ${opened.rootHash.toString('hex')}): history was changed or forked` };
    }
    if (published) {
      const objectKey = cp.object_key ?? undefined;
      // Read directly when the listing did not show it: it may have been published after that page was listed.
      const listed = objects.find((o) => o.key === objectKey);
      const text = listed ? listed.text : objectKey ? await published.read(objectKey) : undefined;
      if (text === undefined) return { ...at, objectKey, reason: `the published copy of the checkpoint at size ${size} is missing from storage${objectKey ? ` (${objectKey})` : ''}` };
      if (text !== cp.note) return { ...at, objectKey, reason: `the published copy of the checkpoint at size ${size} differs from the database (${objectKey})` };
    }
    checked++;
    return witnesses ? checkCosignatures(size, cp) : undefined;
  };

  /** The witnesses' cosignatures stored with a checkpoint that matched the events: each by a given witness must verify. */
  const checkCosignatures = async (size: number, cp: CheckpointRow): Promise<LedgerProblem | undefined> => {
    const lines = await rows<{ line: string }>(q, `SELECT line FROM ledger_cosignatures WHERE tree_size = $1 ORDER BY received_at`, [size]);
    if (!lines.length) return undefined;
    let check;
    try {
      check = checkWitnesses(withSignatureLines(cp.note, lines.map((l) => l.line)), witnesses!.keys, witnesses!.required);
    } catch (e) {
      return { checkpointSize: size, reason: `a witness cosignature stored with the checkpoint at size ${size} does not verify with that witness's key (${(e as Error).message}): it was altered` };
    }
    const names = check.cosigned.map((c) => `${c.witness}+${formatKeyId(c.keyId)}`);
    if (check.ok) witnessedAt = { size, witnesses: names };
    if (names.length && names.length >= (mostCosigned?.witnesses.length ?? 0)) mostCosigned = { size, witnesses: names };
    return undefined;
  };

  /** Checks every row and object at the size the pass has reached (`next`), then finds the next size to stop at. */
  const checkCheckpoints = async (): Promise<LedgerProblem | undefined> => {
    const root = rootOf(frontier);
    for (;;) {
      const row = await dbCheckpoints.peek();
      const object = stored ? await stored.peek() : undefined;
      const size = Math.min(row ? Number(row.tree_size) : Infinity, object ? object.size : Infinity);
      if (size > next) {
        pendingSize = size;
        return undefined;
      }
      const objects: PublishedCheckpoint[] = [];
      while (stored && (await stored.peek())?.size === size) objects.push((await stored.take())!);
      for (const o of objects) {
        const { problem, opened } = openPublished(o);
        if (problem) return problem;
        if (!root.equals(opened!.rootHash)) {
          return {
            checkpointSize: size,
            objectKey: o.key,
            reason: `the events do not match the checkpoint published in storage at size ${size} (${o.key}; root ${root.toString('hex')} ≠ ${o.root}): history was changed or forked`,
          };
        }
        publishedChecked++;
      }
      let cp = row && Number(row.tree_size) === size ? (await dbCheckpoints.take())! : undefined;
      if (!cp && objects.length) cp = await lateRow(q, size);
      if (cp) {
        const problem = await checkRow(size, cp, objects, root);
        if (problem) return problem;
      }
      const orphan = objects.find((o) => o.key !== cp?.object_key);
      if (orphan) {
        return {
          checkpointSize: size,
          objectKey: orphan.key,
          reason: cp
            ? `the checkpoint published in storage at ${orphan.key} is not the one the database row at size ${size} names (${cp.object_key})`
            : `the checkpoint published in storage at size ${size} (${orphan.key}) has no row in ledger_checkpoints: checkpoint rows were deleted (or a publish stopped between storage and database)`,
        };
      }
    }
  };

  const before = await checkCheckpoints();
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
      if (next >= pendingSize) {
        const problem = await checkCheckpoints();
        if (problem) return fail(problem);
      }
    }
  }
  // No more events. A checkpoint still pending was signed over more events than exist. (Not a
  // publish racing this pass: a checkpoint is signed over events already committed, and it was
  // seen, row or object, before the last query for events found none.)
  const row = await dbCheckpoints.peek();
  const object = stored ? await stored.peek() : undefined;
  if (object && (!row || object.size <= Number(row.tree_size))) {
    const { problem, opened } = openPublished(object);
    if (problem) return fail(problem);
    return fail({
      checkpointSize: opened!.size,
      objectKey: object.key,
      reason: `the checkpoint published in storage at size ${opened!.size} (${object.key}) covers ${opened!.size} events but the database holds only ${next}: events were deleted`,
    });
  }
  if (row) {
    const size = Number(row.tree_size);
    return fail({ checkpointSize: size, reason: `a checkpoint was signed at size ${size} but only ${next} events exist: events were deleted` });
  }
  if (witnesses && !witnessedAt) {
    const k = witnesses.required;
    const given = `${witnesses.keys.length} witness${witnesses.keys.length === 1 ? '' : 'es'} given`;
    return fail({
      unwitnessed: true,
      ...(mostCosigned ? { checkpointSize: mostCosigned.size } : {}),
      reason: mostCosigned
        ? `no checkpoint is cosigned by ${k} of the ${given}: the most cosigned, at size ${mostCosigned.size}, has ${mostCosigned.witnesses.length} (${mostCosigned.witnesses.join(', ')})`
        : `no checkpoint is cosigned by any of the ${given} (${k} required)`,
    });
  }
  return { ok: true, ...summary() };
}

/** The database's checkpoint rows in tree-size order, a page at a time. */
async function* checkpointRows(q: Queryable, page = 1000): AsyncGenerator<CheckpointRow> {
  let after = -1;
  for (;;) {
    const found = await rows<CheckpointRow>(q, `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE tree_size > $1 ORDER BY tree_size LIMIT $2`, [after, page]);
    yield* found;
    if (found.length < page) return;
    after = Number(found[found.length - 1].tree_size);
  }
}

/** The row of a checkpoint found in storage, read again (once more after a moment) in case its publish was finishing. */
async function lateRow(q: Queryable, size: number): Promise<CheckpointRow | undefined> {
  const read = () => one<CheckpointRow>(q, `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE tree_size = $1`, [size]);
  const now = await read();
  if (now) return now;
  await new Promise((resolve) => setTimeout(resolve, LATE_ROW_WAIT_MS));
  return read();
}

/** An async iterator that can show its next item without taking it. */
class Lookahead<T> {
  private head?: Promise<IteratorResult<T>>;

  constructor(private readonly it: AsyncIterator<T>) {}

  async peek(): Promise<T | undefined> {
    this.head ??= this.it.next();
    const r = await this.head;
    return r.done ? undefined : r.value;
  }

  async take(): Promise<T | undefined> {
    const value = await this.peek();
    if (value !== undefined) this.head = undefined;
    return value;
  }
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
