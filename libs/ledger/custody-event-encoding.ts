import { createHash } from 'node:crypto';
import { canonicalJsonBytes, type JsonValue } from './canonical-json.js';

/**
 * The published encoding of one custody event, so anyone can recompute the chain and the log:
 *
 *   canonical = RFC 8785 (JCS) JSON of the object below, UTF-8
 *   hash      = SHA-256(prevHash ‖ canonical)        (prevHash = 32 zero bytes for a chain's first event)
 *   leaf      = SHA-256(0x00 ‖ canonical)            (RFC 9162 leaf of the global Merkle log)
 *
 * A chain is one case's events (`case:<uuid>`), or `global` for events that belong to no case.
 * `v` is the encoding version: any change to this shape gets a new number.
 */
export interface LedgerEvent {
  v: 1;
  id: string;
  leafIndex: number;
  chain: string;
  prevHash: string;
  occurredAt: string;
  type: string;
  operation: string;
  caseId: string | null;
  actor: { id: string; role: string | null } | null;
  object: { type: string; id: string; version: number | null; sha256: string | null } | null;
  justification: { code: string; text: string } | null;
  recipient: string | null;
  outcome: string;
  clientAddress: string | null;
  requestId: string | null;
  details: JsonValue;
}

export const GENESIS_HASH = Buffer.alloc(32);

export function chainName(caseId: string | null): string {
  return caseId ? `case:${caseId}` : 'global';
}

export function encodeLedgerEvent(e: LedgerEvent): Buffer {
  return canonicalJsonBytes(e as unknown as JsonValue);
}

export function chainHash(prevHash: Buffer, canonical: Buffer): Buffer {
  return createHash('sha256').update(prevHash).update(canonical).digest();
}
