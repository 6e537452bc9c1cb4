import { describe, expect, it } from '@jest/globals';
import { chainHash, chainName, encodeLedgerEvent, GENESIS_HASH, generateSignerKey, leafHash, MemoryNodeStore, parseSignerKey, signCheckpoint, verifierKeyFromSigner, type LedgerEvent } from '../ledger/index.js';
import { formatCustodyExtract, verifyCustodyExtract, type ExtractLine } from './custody-extract.js';

const CASE = '11111111-2222-4333-8444-555555555555';
const EXHIBIT = '22222222-2222-4333-8444-555555555555';
const OTHER_EXHIBIT = '33333333-2222-4333-8444-555555555555';
const signer = generateSignerKey('spec.local/ledger');
const key = verifierKeyFromSigner(signer);

/** A case of 10 events, alternately about two exhibits; the extract of one of them. */
function extract(): { text: string; lines: string[]; checkpoint: string } {
  const store = new MemoryNodeStore();
  let prev: Buffer = GENESIS_HASH;
  const mine: { event: LedgerEvent; hash: string }[] = [];
  for (let i = 0; i < 10; i++) {
    const exhibit = i % 2 ? OTHER_EXHIBIT : EXHIBIT;
    const event: LedgerEvent = {
      v: 1,
      id: `6f1c1f3e-2b1a-4c8e-9d47-${String(i).padStart(12, '0')}`,
      leafIndex: i,
      chain: chainName(CASE),
      prevHash: prev.toString('hex'),
      occurredAt: `2026-11-23T10:00:${String(i).padStart(2, '0')}.000Z`,
      type: 'exhibit.updated',
      operation: 'alteration',
      caseId: CASE,
      actor: { id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', role: 'investigator' },
      object: { type: 'exhibit', id: exhibit, version: i + 1, sha256: null },
      justification: null,
      recipient: null,
      outcome: 'success',
      clientAddress: '127.0.0.1',
      requestId: `req-${i}`,
      details: {},
    };
    const canonical = encodeLedgerEvent(event);
    const hash = chainHash(prev, canonical);
    prev = hash;
    store.append(leafHash(canonical));
    if (exhibit === EXHIBIT) mine.push({ event, hash: hash.toString('hex') });
  }
  const root = store.root();
  const checkpoint = signCheckpoint({ origin: 'spec.local/ledger', size: 10, rootHash: root }, signer);
  const lines: ExtractLine[] = mine.map((m) => ({ ...m, proof: store.inclusionProof(m.event.leafIndex).map((p) => p.toString('hex')) }));
  const text = formatCustodyExtract({ caseId: CASE, exhibitId: EXHIBIT, exhibitReference: 'JS/1', checkpointNote: checkpoint, treeSize: 10, rootHash: root, lines }, parseSignerKey(signer));
  return { text, lines: text.trim().split('\n'), checkpoint };
}

describe('per-exhibit custody extract', () => {
  it('verifies: every other event of the case left out, each proven on its own', () => {
    const { text, checkpoint } = extract();
    expect(verifyCustodyExtract(text, key, { checkpointNote: checkpoint })).toEqual({ ok: true, events: 5, treeSize: 10 });
  });

  it('names an edited event, a removed middle line, removed last lines, an added line and an edited header', () => {
    const { lines } = extract();
    const check = (l: string[]) => verifyCustodyExtract(l.join('\n') + '\n', key);
    const edited = [...lines];
    edited[2] = edited[2].replace('"requestId":"req-2"', '"requestId":"req-X"');
    expect(check(edited)).toMatchObject({ ok: false, line: 3, reason: expect.stringContaining('the event was changed') });
    expect(check([...lines.slice(0, 2), ...lines.slice(3)])).toMatchObject({ ok: false, reason: expect.stringContaining('truncated') });
    expect(check(lines.slice(0, -2))).toMatchObject({ ok: false, reason: 'the extract is truncated: the signed summary covers 5 events, the file has 3' });
    expect(check([...lines, lines[5]])).toMatchObject({ ok: false, line: 7, reason: expect.stringContaining('a line was added') });
    const header = JSON.parse(lines[0]);
    expect(check([JSON.stringify({ ...header, exhibitId: OTHER_EXHIBIT }), ...lines.slice(1)])).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining('header was edited') });
    expect(check([JSON.stringify({ ...header, summary: header.summary.replace('events 5', 'events 4') }), ...lines.slice(1, -1)])).toMatchObject({ ok: false, line: 1 });
  });

  it('refuses another key and another checkpoint', () => {
    const { text } = extract();
    expect(verifyCustodyExtract(text, verifierKeyFromSigner(generateSignerKey('spec.local/ledger')))).toMatchObject({ ok: false, line: 1 });
    const other = signCheckpoint({ origin: 'spec.local/ledger', size: 11, rootHash: Buffer.alloc(32, 1) }, signer);
    expect(verifyCustodyExtract(text, key, { checkpointNote: other })).toMatchObject({ ok: false, reason: expect.stringContaining('another checkpoint') });
  });
});
