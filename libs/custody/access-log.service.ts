import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AppError, uuidInput } from '../core/index.js';
import { rows } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { recordCustodyEvent, S62_OPERATIONS } from './custody-recorder.js';

export const accessLogQuerySchema = z.strictObject({
  caseId: uuidInput('must be a case id').optional(),
  userId: uuidInput('must be a user id').optional(),
  operation: z.enum(S62_OPERATIONS).optional(),
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
  'objectSha256', 'justificationCode', 'justificationText', 'recipient', 'outcome', 'clientAddress', 'requestId',
] as const;
export type AccessLogEntry = Record<(typeof ACCESS_LOG_FIELDS)[number], string | number | null> & { seq: number };

/** Auditors query and export the s.62 log by case, user and period; the query itself is logged. */
@Injectable()
export class AccessLogService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async query(principal: Principal, q: AccessLogQuery, context: RequestContext): Promise<AccessLogEntry[]> {
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
              justification_text AS "justificationText", recipient, outcome, client_address AS "clientAddress", request_id AS "requestId"
         FROM custody_events e ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY e.seq LIMIT $${params.length}`,
      params,
    );
    // node-postgres gives bigint as a string; sequence numbers stay far below 2^53, so they are
    // sent as JSON numbers that every client sorts and compares correctly.
    for (const entry of found) entry.seq = Number(entry.seq);
    await this.ds.transaction((tx) => recordCustodyEvent(tx, {
      type: 'access_log.queried',
      operation: 'consultation',
      caseId: q.caseId ?? null,
      actor: principal,
      object: { type: 'access_log', id: q.caseId ?? q.userId ?? '*' },
      justification: { code: 'audit', text: 'access log query' },
      context,
      details: { filters: { caseId: q.caseId, userId: q.userId, operation: q.operation, from: q.from, to: q.to }, returned: found.length, format: q.format },
    }));
    return found;
  }
}

/** RFC 4180 CSV with a header row; cells that could start a spreadsheet formula are quoted with a leading apostrophe. */
export function toCsv(entries: AccessLogEntry[]): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [ACCESS_LOG_FIELDS.join(','), ...entries.map((e) => ACCESS_LOG_FIELDS.map((f) => cell(e[f])).join(','))].join('\r\n') + '\r\n';
}
