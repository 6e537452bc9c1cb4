import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AppError, isUuid } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/custody-recorder.js';
import { one, type Queryable } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import type { CaseRole } from './case.schemas.js';
import { eventVisibleTo, hiddenItemIds, type RecordedEvent } from './sensitive-items.js';

export type CasePermission = 'case.read' | 'case.log.export' | 'case.update' | 'members.manage' | 'exhibit.create' | 'exhibit.update' | 'exhibit.disclosure' | 'disclosure.manage' | 'case.fixity';

/**
 * What each role on a case may do. Read access to the case file comes with any membership, and
 * so does the verifiable export of the case log (`case.log.export`): it holds every event of the
 * case, OFFICIAL-SENSITIVE items included, so it is for members only.
 */
const CASE_ROLE_PERMISSIONS: Record<CaseRole, CasePermission[]> = {
  // disclosure.manage: MG6 schedules, bundles and their shares with the CPS (libs/disclosure).
  // case.fixity: re-hash every stored object of the case now, for those who answer for its
  // evidence; reviewers (and readers without membership) only read.
  officer_in_case: ['case.read', 'case.log.export', 'case.update', 'members.manage', 'exhibit.create', 'exhibit.update', 'exhibit.disclosure', 'disclosure.manage', 'case.fixity'],
  investigator: ['case.read', 'case.log.export', 'exhibit.create', 'exhibit.update', 'case.fixity'],
  forensic_analyst: ['case.read', 'case.log.export', 'exhibit.create', 'exhibit.update', 'case.fixity'],
  disclosure_officer: ['case.read', 'case.log.export', 'exhibit.disclosure', 'disclosure.manage', 'case.fixity'],
  reviewer: ['case.read', 'case.log.export'],
};

/** Global roles that may open any OFFICIAL case without membership, read-only, with a logged reason. */
const BREAK_GLASS_ROLES = new Set(['supervisor', 'auditor']);

export interface CaseAccess {
  caseId: string;
  classification: 'OFFICIAL' | 'OFFICIAL-SENSITIVE';
  caseRole: CaseRole | null;
  via: 'member' | 'supervisory_reason';
  /** Members see OFFICIAL-SENSITIVE items; break-glass readers do not (explicit membership only). */
  seesSensitiveItems: boolean;
  can(permission: CasePermission): boolean;
}

export const caseNotFound = () => new AppError('CASE_NOT_FOUND', 'No such case, or you have no access to it', 404);

/**
 * Need-to-know, in one place. A user reaches a case as a member, or (supervisor, auditor) by
 * giving a reason, which is recorded; OFFICIAL-SENSITIVE cases need membership. Anything else is
 * answered exactly like a case that does not exist (404), so ids of other cases leak nothing:
 * neither their existence nor their classification.
 */
@Injectable()
export class CaseAccessService {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async resolve(
    principal: Principal,
    caseId: string,
    permission: CasePermission,
    options: { justification?: Justification; context?: RequestContext; tx?: EntityManager } = {},
  ): Promise<CaseAccess> {
    if (!isUuid(caseId)) throw caseNotFound();
    const q = options.tx ?? this.ds;
    const row = await one<{ classification: CaseAccess['classification']; case_role: CaseRole | null }>(
      q,
      `SELECT c.classification, m.case_role FROM cases c
         LEFT JOIN case_members m ON m.case_id = c.id AND m.user_id = $2
        WHERE c.id = $1`,
      [caseId, principal.userId],
    );
    if (row?.case_role && principal.role !== 'cps_prosecutor') {
      const perms = CASE_ROLE_PERMISSIONS[row.case_role];
      if (!perms.includes(permission)) {
        throw new AppError('CASE_PERMISSION_DENIED', `Your role on this case (${row.case_role}) does not allow ${permission}`, 403);
      }
      return access(caseId, row.classification, row.case_role, 'member', perms);
    }
    if (BREAK_GLASS_ROLES.has(principal.role)) {
      // A supervisor or auditor who is not a member gets the same two refusals for any case id,
      // whether it names an OFFICIAL case, an OFFICIAL-SENSITIVE one or nothing at all: only with a
      // reason given does the answer depend on the case (OFFICIAL opens, anything else is 404).
      // Answering 403 here for OFFICIAL cases alone revealed which ids exist and their classification.
      if (permission === 'case.log.export') {
        throw new AppError(
          'CASE_PERMISSION_DENIED',
          'The verifiable case log is exported for members of the case only; GET /cases/:caseId/events gives you the events you may see, each checkable on its own',
          403,
        );
      }
      if (permission !== 'case.read') {
        throw new AppError('CASE_PERMISSION_DENIED', 'Without membership a case can only be read, with a reason; ask its officer in the case to add you', 403);
      }
      if (!options.justification) {
        throw new AppError(
          'ACCESS_REASON_REQUIRED',
          'You are not a member of this case: give a reason (X-Justification-Code and X-Justification-Text headers) to open it',
          403,
        );
      }
      if (row?.classification === 'OFFICIAL') {
        const event = {
          type: 'case.opened_with_reason',
          operation: 'consultation',
          caseId,
          actor: principal,
          object: { type: 'case', id: caseId },
          justification: options.justification,
          context: options.context,
        } as const;
        if (options.tx) await recordCustodyEvent(options.tx, event);
        else await this.ds.transaction((tx) => recordCustodyEvent(tx, event));
        return access(caseId, row.classification, null, 'supervisory_reason', ['case.read']);
      }
    }
    throw caseNotFound();
  }

  /**
   * Which of the case's custody events the reader may see: undefined for members (all of them);
   * for readers who do not see OFFICIAL-SENSITIVE items, a filter (sensitive-items.ts).
   */
  async eventFilter(access: CaseAccess, principal: Principal, q: Queryable = this.ds): Promise<((e: RecordedEvent) => boolean) | undefined> {
    if (access.seesSensitiveItems) return undefined;
    return eventVisibleTo(principal.userId, await hiddenItemIds(q, access.caseId));
  }
}

function access(caseId: string, classification: CaseAccess['classification'], caseRole: CaseRole | null, via: CaseAccess['via'], perms: CasePermission[]): CaseAccess {
  return { caseId, classification, caseRole, via, seesSensitiveItems: via === 'member', can: (p) => perms.includes(p) };
}
