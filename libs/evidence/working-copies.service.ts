import { Inject, Injectable, Logger } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { CaseAccessService, exhibitNotFound, exhibitVisibility, requireJustification } from '../cases/index.js';
import { AppError, isUuid } from '../core/index.js';
import { FixityService, recordCustodyEvent, type Justification } from '../custody/index.js';
import { one, rows, type Queryable } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { MediaService, RECIPE_VERSIONS, type DerivativeFile, type DerivativeKind, type MediaFailure, type MediaProbe, type MediaResult, type ProvenanceRecord } from '../media/index.js';
import { QueueService } from '../queue/index.js';
import { ObjectStore, type ByteRange } from '../storage/index.js';
import { courtCopyViews, type CourtCopyView } from './court-copy-views.js';
import { scratchDir } from './media-scratch.js';

export type MediaState = 'pending' | 'processing' | 'ready' | 'partial' | 'not_media' | 'needs_specialist_tool' | 'failed';

export interface DerivativeView {
  id: string;
  kind: DerivativeKind;
  role: string;
  reference: string;
  recipeVersion: string;
  mime: string;
  size: number;
  sha256: string;
  quality: 'complete' | 'with-decode-errors';
  summary: Record<string, unknown>;
  createdAt: Date;
}

export interface MediaView {
  fileId: string;
  state: MediaState;
  kind: string | null;
  mime: string | null;
  format: string | null;
  progress: number;
  facts: unknown;
  warnings: string[];
  failure: { code: string; reason: string; detail: string | null } | null;
  attempts: number;
  retries: number;
  updatedAt: Date;
  derivatives: DerivativeView[];
  /** Court copies asked for, with their state (the copies themselves are among the derivatives). */
  courtCopies: CourtCopyView[];
}

/** One derivative step of a media kind: which recipe, and how to call the adapter. */
interface Step {
  kind: DerivativeKind;
  /** The working copy itself: its failure is the file's failure; the others only add warnings. */
  essential: boolean;
  make: (input: string, outDir: string, probe: MediaProbe) => Promise<MediaResult<StepResult>>;
}

export interface StepResult {
  files: { role: string; file: DerivativeFile }[];
  quality?: 'complete' | 'with-decode-errors';
  summary: Record<string, unknown>;
  provenance: ProvenanceRecord;
}

const SHORT: Record<string, string> = {
  'video-working-copy': 'WC',
  'audio-working-copy': 'WC',
  'court-copy': 'CC',
  'poster-frame': 'POSTER',
  'contact-sheet': 'SHEET',
  waveform: 'WAVE',
  'image-preview': 'PREVIEW',
};

/**
 * Working copies of sealed originals: the original is probed (content decides the kind, never the
 * name), then each recipe of its kind makes a derivative in a bounded local temp folder from a
 * presigned URL of the original (ffmpeg reads it with range requests; the original is never
 * changed), which is stored as its own object in the working bucket, with its own SHA-256, linked
 * to its master, with the adapter's provenance record, and a custody event. Re-running skips
 * what exists for the same recipe version; a new recipe version makes a new derivative.
 * Undecodable input is a state with a reason, never a crash; transient trouble is retried.
 */
@Injectable()
export class WorkingCopiesService {
  private readonly logger = new Logger('WorkingCopies');
  private readonly worker = `${hostname()}:${process.pid}`;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(MediaService) private readonly media: MediaService,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(FixityService) private readonly fixity: FixityService,
  ) {}

  /** Records that a sealed original awaits its working copies (inside the seal's transaction). */
  async pending(tx: Queryable, fileId: string, caseId: string): Promise<void> {
    await tx.query(`INSERT INTO media_analyses (evidence_file_id, case_id, state) VALUES ($1, $2, 'pending') ON CONFLICT DO NOTHING`, [fileId, caseId]);
  }

  async enqueue(fileId: string, retries = 0): Promise<void> {
    await this.queues.enqueue('media.process', { fileId }, { jobId: `media-${fileId}-r${retries}` });
  }

  /** Pending analyses whose job never got queued (Redis away at seal time) are queued again. */
  async requeueStalled(olderThanMinutes = 15): Promise<number> {
    const stalled = await rows<{ evidence_file_id: string; retries: number }>(
      this.ds,
      `SELECT evidence_file_id, retries FROM media_analyses WHERE state = 'pending' AND updated_at < now() - make_interval(mins => $1) LIMIT 1000`,
      [olderThanMinutes],
    );
    for (const s of stalled) await this.enqueue(s.evidence_file_id, s.retries);
    return stalled.length;
  }

  async process(fileId: string, signal: AbortSignal, progress: (percent: number) => Promise<void>): Promise<{ state: MediaState; kind: string | null; derivatives: number }> {
    const file = await one<{ id: string; case_id: string; exhibit_id: string; reference: string; retrieval: { timeZone?: string | null } | null; bucket: string; object_key: string; sha256: string; state: string }>(
      this.ds,
      `SELECT f.id, f.case_id, f.exhibit_id, x.reference, x.retrieval, f.bucket, f.object_key, f.sha256, f.state
         FROM evidence_files f JOIN exhibits x ON x.id = f.exhibit_id WHERE f.id = $1`,
      [fileId],
    );
    if (!file) throw new AppError('EVIDENCE_FILE_NOT_FOUND', `No evidence file ${fileId}`, 404);
    if (file.state !== 'sealed') throw new AppError('NOT_SEALED', `Evidence file ${fileId} is ${file.state}: working copies are made of sealed originals only`, 409);
    await this.ds.query(
      `INSERT INTO media_analyses (evidence_file_id, case_id, state, attempts) VALUES ($1, $2, 'processing', 1)
       ON CONFLICT (evidence_file_id) DO UPDATE SET state = 'processing', attempts = media_analyses.attempts + 1, progress = 0, updated_at = now()`,
      [fileId, file.case_id],
    );
    // ffmpeg reads the original over HTTP with range requests: no local copy of the original.
    const url = await this.store.presignGet(file.bucket, file.object_key, { expiresInSeconds: 12 * 3600 });
    const common = { inputSha256: file.sha256, signal };

    const probed = await this.media.probe(url, common);
    if (!probed.ok) return this.unusable(file, probed.failure);
    const probe = probed.value;
    const kind = probe.detection.kind;
    await this.ds.transaction(async (tx) => {
      await tx.query(`UPDATE evidence_files SET media_kind = $2, media_mime = $3 WHERE id = $1`, [fileId, kind, probe.detection.mime]);
      await tx.query(
        `UPDATE media_analyses SET kind = $2, mime = $3, format = $4, facts = $5, raw = $6, warnings = $7, updated_at = now() WHERE evidence_file_id = $1`,
        [fileId, kind, probe.detection.mime, probe.detection.format, JSON.stringify({ av: probe.av ?? null, image: probe.image ?? null, detection: probe.detection, decodeErrors: probe.decodeErrors }), JSON.stringify(probe.raw), JSON.stringify(probe.warnings)],
      );
      await recordCustodyEvent(tx, {
        type: 'media.probed',
        operation: 'consultation',
        caseId: file.case_id,
        object: { type: 'evidence_file', id: fileId, sha256: file.sha256 },
        details: { worker: this.worker, kind, mime: probe.detection.mime, format: probe.detection.format, method: probe.detection.method, recipe: probe.provenance.recipeVersion, tools: probe.provenance.tools },
      });
    });
    if (kind === 'other') {
      await this.setState(fileId, 'not_media');
      return { state: 'not_media', kind, derivatives: 0 };
    }

    const steps = this.stepsFor(kind, file.retrieval);
    let made = 0;
    let quality: 'complete' | 'with-decode-errors' = 'complete';
    const warnings: string[] = [...probe.warnings];
    for (const [i, step] of steps.entries()) {
      signal.throwIfAborted();
      const done = await this.existing(fileId, step.kind);
      if (done.length) {
        if (done.some((d) => d.quality === 'with-decode-errors')) quality = 'with-decode-errors';
        continue;
      }
      const dir = await scratchDir();
      try {
        const result = await step.make(url, dir, probe);
        if (!result.ok) {
          if (result.failure.retryable) throw new AppError(result.failure.code, result.failure.message, 503, { detail: result.failure.detail });
          if (step.essential) return this.unusable(file, result.failure);
          warnings.push(`${step.kind}: ${result.failure.message}`);
          continue;
        }
        if (result.value.quality === 'with-decode-errors') quality = 'with-decode-errors';
        made += (await this.storeDerivative(file, step.kind, result.value)).made;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      await progress(Math.round(((i + 1) / steps.length) * 100));
    }
    const state: MediaState = quality === 'with-decode-errors' ? 'partial' : 'ready';
    await this.ds.query(`UPDATE media_analyses SET state = $2, warnings = $3, progress = 100, updated_at = now() WHERE evidence_file_id = $1`, [fileId, state, JSON.stringify(warnings)]);
    this.logger.log({ caseId: file.case_id, evidenceId: fileId, kind, state, derivatives: made }, 'working copies made');
    return { state, kind, derivatives: made };
  }

  /** The job gave up (its last attempt failed): a visible failed state with the reason, never "processing" forever. */
  async failed(fileId: string, code: string, reason: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const row = await one<{ case_id: string }>(
        tx,
        `UPDATE media_analyses SET state = 'failed', failure_code = $2, failure_reason = $3, updated_at = now()
          WHERE evidence_file_id = $1 AND state IN ('pending', 'processing') RETURNING case_id`,
        [fileId, code, reason.slice(0, 2000)],
      );
      if (!row) return;
      await recordCustodyEvent(tx, {
        type: 'media.failed',
        operation: 'collection',
        caseId: row.case_id,
        object: { type: 'evidence_file', id: fileId },
        outcome: 'failed',
        details: { code, reason: reason.slice(0, 2000), worker: this.worker },
      });
    });
  }

  /** Someone who may add evidence to the case asks for the working copies to be tried again. */
  async retry(principal: Principal, caseId: string, fileId: string, context: RequestContext): Promise<MediaView> {
    await this.access.resolve(principal, caseId, 'exhibit.create', { context });
    const retries = await this.ds.transaction(async (tx) => {
      const row = await one<{ retries: number }>(
        tx,
        `UPDATE media_analyses SET state = 'pending', retries = retries + 1, failure_code = NULL, failure_reason = NULL, failure_detail = NULL, updated_at = now()
          WHERE evidence_file_id = $1 AND case_id = $2 AND state IN ('failed', 'needs_specialist_tool', 'partial') RETURNING retries`,
        [isUuid(fileId) ? fileId : null, caseId],
      );
      if (!row) throw new AppError('MEDIA_NOT_RETRYABLE', 'Only failed or partial working copies can be retried (or there is no such file)', 409);
      await recordCustodyEvent(tx, { type: 'media.retried', operation: 'collection', caseId, actor: principal, object: { type: 'evidence_file', id: fileId }, context, details: { retry: row.retries } });
      return row.retries;
    });
    await this.enqueue(fileId, retries);
    return (await this.views(this.ds, [fileId]))[0];
  }

  /** Media state and derivatives of an exhibit's files: an s.62 consultation with its reason. */
  async forExhibit(principal: Principal, caseId: string, exhibitId: string, justification: Justification | undefined, context: RequestContext): Promise<MediaView[]> {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const exhibit = isUuid(exhibitId) ? await one(tx, `SELECT id FROM exhibits WHERE id = $1 AND case_id = $2 ${exhibitVisibility(access, '$2')}`, [exhibitId, caseId]) : undefined;
      if (!exhibit) throw exhibitNotFound();
      const ids = (await rows<{ id: string }>(tx, `SELECT id FROM evidence_files WHERE exhibit_id = $1 AND state = 'sealed' ORDER BY created_at, id`, [exhibitId])).map((r) => r.id);
      await recordCustodyEvent(tx, { type: 'media.consulted', operation: 'consultation', caseId, actor: principal, object: { type: 'exhibit', id: exhibitId }, justification, context, details: { files: ids.length } });
      return this.views(tx, ids);
    });
  }

  /** Every media file of a case with its state (for `dems media status`): an s.62 consultation. */
  async forCase(principal: Principal, caseId: string, justification: Justification | undefined, context: RequestContext) {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const found = await rows<{ id: string; exhibit_id: string; reference: string; original_filename: string }>(
        tx,
        `SELECT f.id, f.exhibit_id, x.reference, f.original_filename FROM evidence_files f JOIN exhibits x ON x.id = f.exhibit_id
          WHERE f.case_id = $1 AND f.state = 'sealed' ${exhibitVisibility(access, '$1', 'f.exhibit_id')} ORDER BY x.reference, f.created_at, f.id`,
        [caseId],
      );
      await recordCustodyEvent(tx, { type: 'media.consulted', operation: 'consultation', caseId, actor: principal, object: { type: 'case', id: caseId }, justification, context, details: { files: found.length } });
      const views = new Map((await this.views(tx, found.map((f) => f.id))).map((v) => [v.fileId, v]));
      return found.map((f) => ({ exhibitId: f.exhibit_id, exhibitReference: f.reference, filename: f.original_filename, ...views.get(f.id)! }));
    });
  }

  /**
   * A derivative's whole record, provenance included (tool versions, exact commands, input and
   * output hashes), for `dems media reproduce`: an s.62 consultation with its reason.
   */
  async record(principal: Principal, caseId: string, derivativeId: string, justification: Justification | undefined, context: RequestContext) {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const d = isUuid(derivativeId)
        ? await one<Record<string, unknown>>(
            tx,
            `SELECT d.id, d.evidence_file_id, f.exhibit_id, d.kind, d.role, d.reference, d.recipe_version, d.variant, d.mime, d.size, d.sha256, d.quality, d.summary, d.provenance, d.created_at
               FROM derivatives d JOIN evidence_files f ON f.id = d.evidence_file_id WHERE d.id = $1 AND d.case_id = $2 ${exhibitVisibility(access, '$2', 'f.exhibit_id')}`,
            [derivativeId, caseId],
          )
        : undefined;
      if (!d) throw new AppError('DERIVATIVE_NOT_FOUND', 'No such working copy', 404);
      await recordCustodyEvent(tx, { type: 'derivative.consulted', operation: 'consultation', caseId, actor: principal, object: { type: 'derivative', id: derivativeId, sha256: d.sha256 as string }, justification, context, details: { reference: d.reference } });
      return {
        ...derivativeView(d),
        fileId: d.evidence_file_id as string,
        exhibitId: d.exhibit_id as string,
        variant: d.variant as string,
        provenance: d.provenance as ProvenanceRecord,
      };
    });
  }

  /**
   * A derivative's bytes for playback (HTTP Range supported): each request is a consultation in
   * the s.62 log naming the derivative and the byte range served.
   */
  async open(
    principal: Principal,
    ids: { caseId: string; exhibitId: string; fileId: string; derivativeId: string },
    rangeFor: (size: number) => ByteRange | undefined | 'unsatisfiable',
    justification: Justification | undefined,
    context: RequestContext,
  ): Promise<
    | { body: Readable; range?: { start: number; end: number }; contentLength: number; totalSize: number; mime: string; sha256: string; reference: string }
    | { unsatisfiable: true; size: number }
  > {
    requireJustification(justification);
    const { caseId, exhibitId, fileId, derivativeId } = ids;
    const d = await this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const row =
        isUuid(exhibitId) && isUuid(fileId) && isUuid(derivativeId)
          ? await one<{ bucket: string; object_key: string; mime: string; sha256: string; size: string; reference: string }>(
              tx,
              `SELECT d.bucket, d.object_key, d.mime, d.sha256, d.size, d.reference FROM derivatives d JOIN evidence_files f ON f.id = d.evidence_file_id
                WHERE d.id = $1 AND f.id = $2 AND f.exhibit_id = $3 AND f.case_id = $4 ${exhibitVisibility(access, '$4', 'f.exhibit_id')}`,
              [derivativeId, fileId, exhibitId, caseId],
            )
          : undefined;
      if (!row) throw new AppError('DERIVATIVE_NOT_FOUND', 'No such working copy', 404);
      const asked = rangeFor(Number(row.size));
      if (asked === 'unsatisfiable') return { ...row, range: 'unsatisfiable' as const };
      const range = asked ? { start: asked.start, end: asked.end ?? Number(row.size) - 1 } : undefined;
      await recordCustodyEvent(tx, {
        type: 'derivative.played',
        operation: 'consultation',
        caseId,
        actor: principal,
        object: { type: 'derivative', id: derivativeId, sha256: row.sha256 },
        justification,
        context,
        details: { fileId, reference: row.reference, range: range ?? null, size: Number(row.size) },
      });
      return { ...row, range };
    });
    if (d.range === 'unsatisfiable') return { unsatisfiable: true, size: Number(d.size) };
    const got = await this.store.get(d.bucket, d.object_key, d.range);
    return { body: got.body, range: d.range, contentLength: got.contentLength, totalSize: got.totalSize, mime: d.mime, sha256: d.sha256, reference: d.reference };
  }

  private stepsFor(kind: 'video' | 'audio' | 'image', retrieval: { timeZone?: string | null } | null): Step[] {
    void retrieval;
    const m = this.media;
    // A fixed base name: a retry after a crash between upload and record writes the same key again (no orphan object).
    const opts = (probe: MediaProbe) => ({ probe, inputSha256: probe.provenance.input.sha256, baseName: 'copy' });
    if (kind === 'video') {
      return [
        {
          kind: 'video-working-copy',
          essential: true,
          make: async (input, dir, probe) =>
            map(await m.makeVideoWorkingCopy(input, dir, opts(probe)), (v) => ({
              files: [{ role: 'video', file: v.file }],
              quality: v.quality,
              summary: { width: v.width, height: v.height, durationSeconds: v.durationSeconds, frames: v.frames, deinterlaced: v.deinterlaced, rotationApplied: v.rotationApplied, assumedTiming: v.assumedTiming ?? null, decodeErrors: v.decodeErrors, warnings: v.warnings },
              provenance: v.provenance,
            })),
        },
        {
          kind: 'poster-frame',
          essential: false,
          make: async (input, dir, probe) => map(await m.makePosterFrame(input, dir, opts(probe)), (v) => ({ files: [{ role: 'poster', file: v.file }], summary: { width: v.width, height: v.height, atSeconds: v.requestedSeconds }, provenance: v.provenance })),
        },
        {
          kind: 'contact-sheet',
          essential: false,
          make: async (input, dir, probe) =>
            map(await m.makeContactSheet(input, dir, opts(probe)), (v) => ({ files: [{ role: 'sheet', file: v.file }], summary: { width: v.width, height: v.height, intervalSeconds: v.intervalSeconds, thumbnails: v.thumbnails }, provenance: v.provenance })),
        },
      ];
    }
    if (kind === 'audio') {
      return [
        {
          kind: 'audio-working-copy',
          essential: true,
          make: async (input, dir, probe) =>
            map(await m.makeAudioWorkingCopy(input, dir, opts(probe)), (v) => ({ files: [{ role: 'audio', file: v.file }], summary: { durationSeconds: v.durationSeconds, sampleRate: v.sampleRate, channels: v.channels, bitRate: v.bitRate }, provenance: v.provenance })),
        },
        {
          kind: 'waveform',
          essential: false,
          make: async (input, dir, probe) =>
            map(await m.makeWaveform(input, dir, opts(probe)), (v) => ({ files: [{ role: 'peaks', file: v.json }, { role: 'image', file: v.png }], summary: { buckets: v.peaks.buckets, durationSeconds: v.peaks.durationSeconds }, provenance: v.provenance })),
        },
      ];
    }
    return [
      {
        kind: 'image-preview',
        essential: true,
        make: async (input, dir, probe) =>
          map(await m.makeImagePreview(input, dir, opts(probe)), (v) => ({
            files: [{ role: 'preview', file: v.preview }, { role: 'thumbnail', file: v.thumbnail }],
            summary: { preview: { width: v.preview.width, height: v.preview.height }, thumbnail: { width: v.thumbnail.width, height: v.thumbnail.height }, orientationFrom: v.orientationFrom, decodedVia: v.decodedVia, exif: v.facts.exif ?? null },
            provenance: v.provenance,
          })),
      },
    ];
  }

  /**
   * Stores each output as its own object, checks its hash as stored, then records it with its
   * event. `variant` tells apart derivatives of one recipe made with other parameters (a court
   * copy's caption); the same variant again records nothing new. Returns the derivative ids.
   */
  async storeDerivative(file: { id: string; case_id: string; reference: string }, kind: DerivativeKind, r: StepResult, variant = ''): Promise<{ made: number; ids: string[] }> {
    const recipe = RECIPE_VERSIONS[kind];
    let made = 0;
    const ids: string[] = [];
    for (const { role, file: out } of r.files) {
      const key = `derivatives/${file.id}/${recipe.replace(/[^a-z0-9.-]+/gi, '_')}${variant ? `/${variant}` : ''}/${role}-${out.fileName}`;
      const put = await this.store.put(this.store.buckets.working, key, createReadStream(out.path), { contentType: out.mime, expectedSize: out.sizeBytes });
      if (put.sha256 !== out.sha256) {
        throw new AppError('DERIVATIVE_STORED_WRONG', `The stored ${kind} hashes to ${put.sha256}, not ${out.sha256} as made`, 502);
      }
      const reference = `${file.reference}-${SHORT[kind] ?? kind.toUpperCase()}${r.files.length > 1 ? `-${role.toUpperCase()}` : ''}${variant ? `-${variant.slice(0, 6)}` : ''}-${file.id.slice(0, 8)}`;
      await this.ds.transaction(async (tx) => {
        const row = await one<{ id: string }>(
          tx,
          `INSERT INTO derivatives (evidence_file_id, case_id, kind, role, recipe_version, variant, reference, bucket, object_key, mime, size, sha256, quality, summary, provenance)
           VALUES ($1, $2, $3, $4, $5, $15, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (evidence_file_id, kind, role, recipe_version, variant) DO NOTHING RETURNING id`,
          [file.id, file.case_id, kind, role, recipe, reference, put.bucket, key, out.mime, put.size, put.sha256, r.quality ?? 'complete', JSON.stringify(r.summary), JSON.stringify(r.provenance), variant],
        );
        if (!row) {
          const had = await one<{ id: string }>(tx, `SELECT id FROM derivatives WHERE evidence_file_id = $1 AND kind = $2 AND role = $3 AND recipe_version = $4 AND variant = $5`, [file.id, kind, role, recipe, variant]);
          ids.push(had!.id);
          return;
        }
        ids.push(row.id);
        made++;
        // Derivatives are stored objects like any other: fixity re-checks them.
        await this.fixity.register(tx, { bucket: put.bucket, key, kind: 'derivative', caseId: file.case_id, size: put.size, sha256: put.sha256 });
        await recordCustodyEvent(tx, {
          type: 'derivative.created',
          operation: 'collection',
          caseId: file.case_id,
          object: { type: 'derivative', id: row.id, sha256: put.sha256 },
          details: {
            master: { evidenceFileId: file.id, sha256: r.provenance.input.sha256 },
            kind,
            role,
            reference,
            recipe,
            ...(variant ? { variant } : {}),
            quality: r.quality ?? 'complete',
            worker: this.worker,
            tools: r.provenance.tools,
            steps: r.provenance.steps,
            bucket: put.bucket,
            key,
            size: put.size,
          },
        });
      });
    }
    return { made, ids };
  }

  private async existing(fileId: string, kind: DerivativeKind) {
    return rows<{ quality: string }>(this.ds, `SELECT quality FROM derivatives WHERE evidence_file_id = $1 AND kind = $2 AND recipe_version = $3 AND variant = ''`, [
      fileId,
      kind,
      RECIPE_VERSIONS[kind],
    ]);
  }

  /** Input that no retry can help: the original stays sealed and untouched; the file is marked with the reason. */
  private async unusable(file: { id: string; case_id: string }, failure: MediaFailure): Promise<{ state: MediaState; kind: string | null; derivatives: number }> {
    if (failure.retryable) throw new AppError(failure.code, failure.message, 503, { detail: failure.detail });
    const state: MediaState = failure.needsSpecialistTool ? 'needs_specialist_tool' : 'failed';
    await this.ds.transaction(async (tx) => {
      await tx.query(
        `UPDATE media_analyses SET state = $2, failure_code = $3, failure_reason = $4, failure_detail = $5, updated_at = now() WHERE evidence_file_id = $1`,
        [file.id, state, failure.code, failure.message, failure.detail?.slice(0, 4000) ?? null],
      );
      await recordCustodyEvent(tx, {
        type: 'media.unusable',
        operation: 'collection',
        caseId: file.case_id,
        object: { type: 'evidence_file', id: file.id },
        outcome: 'failed',
        details: { state, code: failure.code, reason: failure.message, tool: failure.tool ?? null, worker: this.worker },
      });
    });
    this.logger.warn({ caseId: file.case_id, evidenceId: file.id, code: failure.code, state }, 'no working copy: the original is kept as it is');
    return { state, kind: null, derivatives: 0 };
  }

  private async setState(fileId: string, state: MediaState): Promise<void> {
    await this.ds.query(`UPDATE media_analyses SET state = $2, progress = 100, updated_at = now() WHERE evidence_file_id = $1`, [fileId, state]);
  }

  private async views(q: Queryable, fileIds: string[]): Promise<MediaView[]> {
    if (!fileIds.length) return [];
    const analyses = await rows(q, `SELECT * FROM media_analyses WHERE evidence_file_id = ANY($1::uuid[])`, [fileIds]);
    const derivs = await rows(q, `SELECT * FROM derivatives WHERE evidence_file_id = ANY($1::uuid[]) ORDER BY created_at, kind, role`, [fileIds]);
    const courtCopies = await courtCopyViews(q, `evidence_file_id = ANY($1::uuid[])`, [fileIds]);
    const byFile = new Map(analyses.map((a) => [a.evidence_file_id as string, a]));
    return fileIds.map((id) => {
      const a = byFile.get(id);
      return {
        fileId: id,
        state: (a?.state as MediaState) ?? 'pending',
        kind: (a?.kind as string) ?? null,
        mime: (a?.mime as string) ?? null,
        format: (a?.format as string) ?? null,
        progress: (a?.progress as number) ?? 0,
        facts: a?.facts ?? null,
        warnings: (a?.warnings as string[]) ?? [],
        failure: a?.failure_code ? { code: a.failure_code as string, reason: a.failure_reason as string, detail: (a.failure_detail as string) ?? null } : null,
        attempts: (a?.attempts as number) ?? 0,
        retries: (a?.retries as number) ?? 0,
        updatedAt: (a?.updated_at as Date) ?? new Date(0),
        derivatives: derivs
          .filter((d) => d.evidence_file_id === id)
          .map(derivativeView),
        courtCopies: courtCopies.filter((c) => c.fileId === id),
      };
    });
  }
}

function derivativeView(d: Record<string, unknown>): DerivativeView {
  return {
    id: d.id as string,
    kind: d.kind as DerivativeKind,
    role: d.role as string,
    reference: d.reference as string,
    recipeVersion: d.recipe_version as string,
    mime: d.mime as string,
    size: Number(d.size),
    sha256: d.sha256 as string,
    quality: d.quality as DerivativeView['quality'],
    summary: d.summary as Record<string, unknown>,
    createdAt: d.created_at as Date,
  };
}

export function map<T, U>(r: MediaResult<T>, f: (v: T) => U): MediaResult<U> {
  return r.ok ? { ok: true, value: f(r.value) } : r;
}
