import {
  CheckpointError,
  chainHash,
  encodeLedgerEvent,
  GENESIS_HASH,
  leafHash,
  openCheckpoint,
  openNote,
  signNote,
  verifyInclusion,
  type LedgerEvent,
  type SignerKey,
  type VerifierKey,
} from '../ledger/index.js';
import { CUSTODY_EXTRACT_FORMAT } from './bundle-layout.js';

/**
 * One exhibit's custody events for a bundle (JSON Lines), checkable offline with the ledger key.
 * Unlike the case log (`dems-case-log/2`), an extract holds only some of the case's events, so
 * the case chain cannot be walked from its start: each event's chain hash is recomputed from its
 * own prevHash and bytes, and proved in the signed Merkle log. A signed summary states how many
 * events the extract holds and the last one's hash, so a line removed, added or edited fails.
 *   line 1: {"format":"dems-custody-extract/1","caseId","exhibitId","exhibitReference","summary":<note>,"checkpoint":<note>}
 *   then:   {"event":{…},"hash":"<hex>","proof":["<hex>",…]}
 */
export const CUSTODY_EXTRACT_SUMMARY_MARKER = `${CUSTODY_EXTRACT_FORMAT} summary`;

export interface ExtractSummary {
  caseId: string;
  exhibitId: string;
  events: number;
  head: string;
  treeSize: number;
  rootHash: Buffer;
}

export interface ExtractLine {
  event: LedgerEvent;
  hash: string;
  proof: string[];
}

export function formatExtractSummary(s: ExtractSummary): string {
  return `${CUSTODY_EXTRACT_SUMMARY_MARKER}\ncase ${s.caseId}\nexhibit ${s.exhibitId}\nevents ${s.events}\nhead ${s.head}\ntree ${s.treeSize} ${s.rootHash.toString('base64')}\n`;
}

function parseExtractSummary(text: string): ExtractSummary {
  const lines = text.replace(/\n$/, '').split('\n');
  const bad = (why: string) => new CheckpointError('MALFORMED_NOTE', `not a custody-extract summary: ${why}`);
  if (lines[0] !== CUSTODY_EXTRACT_SUMMARY_MARKER || lines.length !== 6) throw bad('wrong marker or line count');
  const f = (i: number, name: string) => {
    const p = lines[i].split(' ');
    if (p[0] !== name) throw bad(`line ${i + 1} is not "${name} …"`);
    return p.slice(1);
  };
  const [caseId] = f(1, 'case');
  const [exhibitId] = f(2, 'exhibit');
  const [events] = f(3, 'events');
  const [head] = f(4, 'head');
  const [size, root] = f(5, 'tree');
  if (!/^\d+$/.test(events) || !/^\d+$/.test(size) || !/^[0-9a-f]{64}$/.test(head)) throw bad('malformed numbers or head');
  return { caseId, exhibitId, events: Number(events), head, treeSize: Number(size), rootHash: Buffer.from(root ?? '', 'base64') };
}

/** The extract's text: header line, then one line per event (events in ledger order). */
export function formatCustodyExtract(
  input: { caseId: string; exhibitId: string; exhibitReference: string; checkpointNote: string; treeSize: number; rootHash: Buffer; lines: ExtractLine[] },
  signer: SignerKey,
): string {
  const head = input.lines.length ? input.lines[input.lines.length - 1].hash : GENESIS_HASH.toString('hex');
  const summary = signNote(
    formatExtractSummary({ caseId: input.caseId, exhibitId: input.exhibitId, events: input.lines.length, head, treeSize: input.treeSize, rootHash: input.rootHash }),
    signer,
  );
  const header = { format: CUSTODY_EXTRACT_FORMAT, caseId: input.caseId, exhibitId: input.exhibitId, exhibitReference: input.exhibitReference, summary, checkpoint: input.checkpointNote };
  return [header, ...input.lines].map((l) => JSON.stringify(l)).join('\n') + '\n';
}

export interface ExtractCheck {
  ok: boolean;
  events: number;
  /** 1-based line of the first problem. */
  line?: number;
  reason?: string;
  treeSize?: number;
}

/** Checks an extract against the trusted ledger key (never a key taken from the bundle alone). */
export function verifyCustodyExtract(text: string, trustedKey: VerifierKey | string, expect?: { checkpointNote?: string }): ExtractCheck {
  const lines = text.split('\n').map((t, i) => ({ n: i + 1, t })).filter((l) => l.t.trim() !== '');
  const bad = (line: number, reason: string, events = 0): ExtractCheck => ({ ok: false, events, line, reason });
  if (!lines.length) return bad(1, 'the extract is empty');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(lines[0].t);
  } catch {
    return bad(1, 'the header line is not JSON');
  }
  if (header.format !== CUSTODY_EXTRACT_FORMAT) return bad(1, `unknown format ${String(header.format)}`);
  let checkpoint;
  try {
    checkpoint = openCheckpoint(String(header.checkpoint), trustedKey);
  } catch (e) {
    return bad(1, `the checkpoint does not verify with the ledger key (${(e as Error).message})`);
  }
  if (expect?.checkpointNote !== undefined && String(header.checkpoint).trim() !== expect.checkpointNote.trim()) {
    return bad(1, "the extract is proven against another checkpoint than the bundle's");
  }
  let summary: ExtractSummary;
  try {
    summary = parseExtractSummary(openNote(String(header.summary), trustedKey).text);
  } catch (e) {
    return bad(1, `the signed summary (event count and chain head) does not verify: ${(e as Error).message}`);
  }
  if (summary.caseId !== header.caseId || summary.exhibitId !== header.exhibitId) return bad(1, 'the header was edited: its case or exhibit is not the signed one');
  if (summary.treeSize !== checkpoint.size || !summary.rootHash.equals(checkpoint.rootHash)) return bad(1, 'the signed summary is for another checkpoint');
  let lastLeaf = -1;
  let count = 0;
  let last = GENESIS_HASH.toString('hex');
  for (const { n, t } of lines.slice(1)) {
    if (count >= summary.events) return bad(n, `a line was added: the signed summary covers ${summary.events} events`, count);
    let entry: ExtractLine;
    try {
      entry = JSON.parse(t);
    } catch {
      return bad(n, 'not JSON', count);
    }
    const e = entry?.event;
    if (!e || typeof e !== 'object' || String(e.caseId).toLowerCase() !== summary.caseId.toLowerCase()) return bad(n, 'the event does not belong to this case', count);
    if (!(e.leafIndex > lastLeaf)) return bad(n, 'events are out of ledger order', count);
    let canonical: Buffer;
    try {
      canonical = encodeLedgerEvent(e);
    } catch (err) {
      return bad(n, `the event cannot be encoded (${(err as Error).message})`, count);
    }
    const hash = chainHash(Buffer.from(String(e.prevHash), 'hex'), canonical).toString('hex');
    if (hash !== entry.hash) return bad(n, 'the event was changed: its hash does not match its contents', count);
    const proof = (Array.isArray(entry.proof) ? entry.proof : []).map((p) => Buffer.from(String(p), 'hex'));
    if (!verifyInclusion(e.leafIndex, checkpoint.size, leafHash(canonical), proof, checkpoint.rootHash)) {
      return bad(n, `the event is not in the signed log of size ${checkpoint.size} (inclusion proof fails)`, count);
    }
    lastLeaf = e.leafIndex;
    last = hash;
    count++;
  }
  const end = lines[lines.length - 1].n + 1;
  if (count < summary.events) return bad(end, `the extract is truncated: the signed summary covers ${summary.events} events, the file has ${count}`, count);
  if (last !== summary.head) return bad(end - 1, `the last event is not the signed chain head ${summary.head}`, count);
  return { ok: true, events: count, treeSize: checkpoint.size };
}
