import { rows, type Queryable } from '../database/sql.js';
import type { CaptionSpec } from '../media/index.js';

export type CourtCopyState = 'pending' | 'processing' | 'ready' | 'failed';

/** The caption a court copy was asked for: the exhibit's reference, clock offset and zone, the recorder's reading at the first frame. */
export interface CaptionRow extends CaptionSpec {
  maxHeight: number;
}

export interface CourtCopyView {
  id: string;
  fileId: string;
  state: CourtCopyState;
  caption: CaptionRow;
  progress: number;
  derivativeId: string | null;
  failure: { code: string; reason: string } | null;
  requests: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Court copy requests matching a condition on court_copy_requests (the caller's parameters). */
export async function courtCopyViews(q: Queryable, where: string, params: unknown[]): Promise<CourtCopyView[]> {
  const found = await rows(q, `SELECT * FROM court_copy_requests WHERE ${where} ORDER BY created_at, id`, params);
  return found.map((r) => ({
    id: r.id as string,
    fileId: r.evidence_file_id as string,
    state: r.state as CourtCopyState,
    caption: r.caption as CaptionRow,
    progress: r.progress as number,
    derivativeId: (r.derivative_id as string) ?? null,
    failure: r.failure_code ? { code: r.failure_code as string, reason: r.failure_reason as string } : null,
    requests: r.requests as number,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
  }));
}
