import { chainHash, chainName, encodeLedgerEvent, GENESIS_HASH, type LedgerEvent } from './custody-event-encoding.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { openCheckpoint, type VerifierKey } from './checkpoint.js';

/**
 * An exported case log (JSON Lines), checkable offline by anyone with the ledger's public key:
 *   line 1: {"format":"dems-case-log/1","caseId":…,"checkpoint":"<signed note>","verifierKey":…}
 *   then one line per event, in ledger order: {"event":{…},"hash":"<hex>","proof":["<hex>",…]}
 * Each event's chain link is recomputed from the case's first event, and its Merkle inclusion is
 * proved against the signed checkpoint's root.
 */
export const CASE_LOG_FORMAT = 'dems-case-log/1';

export interface CaseLogHeader {
  format: typeof CASE_LOG_FORMAT;
  caseId: string;
  checkpoint: string;
  verifierKey: string;
  exportedAt: string;
}

export interface CaseLogLine {
  event: LedgerEvent;
  hash: string;
  proof: string[];
}

export interface CaseLogCheck {
  ok: boolean;
  events: number;
  treeSize?: number;
  /** 1-based line number of the first problem. */
  line?: number;
  reason?: string;
}

/** Checks an exported case log against a checkpoint signed by `trustedKey` (never the file's own key). */
export function verifyCaseLog(text: string, trustedKey: VerifierKey | string): CaseLogCheck {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const bad = (line: number, reason: string, events = 0): CaseLogCheck => ({ ok: false, events, line, reason });
  if (!lines.length) return bad(1, 'the file is empty');
  let header: CaseLogHeader;
  try {
    header = JSON.parse(lines[0]);
  } catch {
    return bad(1, 'the first line is not JSON');
  }
  if (header.format !== CASE_LOG_FORMAT) return bad(1, `unknown format ${String(header.format)}; expected ${CASE_LOG_FORMAT}`);
  let checkpoint;
  try {
    checkpoint = openCheckpoint(header.checkpoint, trustedKey);
  } catch (e) {
    return bad(1, `the checkpoint does not verify with the trusted key (${(e as Error).message})`);
  }
  let prev: Buffer = GENESIS_HASH;
  let lastLeaf = -1;
  for (let i = 1; i < lines.length; i++) {
    const n = i + 1;
    let entry: CaseLogLine;
    try {
      entry = JSON.parse(lines[i]);
    } catch {
      return bad(n, 'not JSON', i - 1);
    }
    const e = entry.event;
    // Ids compare case-insensitively: events recorded before ids were canonical at the API's boundary may spell the case in upper case.
    const sameCase = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
    if (!e || !sameCase(e.caseId, header.caseId) || !sameCase(e.chain, chainName(header.caseId))) return bad(n, 'the event does not belong to this case', i - 1);
    if (e.leafIndex <= lastLeaf) return bad(n, 'events are out of ledger order', i - 1);
    if (e.prevHash !== prev.toString('hex')) return bad(n, 'broken chain: an event before this one is missing or was changed', i - 1);
    let canonical: Buffer;
    try {
      canonical = encodeLedgerEvent(e);
    } catch (err) {
      return bad(n, `the event cannot be encoded (${(err as Error).message})`, i - 1);
    }
    const hash = chainHash(prev, canonical);
    if (hash.toString('hex') !== entry.hash) return bad(n, 'the event was changed: its hash does not match its contents', i - 1);
    const proof = (entry.proof ?? []).map((p) => Buffer.from(p, 'hex'));
    if (!verifyInclusion(e.leafIndex, checkpoint.size, leafHash(canonical), proof, checkpoint.rootHash)) {
      return bad(n, `the event is not in the signed log of size ${checkpoint.size} (inclusion proof fails)`, i - 1);
    }
    prev = hash;
    lastLeaf = e.leafIndex;
  }
  return { ok: true, events: lines.length - 1, treeSize: checkpoint.size };
}
