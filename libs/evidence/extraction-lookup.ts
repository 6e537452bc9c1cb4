import { exhibitVisibility, type CaseAccess } from '../cases/index.js';
import { AppError, isUuid } from '../core/index.js';
import { one, type Queryable } from '../database/sql.js';
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
