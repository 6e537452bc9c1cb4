import { Inject, Injectable, Logger } from '@nestjs/common';
import { hostname, tmpdir } from 'node:os';
import { DataSource } from 'typeorm';
import { CaseAccessService, exhibitNotFound, exhibitVisibility, requireJustification } from '../cases/index.js';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError, isUuid } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/index.js';
import { one, rows, type Queryable } from '../database/sql.js';
import {
  DEFAULT_EWF_VERIFICATION_SETTINGS,
  EwfVerificationService,
  inspectZip,
  ObjectStoreByteSource,
  groupExtractionSets,
  recogniseContainer,
  segmentExtension,
  verifyUfd,
  type ComputedDigests,
  type ExhibitFile,
  type ExtractionFinding,
  type ExtractionSet,
  type InventoryEntry,
} from '../extraction/index.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { QueueService } from '../queue/index.js';
import { ObjectStore } from '../storage/index.js';
import type { ExaminationState } from './extraction-workflow.schemas.js';
import { examinationStatus } from './extraction-workflow.service.js';

export type ExtractionState = 'received' | 'verifying' | 'verified' | 'verified_with_warnings' | 'failed' | 'not_verifiable';
const FINAL: ExtractionState[] = ['verified', 'verified_with_warnings', 'failed', 'not_verifiable'];

export interface ExtractionView {
  id: string;
  exhibitId: string;
  kind: string;
  state: ExtractionState;
  /** The analyst's examination (awaiting, in_examination, examined, not_examined): ExtractionWorkflowService. */
  examinationState: ExaminationState;
  /** The examination state once examination has begun, else the verification state. */
  status: string;
  outcome: { code: string | null; reason: string | null };
  warnings: ExtractionFinding[];
  problems: ExtractionFinding[];
  facts: Record<string, unknown>;
  hashes: unknown[];
  members: { fileId: string; filename: string | null }[];
  missingSegments: number[];
  entryCount: number;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  verifiedAt: Date | null;
}

export interface ExtractionEntryView {
  index: number;
  path: string;
  name: string;
  extension: string | null;
  isDirectory: boolean;
  size: number;
  compressedSize: number;
  modifiedAt: string | null;
  sha256: string | null;
  md5: string | null;
  crcOk: boolean | null;
  deleted: boolean | null;
  tagged: boolean | null;
  flags: string[];
  status: string;
}

export interface EntryQuery {
  q?: string;
  extension?: string;
  sha256?: string;
  deleted?: string;
  limit?: string;
  cursor?: string;
}

export const ENTRY_CSV_FIELDS = ['index', 'path', 'name', 'extension', 'isDirectory', 'size', 'compressedSize', 'modifiedAt', 'sha256', 'md5', 'crcOk', 'deleted', 'tagged', 'flags', 'status'] as const;

/** RFC 4180 CSV; a cell that a spreadsheet would take as a formula gets a leading apostrophe (as toCsv in libs/custody). */
export function entriesToCsv(entries: ExtractionEntryView[]): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [ENTRY_CSV_FIELDS.join(','), ...entries.map((e) => ENTRY_CSV_FIELDS.map((f) => cell(e[f])).join(','))].join('\r\n') + '\r\n';
}

interface SealedFile {
  id: string;
  case_id: string;
  original_filename: string;
  size: string;
  sha256: string;
  sha1: string | null;
  md5: string | null;
  bucket: string;
  object_key: string;
}

interface Result {
  state: ExtractionState;
  code?: string;
  reason?: string;
  warnings?: ExtractionFinding[];
  problems?: ExtractionFinding[];
  facts?: Record<string, unknown>;
  hashes?: unknown[];
  missingSegments?: number[];
  entryCount?: number;
}

const INSERT_BATCH = 500;
const CSV_MAX_ROWS = 200_000;

/**
 * Device extractions of an exhibit (docs/extraction.md): every sealed file of a device_extraction
 * exhibit is recognised from its bytes (range reads from the store), the files are grouped into
 * extraction sets, an incomplete E01 set waits (received, naming the missing segments), complete
 * sets are verified against the acquisition tool's own hashes (ewfverify on staged segments,
 * ZIP/UFDR in place, UFD against the sibling files' sealed digests), the inventory of a ZIP-based
 * extraction is stored, and each outcome is a custody event.
 */
@Injectable()
export class ExtractionsService {
  private readonly logger = new Logger('Extractions');
  private readonly worker = `${hostname()}:${process.pid}`;
  private ewfService?: EwfVerificationService;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get ewf(): EwfVerificationService {
    this.ewfService ??= new EwfVerificationService({
      ...DEFAULT_EWF_VERIFICATION_SETTINGS,
      stagingDir: tmpdir(),
      stagingBudgetBytes: Math.round((this.config.EXTRACTION_STAGING_BUDGET_GB ?? 50) * 1024 ** 3),
    });
    return this.ewfService;
  }

  /** After a seal: a sealed file of a device_extraction exhibit queues the exhibit's verification. */
  async enqueueIfExtraction(fileId: string): Promise<boolean> {
    const row = await one<{ exhibit_id: string }>(
      this.ds,
      `SELECT f.exhibit_id FROM evidence_files f JOIN exhibits x ON x.id = f.exhibit_id WHERE f.id = $1 AND f.state = 'sealed' AND x.source_type = 'device_extraction'`,
      [fileId],
    );
    if (!row) return false;
    await this.queues.enqueue('extraction.verify', { exhibitId: row.exhibit_id, fileId }, { jobId: `extraction-${fileId}` });
    return true;
  }

  /**
   * Sealed files of device extraction exhibits that belong to no extraction set yet (their job never got
   * queued: Redis away at seal time) are queued again; the job id differs per sweep hour, so a job
   * kept by BullMQ from an earlier attempt does not swallow the new one.
   */
  async requeueStalled(olderThanMinutes = 15): Promise<number> {
    const stalled = await rows<{ id: string; exhibit_id: string }>(
      this.ds,
      `SELECT f.id, f.exhibit_id FROM evidence_files f JOIN exhibits x ON x.id = f.exhibit_id
        WHERE x.source_type = 'device_extraction' AND f.state = 'sealed' AND f.sealed_at < now() - make_interval(mins => $1)
          AND NOT EXISTS (SELECT 1 FROM extractions e WHERE e.exhibit_id = f.exhibit_id AND f.id = ANY(e.member_file_ids))
        LIMIT 1000`,
      [olderThanMinutes],
    );
    const hour = Math.floor(Date.now() / 3600_000);
    for (const s of stalled) await this.queues.enqueue('extraction.verify', { exhibitId: s.exhibit_id, fileId: s.id }, { jobId: `extraction-${s.id}-sweep-${hour}` });
    return stalled.length;
  }

  async verifyExhibit(exhibitId: string, signal: AbortSignal, progress: (percent: number) => Promise<void>): Promise<{ sets: number; states: Record<string, string> }> {
    const files = await rows<SealedFile>(
      this.ds,
      `SELECT id, case_id, original_filename, size, sha256, sha1, md5, bucket, object_key FROM evidence_files WHERE exhibit_id = $1 AND state = 'sealed' ORDER BY created_at, id`,
      [exhibitId],
    );
    if (files.length === 0) return { sets: 0, states: {} };
    const caseId = files[0].case_id;
    const byId = new Map(files.map((f) => [f.id, f]));
    const sources = new Map<string, ObjectStoreByteSource>();
    const exhibitFiles: ExhibitFile[] = [];
    for (const f of files) {
      signal.throwIfAborted();
      const source = await ObjectStoreByteSource.open(this.store, f.bucket, f.object_key);
      sources.set(f.id, source);
      exhibitFiles.push({ fileId: f.id, name: f.original_filename, size: Number(f.size), sha256: f.sha256, recognition: await recogniseContainer(source) });
    }
    const sets = groupExtractionSets(exhibitFiles);
    // The files could be read and grouped: a failure recorded for a job that never got this far is superseded.
    await this.ds.query(`DELETE FROM extractions WHERE exhibit_id = $1 AND set_key LIKE 'job:%'`, [exhibitId]);
    const states: Record<string, string> = {};
    for (const [i, set] of sets.entries()) {
      signal.throwIfAborted();
      const { key, members } = describe(set);
      const id = await this.claim(caseId, exhibitId, key, set.kind, members);
      if (!id) continue;
      let result: Result;
      try {
        result = await this.verifySet(id, set, byId, sources, signal);
      } catch (e) {
        // A verification that could not run says nothing about the evidence: back to received for the retry.
        await this.ds.query(`UPDATE extractions SET state = 'received', updated_at = now() WHERE id = $1 AND state = 'verifying'`, [id]);
        throw e;
      }
      await this.finish(id, caseId, exhibitId, set.kind, members, result);
      states[id] = result.state;
      await progress(Math.round(((i + 1) / sets.length) * 100));
    }
    return { sets: sets.length, states };
  }

  /**
   * Takes a set for verification: its row is made if new; a set already settled with the same members
   * is left alone (null); one being verified by another job with other members is retried later.
   */
  private async claim(caseId: string, exhibitId: string, key: string, kind: string, members: string[]): Promise<string | null> {
    return this.ds.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO extractions (case_id, exhibit_id, set_key, kind, state, member_file_ids) VALUES ($1, $2, $3, $4, 'received', $5::uuid[]) ON CONFLICT (exhibit_id, set_key) DO NOTHING`,
        [caseId, exhibitId, key, kind, members],
      );
      const row = (await one<{ id: string; state: ExtractionState; member_file_ids: string[]; fresh: boolean }>(
        tx,
        `SELECT id, state, member_file_ids, updated_at > now() - interval '1 hour' AS fresh FROM extractions WHERE exhibit_id = $1 AND set_key = $2 FOR UPDATE`,
        [exhibitId, key],
      ))!;
      const same = [...row.member_file_ids].sort().join(',') === members.join(',');
      if (same && FINAL.includes(row.state)) return null;
      if (row.state === 'verifying' && row.fresh) {
        if (same) return null;
        throw new AppError('EXTRACTION_BUSY', 'This extraction set is being verified by another job; tried again later', 503);
      }
      await tx.query(`UPDATE extractions SET state = 'verifying', kind = $2, member_file_ids = $3::uuid[], attempts = attempts + 1, updated_at = now() WHERE id = $1`, [row.id, kind, members]);
      return row.id;
    });
  }

  private async verifySet(id: string, set: ExtractionSet, byId: Map<string, SealedFile>, sources: Map<string, ObjectStoreByteSource>, signal: AbortSignal): Promise<Result> {
    const name = (fileId: string) => byId.get(fileId)?.original_filename ?? fileId;
    switch (set.kind) {
      case 'ewf': {
        if (set.conflicts.length === 0 && (set.missingSegments.length > 0 || set.tailMissing)) {
          const highest = set.segments.at(-1)?.segmentNumber ?? 0;
          const parts = [
            set.missingSegments.length > 0 ? `segment${set.missingSegments.length > 1 ? 's' : ''} ${set.missingSegments.map(segmentLabel).join(', ')} missing` : '',
            set.tailMissing ? `segment ${segmentLabel(highest)} says more segments follow` : '',
          ].filter(Boolean);
          return { state: 'received', reason: `Waiting for the rest of the E01 set: ${parts.join('; ')}`, code: 'EWF_SEGMENTS_MISSING', missingSegments: set.missingSegments, facts: { tailMissing: set.tailMissing, segments: set.segments } };
        }
        const inputs = set.segments.map((s) => ({ fileId: s.fileId, name: s.name, source: sources.get(s.fileId)!, sha256: byId.get(s.fileId)?.sha256 }));
        for (const d of set.duplicates) inputs.push({ fileId: d.fileId, name: d.name, source: sources.get(d.fileId)!, sha256: byId.get(d.fileId)?.sha256 });
        const v = await this.ewf.verifySet(inputs, { signal });
        return {
          ...fromOutcome(v.outcome),
          facts: { header: v.header ?? null, bytesRead: v.bytesRead ?? null, sectorErrors: v.sectorErrors, segments: v.segments, duplicates: set.duplicates, runs: v.runs },
          hashes: v.hashes,
        };
      }
      case 'ewf2':
        return { state: 'not_verifiable', code: 'EWF_EX01_NOT_VERIFIABLE', reason: set.reason };
      case 'empty':
        return { state: 'failed', code: 'EXTRACTION_EMPTY', reason: `${name(set.fileIds[0])} is empty (0 bytes): it holds no extraction to verify` };
      case 'opaque':
        return { state: 'not_verifiable', code: 'EXTRACTION_OPAQUE', reason: `${name(set.fileIds[0])} is not a format verified here (opaque: hashed and stored, not verified)` };
      case 'ufd': {
        const computed = new Map<string, ComputedDigests>();
        for (const f of byId.values()) computed.set(f.original_filename, { sha256: f.sha256, sha1: f.sha1 ?? undefined, md5: f.md5 ?? undefined });
        const v = await verifyUfd(sources.get(set.fileIds[0])!, computed);
        return { ...fromOutcome(v.outcome), facts: { ufd: v.ufd ?? null, check: v.check ?? null } };
      }
      case 'ufdr':
      case 'zip': {
        const fileId = set.fileIds[0];
        await this.ds.query(`DELETE FROM extraction_entries WHERE extraction_id = $1`, [id]);
        let count = 0;
        const z = await inspectZip(sources.get(fileId)!, {
          signal,
          batchSize: INSERT_BATCH,
          onEntries: async (batch) => {
            await this.insertEntries(this.ds, id, batch);
            count += batch.length;
          },
        });
        const file = byId.get(fileId)!;
        return {
          ...fromOutcome(z.outcome),
          facts: { kind: z.kind, totals: z.totals, report: z.report ?? null, reportCheck: z.reportCheck ?? null, rangeRequests: z.rangeRequests },
          hashes: [{ algorithm: 'sha256', scope: 'container', calculated: file.sha256 }],
          entryCount: count,
        };
      }
    }
  }

  /** Inventory rows in one statement per batch (unnest of column arrays). */
  private async insertEntries(q: Queryable, extractionId: string, batch: InventoryEntry[]): Promise<void> {
    if (batch.length === 0) return;
    const col = <T>(f: (e: InventoryEntry) => T) => batch.map(f);
    const nameOf = (p: string) => p.replace(/\/+$/, '').split('/').pop() ?? p;
    const extOf = (e: InventoryEntry) => {
      if (e.isDirectory) return null;
      const m = /\.([^./]{1,32})$/.exec(nameOf(e.path));
      return m ? m[1].toLowerCase() : null;
    };
    await q.query(
      `INSERT INTO extraction_entries (extraction_id, idx, path, name, extension, is_directory, size, compressed_size, modified_at, sha256, md5, crc_ok, deleted, tagged, flags, status)
       SELECT $1, u.idx, u.path, u.name, u.extension, u.is_directory, u.size, u.compressed_size, u.modified_at, u.sha256, u.md5, u.crc_ok, u.deleted, u.tagged,
              CASE WHEN u.flags = '' THEN '{}'::text[] ELSE string_to_array(u.flags, ',') END, u.status
         FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::boolean[], $13::boolean[], $14::boolean[], $15::text[], $16::text[])
           AS u(idx, path, name, extension, is_directory, size, compressed_size, modified_at, sha256, md5, crc_ok, deleted, tagged, flags, status)
       ON CONFLICT DO NOTHING`,
      [
        extractionId,
        col((e) => e.index),
        col((e) => e.path.replace(/\0/g, '\uFFFD')),
        col((e) => nameOf(e.path).replace(/\0/g, '\uFFFD')),
        col(extOf),
        col((e) => e.isDirectory),
        col((e) => e.size),
        col((e) => e.compressedSize),
        col((e) => e.modifiedAt ?? null),
        col((e) => e.sha256 ?? null),
        col((e) => e.md5 ?? null),
        col((e) => e.crcOk),
        col((e) => e.deleted ?? null),
        col((e) => e.tagged ?? null),
        col((e) => e.flags.join(',')),
        col((e) => e.status),
      ],
    );
  }

  private async finish(id: string, caseId: string, exhibitId: string, kind: string, members: string[], r: Result): Promise<void> {
    await this.ds.transaction(async (tx) => {
      await tx.query(
        `UPDATE extractions SET state = $2, outcome_code = $3, outcome_reason = $4, warnings = $5, problems = $6, facts = $7, hashes = $8, missing_segments = $9::int[],
                entry_count = $10, updated_at = now(), verified_at = CASE WHEN $2 IN ('verified', 'verified_with_warnings', 'failed', 'not_verifiable') THEN now() ELSE NULL END
          WHERE id = $1`,
        [id, r.state, r.code ?? null, r.reason ?? null, JSON.stringify(r.warnings ?? []), JSON.stringify(r.problems ?? []), JSON.stringify(r.facts ?? {}), JSON.stringify(r.hashes ?? []), r.missingSegments ?? [], r.entryCount ?? 0],
      );
      await recordCustodyEvent(tx, {
        type: `extraction.${r.state}`,
        operation: 'collection',
        caseId,
        object: { type: 'extraction', id },
        outcome: r.state === 'failed' ? 'failed' : undefined,
        // The exhibit and member files are named so the event is withheld with them where they are hidden (sensitive-items.ts).
        details: {
          exhibitId,
          worker: this.worker,
          kind,
          state: r.state,
          code: r.code ?? null,
          reason: r.reason ?? null,
          members,
          missingSegments: r.missingSegments ?? [],
          hashes: r.hashes ?? [],
          warnings: (r.warnings ?? []).map((w) => w.code),
          problems: (r.problems ?? []).slice(0, 50).map((p) => ({ code: p.code, path: p.path ?? null })),
          entries: r.entryCount ?? 0,
        },
      });
    });
    this.logger.log({ caseId, extractionId: id, kind, state: r.state, code: r.code }, 'extraction settled');
  }

  /** The job gave up: the exhibit's sets still being verified show failed with the reason, and a custody event. */
  async failed(exhibitId: string, fileId: string, code: string, reason: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const stuck = await rows<{ id: string; case_id: string }>(
        tx,
        `UPDATE extractions SET state = 'failed', outcome_code = $2, outcome_reason = $3, updated_at = now()
          WHERE exhibit_id = $1 AND state IN ('verifying', 'received') AND cardinality(missing_segments) = 0 RETURNING id, case_id`,
        [exhibitId, code, reason.slice(0, 2000)],
      );
      // The job failed before it could group the files (storage unreachable, …): the file shows a failed set of its own.
      const member = await one(tx, `SELECT 1 FROM extractions WHERE exhibit_id = $1 AND $2::uuid = ANY(member_file_ids)`, [exhibitId, fileId]);
      if (!member) {
        const row = await one<{ id: string; case_id: string }>(
          tx,
          `INSERT INTO extractions (case_id, exhibit_id, set_key, kind, state, outcome_code, outcome_reason, member_file_ids)
           SELECT f.case_id, f.exhibit_id, 'job:' || f.id, 'opaque', 'failed', $3, $4, ARRAY[f.id] FROM evidence_files f WHERE f.id = $2 AND f.exhibit_id = $1
           ON CONFLICT (exhibit_id, set_key) DO UPDATE SET outcome_code = EXCLUDED.outcome_code, outcome_reason = EXCLUDED.outcome_reason, updated_at = now()
           RETURNING id, case_id`,
          [exhibitId, fileId, code, reason.slice(0, 2000)],
        );
        if (row) stuck.push(row);
      }
      for (const s of stuck) {
        await recordCustodyEvent(tx, {
          type: 'extraction.failed',
          operation: 'collection',
          caseId: s.case_id,
          object: { type: 'extraction', id: s.id },
          outcome: 'failed',
          details: { exhibitId, fileId, code, reason: reason.slice(0, 2000), worker: this.worker, final: true },
        });
      }
    });
  }

  /** The extraction sets of an exhibit: an s.62 consultation with its reason. */
  async forExhibit(principal: Principal, caseId: string, exhibitId: string, justification: Justification | undefined, context: RequestContext): Promise<ExtractionView[]> {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const exhibit = isUuid(exhibitId) ? await one(tx, `SELECT id FROM exhibits WHERE id = $1 AND case_id = $2 ${exhibitVisibility(access, '$2')}`, [exhibitId, caseId]) : undefined;
      if (!exhibit) throw exhibitNotFound();
      const found = await this.views(tx, `e.exhibit_id = $1`, [exhibitId]);
      await recordCustodyEvent(tx, { type: 'extraction.consulted', operation: 'consultation', caseId, actor: principal, object: { type: 'exhibit', id: exhibitId }, justification, context, details: { extractions: found.length } });
      return found;
    });
  }

  /** Every extraction of a case (for `dems extraction status`): an s.62 consultation. */
  async forCase(principal: Principal, caseId: string, justification: Justification | undefined, context: RequestContext): Promise<(ExtractionView & { exhibitReference: string })[]> {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const found = await this.views(tx, `e.case_id = $1 ${exhibitVisibility(access, '$1', 'e.exhibit_id')}`, [caseId]);
      await recordCustodyEvent(tx, { type: 'extraction.consulted', operation: 'consultation', caseId, actor: principal, object: { type: 'case', id: caseId }, justification, context, details: {} });
      return found;
    });
  }

  /** One page of an extraction's inventory (keyset pagination on the entry index): an s.62 consultation naming the search. */
  async entries(principal: Principal, caseId: string, extractionId: string, query: EntryQuery, justification: Justification | undefined, context: RequestContext, csv = false) {
    requireJustification(justification);
    const limit = csv ? CSV_MAX_ROWS : query.limit === undefined ? 100 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > (csv ? CSV_MAX_ROWS : 1000)) throw new AppError('VALIDATION_FAILED', 'limit must be a whole number from 1 to 1000', 400);
    const cursor = query.cursor === undefined || query.cursor === '' ? -1 : Number(query.cursor);
    if (!Number.isInteger(cursor) || cursor < -1 || cursor > 2 ** 31 - 1) throw new AppError('INVALID_CURSOR', 'cursor must be the nextCursor of a previous page', 400);
    if (query.deleted !== undefined && !['true', 'false'].includes(query.deleted)) throw new AppError('VALIDATION_FAILED', 'deleted must be true or false', 400);
    if (query.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(query.sha256)) throw new AppError('VALIDATION_FAILED', 'sha256 must be 64 hexadecimal characters', 400);
    for (const v of [query.q, query.extension]) if (v !== undefined && v.length > 1024) throw new AppError('VALIDATION_FAILED', 'search terms are at most 1024 characters', 400);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const extraction = isUuid(extractionId)
        ? await one<{ id: string; exhibit_id: string }>(tx, `SELECT id, exhibit_id FROM extractions e WHERE e.id = $1 AND e.case_id = $2 ${exhibitVisibility(access, '$2', 'e.exhibit_id')}`, [extractionId, caseId])
        : undefined;
      if (!extraction) throw new AppError('EXTRACTION_NOT_FOUND', `No extraction ${extractionId} in this case`, 404);
      const where = [`extraction_id = $1`, `idx > $2`];
      const params: unknown[] = [extractionId, cursor];
      const like = (s: string) => s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
      if (query.q) {
        params.push(like(query.q));
        where.push(`(lower(path) LIKE '%' || $${params.length} || '%' OR lower(name) LIKE $${params.length} || '%')`);
      }
      if (query.extension) {
        params.push(query.extension.replace(/^\./, '').toLowerCase());
        where.push(`extension = $${params.length}`);
      }
      if (query.sha256) {
        params.push(query.sha256.toLowerCase());
        where.push(`sha256 = $${params.length}`);
      }
      if (query.deleted !== undefined) {
        params.push(query.deleted === 'true');
        where.push(`deleted IS NOT DISTINCT FROM $${params.length}`);
      }
      params.push(limit + 1);
      const found = await rows<Record<string, unknown>>(tx, `SELECT * FROM extraction_entries WHERE ${where.join(' AND ')} ORDER BY idx LIMIT $${params.length}`, params);
      const more = found.length > limit;
      const page = found.slice(0, limit).map(toEntryView);
      await recordCustodyEvent(tx, {
        type: 'extraction.inventory_consulted',
        operation: 'consultation',
        caseId,
        actor: principal,
        object: { type: 'extraction', id: extractionId },
        justification,
        context,
        details: { exhibitId: extraction.exhibit_id, filters: { q: query.q ?? null, extension: query.extension ?? null, sha256: query.sha256 ?? null, deleted: query.deleted ?? null }, cursor, returned: page.length, format: csv ? 'csv' : 'json' },
      });
      return { entries: page, nextCursor: more ? String(page[page.length - 1].index) : null };
    });
  }

  private async views(q: Queryable, where: string, params: unknown[]): Promise<(ExtractionView & { exhibitReference: string })[]> {
    const found = await rows<Record<string, unknown>>(
      q,
      `SELECT e.*, x.reference,
              (SELECT coalesce(json_agg(json_build_object('fileId', f.id, 'filename', f.original_filename) ORDER BY f.original_filename), '[]'::json)
                 FROM evidence_files f WHERE f.id = ANY(e.member_file_ids)) AS members
         FROM extractions e JOIN exhibits x ON x.id = e.exhibit_id WHERE ${where} ORDER BY x.reference, e.created_at, e.id`,
      params,
    );
    return found.map((r) => ({
      id: r.id as string,
      exhibitId: r.exhibit_id as string,
      exhibitReference: r.reference as string,
      kind: r.kind as string,
      state: r.state as ExtractionState,
      examinationState: r.examination_state as ExaminationState,
      status: examinationStatus(r.state as string, r.examination_state as string),
      outcome: { code: (r.outcome_code as string) ?? null, reason: (r.outcome_reason as string) ?? null },
      warnings: r.warnings as ExtractionFinding[],
      problems: r.problems as ExtractionFinding[],
      facts: r.facts as Record<string, unknown>,
      hashes: r.hashes as unknown[],
      members: r.members as { fileId: string; filename: string }[],
      missingSegments: r.missing_segments as number[],
      entryCount: r.entry_count as number,
      attempts: r.attempts as number,
      createdAt: r.created_at as Date,
      updatedAt: r.updated_at as Date,
      verifiedAt: (r.verified_at as Date) ?? null,
    }));
  }
}

function toEntryView(r: Record<string, unknown>): ExtractionEntryView {
  return {
    index: r.idx as number,
    path: r.path as string,
    name: r.name as string,
    extension: (r.extension as string) ?? null,
    isDirectory: r.is_directory as boolean,
    size: Number(r.size),
    compressedSize: Number(r.compressed_size),
    modifiedAt: (r.modified_at as string) ?? null,
    sha256: (r.sha256 as string) ?? null,
    md5: (r.md5 as string) ?? null,
    crcOk: (r.crc_ok as boolean) ?? null,
    deleted: (r.deleted as boolean) ?? null,
    tagged: (r.tagged as boolean) ?? null,
    flags: r.flags as string[],
    status: r.status as string,
  };
}

function fromOutcome(o: { status: string; code?: string; reason?: string; warnings: ExtractionFinding[]; problems: ExtractionFinding[] }): Result {
  return { state: o.status as ExtractionState, code: o.code, reason: o.reason, warnings: o.warnings, problems: o.problems };
}

/** E01 … E99, then EAA …: the name a segment number has on disk. */
function segmentLabel(n: number): string {
  return `${n} (.${segmentExtension(n)})`;
}

/** Stable key of a set within its exhibit, and its member files. */
function describe(set: ExtractionSet): { key: string; members: string[] } {
  switch (set.kind) {
    case 'ewf':
      return { key: `ewf:${set.setKey}`, members: [...set.segments.map((s) => s.fileId), ...set.duplicates.map((d) => d.fileId)].sort() };
    case 'ewf2':
      return { key: 'ewf2', members: [...set.fileIds].sort() };
    default:
      return { key: `${set.kind}:${set.fileIds[0]}`, members: [...set.fileIds].sort() };
  }
}
