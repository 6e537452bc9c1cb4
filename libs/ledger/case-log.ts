import { chainHash, chainName, encodeLedgerEvent, GENESIS_HASH, type LedgerEvent } from './custody-event-encoding.js';
import { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
import { CheckpointError, formatKeyId, openCheckpoint, openNote, signNote, type OpenedCheckpoint, type SignerKey, type VerifierKey } from './checkpoint.js';
import { checkWitnesses, type WitnessKey } from './cosignature.js';

/**
 * An exported case log (JSON Lines), checkable offline by anyone with the ledger's public key:
 *   line 1: {"format":"dems-case-log/2","caseId":…,"summary":"<signed note>","checkpoint":"<signed note>",
 *            "verifierKey":…,"exportedAt":…}
 *   then one line per event, in ledger order: {"event":{…},"hash":"<hex>","proof":["<hex>",…]}
 * Each event's chain link is recomputed from the case's first event, and its Merkle inclusion is
 * proved against the signed checkpoint's root. The summary, signed with the same key, states the
 * export's extent (case, number of events, chain head, checkpoint): without it a file whose last
 * lines were deleted would still check, since what is left is a valid prefix of the chain.
 * Version 1 had no summary and is refused for that reason.
 *
 * Witnesses: the header's checkpoint is signed when the export is made, before any witness has
 * seen it, so `dems cases export-log --witnesses k` waits for the witnesses and adds `witnessed`
 * to the header: a later checkpoint they cosigned, with the consistency proof from the export's
 * checkpoint to it. A verifier requiring k witnesses (`dems verify case-log --require-witnesses k`)
 * takes whichever of the two carries k cosignatures by the witness keys it trusts.
 */
export const CASE_LOG_FORMAT = 'dems-case-log/2';
const SUPERSEDED_FORMATS = ['dems-case-log/1'];

/**
 * First line of the summary note. A checkpoint's first line is its origin, a key name, which can
 * hold no space; and a checkpoint's second line is a number where the summary's is `case …`. So
 * the two kinds of note signed by the ledger key can never be taken for one another.
 */
export const CASE_LOG_SUMMARY_MARKER = `${CASE_LOG_FORMAT} summary`;

/** What the exporter signs about one export. */
export interface CaseLogSummary {
  caseId: string;
  /** Number of event lines in the export. */
  events: number;
  /** Chain hash (hex) of the last event exported; 64 zeros when there is none. */
  head: string;
  /** Size and root of the signed checkpoint the events are proven against. */
  treeSize: number;
  rootHash: Buffer;
  exportedAt: string;
}

export interface CaseLogHeader {
  format: typeof CASE_LOG_FORMAT;
  caseId: string;
  /** Signed note (CASE_LOG_SUMMARY_MARKER) of the export's extent. */
  summary: string;
  /** Signed C2SP checkpoint the inclusion proofs lead to. */
  checkpoint: string;
  /** For information only: the verifier takes its key from a trusted source, never from the file. */
  verifierKey: string;
  exportedAt: string;
  /**
   * Added after the export when witnesses were asked for: a checkpoint of the same log, of the
   * export's size or later, with the witnesses' cosignatures, and the RFC 9162 consistency proof
   * (hex) from the export's checkpoint to it. Outside the summary's signature, and checked on its
   * own: the ledger key's signature, consistency with the export's checkpoint, the cosignatures.
   */
  witnessed?: { checkpoint: string; consistency: string[] };
}

export interface CaseLogLine {
  event: LedgerEvent;
  hash: string;
  proof: string[];
}

export interface CaseLogCheck {
  ok: boolean;
  /** Event lines checked before the first problem (all of them when ok). */
  events: number;
  treeSize?: number;
  /** What the signed summary says, once it verified. */
  summary?: { caseId: string; events: number; head: string; treeSize: number; exportedAt: string };
  /** 1-based line number of the first problem. */
  line?: number;
  reason?: string;
  /** With witnesses required and found: the checkpoint they cosigned and who did. */
  witnessed?: { size: number; witnesses: string[] };
}

export interface CaseLogCheckOptions {
  /** Require `required` of these witnesses to have cosigned the export's checkpoint, or a later one it is consistent with. */
  witnesses?: { keys: readonly WitnessKey[]; required: number };
}

const HEX_HASH = /^[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

function summaryLine(what: string, value: string): string {
  if (typeof value !== 'string' || value === '' || /\s/.test(value)) {
    throw new CheckpointError('MALFORMED_NOTE', `case-log summary: ${what} must be non-empty without spaces`);
  }
  return `${what} ${value}\n`;
}

/** The summary note text: marker, then one `name value` line per field, in this order. */
export function formatCaseLogSummary(s: CaseLogSummary): string {
  if (!Number.isSafeInteger(s.events) || s.events < 0) throw new CheckpointError('MALFORMED_NOTE', `case-log summary: events must be a count, got ${s.events}`);
  if (!Number.isSafeInteger(s.treeSize) || s.treeSize < 0) throw new CheckpointError('MALFORMED_NOTE', `case-log summary: tree size must be a count, got ${s.treeSize}`);
  if (!HEX_HASH.test(s.head)) throw new CheckpointError('MALFORMED_NOTE', 'case-log summary: head must be 64 lower-case hex digits');
  if (!Buffer.isBuffer(s.rootHash) || s.rootHash.length !== 32) throw new CheckpointError('MALFORMED_NOTE', 'case-log summary: root hash must be 32 bytes');
  return (
    `${CASE_LOG_SUMMARY_MARKER}\n` +
    summaryLine('case', s.caseId) +
    summaryLine('events', String(s.events)) +
    summaryLine('head', s.head) +
    `tree ${s.treeSize} ${s.rootHash.toString('base64')}\n` +
    summaryLine('exported', s.exportedAt)
  );
}

/** Parses summary note text (already verified; this does not check signatures). */
export function parseCaseLogSummary(text: string): CaseLogSummary {
  const bad = (why: string) => new CheckpointError('MALFORMED_NOTE', `not a case-log summary: ${why}`);
  if (typeof text !== 'string' || !text.endsWith('\n')) throw bad('the text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== CASE_LOG_SUMMARY_MARKER) throw bad(`the first line is not ${JSON.stringify(CASE_LOG_SUMMARY_MARKER)}`);
  if (lines.length !== 6) throw bad(`expected 6 lines, found ${lines.length}`);
  const field = (i: number, name: string): string[] => {
    const parts = lines[i].split(' ');
    if (parts[0] !== name || parts.length < 2 || parts.slice(1).some((p) => p === '')) throw bad(`line ${i + 1} must be "${name} …"`);
    return parts.slice(1);
  };
  const [caseId] = field(1, 'case');
  const [events] = field(2, 'events');
  const [head] = field(3, 'head');
  const [treeSize, root] = field(4, 'tree');
  const [exportedAt] = field(5, 'exported');
  if (!DECIMAL.test(events) || !Number.isSafeInteger(Number(events))) throw bad(`malformed event count ${JSON.stringify(events)}`);
  if (!HEX_HASH.test(head)) throw bad('malformed head');
  if (!DECIMAL.test(treeSize) || !Number.isSafeInteger(Number(treeSize))) throw bad(`malformed tree size ${JSON.stringify(treeSize)}`);
  const rootHash = root !== undefined ? Buffer.from(root, 'base64') : Buffer.alloc(0);
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) throw bad('malformed root hash');
  return { caseId, events: Number(events), head, treeSize: Number(treeSize), rootHash, exportedAt };
}

/** Signs an export's summary with the ledger key (a C2SP signed note). */
export function signCaseLogSummary(summary: CaseLogSummary, signer: SignerKey | string): string {
  return signNote(formatCaseLogSummary(summary), signer);
}

/** Verifies a summary note against the trusted key and parses it. */
export function openCaseLogSummary(note: string, verifierKey: VerifierKey | string): CaseLogSummary {
  return parseCaseLogSummary(openNote(note, verifierKey).text);
}

/** Checks an exported case log against notes signed by `trustedKey` (never the file's own key). */
export function verifyCaseLog(text: string, trustedKey: VerifierKey | string, options: CaseLogCheckOptions = {}): CaseLogCheck {
  // Real line numbers, so a reason points at the line a person opens; blank lines are skipped.
  const lines = text
    .split('\n')
    .map((t, i) => ({ n: i + 1, t }))
    .filter((l) => l.t.trim() !== '');
  const bad = (line: number, reason: string, events = 0, extra: Partial<CaseLogCheck> = {}): CaseLogCheck => ({ ok: false, events, ...extra, line, reason });
  if (!lines.length) return bad(1, 'the file is empty');
  let header: Partial<Omit<CaseLogHeader, 'format'>> & { format?: unknown; event?: unknown };
  try {
    header = JSON.parse(lines[0].t);
  } catch {
    return bad(lines[0].n, 'the first line is not JSON: the header is missing or damaged');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) return bad(lines[0].n, 'the first line is not a case-log header');
  if ('event' in header) {
    return bad(lines[0].n, 'the header is missing: the first line is an event, and without the signed summary of the export nothing says how many events there should be');
  }
  if (typeof header.format === 'string' && SUPERSEDED_FORMATS.includes(header.format)) {
    return bad(lines[0].n, `format ${header.format} carries no signed count of its events, so a file with lines deleted cannot be told from a whole one; export the case log again (format ${CASE_LOG_FORMAT})`);
  }
  if (header.format !== CASE_LOG_FORMAT) return bad(lines[0].n, `unknown format ${String(header.format)}; expected ${CASE_LOG_FORMAT}`);
  let checkpoint;
  try {
    checkpoint = openCheckpoint(String(header.checkpoint), trustedKey);
  } catch (e) {
    return bad(lines[0].n, `the checkpoint does not verify with the trusted key (${(e as Error).message})`);
  }
  if (typeof header.summary !== 'string') return bad(lines[0].n, 'the header has no signed summary of the export (its event count and chain head)');
  let summary: CaseLogSummary;
  try {
    summary = parseCaseLogSummary(openNote(header.summary, trustedKey).text);
  } catch (e) {
    const code = e instanceof CheckpointError ? e.code : undefined;
    const why = code === 'BAD_SIGNATURE' ? 'the header was edited: ' : '';
    return bad(lines[0].n, `the signed summary does not verify with the trusted key: ${why}${(e as Error).message}`);
  }
  const signed = { caseId: summary.caseId, events: summary.events, head: summary.head, treeSize: summary.treeSize, exportedAt: summary.exportedAt };
  // Fields outside the signed notes are only copies: each must say what was signed.
  if (header.caseId !== summary.caseId) return bad(lines[0].n, `the header was edited: it names case ${String(header.caseId)}, the signed summary case ${summary.caseId}`);
  if (header.exportedAt !== summary.exportedAt) return bad(lines[0].n, `the header was edited: its export time ${String(header.exportedAt)} is not the signed ${summary.exportedAt}`);
  if (summary.treeSize !== checkpoint.size || !summary.rootHash.equals(checkpoint.rootHash)) {
    return bad(lines[0].n, `the header was edited: the signed summary is for the log of size ${summary.treeSize}, the checkpoint in the header is of size ${checkpoint.size} or has another root`);
  }

  let prev: Buffer = GENESIS_HASH;
  let lastLeaf = -1;
  let count = 0;
  for (const { n, t } of lines.slice(1)) {
    if (count >= summary.events) {
      return bad(n, `lines were added: the signed summary covers ${summary.events} events ending in ${summary.head}, and this line is past them`, count, { summary: signed });
    }
    let entry: CaseLogLine;
    try {
      entry = JSON.parse(t);
    } catch {
      return bad(n, 'not JSON', count);
    }
    const e = entry?.event;
    // Ids compare case-insensitively: events recorded before ids were canonical at the API's boundary may spell the case in upper case.
    const sameCase = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
    if (!e || !sameCase(e.caseId, summary.caseId) || !sameCase(e.chain, chainName(summary.caseId))) return bad(n, 'the event does not belong to this case', count);
    if (e.leafIndex <= lastLeaf) return bad(n, 'events are out of ledger order', count);
    if (e.prevHash !== prev.toString('hex')) return bad(n, 'broken chain: an event before this one is missing or was changed', count);
    let canonical: Buffer;
    try {
      canonical = encodeLedgerEvent(e);
    } catch (err) {
      return bad(n, `the event cannot be encoded (${(err as Error).message})`, count);
    }
    const hash = chainHash(prev, canonical);
    if (hash.toString('hex') !== entry.hash) return bad(n, 'the event was changed: its hash does not match its contents', count);
    const proof = (Array.isArray(entry.proof) ? entry.proof : []).map((p) => Buffer.from(String(p), 'hex'));
    if (!verifyInclusion(e.leafIndex, checkpoint.size, leafHash(canonical), proof, checkpoint.rootHash)) {
      return bad(n, `the event is not in the signed log of size ${checkpoint.size} (inclusion proof fails)`, count);
    }
    prev = hash;
    lastLeaf = e.leafIndex;
    count++;
  }
  const end = lines[lines.length - 1].n + 1;
  if (count < summary.events) {
    const last = count ? `; its last event is ${prev.toString('hex')}` : '';
    return bad(end, `the log is truncated: the signed summary covers ${summary.events} events ending in ${summary.head}, the file has ${count}${last}`, count, { summary: signed });
  }
  if (prev.toString('hex') !== summary.head) {
    return bad(end - 1, `the last event's hash ${prev.toString('hex')} is not the chain head ${summary.head} the summary signed`, count, { summary: signed });
  }
  if (options.witnesses) {
    const w = checkCaseLogWitnesses(header, checkpoint, trustedKey, options.witnesses);
    if ('reason' in w) return bad(lines[0].n, w.reason, count, { summary: signed, treeSize: checkpoint.size });
    return { ok: true, events: count, treeSize: checkpoint.size, summary: signed, witnessed: w };
  }
  return { ok: true, events: count, treeSize: checkpoint.size, summary: signed };
}

/**
 * Finds k cosignatures by the trusted witnesses: on the export's own checkpoint, or on the later
 * `witnessed` checkpoint once that is shown to be signed by the same log and to extend the export's.
 */
function checkCaseLogWitnesses(
  header: { checkpoint?: unknown; witnessed?: unknown },
  checkpoint: OpenedCheckpoint,
  trustedKey: VerifierKey | string,
  witnesses: { keys: readonly WitnessKey[]; required: number },
): { size: number; witnesses: string[] } | { reason: string } {
  const k = witnesses.required;
  const names = (c: { witness: string; keyId: number }[]) => c.map((x) => `${x.witness}+${formatKeyId(x.keyId)}`);
  const count = (note: string, what: string) => {
    try {
      return checkWitnesses(note, witnesses.keys, k);
    } catch (e) {
      return { reason: `a witness cosignature on ${what} does not verify with that witness's key (${(e as Error).message}): it was altered` };
    }
  };
  const own = count(String(header.checkpoint), "the export's checkpoint");
  if ('reason' in own) return own;
  if (own.ok) return { size: checkpoint.size, witnesses: names(own.cosigned) };
  const w = header.witnessed as { checkpoint?: unknown; consistency?: unknown } | undefined;
  if (w === undefined) {
    return {
      reason: `the export's checkpoint (size ${checkpoint.size}) is cosigned by ${own.cosigned.length} of the ${k} witnesses required${own.cosigned.length ? ` (${names(own.cosigned).join(', ')})` : ''}, and the file carries no later witnessed checkpoint: export it with dems cases export-log --witnesses ${k}`,
    };
  }
  let later: OpenedCheckpoint;
  try {
    later = openCheckpoint(String(w?.checkpoint), trustedKey, { origin: checkpoint.origin });
  } catch (e) {
    return { reason: `the witnessed checkpoint in the header does not verify with the trusted key (${(e as Error).message})` };
  }
  const proof = Array.isArray(w.consistency) ? w.consistency.map((p) => Buffer.from(String(p), 'hex')) : [];
  if (later.size < checkpoint.size || !verifyConsistency(checkpoint.size, later.size, proof, checkpoint.rootHash, later.rootHash)) {
    return {
      reason: `the witnessed checkpoint (size ${later.size}) does not extend the export's checkpoint (size ${checkpoint.size}): the consistency proof fails, so the witnesses vouched for another history`,
    };
  }
  const theirs = count(String(w.checkpoint), `the witnessed checkpoint (size ${later.size})`);
  if ('reason' in theirs) return theirs;
  if (!theirs.ok) {
    return {
      reason: `the witnessed checkpoint (size ${later.size}) is cosigned by ${theirs.cosigned.length} of the ${k} witnesses required${theirs.cosigned.length ? ` (${names(theirs.cosigned).join(', ')})` : ''}`,
    };
  }
  return { size: later.size, witnesses: names(theirs.cosigned) };
}
