import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, canonicalUuid, isUuid } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/custody-recorder.js';
import { affected, one, rows, type Queryable } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { CaseAccessService, caseNotFound, type CaseAccess } from './case-access.service.js';
import type { CaseRole, CreateCaseInput, ListCasesQuery, UpdateCaseInput } from './case.schemas.js';
import { requireJustification } from './exhibits.service.js';
import { exhibitVisibility } from './sensitive-items.js';
import { displayUrn, parseUrn } from './urn.js';

export interface CaseView {
  id: string;
  urn: string;
  urnDisplay: string;
  title: string;
  operationName: string | null;
  offenceSummary: string | null;
  status: string;
  classification: string;
  retentionGroup: number;
  reviewDate: string | null;
  officerInCase: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  counts: { exhibits: number; members: number };
  /** `share`: a CPS user's view of a case with a bundle shared with them (read-only; counts only the exhibits shared). */
  access?: { caseRole: CaseRole | null; via: CaseAccess['via'] | 'share' };
}

export interface MemberView {
  userId: string;
  username: string;
  displayName: string;
  role: string;
  caseRole: CaseRole;
  addedAt: Date;
}

/** Global roles allowed to open a case (the opener becomes its officer in the case). */
const CASE_CREATORS = new Set(['investigator', 'supervisor']);
/** Global roles that can hold a role on a case; CPS users see shared material only. */
const MEMBER_ROLES = new Set(['investigator', 'forensic_analyst', 'disclosure_officer', 'supervisor']);

/** The case columns; `exhibitFilter` leaves out of the count the exhibits the reader may not see. */
const select = (exhibitFilter = '') => `
  SELECT c.id, c.urn, c.title, c.operation_name, c.offence_summary, c.status, c.classification, c.retention_group,
         to_char(c.review_date, 'YYYY-MM-DD') AS review_date, c.officer_in_case, c.created_by, c.created_at, c.updated_at, c.version,
         (SELECT count(*) FROM exhibits e WHERE e.case_id = c.id ${exhibitFilter})::int AS exhibit_count,
         (SELECT count(*) FROM case_members cm WHERE cm.case_id = c.id)::int AS member_count`;
const SELECT = select();

/**
 * A CPS user's cases: those with a ready disclosure bundle shared with them, the share neither
 * revoked nor expired. Shaped like case_members (case_id, user_id, case_role) so the case list
 * joins either; `sharedExhibits` counts only the exhibits those bundles hold ($n: the user).
 */
const SHARED_CASES = `(SELECT DISTINCT b.case_id, s.recipient_id AS user_id, NULL::text AS case_role
    FROM disclosure_shares s JOIN disclosure_bundles b ON b.id = s.bundle_id
   WHERE s.revoked_at IS NULL AND s.expires_at > now() AND b.state = 'ready')`;
const sharedExhibits = (user: string) => `AND e.id IN (
  SELECT f.exhibit_id FROM disclosure_shares s JOIN disclosure_bundles b ON b.id = s.bundle_id
   CROSS JOIN LATERAL jsonb_array_elements(b.selection->'items') it
    LEFT JOIN derivatives d ON d.id = (it->>'derivativeId')::uuid
    JOIN evidence_files f ON f.id = coalesce((it->>'evidenceFileId')::uuid, d.evidence_file_id)
   WHERE b.case_id = c.id AND s.recipient_id = ${user} AND s.revoked_at IS NULL AND s.expires_at > now() AND b.state = 'ready')`;

/** Sort keys with the SQL type their cursor value is cast back to (timestamps keep microseconds as text). */
const SORT_COLUMNS: Record<ListCasesQuery['sort'], [string, string]> = {
  createdAt: ['c.created_at', 'timestamptz'],
  updatedAt: ['c.updated_at', 'timestamptz'],
  urn: ['c.urn', 'text'],
  title: ['c.title', 'text'],
};

@Injectable()
export class CasesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
  ) {}

  async create(principal: Principal, input: CreateCaseInput, context: RequestContext): Promise<CaseView> {
    if (!CASE_CREATORS.has(principal.role)) {
      throw new AppError('ROLE_NOT_ALLOWED', 'Only investigators and supervisors can open a case', 403);
    }
    const urn = parseUrn(input.urn);
    try {
      return await this.ds.transaction(async (tx) => {
        const row = await one<{ id: string }>(
          tx,
          `INSERT INTO cases (urn, title, operation_name, offence_summary, status, classification, retention_group, review_date, officer_in_case, created_by)
           VALUES ($1, $2, $3, $4, coalesce($5, 'open'), coalesce($6, 'OFFICIAL'), coalesce($7, 3), $8, $9, $9) RETURNING id`,
          [urn.normalised, input.title, input.operationName ?? null, input.offenceSummary ?? null, input.status ?? null, input.classification ?? null,
            input.retentionGroup ?? null, input.reviewDate ?? null, principal.userId],
        );
        const id = row!.id;
        await tx.query(`INSERT INTO case_members (case_id, user_id, case_role, added_by) VALUES ($1, $2, 'officer_in_case', $2)`, [id, principal.userId]);
        await recordCustodyEvent(tx, {
          type: 'case.created',
          operation: 'collection',
          caseId: id,
          actor: principal,
          object: { type: 'case', id, version: 1 },
          context,
          details: { urn: urn.normalised, title: input.title, classification: input.classification ?? 'OFFICIAL' },
        });
        return { ...(await this.load(tx, id)), access: { caseRole: 'officer_in_case' as const, via: 'member' as const } };
      });
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw await this.urnUnavailable(principal, urn.normalised, urn.display, context);
      throw e;
    }
  }

  /**
   * A URN is unique, so refusing a second case with it necessarily tells the caller that the URN
   * is in use; nothing else may follow from the answer. Everyone gets the same words, whether
   * they could see the existing case or not and whatever its classification: no id, title or
   * status, no 404-versus-409 difference to probe with. Duplicates are resolved by people (a
   * supervisor or the officer in the case adds the caller to the existing case), and the attempt
   * is recorded on the existing case, so its officers and the auditors see who tried the URN.
   */
  private async urnUnavailable(principal: Principal, normalised: string, display: string, context: RequestContext): Promise<AppError> {
    const existing = await one<{ id: string }>(this.ds, `SELECT id FROM cases WHERE urn = $1`, [normalised]);
    if (existing) {
      await this.ds.transaction((tx) => recordCustodyEvent(tx, {
        type: 'case.urn_conflict',
        operation: 'collection',
        caseId: existing.id,
        actor: principal,
        object: { type: 'case', id: existing.id },
        outcome: 'denied',
        context,
        details: { urn: normalised },
      }));
    }
    return new AppError(
      'URN_UNAVAILABLE',
      `URN ${display} cannot be used to open a new case. If the matter is already under investigation, ask a supervisor to add you to its case`,
      409,
    );
  }

  async get(principal: Principal, caseId: string, justification: Justification | undefined, context: RequestContext): Promise<CaseView> {
    if (principal.role === 'cps_prosecutor') return this.getShared(principal, caseId, justification, context);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      await recordCustodyEvent(tx, {
        type: 'case.consulted',
        operation: 'consultation',
        caseId,
        actor: principal,
        object: { type: 'case', id: caseId },
        justification,
        context,
      });
      return { ...(await this.load(tx, caseId, access)), access: { caseRole: access.caseRole, via: access.via } };
    });
  }

  /** A case as a CPS user sees it: only with a live share of one of its bundles (else 404), read-only, logged. */
  private async getShared(principal: Principal, caseId: string, justification: Justification | undefined, context: RequestContext): Promise<CaseView> {
    if (!isUuid(caseId)) throw caseNotFound();
    return this.ds.transaction(async (tx) => {
      const row = await one(tx, `${select(sharedExhibits('$2'))} FROM cases c JOIN ${SHARED_CASES} m ON m.case_id = c.id AND m.user_id = $2 WHERE c.id = $1`, [caseId, principal.userId]);
      if (!row) throw caseNotFound();
      await recordCustodyEvent(tx, { type: 'case.consulted', operation: 'consultation', caseId, actor: principal, object: { type: 'case', id: caseId }, justification, context, details: { via: 'share' } });
      return { ...toView(row), access: { caseRole: null, via: 'share' as const } };
    });
  }

  /**
   * Cases the caller is a member of (a CPS user: the cases shared with them), filtered, sorted and
   * paged with an opaque cursor.
   */
  async list(principal: Principal, query: ListCasesQuery, context: RequestContext): Promise<{ items: CaseView[]; nextCursor: string | null; total: number }> {
    const shared = principal.role === 'cps_prosecutor';
    const from = shared ? `cases c JOIN ${SHARED_CASES} m ON m.case_id = c.id` : 'cases c JOIN case_members m ON m.case_id = c.id';
    const where = ['m.user_id = $1'];
    const params: unknown[] = [principal.userId];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (query.urn) add('c.urn = ?', parseUrn(query.urn).normalised);
    if (query.status) add('c.status = ?', query.status);
    if (query.q) add(`c.search @@ plainto_tsquery('simple', ?)`, query.q);
    if (query.createdFrom) add('c.created_at >= ?::date', query.createdFrom);
    if (query.createdTo) add(`c.created_at < (?::date + interval '1 day')`, query.createdTo);
    const filtered = [...where];
    const filteredParams = [...params];

    const [col, type] = SORT_COLUMNS[query.sort];
    const cmp = query.order === 'desc' ? '<' : '>';
    if (query.cursor) {
      const [value, id] = decodeCursor(query.cursor, type);
      params.push(value, id);
      where.push(`(${col}, c.id) ${cmp} ($${params.length - 1}::${type}, $${params.length}::uuid)`);
    }
    params.push(query.limit + 1);
    const found = await rows(
      this.ds,
      `${shared ? select(sharedExhibits('$1')) : SELECT}, m.case_role, ${col}::text AS sort_value
         FROM ${from}
        WHERE ${where.join(' AND ')}
        ORDER BY ${col} ${query.order}, c.id ${query.order}
        LIMIT $${params.length}`,
      params,
    );
    const total = (await one<{ n: number }>(this.ds, `SELECT count(*)::int AS n FROM ${from} WHERE ${filtered.join(' AND ')}`, filteredParams))!.n;
    const page = found.slice(0, query.limit);
    const last = page[page.length - 1];
    await this.ds.transaction((tx) => recordCustodyEvent(tx, {
      type: 'case.list_consulted',
      operation: 'consultation',
      actor: principal,
      object: { type: 'case_list', id: '-' },
      context,
      details: { filters: { urn: query.urn, status: query.status, q: query.q }, returned: page.length },
    }));
    return {
      items: page.map((r) => ({ ...toView(r), access: { caseRole: (r.case_role as CaseRole) ?? null, via: shared ? ('share' as const) : ('member' as const) } })),
      nextCursor: found.length > query.limit && last ? encodeCursor(last.sort_value, last.id as string) : null,
      total,
    };
  }

  async update(principal: Principal, caseId: string, input: UpdateCaseInput, context: RequestContext): Promise<CaseView> {
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.update', { context, tx });
      const columns: Record<string, unknown> = {
        title: input.title,
        operation_name: input.operationName,
        offence_summary: input.offenceSummary,
        status: input.status,
        classification: input.classification,
        retention_group: input.retentionGroup,
        review_date: input.reviewDate,
        officer_in_case: input.officerInCase,
      };
      const set = Object.entries(columns).filter(([, v]) => v !== undefined);
      if (!set.length) throw new AppError('NOTHING_TO_UPDATE', 'Send at least one field to change', 400);
      if (input.officerInCase) {
        const member = await one(tx, `SELECT 1 FROM case_members WHERE case_id = $1 AND user_id = $2`, [caseId, input.officerInCase]);
        if (!member) throw new AppError('NOT_A_MEMBER', 'The officer in the case must be a member of the case', 400);
      }
      const before = await this.load(tx, caseId);
      const assignments = set.map(([k], i) => `${k} = $${i + 2}`).join(', ');
      await tx.query(`UPDATE cases SET ${assignments}, updated_at = now(), version = version + 1 WHERE id = $1`, [caseId, ...set.map(([, v]) => v)]);
      const after = await this.load(tx, caseId);
      await recordCustodyEvent(tx, {
        type: 'case.updated',
        operation: 'alteration',
        caseId,
        actor: principal,
        object: { type: 'case', id: caseId, version: after.version },
        context,
        details: { changed: Object.fromEntries(set.map(([k]) => [k, { from: (before as unknown as Record<string, unknown>)[camel(k)] ?? null, to: (after as unknown as Record<string, unknown>)[camel(k)] ?? null }])) },
      });
      return { ...after, access: { caseRole: access.caseRole, via: access.via } };
    });
  }

  /** Who works on a case is personal data about them (s.62): a consultation, with its justification, recorded. */
  async members(principal: Principal, caseId: string, justification: Justification | undefined, context: RequestContext): Promise<MemberView[]> {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const found = await rows<MemberView>(
        tx,
        `SELECT u.id AS "userId", u.username, u.display_name AS "displayName", u.role, m.case_role AS "caseRole", m.added_at AS "addedAt"
           FROM case_members m JOIN users u ON u.id = m.user_id WHERE m.case_id = $1 ORDER BY u.username`,
        [caseId],
      );
      await recordCustodyEvent(tx, {
        type: 'case.members_consulted',
        operation: 'consultation',
        caseId,
        actor: principal,
        object: { type: 'case_members', id: caseId },
        justification,
        context,
        details: { returned: found.length },
      });
      return found;
    });
  }

  async setMember(principal: Principal, caseId: string, userId: string, caseRole: CaseRole, context: RequestContext): Promise<MemberView> {
    return this.ds.transaction(async (tx) => {
      await this.access.resolve(principal, caseId, 'members.manage', { context, tx });
      const user = isUuid(userId) ? await one<{ role: string; is_active: boolean }>(tx, `SELECT role, is_active FROM users WHERE id = $1`, [userId]) : undefined;
      if (!user || !user.is_active) throw new AppError('USER_NOT_FOUND', 'No such active user', 404);
      if (!MEMBER_ROLES.has(user.role)) {
        throw new AppError('MEMBER_ROLE_NOT_ALLOWED', `A ${user.role} cannot be a member of a case (CPS users see shared material; auditors open cases with a reason)`, 400);
      }
      await this.assertOfficerRemains(tx, caseId, userId, caseRole);
      const previous = await one<{ case_role: string }>(tx, `SELECT case_role FROM case_members WHERE case_id = $1 AND user_id = $2`, [caseId, userId]);
      await tx.query(
        `INSERT INTO case_members (case_id, user_id, case_role, added_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id, user_id) DO UPDATE SET case_role = EXCLUDED.case_role`,
        [caseId, userId, caseRole, principal.userId],
      );
      await recordCustodyEvent(tx, {
        type: previous ? 'case.member_changed' : 'case.member_added',
        operation: 'alteration',
        caseId,
        actor: principal,
        object: { type: 'case_member', id: userId },
        context,
        details: { caseRole, previousCaseRole: previous?.case_role ?? null },
      });
      return (await one<MemberView>(
        tx,
        `SELECT u.id AS "userId", u.username, u.display_name AS "displayName", u.role, m.case_role AS "caseRole", m.added_at AS "addedAt"
           FROM case_members m JOIN users u ON u.id = m.user_id WHERE m.case_id = $1 AND m.user_id = $2`,
        [caseId, userId],
      ))!;
    });
  }

  async removeMember(principal: Principal, caseId: string, userId: string, context: RequestContext): Promise<void> {
    await this.ds.transaction(async (tx) => {
      await this.access.resolve(principal, caseId, 'members.manage', { context, tx });
      if (isUuid(userId)) await this.assertOfficerRemains(tx, caseId, userId, null);
      const removed = isUuid(userId) ? await affected(tx, `DELETE FROM case_members WHERE case_id = $1 AND user_id = $2`, [caseId, userId]) : 0;
      if (!removed) throw new AppError('MEMBER_NOT_FOUND', 'That user is not a member of this case', 404);
      await recordCustodyEvent(tx, { type: 'case.member_removed', operation: 'alteration', caseId, actor: principal, object: { type: 'case_member', id: userId }, context });
    });
  }

  /**
   * A case always keeps an officer in the case, or nobody could manage its members again: the
   * last one cannot step down to another role or leave (only they could do it, being the only
   * one with members.manage). Changes to a case's members wait on the case row, so two officers
   * stepping down at once cannot both go.
   */
  private async assertOfficerRemains(tx: Queryable, caseId: string, userId: string, newRole: CaseRole | null): Promise<void> {
    await tx.query(`SELECT 1 FROM cases WHERE id = $1 FOR UPDATE`, [caseId]);
    if (newRole === 'officer_in_case') return;
    const current = await one<{ case_role: string }>(tx, `SELECT case_role FROM case_members WHERE case_id = $1 AND user_id = $2`, [caseId, userId]);
    if (current?.case_role !== 'officer_in_case') return;
    const others = (await one<{ n: number }>(
      tx,
      `SELECT count(*)::int AS n FROM case_members WHERE case_id = $1 AND case_role = 'officer_in_case' AND user_id <> $2`,
      [caseId, userId],
    ))!.n;
    if (!others) {
      throw new AppError(
        'LAST_OFFICER_IN_CASE',
        'The case would be left without an officer in the case: make another member officer in the case first, then step down or leave',
        409,
      );
    }
  }

  /** One case; with the reader's access, `counts.exhibits` counts only the exhibits they may see. */
  private async load(q: Queryable, id: string, access?: CaseAccess): Promise<CaseView> {
    const row = await one(q, `${access ? select(exhibitVisibility(access, 'c.id', 'e.id')) : SELECT} FROM cases c WHERE c.id = $1`, [id]);
    if (!row) throw caseNotFound();
    return toView(row);
  }
}

function toView(r: Record<string, unknown>): CaseView {
  return {
    id: r.id as string,
    urn: r.urn as string,
    urnDisplay: displayUrn(r.urn as string),
    title: r.title as string,
    operationName: (r.operation_name as string) ?? null,
    offenceSummary: (r.offence_summary as string) ?? null,
    status: r.status as string,
    classification: r.classification as string,
    retentionGroup: Number(r.retention_group),
    reviewDate: (r.review_date as string) ?? null,
    officerInCase: (r.officer_in_case as string) ?? null,
    createdBy: r.created_by as string,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    version: Number(r.version),
    counts: { exhibits: Number(r.exhibit_count ?? 0), members: Number(r.member_count ?? 0) },
  };
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function encodeCursor(value: unknown, id: string): string {
  return Buffer.from(JSON.stringify([value instanceof Date ? value.toISOString() : value, id])).toString('base64url');
}

/** A timestamp as PostgreSQL writes timestamptz::text (the form encodeCursor stores). */
const PG_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

/**
 * A cursor names the last row of a page by its sort value and id. It comes back from the client,
 * so its value is checked against the sort column's type before it reaches SQL: a value that
 * cannot be one (not a timestamp, a text with NUL) is refused here, never cast by PostgreSQL.
 */
function decodeCursor(cursor: string, type: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && canonicalUuid(v[1]) && typeof v[0] === 'string' && v[0].length <= 1000 && !v[0].includes('\u0000')) {
      if (type !== 'timestamptz' || validTimestamp(v[0])) return [v[0], canonicalUuid(v[1])!];
    }
  } catch {
    // fall through
  }
  throw new AppError('INVALID_CURSOR', 'The cursor is not one this API gave out', 400);
}

function validTimestamp(text: string): boolean {
  const m = PG_TIMESTAMP.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  return y >= 1 && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}
