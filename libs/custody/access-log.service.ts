import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AppError, canonicalUuid, MISLEADING_CHARACTERS, uuidInput } from '../core/index.js';
import { one, rows } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { recordCustodyEvent, S62_OPERATIONS, type Justification } from './custody-recorder.js';

export const accessLogQuerySchema = z.strictObject({
  caseId: uuidInput('must be a case id').optional(),
  userId: uuidInput('must be a user id').optional(),
  operation: z.enum(S62_OPERATIONS).optional(),
  requestId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be a request id as X-Request-Id gave it').optional(),
  outcome: z.enum(['success', 'denied', 'failed']).optional(),
  from: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  to: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  // A sequence number as the previous page's nextAfterSeq gave it (bounded, so it always fits a bigint).
  afterSeq: z.coerce.number({ message: 'must be a sequence number' }).int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  format: z.enum(['json', 'csv']).default('json'),
});
export type AccessLogQuery = z.infer<typeof accessLogQuerySchema>;

/** The s.62 fields of DOMAIN.md, in this order, for both JSON and CSV. */
export const ACCESS_LOG_FIELDS = [
  'seq', 'id', 'occurredAt', 'type', 'operation', 'caseId', 'userId', 'userRole', 'objectType', 'objectId', 'objectVersion',
  'objectSha256', 'justificationCode', 'justificationText', 'recipient', 'outcome', 'clientAddress', 'requestId', 'details',
] as const;
export type AccessLogEntry = Record<(typeof ACCESS_LOG_FIELDS)[number], unknown> & { seq: number };

/** A request the service refused (403, 404, a missing or vague justification), as the API saw it. */
export interface RefusedRequest {
  principal: Principal;
  method: string;
  /** The route template, e.g. /api/v1/cases/:caseId/exhibits/:exhibitId. */
  route: string;
  params: Record<string, string>;
  status: number;
  code: string;
  /** The caller's justification when it was acceptable; otherwise what was sent, kept in the details. */
  justification?: Justification;
  given?: { code?: string; text?: string };
  context: RequestContext;
}

/** Longest id or header text kept from a refused request: enough to see what was tried, bounded for what anyone can send. */
const KEPT_CHARS = 200;

/**
 * Auditors query and export the s.62 log by case, user, request, outcome and period; every query
 * needs a justification and is itself logged. Refused requests are recorded here too.
 */
@Injectable()
export class AccessLogService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async query(principal: Principal, q: AccessLogQuery, justification: Justification, context: RequestContext): Promise<AccessLogEntry[]> {
    if (principal.role !== 'auditor') throw new AppError('ROLE_NOT_ALLOWED', 'Only auditors can read the access log', 403);
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.caseId) add('case_id = ?', q.caseId);
    if (q.userId) add('actor_id = ?', q.userId);
    if (q.operation) add('s62_operation = ?', q.operation);
    if (q.requestId) add('request_id = ?', q.requestId);
    if (q.outcome) add('outcome = ?', q.outcome);
    if (q.from) add('occurred_at >= ?', q.from);
    if (q.to) add('occurred_at < ?', q.to);
    if (q.afterSeq !== undefined) add('e.seq > ?', q.afterSeq);
    params.push(q.limit);
    // Ordered by the bigint column itself: an output column named "seq" of type text would take
    // precedence in ORDER BY and sort 10 before 9, so pages skipped and repeated entries.
    const found = await rows<AccessLogEntry>(
      this.ds,
      `SELECT e.seq, id, occurred_at AS "occurredAt", type, s62_operation AS "operation", case_id AS "caseId",
              actor_id AS "userId", actor_role AS "userRole", object_type AS "objectType", object_id AS "objectId",
              object_version AS "objectVersion", object_sha256 AS "objectSha256", justification_code AS "justificationCode",
              justification_text AS "justificationText", recipient, outcome, client_address AS "clientAddress", request_id AS "requestId", details
         FROM custody_events e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY e.seq LIMIT $${params.length}`,
      params,
    );
    // node-postgres gives bigint as a string; sequence numbers stay far below 2^53, so they are
    // sent as JSON numbers that every client sorts and compares correctly.
    for (const entry of found) entry.seq = Number(entry.seq);
    // On the global chain, never the case's: the officers being audited read their case's events.
    await this.ds.transaction((tx) => recordCustodyEvent(tx, {
      type: 'access_log.queried',
      operation: 'consultation',
      caseId: null,
      actor: principal,
      object: { type: 'access_log', id: q.caseId ?? q.userId ?? '*' },
      justification,
      context,
      details: {
        filters: { caseId: q.caseId, userId: q.userId, operation: q.operation, requestId: q.requestId, outcome: q.outcome, from: q.from, to: q.to, afterSeq: q.afterSeq },
        returned: found.length,
        format: q.format,
      },
    }));
    return found;
  }

  /**
   * Records a refused request (outcome denied). It goes on the chain of the case it named when that
   * case exists, so its officers and the auditors see who tried, and on the global chain otherwise;
   * the caller's answer is the same either way, so the record leaks nothing to them. It is written
   * after the request's own transaction has rolled back, in a transaction of its own.
   */
  async recordRefusal(r: RefusedRequest): Promise<void> {
    const named = canonicalUuid(r.params.caseId);
    const known = named ? await one<{ id: string }>(this.ds, `SELECT id FROM cases WHERE id = $1`, [named]) : undefined;
    const params = Object.fromEntries(Object.entries(r.params).map(([k, v]) => [k, canonicalUuid(v) ?? kept(v)]));
    const innermost = Object.entries(params).pop();
    await this.ds.transaction((tx) => recordCustodyEvent(tx, {
      type: 'access.refused',
      operation: r.method === 'GET' || r.method === 'HEAD' ? 'consultation' : 'alteration',
      caseId: known?.id ?? null,
      actor: r.principal,
      object: innermost ? { type: innermost[0].replace(/Id$/, ''), id: innermost[1] } : { type: 'route', id: r.route },
      justification: r.justification,
      outcome: 'denied',
      context: r.context,
      details: {
        code: r.code,
        status: r.status,
        method: r.method,
        route: r.route,
        params,
        ...(r.given ? { givenJustification: { code: r.given.code === undefined ? null : kept(r.given.code), text: r.given.text === undefined ? null : kept(r.given.text) } } : {}),
      },
    }));
  }
}

/** What a refused caller sent, bounded and with the characters jsonb and terminals cannot take replaced. */
function kept(value: string): string {
  return value.slice(0, KEPT_CHARS).replace(MISLEADING_CHARACTERS, '\uFFFD');
}

/** RFC 4180 CSV with a header row; cells that could start a spreadsheet formula are quoted with a leading apostrophe. */
export function toCsv(entries: AccessLogEntry[]): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [ACCESS_LOG_FIELDS.join(','), ...entries.map((e) => ACCESS_LOG_FIELDS.map((f) => cell(e[f])).join(','))].join('\r\n') + '\r\n';
}
