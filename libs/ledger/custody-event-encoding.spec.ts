import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { chainHash, chainName, encodeLedgerEvent, GENESIS_HASH, type LedgerEvent } from './custody-event-encoding.js';
import { leafHash } from './merkle.js';

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

/**
 * Frozen reference events, written once (2026-11-30) from encoding version 1 and never regenerated:
 * the bytes, chain hashes and RFC 9162 leaf hashes every recorded event relies on. An encoding
 * change that would break events already in a ledger fails here, whatever the code computes now.
 */
const FROZEN = [
  {
    event: event,
    canonicalBase64:
      'eyJhY3RvciI6eyJpZCI6ImFhYWFhYWFhLWJiYmItNGNjYy04ZGRkLWVlZWVlZWVlZWVlZSIsInJvbGUiOiJpbnZlc3RpZ2F0b3IifSwiY2FzZUlkIjoiMTExMTExMTEtMjIyMi00MzMzLTg0NDQtNTU1NTU1NTU1NTU1IiwiY2hhaW4iOiJjYXNlOjExMTExMTExLTIyMjItNDMzMy04NDQ0LTU1NTU1NTU1NTU1NSIsImNsaWVudEFkZHJlc3MiOiIxMjcuMC4wLjEiLCJkZXRhaWxzIjp7InRpdGxlIjoiQnVyZ2xhcnkiLCJ1cm4iOiIwMUFCMTIzNDUyMyJ9LCJpZCI6IjZmMWMxZjNlLTJiMWEtNGM4ZS05ZDQ3LTBhMWIyYzNkNGU1ZiIsImp1c3RpZmljYXRpb24iOm51bGwsImxlYWZJbmRleCI6MCwib2JqZWN0Ijp7ImlkIjoiMTExMTExMTEtMjIyMi00MzMzLTg0NDQtNTU1NTU1NTU1NTU1Iiwic2hhMjU2IjpudWxsLCJ0eXBlIjoiY2FzZSIsInZlcnNpb24iOjF9LCJvY2N1cnJlZEF0IjoiMjAyNi0xMS0yM1QxMDowMDowMC4wMDBaIiwib3BlcmF0aW9uIjoiY29sbGVjdGlvbiIsIm91dGNvbWUiOiJzdWNjZXNzIiwicHJldkhhc2giOiIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwicmVjaXBpZW50IjpudWxsLCJyZXF1ZXN0SWQiOiJyZXEtMSIsInR5cGUiOiJjYXNlLmNyZWF0ZWQiLCJ2IjoxfQ==',
    hash: 'd6f2f7399424d824705db4b6038570b73553347cbe93ea6bc639015d748c2fb3',
    leaf: '0eadb245d9f2e442d77ad872b3124f8e796dd2096f565ede08baff382e998434',
  },
  {
    // Non-ASCII text, ECMAScript number forms, -0, a NUL inside a string, nested objects to sort.
    event: {
      ...event,
      id: '0b5d7e2c-9a41-4f3e-8c6d-2e1f0a9b8c7d',
      leafIndex: 1,
      prevHash: 'd6f2f7399424d824705db4b6038570b73553347cbe93ea6bc639015d748c2fb3',
      occurredAt: '2026-11-23T10:05:00.123Z',
      type: 'exhibit.consulted',
      operation: 'consultation',
      actor: { id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', role: 'supervisor' },
      object: { type: 'exhibit', id: 'c0ffee00-1234-4abc-8def-000000000001', version: null, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
      justification: { code: 'supervision', text: 'R\u00e9vision \u2014 \u00ab dossier \u00bb \u2713 \ud83d\ude02' },
      details: { n: 1e21, small: 1e-7, neg: -0, list: [true, null, 'a\u0000b'], nested: { z: 1, a: 2 } },
    } as LedgerEvent,
    canonicalBase64:
      'eyJhY3RvciI6eyJpZCI6ImFhYWFhYWFhLWJiYmItNGNjYy04ZGRkLWVlZWVlZWVlZWVlZSIsInJvbGUiOiJzdXBlcnZpc29yIn0sImNhc2VJZCI6IjExMTExMTExLTIyMjItNDMzMy04NDQ0LTU1NTU1NTU1NTU1NSIsImNoYWluIjoiY2FzZToxMTExMTExMS0yMjIyLTQzMzMtODQ0NC01NTU1NTU1NTU1NTUiLCJjbGllbnRBZGRyZXNzIjoiMTI3LjAuMC4xIiwiZGV0YWlscyI6eyJsaXN0IjpbdHJ1ZSxudWxsLCJhXHUwMDAwYiJdLCJuIjoxZSsyMSwibmVnIjowLCJuZXN0ZWQiOnsiYSI6MiwieiI6MX0sInNtYWxsIjoxZS03fSwiaWQiOiIwYjVkN2UyYy05YTQxLTRmM2UtOGM2ZC0yZTFmMGE5YjhjN2QiLCJqdXN0aWZpY2F0aW9uIjp7ImNvZGUiOiJzdXBlcnZpc2lvbiIsInRleHQiOiJSw6l2aXNpb24g4oCUIMKrIGRvc3NpZXIgwrsg4pyTIPCfmIIifSwibGVhZkluZGV4IjoxLCJvYmplY3QiOnsiaWQiOiJjMGZmZWUwMC0xMjM0LTRhYmMtOGRlZi0wMDAwMDAwMDAwMDEiLCJzaGEyNTYiOiJlM2IwYzQ0Mjk4ZmMxYzE0OWFmYmY0Yzg5OTZmYjkyNDI3YWU0MWU0NjQ5YjkzNGNhNDk1OTkxYjc4NTJiODU1IiwidHlwZSI6ImV4aGliaXQiLCJ2ZXJzaW9uIjpudWxsfSwib2NjdXJyZWRBdCI6IjIwMjYtMTEtMjNUMTA6MDU6MDAuMTIzWiIsIm9wZXJhdGlvbiI6ImNvbnN1bHRhdGlvbiIsIm91dGNvbWUiOiJzdWNjZXNzIiwicHJldkhhc2giOiJkNmYyZjczOTk0MjRkODI0NzA1ZGI0YjYwMzg1NzBiNzM1NTMzNDdjYmU5M2VhNmJjNjM5MDE1ZDc0OGMyZmIzIiwicmVjaXBpZW50IjpudWxsLCJyZXF1ZXN0SWQiOiJyZXEtMSIsInR5cGUiOiJleGhpYml0LmNvbnN1bHRlZCIsInYiOjF9',
    hash: 'bb7895b2acfb477242446b959f74ac1d7606214c09b21a6c62b5afb7d0bc13a6',
    leaf: '1389b851f1160487b05048c3c70f22231445cf10fb6ef87f20ac59463bfeab9c',
  },
];

describe('frozen reference events (encoding version 1)', () => {
  it.each(FROZEN.map((f, i) => [i, f] as const))('event %i encodes to the frozen bytes and hashes', (_i, f) => {
    const bytes = encodeLedgerEvent(f.event);
    expect(bytes.toString('base64')).toBe(f.canonicalBase64);
    expect(chainHash(Buffer.from(f.event.prevHash, 'hex'), bytes).toString('hex')).toBe(f.hash);
    expect(leafHash(bytes).toString('hex')).toBe(f.leaf);
  });

  it('the frozen events form a chain', () => {
    expect(FROZEN[1].event.prevHash).toBe(FROZEN[0].hash);
  });
});
