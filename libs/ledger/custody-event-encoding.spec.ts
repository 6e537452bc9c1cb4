import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { chainHash, chainName, encodeLedgerEvent, GENESIS_HASH, type LedgerEvent } from './custody-event-encoding.js';

const event: LedgerEvent = {
  v: 1,
  id: '6f1c1f3e-2b1a-4c8e-9d47-0a1b2c3d4e5f',
  leafIndex: 0,
  chain: chainName('11111111-2222-4333-8444-555555555555'),
  prevHash: GENESIS_HASH.toString('hex'),
  occurredAt: '2026-11-23T10:00:00.000Z',
  type: 'case.created',
  operation: 'collection',
  caseId: '11111111-2222-4333-8444-555555555555',
  actor: { id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', role: 'investigator' },
  object: { type: 'case', id: '11111111-2222-4333-8444-555555555555', version: 1, sha256: null },
  justification: null,
  recipient: null,
  outcome: 'success',
  clientAddress: '127.0.0.1',
  requestId: 'req-1',
  details: { urn: '01AB1234523', title: 'Burglary' },
};

describe('custody event encoding', () => {
  it('is canonical JSON with sorted keys and no whitespace, whatever the field order', () => {
    const text = encodeLedgerEvent(event).toString('utf8');
    expect(text.startsWith('{"actor":{"id":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","role":"investigator"},"caseId":')).toBe(true);
    expect(text).not.toMatch(/\s"|": /);
    const shuffled = Object.fromEntries(Object.entries(event).reverse()) as unknown as LedgerEvent;
    expect(encodeLedgerEvent(shuffled).equals(encodeLedgerEvent(event))).toBe(true);
  });

  it('chains as SHA-256(prev ‖ canonical), so any changed field changes the hash', () => {
    const bytes = encodeLedgerEvent(event);
    const h = chainHash(GENESIS_HASH, bytes);
    expect(h.toString('hex')).toBe(createHash('sha256').update(Buffer.concat([Buffer.alloc(32), bytes])).digest('hex'));
    const altered = chainHash(GENESIS_HASH, encodeLedgerEvent({ ...event, outcome: 'failed' }));
    expect(altered.equals(h)).toBe(false);
    expect(chainHash(h, bytes).equals(h)).toBe(false);
  });

  it('names chains by case, or global', () => {
    expect(chainName(null)).toBe('global');
    expect(chainName('x')).toBe('case:x');
  });
});
