import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { CaseAccessService, exhibitNotFound, exhibitVisibility, hiddenItemIds, parseExhibitReference, requireJustification } from '../cases/index.js';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError, isUuid, type Digests } from '../core/index.js';
import { FixityService, recordCustodyEvent, type Justification } from '../custody/index.js';
import { one, rows, type Queryable } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { QueueService } from '../queue/index.js';
import { hashStoredObject, ObjectStore, UPLOAD_KEY_PREFIX } from '../storage/index.js';
import type { UploadDeclaration } from './upload-metadata.js';
import { WorkingCopiesService } from './working-copies.service.js';
import { ExtractionsService } from './extractions.service.js';

export type EvidenceFileState = 'uploading' | 'verifying' | 'sealed' | 'quarantined' | 'expired' | 'cancelled' | 'seal_failed';

export interface EvidenceFileView {
  id: string;
  caseId: string;
  exhibitId: string;
  exhibitReference: string;
  filename: string;
  declaredType: string | null;
  size: number;
  state: EvidenceFileState;
  /** Bytes stored so far and their share of the size (100 once complete). */
  progress: { bytesReceived: number; percent: number };
  /** Evidence only when true: sealed, never written again. */
  isEvidence: boolean;
  hashes: { algorithm: string; value: string; source: 'computed' }[];
  hashedFrom: 'ingest_stream' | 'stored_object' | null;
  declaredHashes: { algorithm: string; value: string; matched: boolean | null }[];
  quarantine: { code: string; reason: string } | null;
  /** Why the seal could not finish (state seal_failed); a retry moves the file back to verifying. */
  sealFailure: { code: string; reason: string; retries: number } | null;
  /** An earlier sealed file of the same case with the same SHA-256 (linked, never hidden). */
  duplicateOf: { id: string; exhibitId: string; exhibitReference: string; filename: string } | null;
  writeOnceUntil: Date | null;
  createdBy: string;
  createdAt: Date;
  lastActivityAt: Date;
  completedAt: Date | null;
  sealedAt: Date | null;
}

interface FileRow {
  id: string;
  case_id: string;
  exhibit_id: string;
  exhibit_reference: string;
  bucket: string;
  object_key: string;
  original_filename: string;
  declared_type: string | null;
  size: string;
  declared_empty: boolean;
  bytes_received: string;
  state: EvidenceFileState;
  declared_hashes: { algorithm: string; value: string; matched?: boolean | null }[];
  sha256: string | null;
  sha1: string | null;
  md5: string | null;
  hashed_from: 'ingest_stream' | 'stored_object' | null;
  quarantine_code: string | null;
  quarantine_reason: string | null;
  seal_failure_code: string | null;
  seal_failure_reason: string | null;
  seal_retries: number;
  duplicate_of: string | null;
  dup_exhibit_id: string | null;
  dup_exhibit_reference: string | null;
  dup_filename: string | null;
  write_once_until: Date | null;
  created_by: string;
  created_at: Date;
  last_activity_at: Date;
  completed_at: Date | null;
  sealed_at: Date | null;
  version: number;
}

const SELECT = `SELECT f.*, x.reference AS exhibit_reference, d.exhibit_id AS dup_exhibit_id, dx.reference AS dup_exhibit_reference, d.original_filename AS dup_filename
  FROM evidence_files f JOIN exhibits x ON x.id = f.exhibit_id
  LEFT JOIN evidence_files d ON d.id = f.duplicate_of LEFT JOIN exhibits dx ON dx.id = d.exhibit_id`;

const GiB = 1024 ** 3;

export const uploadNotFound = () => new AppError('UPLOAD_NOT_FOUND', 'No such upload, or it is not yours', 404);

/** The object key of an upload: chosen by the service (a fresh UUID), never derived from user input. */
export function uploadKey(fileId: string): string {
  return `${UPLOAD_KEY_PREFIX}${fileId}`;
}

export function fileIdFromKey(key: string): string | undefined {
  const id = key.startsWith(UPLOAD_KEY_PREFIX) ? key.slice(UPLOAD_KEY_PREFIX.length) : '';
  return isUuid(id) ? id : undefined;
}

/**
 * Evidence files: an upload's life from the first byte to a sealed original (or a quarantined
 * one), with its custody events. A file is evidence only once sealed: its hashes were computed
 * by the service over the bytes it stored and matched every declared hash.
 */
@Injectable()
export class EvidenceFilesService {
  private readonly logger = new Logger('Evidence');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(FixityService) private readonly fixity: FixityService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WorkingCopiesService) private readonly workingCopies: WorkingCopiesService,
    @Inject(ExtractionsService) private readonly extractions: ExtractionsService,
  ) {}

  /** Checks a new upload against access and limits and records it; throws AppError to refuse. */
  async begin(principal: Principal, fileId: string, size: number | undefined, d: UploadDeclaration, context: RequestContext): Promise<void> {
    if (size === undefined) throw new AppError('UPLOAD_LENGTH_REQUIRED', 'Send Upload-Length: the size must be known when the upload starts', 400);
    const max = this.config.INGEST_MAX_FILE_SIZE_GB * GiB;
    if (size > max) throw new AppError('FILE_TOO_LARGE', `The file is ${size} bytes; the largest accepted is ${this.config.INGEST_MAX_FILE_SIZE_GB} GiB`, 413, { size, max });
    if (size === 0 && !d.declaredEmpty) {
      throw new AppError('EMPTY_FILE_NOT_DECLARED', 'The file is empty (0 bytes). If that is right, declare it with Upload-Metadata empty=true', 400);
    }
    if (size > 0 && d.declaredEmpty) throw new AppError('EMPTY_FILE_MISMATCH', `The file was declared empty but Upload-Length is ${size}`, 400);
    await this.ds.transaction(async (tx) => {
      await this.access.resolve(principal, d.caseId, 'exhibit.create', { context, tx });
      const reference = d.exhibitRef === null ? null : safeReference(d.exhibitRef);
      const exhibit = await one<{ id: string; source_type: string; reference: string }>(
        tx,
        `SELECT id, source_type, reference FROM exhibits WHERE case_id = $1 AND ${reference === null ? 'id = $2' : 'reference = $2'}`,
        [d.caseId, reference ?? d.exhibitId],
      );
      if (!exhibit) throw new AppError('EXHIBIT_NOT_FOUND', reference ? `No exhibit ${reference} on this case` : 'No such exhibit on this case', 404);
      if (!(this.config.INGEST_ALLOWED_SOURCE_TYPES as string[]).includes(exhibit.source_type)) {
        throw new AppError(
          'SOURCE_TYPE_NOT_ALLOWED',
          `Exhibit ${exhibit.reference} is of source type ${exhibit.source_type}, which this service does not accept uploads for (allowed: ${this.config.INGEST_ALLOWED_SOURCE_TYPES.join(', ')})`,
          422,
        );
      }
      // One user's open uploads are counted under a per-user lock so two requests cannot both take the last slot.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('evidence_uploads:' || $1, 0))`, [principal.userId]);
      const open = (await one<{ n: number }>(tx, `SELECT count(*)::int AS n FROM evidence_files WHERE created_by = $1 AND state = 'uploading'`, [principal.userId]))!.n;
      const limit = this.config.INGEST_MAX_CONCURRENT_UPLOADS_PER_USER;
      if (open >= limit) {
        throw new AppError('TOO_MANY_UPLOADS', `You have ${open} uploads open (the limit is ${limit}): finish or cancel one first`, 429, { open, limit });
      }
      await tx.query(
        `INSERT INTO evidence_files (id, case_id, exhibit_id, bucket, object_key, original_filename, declared_type, size, declared_empty, declared_hashes, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [fileId, d.caseId, exhibit.id, this.store.buckets.originals, uploadKey(fileId), d.filename, d.declaredType, size, d.declaredEmpty,
          JSON.stringify(d.declaredHashes), principal.userId],
      );
      await recordCustodyEvent(tx, {
        type: 'evidence.upload_started',
        operation: 'collection',
        caseId: d.caseId,
        actor: principal,
        object: { type: 'evidence_file', id: fileId, version: 1 },
        context,
        details: { exhibitId: exhibit.id, exhibitReference: exhibit.reference, filename: d.filename, size, declaredHashes: d.declaredHashes },
      });
    });
  }

  /**
   * For HEAD, PATCH and DELETE of an upload: only its uploader may touch it, only while they may
   * still add evidence to its case (checked on every request: a member removed from the case
   * mid-upload cannot send another byte, read or cancel it), and bytes are accepted only while
   * it is uploading. Answers the file's row.
   */
  async authorize(principal: Principal, fileId: string, method: string): Promise<{ state: EvidenceFileState; size: number }> {
    const row = isUuid(fileId)
      ? await one<{ state: EvidenceFileState; size: string; created_by: string; case_id: string }>(
          this.ds,
          `SELECT state, size, created_by, case_id FROM evidence_files WHERE id = $1`,
          [fileId],
        )
      : undefined;
    if (!row || row.created_by !== principal.userId) throw uploadNotFound();
    await this.assertStillMayAdd(principal, row.case_id);
    const gone = row.state === 'expired' || row.state === 'cancelled';
    if (gone || ((method === 'PATCH' || method === 'DELETE') && row.state !== 'uploading')) {
      const code = gone ? 'UPLOAD_GONE' : 'UPLOAD_COMPLETE';
      throw new AppError(
        code,
        code === 'UPLOAD_GONE'
          ? `This upload was ${row.state}; start a new one`
          : `This upload is complete (${row.state}); its bytes can no longer be changed or removed`,
        code === 'UPLOAD_GONE' ? 410 : 409,
        { state: row.state },
      );
    }
    return { state: row.state, size: Number(row.size) };
  }

  /** Progress is not a custody fact: no event, just the counters. */
  async progress(fileId: string, bytesReceived: number): Promise<void> {
    await this.ds.query(
      `UPDATE evidence_files SET bytes_received = greatest(bytes_received, $2), last_activity_at = now() WHERE id = $1 AND state = 'uploading'`,
      [fileId, bytesReceived],
    );
  }

  /**
   * Every byte is stored: the file moves to verifying and the seal job is queued. `digests` are
   * the service's own hashes of the byte stream it wrote, when one process saw all of it.
   */
  async completed(fileId: string, digests: Digests | undefined, principal?: Principal, context?: RequestContext): Promise<void> {
    const moved = await this.ds.transaction(async (tx) => {
      const row = await one<{ case_id: string; size: string }>(
        tx,
        `UPDATE evidence_files SET state = 'verifying', bytes_received = size, completed_at = now(), last_activity_at = now(), version = version + 1
          WHERE id = $1 AND state = 'uploading' RETURNING case_id, size`,
        [fileId],
      );
      if (!row) return false;
      await recordCustodyEvent(tx, {
        type: 'evidence.upload_completed',
        operation: 'collection',
        caseId: row.case_id,
        actor: principal,
        object: { type: 'evidence_file', id: fileId },
        context,
        details: { size: Number(row.size) },
      });
      return true;
    });
    if (moved) await this.queues.enqueue('ingest.seal', { fileId, digests }, { jobId: sealJobId(fileId, 0) });
  }

  /** The uploader ended an upload before it completed (tus termination); its parts are gone. */
  async cancelled(principal: Principal, fileId: string, context: RequestContext): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const row = await one<{ case_id: string; bytes_received: string }>(
        tx,
        `UPDATE evidence_files SET state = 'cancelled', last_activity_at = now(), version = version + 1 WHERE id = $1 AND state = 'uploading' RETURNING case_id, bytes_received`,
        [fileId],
      );
      if (!row) return;
      await recordCustodyEvent(tx, {
        type: 'evidence.upload_cancelled',
        operation: 'erasure',
        caseId: row.case_id,
        actor: principal,
        object: { type: 'evidence_file', id: fileId },
        context,
        details: { bytesDiscarded: Number(row.bytes_received) },
      });
    });
  }

  /**
   * The seal: the bytes as stored are read back and hashed (SHA-256, SHA-1, MD5), never taken
   * from what streamed through the API (DOMAIN.md hash policy: a multipart assembly can go wrong
   * with the right size). The hashes taken while streaming, when there are any, are an early
   * check: stored bytes that differ from the received ones are quarantined. Then the stored size
   * and every declared hash are checked. Match: sealed (write-once where the store can,
   * registered for fixity). Otherwise: quarantined with the reason. Idempotent: a sealed or
   * quarantined file is left as is.
   */
  async seal(fileId: string, streamDigests: Digests | undefined, signal?: AbortSignal): Promise<EvidenceFileView> {
    const row = await this.loadRow(this.ds, fileId);
    if (!row) throw new AppError('UPLOAD_NOT_FOUND', `No evidence file ${fileId}`, 404);
    if (row.state === 'sealed' || row.state === 'quarantined') return toView(row);
    if (row.state !== 'verifying') throw new AppError('UPLOAD_NOT_COMPLETE', `Evidence file ${fileId} is ${row.state}, not verifying`, 409);
    const size = Number(row.size);
    const stored = await this.store.head(row.bucket, row.object_key);
    if (!stored) return this.quarantine(row, 'OBJECT_MISSING', 'The upload completed but no object is in storage', undefined);
    if (stored.size !== size) {
      return this.quarantine(row, 'SIZE_MISMATCH', `Storage holds ${stored.size} bytes; the upload declared ${size}`, undefined);
    }
    const hashedFrom = 'stored_object';
    const readBack = await hashStoredObject(this.store, row.bucket, row.object_key, { algorithms: ['sha256', 'sha1', 'md5'], signal, size });
    const digests: Digests = { size: readBack.size, sha256: readBack.sha256, sha1: readBack.sha1, md5: readBack.md5 };
    if (digests.size !== size) return this.quarantine(row, 'SIZE_MISMATCH', `Reading the stored object gave ${digests.size} bytes; ${size} were expected`, digests, hashedFrom);
    const streamed = streamDigests && streamDigests.size === size ? streamDigests : undefined;
    if (streamed && streamed.sha256 !== digests.sha256) {
      return this.quarantine(
        row,
        'STORED_BYTES_DIFFER',
        `The bytes in storage (SHA-256 ${digests.sha256}) differ from the bytes the service received (SHA-256 ${streamed.sha256}): storage did not keep what was sent. Upload the file again`,
        digests,
        hashedFrom,
      );
    }
    const computed: Record<string, string | undefined> = { sha256: digests.sha256, sha1: digests.sha1, md5: digests.md5 };
    const declared = row.declared_hashes.map((h) => ({ algorithm: h.algorithm, value: h.value, matched: computed[h.algorithm] === h.value }));
    const mismatched = declared.filter((h) => !h.matched);
    if (mismatched.length) {
      const reason = mismatched.map((h) => `declared ${h.algorithm} ${h.value} but the stored bytes hash to ${computed[h.algorithm]}`).join('; ');
      return this.quarantine(row, 'DECLARED_HASH_MISMATCH', reason, digests, hashedFrom, declared);
    }

    let writeOnceUntil: Date | null = null;
    if (this.store.capabilities()?.objectLock) {
      writeOnceUntil = new Date(Date.now() + this.config.INGEST_RETENTION_DAYS * 86_400_000);
      await this.store.retain(row.bucket, row.object_key, writeOnceUntil);
    }
    await this.ds.transaction(async (tx) => {
      // Two copies of one file sealing at once must not both miss each other.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('evidence_sha256:' || $1 || $2, 0))`, [row.case_id, digests.sha256]);
      const dup = await one<{ id: string }>(
        tx,
        `SELECT id FROM evidence_files WHERE case_id = $1 AND sha256 = $2 AND state = 'sealed' AND id <> $3 ORDER BY sealed_at, id LIMIT 1`,
        [row.case_id, digests.sha256, row.id],
      );
      const updated = await one(
        tx,
        `UPDATE evidence_files SET state = 'sealed', sha256 = $2, sha1 = $3, md5 = $4, hashed_from = $5, declared_hashes = $6, duplicate_of = $7,
                write_once_until = $8, sealed_at = now(), version = version + 1
          WHERE id = $1 AND state = 'verifying' RETURNING id`,
        [row.id, digests.sha256, digests.sha1, digests.md5, hashedFrom, JSON.stringify(declared), dup?.id ?? null, writeOnceUntil],
      );
      if (!updated) return;
      await this.fixity.register(tx, { bucket: row.bucket, key: row.object_key, kind: 'original', caseId: row.case_id, size, sha256: digests.sha256 });
      await this.workingCopies.pending(tx, row.id, row.case_id);
      await recordCustodyEvent(tx, {
        type: 'evidence.sealed',
        operation: 'collection',
        caseId: row.case_id,
        object: { type: 'evidence_file', id: row.id, sha256: digests.sha256 },
        details: {
          exhibitId: row.exhibit_id,
          size,
          hashes: { sha256: digests.sha256, sha1: digests.sha1, md5: digests.md5 },
          hashedFrom,
          // The hashes taken while the bytes streamed in, compared with the read-back ones.
          streamCheck: streamed ? 'matched' : 'not_available',
          declaredHashes: declared,
          duplicateOf: dup?.id ?? null,
          writeOnceUntil,
          bucket: row.bucket,
          key: row.object_key,
        },
      });
    });
    const view = toView((await this.loadRow(this.ds, fileId))!);
    this.logger.log({ caseId: view.caseId, evidenceId: view.id, sha256: view.hashes[0]?.value, hashedFrom, duplicateOf: view.duplicateOf?.id }, 'evidence sealed');
    // Working copies next; a pending analysis whose job could not be queued is queued by the sweep.
    if (view.state === 'sealed') await this.workingCopies.enqueue(view.id).catch((e: Error) => this.logger.warn({ evidenceId: view.id, err: e.message }, 'media job not queued yet'));
    // A file of a device extraction exhibit: its exhibit's extraction sets are (re)grouped and verified.
    if (view.state === 'sealed') await this.extractions.enqueueIfExtraction(view.id).catch((e: Error) => this.logger.warn({ evidenceId: view.id, err: e.message }, 'extraction job not queued yet'));
    return view;
  }

  private async quarantine(
    row: FileRow,
    code: string,
    reason: string,
    digests: Digests | undefined,
    hashedFrom?: 'ingest_stream' | 'stored_object',
    declared: { algorithm: string; value: string; matched: boolean | null }[] = row.declared_hashes.map((h) => ({ ...h, matched: null })),
  ): Promise<EvidenceFileView> {
    await this.ds.transaction(async (tx) => {
      const updated = await one(
        tx,
        `UPDATE evidence_files SET state = 'quarantined', quarantine_code = $2, quarantine_reason = $3, sha256 = $4, sha1 = $5, md5 = $6,
                hashed_from = $7, declared_hashes = $8, version = version + 1
          WHERE id = $1 AND state = 'verifying' RETURNING id`,
        [row.id, code, reason, digests?.sha256 ?? null, digests?.sha1 ?? null, digests?.md5 ?? null, digests ? hashedFrom : null, JSON.stringify(declared)],
      );
      if (!updated) return;
      // Quarantined bytes are kept (never deleted) and watched by fixity like any original.
      if (digests) {
        await this.fixity.register(tx, { bucket: row.bucket, key: row.object_key, kind: 'original', caseId: row.case_id, size: digests.size, sha256: digests.sha256 });
      }
      await recordCustodyEvent(tx, {
        type: 'evidence.quarantined',
        operation: 'collection',
        caseId: row.case_id,
        object: { type: 'evidence_file', id: row.id, sha256: digests?.sha256 },
        outcome: 'failed',
        details: { exhibitId: row.exhibit_id, code, reason, hashes: digests ? { sha256: digests.sha256, sha1: digests.sha1, md5: digests.md5 } : null, declaredHashes: declared },
      });
    });
    this.logger.warn({ caseId: row.case_id, evidenceId: row.id, code, reason }, 'evidence quarantined');
    return toView((await this.loadRow(this.ds, row.id))!);
  }

  /**
   * Abandoned uploads (no bytes for INGEST_UPLOAD_EXPIRY_HOURS) lose their parts in storage and
   * are marked expired. An upload whose object turns out complete (the API stopped between
   * storing the last byte and recording it) is moved on to verification instead: nothing stored
   * is ever thrown away.
   */
  async expireIdle(): Promise<{ expired: number; recovered: number }> {
    const recovered = await this.recoverCompleted();
    const idle = await rows<{ id: string; case_id: string; bucket: string; object_key: string; size: string; bytes_received: string }>(
      this.ds,
      `SELECT id, case_id, bucket, object_key, size, bytes_received FROM evidence_files
        WHERE state = 'uploading' AND last_activity_at < now() - make_interval(hours => $1) ORDER BY last_activity_at LIMIT 1000`,
      [this.config.INGEST_UPLOAD_EXPIRY_HOURS],
    );
    let expired = 0;
    for (const f of idle) {
      const stored = await this.store.head(f.bucket, f.object_key);
      if (stored && stored.size === Number(f.size)) {
        await this.completed(f.id, undefined);
        continue;
      }
      await this.store.discardUpload(f.bucket, f.object_key);
      await this.ds.transaction(async (tx) => {
        const done = await one(tx, `UPDATE evidence_files SET state = 'expired', version = version + 1 WHERE id = $1 AND state = 'uploading' RETURNING id`, [f.id]);
        if (!done) return;
        await recordCustodyEvent(tx, {
          type: 'evidence.upload_expired',
          operation: 'erasure',
          caseId: f.case_id,
          object: { type: 'evidence_file', id: f.id },
          details: { bytesDiscarded: Number(f.bytes_received), idleHours: this.config.INGEST_UPLOAD_EXPIRY_HOURS },
        });
        expired++;
      });
    }
    if (expired || recovered) this.logger.log({ expired, recovered }, 'abandoned uploads handled');
    return { expired, recovered };
  }

  /**
   * Uploads quiet for a few minutes whose object is complete in storage (the API stopped between
   * storing the last byte and recording it) move on to verification: nothing stored is ever left
   * behind as "uploading". The seal reads the bytes back, so no stream hashes are needed.
   */
  private async recoverCompleted(quietMinutes = 2): Promise<number> {
    const quiet = await rows<{ id: string; bucket: string; object_key: string; size: string }>(
      this.ds,
      `SELECT id, bucket, object_key, size FROM evidence_files
        WHERE state = 'uploading' AND last_activity_at < now() - make_interval(mins => $1) ORDER BY last_activity_at LIMIT 1000`,
      [quietMinutes],
    );
    let recovered = 0;
    for (const f of quiet) {
      const stored = await this.store.head(f.bucket, f.object_key);
      if (stored && stored.size === Number(f.size)) {
        await this.completed(f.id, undefined);
        recovered++;
      }
    }
    return recovered;
  }

  /**
   * Files complete but still verifying long after completion (the seal job could not be queued:
   * Redis was away) get their seal job queued again; the job id makes this a no-op otherwise.
   */
  async requeueStalledSeals(olderThanMinutes = 15): Promise<number> {
    const stalled = await rows<{ id: string; seal_retries: number }>(
      this.ds,
      `SELECT id, seal_retries FROM evidence_files WHERE state = 'verifying' AND completed_at < now() - make_interval(mins => $1) ORDER BY completed_at LIMIT 1000`,
      [olderThanMinutes],
    );
    for (const f of stalled) await this.queues.enqueue('ingest.seal', { fileId: f.id }, { jobId: sealJobId(f.id, f.seal_retries) });
    return stalled.length;
  }

  /**
   * The seal job gave up (its last attempt failed, or the failure cannot be retried): the file
   * leaves `verifying` for `seal_failed` with the reason, recorded as a failed custody event.
   * The bytes stay in storage; nothing is evidence until a retry seals it.
   */
  async sealFailed(fileId: string, code: string, reason: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const row = await one<{ case_id: string; exhibit_id: string; seal_retries: number }>(
        tx,
        `UPDATE evidence_files SET state = 'seal_failed', seal_failure_code = $2, seal_failure_reason = $3, version = version + 1
          WHERE id = $1 AND state = 'verifying' RETURNING case_id, exhibit_id, seal_retries`,
        [fileId, code, reason.slice(0, 2000)],
      );
      if (!row) return;
      await recordCustodyEvent(tx, {
        type: 'evidence.seal_failed',
        operation: 'collection',
        caseId: row.case_id,
        object: { type: 'evidence_file', id: fileId },
        outcome: 'failed',
        details: { exhibitId: row.exhibit_id, code, reason: reason.slice(0, 2000), retries: row.seal_retries },
      });
    });
    this.logger.error({ evidenceId: fileId, code, reason }, 'seal failed: the file waits for a retry');
  }

  /** The uploader or an administrator asks for a failed seal to run again (a new job, never the kept failed one). */
  async retrySeal(principal: Principal, fileId: string, context: RequestContext): Promise<EvidenceFileView> {
    const row = isUuid(fileId) ? await this.loadRow(this.ds, fileId) : undefined;
    if (!row || (row.created_by !== principal.userId && principal.role !== 'administrator')) throw uploadNotFound();
    if (row.state !== 'seal_failed') throw new AppError('SEAL_NOT_FAILED', `The file is ${row.state}; only a failed seal can be retried`, 409, { state: row.state });
    const retries = await this.ds.transaction(async (tx) => {
      const moved = await one<{ seal_retries: number }>(
        tx,
        `UPDATE evidence_files SET state = 'verifying', seal_retries = seal_retries + 1, version = version + 1
          WHERE id = $1 AND state = 'seal_failed' RETURNING seal_retries`,
        [fileId],
      );
      if (!moved) throw new AppError('SEAL_NOT_FAILED', 'The seal is no longer failed', 409);
      await recordCustodyEvent(tx, {
        type: 'evidence.seal_retried',
        operation: 'collection',
        caseId: row.case_id,
        actor: principal,
        object: { type: 'evidence_file', id: fileId },
        context,
        details: { exhibitId: row.exhibit_id, previousFailure: { code: row.seal_failure_code, reason: row.seal_failure_reason }, retry: moved.seal_retries },
      });
      return moved.seal_retries;
    });
    await this.queues.enqueue('ingest.seal', { fileId }, { jobId: sealJobId(fileId, retries) });
    return toView((await this.loadRow(this.ds, fileId))!);
  }

  /** The uploader's own view of an upload (state and progress); no s.62 consultation of others' evidence. */
  async forUploader(principal: Principal, fileId: string): Promise<EvidenceFileView> {
    const row = isUuid(fileId) ? await this.loadRow(this.ds, fileId) : undefined;
    if (!row || row.created_by !== principal.userId) throw uploadNotFound();
    await this.assertStillMayAdd(principal, row.case_id);
    return toView(row);
  }

  /** The uploader's right to add evidence to the case, now; losing it makes their uploads unknown to them (404). */
  private async assertStillMayAdd(principal: Principal, caseId: string): Promise<void> {
    try {
      await this.access.resolve(principal, caseId, 'exhibit.create');
    } catch (e) {
      if (e instanceof AppError && e.status < 500) throw uploadNotFound();
      throw e;
    }
  }

  /** Files of an exhibit, for anyone who may read the case (an s.62 consultation). */
  async listForExhibit(principal: Principal, caseId: string, exhibitId: string, justification: Justification | undefined, context: RequestContext): Promise<EvidenceFileView[]> {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const exhibit = isUuid(exhibitId)
        ? await one(tx, `SELECT id FROM exhibits WHERE id = $1 AND case_id = $2 ${exhibitVisibility(access, '$2')}`, [exhibitId, caseId])
        : undefined;
      if (!exhibit) throw exhibitNotFound();
      const found = await rows<FileRow>(tx, `${SELECT} WHERE f.exhibit_id = $1 ORDER BY f.created_at, f.id`, [exhibitId]);
      await recordCustodyEvent(tx, {
        type: 'evidence.files_consulted',
        operation: 'consultation',
        caseId,
        actor: principal,
        object: { type: 'exhibit', id: exhibitId },
        justification,
        context,
        details: { returned: found.length },
      });
      // A duplicate of a file the reader may not see (in an OFFICIAL-SENSITIVE exhibit) is not named:
      // the link would give away that exhibit and file.
      const hidden = access.seesSensitiveItems ? undefined : await hiddenItemIds(tx, caseId);
      return found.map((r) => (hidden && r.duplicate_of && hidden.has(r.duplicate_of) ? toView({ ...r, duplicate_of: null }) : toView(r)));
    });
  }

  private async loadRow(q: Queryable | EntityManager, fileId: string): Promise<FileRow | undefined> {
    return one<FileRow>(q, `${SELECT} WHERE f.id = $1`, [fileId]);
  }
}

/** Seal job ids carry the retry count: BullMQ keeps failed jobs, and an add with a kept job's id is ignored. */
function sealJobId(fileId: string, retries: number): string {
  return `seal-${fileId}-r${retries}`;
}

/** A reference as the exhibit rules write it (JS/1); a malformed one cannot name an exhibit. */
function safeReference(ref: string): string {
  try {
    return parseExhibitReference(ref).reference;
  } catch {
    throw new AppError('INVALID_UPLOAD_METADATA', `exhibitRef ${JSON.stringify(ref.slice(0, 40))} is not an exhibit reference such as JS/1`, 400);
  }
}

function toView(r: FileRow): EvidenceFileView {
  const size = Number(r.size);
  const received = Number(r.bytes_received);
  const hashes = (['sha256', 'sha1', 'md5'] as const)
    .filter((a) => r[a])
    .map((a) => ({ algorithm: a, value: r[a] as string, source: 'computed' as const }));
  return {
    id: r.id,
    caseId: r.case_id,
    exhibitId: r.exhibit_id,
    exhibitReference: r.exhibit_reference,
    filename: r.original_filename,
    declaredType: r.declared_type,
    size,
    state: r.state,
    progress: { bytesReceived: received, percent: size === 0 ? (r.state === 'uploading' ? 0 : 100) : Math.floor((received / size) * 1000) / 10 },
    isEvidence: r.state === 'sealed',
    hashes,
    hashedFrom: r.hashed_from,
    declaredHashes: r.declared_hashes.map((h) => ({ algorithm: h.algorithm, value: h.value, matched: h.matched ?? null })),
    quarantine: r.state === 'quarantined' ? { code: r.quarantine_code!, reason: r.quarantine_reason! } : null,
    sealFailure: r.state === 'seal_failed' ? { code: r.seal_failure_code!, reason: r.seal_failure_reason!, retries: r.seal_retries } : null,
    duplicateOf: r.duplicate_of
      ? { id: r.duplicate_of, exhibitId: r.dup_exhibit_id!, exhibitReference: r.dup_exhibit_reference!, filename: r.dup_filename! }
      : null,
    writeOnceUntil: r.write_once_until,
    createdBy: r.created_by,
    createdAt: r.created_at,
    lastActivityAt: r.last_activity_at,
    completedAt: r.completed_at,
    sealedAt: r.sealed_at,
  };
}
