import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { rm } from 'node:fs/promises';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { CaseAccessService } from '../cases/index.js';
import { AppError, isUuid } from '../core/index.js';
import { recordCustodyEvent } from '../custody/index.js';
import { one } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { checkCaption, MediaService } from '../media/index.js';
import { QueueService } from '../queue/index.js';
import { ObjectStore } from '../storage/index.js';
import { courtCopyViews, type CaptionRow, type CourtCopyView } from './court-copy-views.js';
import { scratchDir } from './media-scratch.js';
import { map, WorkingCopiesService } from './working-copies.service.js';

export const courtCopyRequestSchema = z.strictObject({
  /**
   * What the recorder's own clock showed at the first frame (read from its native player or the
   * export's overlay): a wall-clock reading in the exhibit's time zone ('2026-11-20T09:58:12.000')
   * or an instant ('…Z', '…+01:00').
   */
  recorderTimeAtStart: z.string().trim().min(10).max(40),
  /** The short side of the copy (default 720); never enlarged. */
  maxHeight: z.number().int().min(144).max(2160).optional(),
});
export type CourtCopyRequest = z.infer<typeof courtCopyRequestSchema>;

/**
 * Court copies on request: the working-copy recipe run on the sealed original with the exhibit
 * reference and each frame's real-world time burnt in. The time comes from the stream time, the
 * recorder's reading at the first frame (given with the request) and the exhibit's recorded clock
 * offset and time zone (its retrieval details), so the copy never shows a time the exhibit's
 * record does not support. The same caption asked for twice gives the same request and copy.
 */
@Injectable()
export class CourtCopiesService {
  private readonly logger = new Logger('CourtCopies');
  private readonly worker = `${hostname()}:${process.pid}`;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(MediaService) private readonly media: MediaService,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(WorkingCopiesService) private readonly workingCopies: WorkingCopiesService,
  ) {}

  /** Someone who may add evidence to the case asks for a court copy of a sealed video. */
  async request(principal: Principal, caseId: string, fileId: string, body: CourtCopyRequest, context: RequestContext): Promise<{ created: boolean; view: CourtCopyView }> {
    await this.access.resolve(principal, caseId, 'exhibit.create', { context });
    const file = isUuid(fileId)
      ? await one<{ reference: string; retrieval: { clockOffsetSeconds?: number | null; timeZone?: string | null } | null; kind: string | null; state: string | null }>(
          this.ds,
          `SELECT x.reference, x.retrieval, a.kind, a.state FROM evidence_files f JOIN exhibits x ON x.id = f.exhibit_id
             LEFT JOIN media_analyses a ON a.evidence_file_id = f.id
            WHERE f.id = $1 AND f.case_id = $2 AND f.state = 'sealed'`,
          [fileId, caseId],
        )
      : undefined;
    if (!file) throw new AppError('EVIDENCE_FILE_NOT_FOUND', 'No sealed file with that id on this case', 404);
    if (file.kind !== 'video' || !['ready', 'partial'].includes(file.state ?? '')) {
      throw new AppError('COURT_COPY_NOT_AVAILABLE', `A court copy is made of a video whose working copy is ready; this file is ${file.kind ?? 'not yet analysed'} (${file.state ?? 'pending'})`, 409);
    }
    const offset = file.retrieval?.clockOffsetSeconds;
    const timeZone = file.retrieval?.timeZone;
    if (offset === undefined || offset === null || !timeZone) {
      throw new AppError(
        'COURT_COPY_NEEDS_RETRIEVAL_CLOCK',
        "The exhibit's retrieval details must give the recorder's clock offset (retrieval.clockOffsetSeconds, 0 if it was checked and right) and its time zone (retrieval.timeZone) before a court copy can show real-world times",
        409,
      );
    }
    const caption: CaptionRow = { exhibitReference: file.reference, recorderTimeAtStart: body.recorderTimeAtStart, clockOffsetSeconds: offset, timeZone, maxHeight: body.maxHeight ?? 720 };
    try {
      checkCaption(caption);
    } catch (e) {
      throw new AppError('COURT_COPY_INVALID_TIME', (e as Error).message, 400);
    }
    const variant = captionVariant(caption);
    const { id, created, requests } = await this.ds.transaction(async (tx) => {
      const inserted = await one<{ id: string }>(
        tx,
        `INSERT INTO court_copy_requests (evidence_file_id, case_id, variant, caption, state, requested_by) VALUES ($1, $2, $3, $4, 'pending', $5)
         ON CONFLICT (evidence_file_id, variant) DO NOTHING RETURNING id`,
        [fileId, caseId, variant, JSON.stringify(caption), principal.userId],
      );
      // Asked again: a failed request is tried again; a pending or ready one is answered as it is.
      const row = inserted
        ? { id: inserted.id, requests: 1 }
        : await one<{ id: string; requests: number }>(
            tx,
            `UPDATE court_copy_requests SET requests = requests + 1, state = CASE WHEN state = 'failed' THEN 'pending' ELSE state END,
                    failure_code = CASE WHEN state = 'failed' THEN NULL ELSE failure_code END, failure_reason = CASE WHEN state = 'failed' THEN NULL ELSE failure_reason END, updated_at = now()
              WHERE evidence_file_id = $1 AND variant = $2 RETURNING id, requests`,
            [fileId, variant],
          );
      await recordCustodyEvent(tx, {
        type: 'court_copy.requested',
        operation: 'collection',
        caseId,
        actor: principal,
        object: { type: 'evidence_file', id: fileId },
        context,
        details: { request: row!.id, caption, variant },
      });
      return { id: row!.id, created: Boolean(inserted), requests: row!.requests };
    });
    const view = (await courtCopyViews(this.ds, `id = $1`, [id]))[0];
    if (view.state === 'pending') await this.queues.enqueue('media.court-copy', { requestId: id }, { jobId: `court-copy-${id}-r${requests}` });
    return { created, view };
  }

  /** The worker makes the copy from the original (one generation of loss) and records it. */
  async process(requestId: string, signal: AbortSignal, progress: (percent: number) => Promise<void>): Promise<{ state: string; derivativeId: string | null }> {
    const req = await one<{ evidence_file_id: string; case_id: string; caption: CaptionRow; variant: string; derivative_id: string | null; bucket: string; object_key: string; sha256: string; reference: string }>(
      this.ds,
      `SELECT r.evidence_file_id, r.case_id, r.caption, r.variant, r.derivative_id, f.bucket, f.object_key, f.sha256, x.reference
         FROM court_copy_requests r JOIN evidence_files f ON f.id = r.evidence_file_id JOIN exhibits x ON x.id = f.exhibit_id WHERE r.id = $1`,
      [requestId],
    );
    if (!req) throw new AppError('COURT_COPY_NOT_FOUND', `No court copy request ${requestId}`, 404);
    if (req.derivative_id) return { state: 'ready', derivativeId: req.derivative_id };
    await this.ds.query(`UPDATE court_copy_requests SET state = 'processing', progress = 0, updated_at = now() WHERE id = $1`, [requestId]);
    const url = await this.store.presignGet(req.bucket, req.object_key, { expiresInSeconds: 12 * 3600 });
    let shown = 0;
    const report = (percent: number | undefined) => {
      const p = Math.min(99, Math.floor(percent ?? 0));
      if (p < shown + 5) return;
      shown = p;
      void Promise.all([progress(p), this.ds.query(`UPDATE court_copy_requests SET progress = $2 WHERE id = $1`, [requestId, p])]).catch(() => undefined);
    };
    const dir = await scratchDir();
    try {
      const { maxHeight, ...caption } = req.caption;
      const made = await this.media.makeCourtCopy(url, dir, {
        ...caption,
        maxHeight,
        inputSha256: req.sha256,
        baseName: 'court-copy',
        signal,
        onProgress: (p) => report(p.percent),
      });
      const result = map(made, (v) => ({
        files: [{ role: 'video', file: v.file }],
        quality: v.quality,
        summary: { width: v.width, height: v.height, durationSeconds: v.durationSeconds, frames: v.frames, caption: v.caption, request: requestId },
        provenance: v.provenance,
      }));
      if (!result.ok) {
        if (result.failure.retryable) throw new AppError(result.failure.code, result.failure.message, 503, { detail: result.failure.detail });
        await this.failed(requestId, result.failure.code, result.failure.message);
        return { state: 'failed', derivativeId: null };
      }
      const { ids } = await this.workingCopies.storeDerivative({ id: req.evidence_file_id, case_id: req.case_id, reference: req.reference }, 'court-copy', result.value, req.variant);
      await this.ds.query(`UPDATE court_copy_requests SET state = 'ready', derivative_id = $2, progress = 100, updated_at = now() WHERE id = $1`, [requestId, ids[0]]);
      this.logger.log({ caseId: req.case_id, evidenceId: req.evidence_file_id, request: requestId, derivative: ids[0] }, 'court copy made');
      return { state: 'ready', derivativeId: ids[0] };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Out of attempts, or input no retry can help: a visible failed state with its reason and event. */
  async failed(requestId: string, code: string, reason: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const row = await one<{ case_id: string; evidence_file_id: string }>(
        tx,
        `UPDATE court_copy_requests SET state = 'failed', failure_code = $2, failure_reason = $3, updated_at = now()
          WHERE id = $1 AND state IN ('pending', 'processing') RETURNING case_id, evidence_file_id`,
        [requestId, code, reason.slice(0, 2000)],
      );
      if (!row) return;
      await recordCustodyEvent(tx, {
        type: 'court_copy.failed',
        operation: 'collection',
        caseId: row.case_id,
        object: { type: 'evidence_file', id: row.evidence_file_id },
        outcome: 'failed',
        details: { request: requestId, code, reason: reason.slice(0, 2000), worker: this.worker },
      });
    });
  }
}

/** One request per file and caption: a digest of the caption's canonical form (fixed key order). */
export function captionVariant(c: CaptionRow): string {
  const canonical = JSON.stringify([c.exhibitReference, c.recorderTimeAtStart, c.clockOffsetSeconds, c.timeZone, c.maxHeight]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
