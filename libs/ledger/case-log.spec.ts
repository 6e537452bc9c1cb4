import { describe, expect, it } from '@jest/globals';
import {
  CASE_LOG_FORMAT,
  CASE_LOG_SUMMARY_MARKER,
  formatCaseLogSummary,
  openCaseLogSummary,
  parseCaseLogSummary,
  signCaseLogSummary,
  verifyCaseLog,
  type CaseLogHeader,
  type CaseLogLine,
} from './case-log.js';
import { generateSignerKey, openCheckpoint, signCheckpoint, signNote, verifierKeyFromSigner } from './checkpoint.js';
import { chainHash, chainName, encodeLedgerEvent, GENESIS_HASH, type LedgerEvent } from './custody-event-encoding.js';
import { leafHash, MemoryNodeStore } from './merkle.js';
import { cosignCheckpoint, generateWitnessKey, parseWitnessKey, witnessKeyFromSigner, withSignatureLines } from './cosignature.js';

const CASE = '11111111-2222-4333-8444-555555555555';
const OTHER = '99999999-2222-4333-8444-555555555555';
const signer = generateSignerKey('spec.local/ledger');
const key = verifierKeyFromSigner(signer);

/** A ledger of `total` events, every third of another case, and the export of CASE from it as the service writes it. */
function exportedLog(total = 12): { text: string; lines: string[]; events: number; head: string; store: MemoryNodeStore } {
  const store = new MemoryNodeStore();
  const heads = new Map<string, Buffer>();
  const mine: { event: LedgerEvent; hash: string }[] = [];
  for (let i = 0; i < total; i++) {
    const caseId = i % 3 === 2 ? OTHER : CASE;
    const chain = chainName(caseId);
    const prev = heads.get(chain) ?? GENESIS_HASH;
    const event: LedgerEvent = {
      v: 1,
      id: `6f1c1f3e-2b1a-4c8e-9d47-${String(i).padStart(12, '0')}`,
      leafIndex: i,
      chain,
      prevHash: prev.toString('hex'),
      occurredAt: `2026-11-23T10:00:${String(i).padStart(2, '0')}.000Z`,
      type: 'case.consulted',
      operation: 'consultation',
      caseId,
      actor: { id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', role: 'investigator' },
      object: { type: 'case', id: caseId, version: 1, sha256: null },
      justification: { code: 'investigation', text: 'reviewing footage' },
      recipient: null,
      outcome: 'success',
      clientAddress: '127.0.0.1',
      requestId: `req-${i}`,
      details: {},
    };
    const canonical = encodeLedgerEvent(event);
    const hash = chainHash(prev, canonical);
    heads.set(chain, hash);
    store.append(leafHash(canonical));
    if (caseId === CASE) mine.push({ event, hash: hash.toString('hex') });
  }
  const checkpoint = signCheckpoint({ origin: 'spec.local/ledger', size: total, rootHash: store.root() }, signer);
  const events: CaseLogLine[] = mine.map((m) => ({ ...m, proof: store.inclusionProof(m.event.leafIndex).map((p) => p.toString('hex')) }));
  const head = events[events.length - 1].hash;
  const exportedAt = '2026-11-30T09:00:00.000Z';
  const summary = signCaseLogSummary({ caseId: CASE, events: events.length, head, treeSize: total, rootHash: store.root(), exportedAt }, signer);
  const header: CaseLogHeader = { format: CASE_LOG_FORMAT, caseId: CASE, summary, checkpoint, verifierKey: key, exportedAt };
  const lines = [header, ...events].map((l) => JSON.stringify(l));
  return { text: lines.join('\n') + '\n', lines, events: events.length, head, store };
}

const withHeader = (lines: string[], edit: (h: Record<string, unknown>) => void) => {
  const h = JSON.parse(lines[0]);
  edit(h);
  return [JSON.stringify(h), ...lines.slice(1)].join('\n') + '\n';
};

describe('case log', () => {
  it('checks a whole export and reports what its summary signed', () => {
    const { text, events, head } = exportedLog();
    expect(verifyCaseLog(text, key)).toEqual({ ok: true, events, treeSize: 12, summary: { caseId: CASE, events, head, treeSize: 12, exportedAt: '2026-11-30T09:00:00.000Z' } });
  });

  it('names truncation when the last lines are deleted, however many', () => {
    const { lines, events, head } = exportedLog();
    for (const keep of [lines.length - 1, lines.length - 3, 1]) {
      const r = verifyCaseLog(lines.slice(0, keep).join('\n') + '\n', key);
      expect(r).toMatchObject({ ok: false, line: keep + 1, events: keep - 1 });
      expect(r.reason).toContain(`the log is truncated: the signed summary covers ${events} events ending in ${head}, the file has ${keep - 1}`);
    }
  });

  it('names added lines, even a copy of a valid one', () => {
    const { lines } = exportedLog();
    const r = verifyCaseLog([...lines, lines[lines.length - 1]].join('\n'), key);
    expect(r).toMatchObject({ ok: false, line: lines.length + 1, reason: expect.stringContaining('lines were added') });
  });

  it('fails when the header is dropped, edited, or from the superseded format', () => {
    const { lines, events } = exportedLog();
    expect(verifyCaseLog(lines.slice(1).join('\n'), key)).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining('the header is missing') });

    // A smaller count to hide a truncation: the summary's signature no longer verifies.
    const fewer = withHeader(lines, (h) => (h.summary = String(h.summary).replace(`\nevents ${events}\n`, `\nevents ${events - 2}\n`)));
    expect(fewer).not.toEqual(lines.join('\n') + '\n');
    expect(verifyCaseLog(fewer, key)).toMatchObject({ ok: false, line: 1, reason: expect.stringMatching(/signed summary does not verify.*edited/) });
    const otherHead = withHeader(lines, (h) => (h.summary = String(h.summary).replace(/\nhead [0-9a-f]{64}\n/, `\nhead ${'ab'.repeat(32)}\n`)));
    expect(verifyCaseLog(otherHead, key)).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining('signed summary does not verify') });

    // Copies outside the signed notes must agree with them.
    expect(verifyCaseLog(withHeader(lines, (h) => (h.caseId = OTHER)), key)).toMatchObject({ ok: false, reason: expect.stringContaining('header was edited') });
    expect(verifyCaseLog(withHeader(lines, (h) => delete h.summary), key)).toMatchObject({ ok: false, reason: expect.stringContaining('no signed summary') });
    expect(verifyCaseLog(withHeader(lines, (h) => (h.format = 'dems-case-log/1')), key)).toMatchObject({ ok: false, reason: expect.stringContaining('export the case log again') });
    expect(verifyCaseLog(withHeader(lines, (h) => (h.format = 'dems-case-log/9')), key)).toMatchObject({ ok: false, reason: expect.stringContaining('unknown format') });

    // A summary re-signed by someone else's key is not the ledger's.
    const forger = generateSignerKey('spec.local/ledger');
    const forged = withHeader(lines, (h) => (h.summary = signNote(String(h.summary).slice(0, String(h.summary).lastIndexOf('\n\n') + 1).replace(`\nevents ${events}\n`, '\nevents 1\n'), forger)));
    expect(verifyCaseLog(forged, key)).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining('signed summary does not verify') });
  });

  it('signs a summary that can never be taken for a checkpoint, nor a checkpoint for a summary', () => {
    const { lines } = exportedLog();
    const header = JSON.parse(lines[0]) as CaseLogHeader;
    expect(header.summary.startsWith(`${CASE_LOG_SUMMARY_MARKER}\ncase ${CASE}\n`)).toBe(true);
    expect(() => openCheckpoint(header.summary, key)).toThrow(/tree size/);
    expect(() => openCaseLogSummary(header.checkpoint, key)).toThrow(/not a case-log summary/);
    const s = openCaseLogSummary(header.summary, key);
    expect(parseCaseLogSummary(formatCaseLogSummary(s))).toEqual(s);
  });
});

describe('case log: witnesses', () => {
  const w1 = generateWitnessKey('cps.example/witness');
  const w2 = generateWitnessKey('psu.example/witness');
  const keys = [w1, w2].map((w) => parseWitnessKey(witnessKeyFromSigner(w)));
  const cosign = (note: string, ...by: string[]) => withSignatureLines(note, by.map((w, i) => cosignCheckpoint(note.slice(0, note.indexOf('\n\n') + 1), w, 1_800_000_000 + i).line));
  const text = (note: string) => note.slice(0, note.indexOf('\n\n') + 1);

  /** The export of a 12-event log, and a later checkpoint (15 events) with the consistency proof from 12. */
  function exportAndLater() {
    const log = exportedLog(12);
    for (let i = 12; i < 15; i++) log.store.append(leafHash(`later ${i}`));
    const later = signCheckpoint({ origin: 'spec.local/ledger', size: 15, rootHash: log.store.root(15) }, signer);
    const consistency = log.store.consistencyProof(12, 15).map((p) => p.toString('hex'));
    return { ...log, later, consistency };
  }

  it('fails when the export carries fewer cosignatures than required, and says how to get them', () => {
    const { text: file } = exportAndLater();
    const r = verifyCaseLog(file, key, { witnesses: { keys, required: 2 } });
    expect(r).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining('cosigned by 0 of the 2 witnesses required') });
    expect(r.reason).toContain('dems cases export-log --witnesses 2');
    // Without the requirement the same file checks as before.
    expect(verifyCaseLog(file, key).ok).toBe(true);
  });

  it('accepts the export checkpoint itself when enough witnesses cosigned it', () => {
    const { lines } = exportAndLater();
    const both = withHeader(lines, (h) => (h.checkpoint = cosign(String(h.checkpoint), w1, w2)));
    expect(verifyCaseLog(both, key, { witnesses: { keys, required: 2 } })).toMatchObject({ ok: true, witnessed: { size: 12, witnesses: [expect.stringMatching(/^cps\.example\/witness\+/), expect.stringMatching(/^psu\.example\/witness\+/)] } });
  });

  it('accepts a later witnessed checkpoint that the export checkpoint is consistent with, once k witnesses cosigned it', () => {
    const { lines, later, consistency } = exportAndLater();
    const one = withHeader(lines, (h) => (h.witnessed = { checkpoint: cosign(later, w1), consistency }));
    expect(verifyCaseLog(one, key, { witnesses: { keys, required: 2 } })).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining('(size 15) is cosigned by 1 of the 2 witnesses required') });
    expect(verifyCaseLog(one, key, { witnesses: { keys, required: 1 } })).toMatchObject({ ok: true, witnessed: { size: 15 } });
    const two = withHeader(lines, (h) => (h.witnessed = { checkpoint: cosign(later, w1, w2), consistency }));
    expect(verifyCaseLog(two, key, { witnesses: { keys, required: 2 } })).toMatchObject({ ok: true, witnessed: { size: 15, witnesses: expect.arrayContaining([expect.stringMatching(/^psu/)]) } });
  });

  it('refuses a witnessed checkpoint of another history, of another key, or with an altered cosignature', () => {
    const { lines, later, consistency } = exportAndLater();
    // A fork: same size, other leaves, signed by the same key and cosigned by both witnesses.
    const fork = new MemoryNodeStore();
    for (let i = 0; i < 15; i++) fork.append(leafHash(`fork ${i}`));
    const forked = cosign(signCheckpoint({ origin: 'spec.local/ledger', size: 15, rootHash: fork.root() }, signer), w1, w2);
    expect(verifyCaseLog(withHeader(lines, (h) => (h.witnessed = { checkpoint: forked, consistency })), key, { witnesses: { keys, required: 2 } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not extend the export'),
    });
    const elsewhere = cosign(signCheckpoint({ origin: 'spec.local/ledger', size: 15, rootHash: Buffer.from(text(later).split('\n')[2], 'base64') }, generateSignerKey('spec.local/ledger')), w1, w2);
    expect(verifyCaseLog(withHeader(lines, (h) => (h.witnessed = { checkpoint: elsewhere, consistency })), key, { witnesses: { keys, required: 2 } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not verify with the trusted key'),
    });
    const good = cosign(later, w1, w2);
    const altered = good.replace(/(\u2014 psu\.example\/witness [A-Za-z0-9+/]{20})[A-Za-z0-9+/]/, (_m, p: string) => `${p}${_m.endsWith('A') ? 'B' : 'A'}`);
    expect(altered).not.toBe(good);
    expect(verifyCaseLog(withHeader(lines, (h) => (h.witnessed = { checkpoint: altered, consistency })), key, { witnesses: { keys, required: 2 } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('was altered'),
    });
  });
});
