import type { DataSource, EntityManager } from 'typeorm';
import { exhibitVisibility, requireJustification, type CaseAccess, type CaseAccessService } from '../cases/index.js';
import { AppError, isUuid } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/index.js';
import { one, type Queryable } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import type { ExtractionState } from './extractions.service.js';
import type { ExaminationState } from './extraction-workflow.schemas.js';

export interface ExtractionRow {
  id: string;
  case_id: string;
  exhibit_id: string;
  exhibit_reference: string;
  classification: string;
  kind: string;
  state: ExtractionState;
  examination_state: ExaminationState;
}

export const extractionNotFound = (extractionId: string) => new AppError('EXTRACTION_NOT_FOUND', `No extraction ${extractionId} in this case`, 404);

/**
 * An extraction of the case as the caller may see it (an extraction in a hidden exhibit is
 * unknown, like one that does not exist); `forUpdate` locks the row for a change of state.
 */
export async function findExtraction(q: Queryable, access: CaseAccess, caseId: string, extractionId: string, forUpdate = false): Promise<ExtractionRow> {
  const found = isUuid(extractionId)
    ? await one<ExtractionRow>(
        q,
        `SELECT e.id, e.case_id, e.exhibit_id, x.reference AS exhibit_reference, x.classification, e.kind, e.state, e.examination_state
           FROM extractions e JOIN exhibits x ON x.id = e.exhibit_id
          WHERE e.id = $1 AND e.case_id = $2 ${exhibitVisibility(access, '$2', 'e.exhibit_id')} ${forUpdate ? 'FOR UPDATE OF e' : ''}`,
        [extractionId, caseId],
      )
    : undefined;
  if (!found) throw extractionNotFound(extractionId);
  return found;
}

/**
 * A read of one extraction's records as an s.62 consultation: the caller may read the case, gave a
 * reason, and the read is logged as `extraction.<what>_consulted`, naming the exhibit so the event
 * is withheld where the exhibit is hidden.
 */
export function consultExtraction<T>(
  ds: DataSource,
  access: CaseAccessService,
  request: { principal: Principal; caseId: string; extractionId: string; justification: Justification | undefined; context: RequestContext; what: string },
  read: (tx: EntityManager, x: ExtractionRow) => Promise<T>,
): Promise<T> {
  const { principal, caseId, extractionId, justification, context, what } = request;
  requireJustification(justification);
  return ds.transaction(async (tx) => {
    const caseAccess = await access.resolve(principal, caseId, 'case.read', { justification, context, tx });
    const x = await findExtraction(tx, caseAccess, caseId, extractionId);
    const result = await read(tx, x);
    await recordCustodyEvent(tx, {
      type: `extraction.${what}_consulted`,
      operation: 'consultation',
      caseId,
      actor: principal,
      object: { type: 'extraction', id: x.id },
      justification,
      context,
      details: { exhibitId: x.exhibit_id },
    });
    return result;
  });
}
