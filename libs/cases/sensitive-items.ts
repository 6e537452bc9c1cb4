import { rows, type Queryable } from '../database/sql.js';
import type { CaseAccess } from './case-access.service.js';

/**
 * OFFICIAL-SENSITIVE items are for members of their case only (docs/domain.md, "Classification and
 * need-to-know"). Everyone else (supervisors and auditors reading with a reason) must not be able
 * to tell that such an item exists: not from a list, a count, a link from another item, or an
 * event in the case's log.
 *
 * An exhibit is hidden when it, or an exhibit above it (JS/1 for JS/1/1), is OFFICIAL-SENSITIVE:
 * a visible sub-exhibit would name its hidden parent by reference and parentId.
 */
export function hiddenExhibitsSql(caseExpr: string): string {
  return `WITH RECURSIVE hidden(id) AS (
      SELECT id FROM exhibits WHERE case_id = ${caseExpr} AND classification <> 'OFFICIAL'
      UNION SELECT x.id FROM exhibits x JOIN hidden h ON x.parent_id = h.id)
    SELECT id FROM hidden`;
}

/** An SQL condition on `column` leaving out the hidden exhibits of the case `caseExpr`, for readers who may not see them. */
export function exhibitVisibility(access: CaseAccess, caseExpr: string, column = 'id'): string {
  return access.seesSensitiveItems ? '' : `AND ${column} NOT IN (${hiddenExhibitsSql(caseExpr)})`;
}

/** Ids of the hidden items of a case: its hidden exhibits and every evidence file in them. */
export async function hiddenItemIds(q: Queryable, caseId: string): Promise<Set<string>> {
  const found = await rows<{ id: string }>(
    q,
    `WITH hidden_exhibits AS (${hiddenExhibitsSql('$1')})
     SELECT id FROM hidden_exhibits
     UNION ALL SELECT f.id FROM evidence_files f WHERE f.case_id = $1 AND f.exhibit_id IN (SELECT id FROM hidden_exhibits)`,
    [caseId],
  );
  return new Set(found.map((r) => r.id.toLowerCase()));
}

/**
 * Reads recorded with how much they returned (`returned`, `events`): a count that covers hidden
 * items. Other people's such events are withheld from readers outside the case in every case,
 * whether or not it holds hidden items, so their absence says nothing either.
 */
const COUNTED_READS = new Set(['exhibit.list_consulted', 'case.events_consulted', 'case.log_exported', 'access_log.queried']);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** One recorded event as the ledger stores it: the hashed bytes and who recorded it. */
export interface RecordedEvent {
  canonical: Buffer;
  event: { type: string; actor: { id: string } | null };
}

/**
 * Which of a case's events a reader outside the case may see. An event is withheld whole when any
 * id in it (its object, or one named in its details: exhibitId, duplicateOf, a storage key) is a
 * hidden item's, and when it is someone else's counted read. Events are never altered: what is
 * shown is exactly what was hashed, so each one still checks on its own (chain hash from its
 * prevHash, inclusion by its leafIndex).
 */
export function eventVisibleTo(readerId: string, hidden: Set<string>): (e: RecordedEvent) => boolean {
  return (e) => {
    if (COUNTED_READS.has(e.event.type) && e.event.actor?.id !== readerId) return false;
    if (!hidden.size) return true;
    for (const id of e.canonical.toString('utf8').match(UUID) ?? []) if (hidden.has(id.toLowerCase())) return false;
    return true;
  };
}
