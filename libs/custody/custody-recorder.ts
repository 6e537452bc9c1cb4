import type { Queryable } from '../database/sql.js';
import { one } from '../database/sql.js';
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
 * change and its event commit together or not at all; the ledger adds its hash chain here.
 */
export async function recordCustodyEvent(tx: Queryable, e: CustodyEventInput): Promise<{ seq: string; id: string }> {
  return (await one<{ seq: string; id: string }>(
    tx,
    `INSERT INTO custody_events (type, s62_operation, case_id, actor_id, actor_role, object_type, object_id, object_version,
        object_sha256, justification_code, justification_text, recipient, outcome, client_address, request_id, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     RETURNING seq, id`,
    [
      e.type,
      e.operation,
      e.caseId ?? null,
      e.actor?.userId ?? null,
      e.actor?.role ?? null,
      e.object?.type ?? null,
      e.object?.id ?? null,
      e.object?.version ?? null,
      e.object?.sha256 ?? null,
      e.justification?.code ?? null,
      e.justification?.text ?? null,
      e.recipient ?? null,
      e.outcome ?? 'success',
      e.context?.clientAddress ?? null,
      e.context?.requestId ?? null,
      JSON.stringify(e.details ?? {}),
    ],
  ))!;
}
