import type { EntityManager } from 'typeorm';
import { canonicalIdOrSelf, canonicalUuid } from '../core/index.js';
import { appendLedgerEvent } from './ledger-append.js';
import type { Principal, RequestContext } from '../identity/index.js';

export const S62_OPERATIONS = ['collection', 'alteration', 'consultation', 'disclosure', 'combination', 'erasure'] as const;
export type S62Operation = (typeof S62_OPERATIONS)[number];

export const JUSTIFICATION_CODES = [
  'investigation',
  'case_review',
  'disclosure_review',
  'supervision',
  'audit',
  'court_preparation',
  'data_protection_request',
  'other',
] as const;
export type JustificationCode = (typeof JUSTIFICATION_CODES)[number];

export interface Justification {
  code: JustificationCode;
  text: string;
}

/** One fact for the custody log: a state change or an s.62 record (DPA 2018 Part 3). */
export interface CustodyEventInput {
  /** e.g. case.created, exhibit.updated, case.consulted, access.denied */
  type: string;
  operation: S62Operation;
  caseId?: string | null;
  actor?: Principal;
  object?: { type: string; id: string; version?: number; sha256?: string };
  justification?: Justification;
  recipient?: string;
  outcome?: 'success' | 'denied' | 'failed';
  context?: RequestContext;
  details?: Record<string, unknown>;
}

/**
 * The one writer of custody_events. Callers pass the transaction that makes the change, so the
 * change and its event commit together or not at all; the event is chained into its case's
 * hash chain and appended to the global Merkle log in that same transaction.
 */
export async function recordCustodyEvent(tx: EntityManager, e: CustodyEventInput): Promise<{ seq: string; id: string; leafIndex: number }> {
  if (!tx.queryRunner?.isTransactionActive) {
    throw new Error('recordCustodyEvent must run inside the transaction that makes the change (DataSource.transaction)');
  }
  // JSON round trip: drops undefined values and turns dates into strings, as stored in jsonb.
  // The caller's own X-Request-Id is kept beside the service's request id, never in its place.
  const clientRequestId = e.context?.clientRequestId;
  const details = JSON.parse(JSON.stringify({ ...e.details, ...(clientRequestId ? { clientRequestId } : {}) }));
  // Ids are recorded in their canonical form, as the database stores them, whatever a caller passed.
  const caseId = e.caseId ? canonicalUuid(e.caseId) : null;
  if (caseId === undefined) throw new Error(`custody event ${e.type}: caseId ${JSON.stringify(e.caseId)} is not a UUID`);
  return appendLedgerEvent(tx, {
    caseId,
    type: e.type,
    operation: e.operation,
    actorId: e.actor?.userId ? canonicalIdOrSelf(e.actor.userId) : null,
    actorRole: e.actor?.role ?? null,
    object: e.object ? { type: e.object.type, id: canonicalIdOrSelf(e.object.id), version: e.object.version ?? null, sha256: e.object.sha256 ?? null } : null,
    justification: e.justification ? { code: e.justification.code, text: e.justification.text } : null,
    recipient: e.recipient ?? null,
    outcome: e.outcome ?? 'success',
    clientAddress: e.context?.clientAddress ?? null,
    requestId: e.context?.requestId ?? null,
    details,
  });
}
