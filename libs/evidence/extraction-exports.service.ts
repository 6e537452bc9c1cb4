import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { CaseAccessService, parseExhibitReference } from '../cases/index.js';
import { AppError, MISLEADING_CHARACTERS } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/index.js';
import { one, rows } from '../database/sql.js';
import { exportArtefacts, ObjectStoreByteSource, type ArtefactRequest } from '../extraction/index.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { canonicalize } from '../ledger/index.js';
import { QueueService } from '../queue/index.js';
import { ObjectStore } from '../storage/index.js';
import { EvidenceFilesService, uploadKey } from './evidence-files.service.js';
import { consultExtraction, findExtraction, type ExtractionRow } from './extraction-lookup.js';
import type { ExportRequest } from './extraction-workflow.schemas.js';

export type ExportState = 'queued' | 'exporting' | 'completed' | 'failed';

export interface ExportItemView {
  index: number;
  path: string;
  size: number;
  /** The inventory's SHA-256 of the entry (computed by the verification pass). */
  sha256: string;
  fileId: string;
  /** The exported file's state (null until it is stored) and its sealed SHA-256. */
  fileState: string | null;
  sealedSha256: string | null;
}

export interface ExtractionExportView {
  id: string;
  extractionId: string;
  sourceExhibitId: string;
  exhibitId: string;
  exhibitReference: string;
  state: ExportState;
  failure: { code: string; reason: string } | null;
  manifest: ExportManifest;
  manifestSha256: string;
  /** Every item sealed with exactly the inventoried SHA-256, and the manifest hashes to the recorded value. */
  provenanceVerified: boolean;
  items: ExportItemView[];
  createdAt: Date;
  completedAt: Date | null;
}

/** What an export says about where each exported file came from; its SHA-256 is in the custody event. */
export interface ExportManifest {
  format: 'dems-extraction-export/1';
  exportId: string;
  caseId: string;
  extractionId: string;
  extractionKind: string;
  sourceExhibit: { id: string; reference: string };
  /** The sealed file(s) of the extraction the entries were read from. */
  sourceFiles: { fileId: string; sha256: string }[];
  derivedExhibit: { id: string; reference: string };
  items: { index: number; path: string; size: number; sha256: string; fileId: string }[];
}

const EXPORTABLE_KINDS = new Set(['zip', 'ufdr']);
const EXPORTABLE_STATES = new Set(['verified', 'verified_with_warnings']);
const EVENT_ITEMS = 1000;

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * Exports of selected inventory entries of a ZIP-based extraction as a derived exhibit
 * (docs/extraction.md, "Exporting artefacts"): the API resolves the selection against the
 * inventory, creates the sub-exhibit and records the provenance manifest; the `extraction.export`
 * job streams each entry out of the sealed container (never changed; only read) into a new
 * object, checked against the inventoried SHA-256 on the way, and seals it like any upload (read
 * back, declared hash compared, write-once, fixity, media jobs).
 */
@Injectable()
export class ExtractionExportsService {
  private readonly logger = new Logger('ExtractionExports');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(EvidenceFilesService) private readonly files: EvidenceFilesService,
  ) {}

  async request(principal: Principal, caseId: string, extractionId: string, input: ExportRequest, context: RequestContext): Promise<ExtractionExportView> {
    const view = await this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'exhibit.create', { context, tx });
      const x = await findExtraction(tx, access, caseId, extractionId, true);
      if (!EXPORTABLE_KINDS.has(x.kind)) throw new AppError('EXTRACTION_NOT_EXPORTABLE', `A ${x.kind} extraction has no inventory of files to export (only UFDR and ZIP-based extractions)`, 422);
      if (!EXPORTABLE_STATES.has(x.state)) throw new AppError('EXTRACTION_NOT_VERIFIED', `The extraction is ${x.state}: artefacts are exported only from a verified extraction`, 409);
      const items = await this.selectEntries(tx, x.id, input);
      const reference = await this.derivedReference(tx, x, input.reference);
      const exhibit = await this.createDerivedExhibit(tx, principal, context, x, reference, input.description ?? `Artefacts exported from ${x.exhibit_reference} (${x.kind} extraction): ${items.length} file${items.length === 1 ? '' : 's'}`);
      const sourceFiles = await rows<{ fileId: string; sha256: string }>(
        tx,
        `SELECT f.id AS "fileId", f.sha256 FROM extractions e JOIN evidence_files f ON f.id = ANY(e.member_file_ids) WHERE e.id = $1 ORDER BY f.id`,
        [x.id],
      );
      const id = (await one<{ id: string }>(tx, `SELECT gen_random_uuid() AS id`))!.id;
      const withFiles = await rows<{ fileId: string }>(tx, `SELECT gen_random_uuid() AS "fileId" FROM generate_series(1, $1)`, [items.length]);
      const manifest: ExportManifest = {
        format: 'dems-extraction-export/1',
        exportId: id,
        caseId,
        extractionId: x.id,
        extractionKind: x.kind,
        sourceExhibit: { id: x.exhibit_id, reference: x.exhibit_reference },
        sourceFiles,
        derivedExhibit: { id: exhibit.id, reference },
        items: items.map((e, i) => ({ index: e.idx, path: e.path, size: Number(e.size), sha256: e.sha256, fileId: withFiles[i].fileId })),
      };
      const manifestSha256 = sha256Hex(canonicalize(manifest));
      await tx.query(
        `INSERT INTO extraction_exports (id, case_id, extraction_id, exhibit_id, state, manifest_sha256, requested_by) VALUES ($1, $2, $3, $4, 'queued', $5, $6)`,
        [id, caseId, x.id, exhibit.id, manifestSha256, principal.userId],
      );
      await tx.query(
        `INSERT INTO extraction_export_items (export_id, idx, path, size, sha256, file_id) SELECT $1, u.idx, u.path, u.size, u.sha256, u.file_id
           FROM unnest($2::int[], $3::text[], $4::bigint[], $5::text[], $6::uuid[]) AS u(idx, path, size, sha256, file_id)`,
        [id, manifest.items.map((i) => i.index), manifest.items.map((i) => i.path), manifest.items.map((i) => i.size), manifest.items.map((i) => i.sha256), manifest.items.map((i) => i.fileId)],
      );
      await recordCustodyEvent(tx, {
        type: 'extraction.export_requested',
        operation: 'collection',
        caseId,
        actor: principal,
        object: { type: 'extraction', id: x.id, sha256: manifestSha256 },
        context,
        details: { exhibitId: x.exhibit_id, derivedExhibitId: exhibit.id, derivedReference: reference, exportId: id, items: items.length, manifestSha256 },
      });
      return (await this.load(tx, id))!;
    });
    // The job id is the export's: a second enqueue of the same export is a no-op.
    await this.queues.enqueue('extraction.export', { exportId: view.id }, { jobId: `extraction-export-${view.id}` });
    return view;
  }

  /**
   * Exports still queued after a while (the enqueue after the API's commit failed: Redis away) are
   * queued again by the upload sweep; the job id differs per sweep hour, so a job kept by BullMQ
   * from an earlier attempt does not swallow the new one.
   */
  async requeueStalled(olderThanMinutes = 15): Promise<number> {
    const stalled = await rows<{ id: string }>(this.ds, `SELECT id FROM extraction_exports WHERE state = 'queued' AND created_at < now() - make_interval(mins => $1) LIMIT 1000`, [olderThanMinutes]);
    const hour = Math.floor(Date.now() / 3600_000);
    for (const s of stalled) await this.queues.enqueue('extraction.export', { exportId: s.id }, { jobId: `extraction-export-${s.id}-sweep-${hour}` });
    return stalled.length;
  }

  /** The worker's part: every item not yet sealed is streamed out of the container, stored and sealed. */
  async run(exportId: string, signal: AbortSignal, progress: (percent: number) => Promise<void>): Promise<{ state: string; files: number }> {
    const found = await this.load(this.ds, exportId);
    if (!found) throw new AppError('EXPORT_NOT_FOUND', `No extraction export ${exportId}`, 404);
    if (found.state === 'completed') return { state: found.state, files: found.items.length };
    await this.ds.query(`UPDATE extraction_exports SET state = 'exporting', updated_at = now() WHERE id = $1 AND state IN ('queued', 'exporting')`, [exportId]);
    const context = await one<{ case_id: string; exhibit_id: string; requested_by: string; bucket: string; object_key: string; sha256: string }>(
      this.ds,
      `SELECT x.case_id, x.exhibit_id, x.requested_by, f.bucket, f.object_key, f.sha256
         FROM extraction_exports x JOIN extractions e ON e.id = x.extraction_id JOIN evidence_files f ON f.id = e.member_file_ids[1] WHERE x.id = $1`,
      [exportId],
    );
    const source = await ObjectStoreByteSource.open(this.store, context!.bucket, context!.object_key);
    const refused = found.items.find((i) => i.fileState !== null && i.fileState !== 'sealed' && i.fileState !== 'verifying');
    if (refused) throw new AppError('EXPORT_ITEM_NOT_SEALED', `"${refused.path}" was stored but is ${refused.fileState}; its bytes are kept as they are`, 409);
    // A retry skips what an earlier attempt sealed; an item stored but not sealed is stored again (same key, no retention before the seal).
    const pending = found.items.filter((i) => i.fileState !== 'sealed');
    const total = found.items.reduce((n, i) => n + i.size, 0) || 1;
    let done = total - pending.reduce((n, i) => n + i.size, 0);
    const byIndex = new Map(pending.map((i) => [i.index, i]));
    const requests: ArtefactRequest[] = pending.map((i) => ({ path: i.path, sha256: i.sha256, size: i.size, index: i.index }));
    await exportArtefacts(
      source,
      requests,
      async (artefact, bytes) => {
        const item = byIndex.get(artefact.index)!;
        await this.store.put(this.store.buckets.originals, uploadKey(item.fileId), bytes);
        if (item.fileState === null) await this.recordStored(exportId, found, context!, item);
        done += item.size;
        await progress(Math.min(99, Math.round((done / total) * 100)));
      },
      { signal },
    );
    for (const item of pending) {
      signal.throwIfAborted();
      const sealed = await this.files.seal(item.fileId, undefined, signal);
      if (sealed.state !== 'sealed') {
        throw new AppError('EXPORT_ITEM_NOT_SEALED', `"${item.path}" was stored but not sealed: ${sealed.quarantine?.code ?? sealed.state} ${sealed.quarantine?.reason ?? ''}`.trim(), 409);
      }
    }
    await this.complete(exportId);
    await progress(100);
    return { state: 'completed', files: found.items.length };
  }

  /** The job gave up: the export shows failed with the reason (files already sealed stay evidence, listed). */
  async failed(exportId: string, code: string, reason: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const row = await one<{ case_id: string; extraction_id: string; exhibit_id: string; source_exhibit_id: string }>(
        tx,
        `UPDATE extraction_exports x SET state = 'failed', failure_code = $2, failure_reason = $3, updated_at = now()
           FROM extractions e WHERE x.id = $1 AND e.id = x.extraction_id AND x.state <> 'completed'
         RETURNING x.case_id, x.extraction_id, x.exhibit_id, e.exhibit_id AS source_exhibit_id`,
        [exportId, code, reason.slice(0, 2000)],
      );
      if (!row) return;
      await recordCustodyEvent(tx, {
        type: 'extraction.export_failed',
        operation: 'collection',
        caseId: row.case_id,
        object: { type: 'extraction', id: row.extraction_id },
        outcome: 'failed',
        details: { exhibitId: row.source_exhibit_id, derivedExhibitId: row.exhibit_id, exportId, code, reason: reason.slice(0, 2000) },
      });
    });
  }

  async list(principal: Principal, caseId: string, extractionId: string, justification: Justification | undefined, context: RequestContext): Promise<ExtractionExportView[]> {
    return consultExtraction(this.ds, this.access, { principal, caseId, extractionId, justification, context, what: 'exports' }, async (tx, x) => {
      const ids = await rows<{ id: string }>(tx, `SELECT id FROM extraction_exports WHERE extraction_id = $1 ORDER BY created_at, id`, [x.id]);
      return Promise.all(ids.map(async (r) => (await this.load(tx, r.id))!));
    });
  }

  async get(principal: Principal, caseId: string, extractionId: string, exportId: string, justification: Justification | undefined, context: RequestContext): Promise<ExtractionExportView> {
    return consultExtraction(this.ds, this.access, { principal, caseId, extractionId, justification, context, what: 'exports' }, async (tx, x) => {
      const view = await this.load(tx, exportId);
      if (!view || view.extractionId !== x.id) throw new AppError('EXPORT_NOT_FOUND', `No export ${exportId} of this extraction`, 404);
      return view;
    });
  }

  /** The entries chosen by path, index or hash; every one named must exist, be a file and have passed the verification pass. */
  private async selectEntries(tx: EntityManager, extractionId: string, input: ExportRequest) {
    const found = await rows<{ idx: number; path: string; size: string; sha256: string | null; is_directory: boolean; status: string; flags: string[] }>(
      tx,
      `SELECT idx, path, size, sha256, is_directory, status, flags FROM extraction_entries
        WHERE extraction_id = $1 AND (path = ANY($2::text[]) OR idx = ANY($3::int[]) OR sha256 = ANY($4::text[])) ORDER BY idx`,
      [extractionId, input.paths, input.indexes, input.sha256s],
    );
    const missing = [
      ...input.paths.filter((p) => !found.some((e) => e.path === p)).map((p) => `path "${p}"`),
      ...input.indexes.filter((i) => !found.some((e) => e.idx === i)).map((i) => `index ${i}`),
      ...input.sha256s.filter((h) => !found.some((e) => e.sha256 === h)).map((h) => `SHA-256 ${h}`),
    ];
    if (missing.length) throw new AppError('EXPORT_ENTRY_NOT_FOUND', `Not in the inventory: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? `, and ${missing.length - 20} more` : ''}`, 404, { missing: missing.slice(0, 200) });
    const unusable = found.filter((e) => e.is_directory || e.status !== 'ok' || !e.sha256);
    if (unusable.length) {
      const why = (e: (typeof found)[number]) => (e.is_directory ? 'a directory' : e.status !== 'ok' ? `status ${e.status}` : 'not hashed');
      throw new AppError('EXPORT_ENTRY_NOT_VERIFIED', `Only files whose bytes were checked can be exported: ${unusable.slice(0, 20).map((e) => `"${e.path}" (${why(e)})`).join(', ')}`, 422, {
        entries: unusable.slice(0, 200).map((e) => ({ index: e.idx, path: e.path, reason: why(e) })),
      });
    }
    if (found.length > 10_000) throw new AppError('EXPORT_TOO_LARGE', `The selection holds ${found.length} files; export at most 10000 at a time`, 422);
    return found as ((typeof found)[number] & { sha256: string })[];
  }

  /** The derived exhibit's reference: the one asked for (a sub-exhibit of the source), else the next free sub-exhibit number. */
  private async derivedReference(tx: EntityManager, x: ExtractionRow, asked: string | undefined): Promise<string> {
    if (asked !== undefined) {
      const ref = parseExhibitReference(asked);
      if (ref.parent !== x.exhibit_reference) throw new AppError('EXPORT_REFERENCE_NOT_DERIVED', `The derived exhibit must be a sub-exhibit of ${x.exhibit_reference} (e.g. ${x.exhibit_reference}/1); ${ref.reference} is not`, 422);
      return ref.reference;
    }
    const last = await one<{ n: number | null }>(
      tx,
      `SELECT max(split_part(reference, '/', $3)::int) AS n FROM exhibits WHERE case_id = $1 AND parent_id = $2`,
      [x.case_id, x.exhibit_id, x.exhibit_reference.split('/').length + 1],
    );
    return `${x.exhibit_reference}/${(last?.n ?? 0) + 1}`;
  }

  /**
   * The sub-exhibit holding the exported files, in the export's transaction (ExhibitsService.create
   * runs its own, and a refused export must leave no exhibit behind). It takes its source's
   * classification, so a sensitive device's artefacts stay hidden where the device is.
   */
  private async createDerivedExhibit(tx: EntityManager, principal: Principal, context: RequestContext, x: ExtractionRow, reference: string, description: string): Promise<{ id: string }> {
    let row: { id: string } | undefined;
    try {
      row = await one<{ id: string }>(
        tx,
        `INSERT INTO exhibits (case_id, reference, parent_id, source_type, description, producer, classification, created_by)
         VALUES ($1, $2, $3, 'other', $4, $5, $6, $7) RETURNING id`,
        [x.case_id, reference, x.exhibit_id, description, principal.username, x.classification, principal.userId],
      );
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new AppError('EXHIBIT_REFERENCE_TAKEN', `Exhibit ${reference} already exists on this case`, 409);
      throw e;
    }
    await recordCustodyEvent(tx, {
      type: 'exhibit.created',
      operation: 'collection',
      caseId: x.case_id,
      actor: principal,
      object: { type: 'exhibit', id: row!.id, version: 1 },
      context,
      details: { reference, sourceType: 'other', declaredHashes: [], derivedFrom: { exhibitId: x.exhibit_id, extractionId: x.id } },
    });
    return row!;
  }

  /** The stored entry becomes an evidence file of the derived exhibit, verifying, with the inventory's SHA-256 as its declared hash. */
  private async recordStored(exportId: string, found: ExtractionExportView, ctx: { case_id: string; exhibit_id: string; requested_by: string; sha256: string }, item: ExportItemView): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const inserted = await one(
        tx,
        `INSERT INTO evidence_files (id, case_id, exhibit_id, bucket, object_key, original_filename, size, declared_empty, bytes_received, state, declared_hashes, created_by, completed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, 'verifying', $9, $10, now()) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [item.fileId, ctx.case_id, ctx.exhibit_id, this.store.buckets.originals, uploadKey(item.fileId), fileNameOf(item.path, item.index), item.size, item.size === 0,
          JSON.stringify([{ algorithm: 'sha256', value: item.sha256 }]), ctx.requested_by],
      );
      if (!inserted) return;
      await recordCustodyEvent(tx, {
        type: 'evidence.exported_from_extraction',
        operation: 'collection',
        caseId: ctx.case_id,
        object: { type: 'evidence_file', id: item.fileId, sha256: item.sha256 },
        details: { exhibitId: ctx.exhibit_id, exportId, extractionId: found.extractionId, sourceExhibitId: found.sourceExhibitId, sourceContainerSha256: ctx.sha256, sourcePath: item.path, sourceIndex: item.index, size: item.size },
      });
    });
  }

  private async complete(exportId: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const view = (await this.load(tx, exportId))!;
      const updated = await one(tx, `UPDATE extraction_exports SET state = 'completed', completed_at = now(), updated_at = now() WHERE id = $1 AND state <> 'completed' RETURNING id`, [exportId]);
      if (!updated) return;
      await recordCustodyEvent(tx, {
        type: 'extraction.exported',
        operation: 'collection',
        caseId: view.manifest.caseId,
        object: { type: 'extraction', id: view.extractionId, sha256: view.manifestSha256 },
        details: {
          exhibitId: view.sourceExhibitId,
          derivedExhibitId: view.exhibitId,
          exportId,
          manifestSha256: view.manifestSha256,
          provenanceVerified: view.provenanceVerified,
          count: view.items.length,
          items: view.items.slice(0, EVENT_ITEMS).map((i) => ({ index: i.index, path: i.path, sha256: i.sealedSha256, fileId: i.fileId })),
        },
      });
      this.logger.log({ caseId: view.manifest.caseId, exportId, files: view.items.length }, 'extraction export completed');
    });
  }

  private async load(q: EntityManager | DataSource, exportId: string): Promise<ExtractionExportView | undefined> {
    const x = await one<Record<string, unknown>>(
      q,
      `SELECT x.*, e.exhibit_id AS source_exhibit_id, e.kind, sx.reference AS source_reference, dx.reference AS derived_reference
         FROM extraction_exports x JOIN extractions e ON e.id = x.extraction_id JOIN exhibits sx ON sx.id = e.exhibit_id JOIN exhibits dx ON dx.id = x.exhibit_id
        WHERE x.id = $1`,
      [exportId],
    );
    if (!x) return undefined;
    const items = await rows<{ idx: number; path: string; size: string; sha256: string; file_id: string; state: string | null; sealed_sha256: string | null }>(
      q,
      `SELECT i.idx, i.path, i.size, i.sha256, i.file_id, f.state, f.sha256 AS sealed_sha256 FROM extraction_export_items i LEFT JOIN evidence_files f ON f.id = i.file_id
        WHERE i.export_id = $1 ORDER BY i.idx`,
      [exportId],
    );
    const sourceFiles = await rows<{ fileId: string; sha256: string }>(
      q,
      `SELECT f.id AS "fileId", f.sha256 FROM extractions e JOIN evidence_files f ON f.id = ANY(e.member_file_ids) WHERE e.id = $1 ORDER BY f.id`,
      [x.extraction_id],
    );
    const manifest: ExportManifest = {
      format: 'dems-extraction-export/1',
      exportId,
      caseId: x.case_id as string,
      extractionId: x.extraction_id as string,
      extractionKind: x.kind as string,
      sourceExhibit: { id: x.source_exhibit_id as string, reference: x.source_reference as string },
      sourceFiles,
      derivedExhibit: { id: x.exhibit_id as string, reference: x.derived_reference as string },
      items: items.map((i) => ({ index: i.idx, path: i.path, size: Number(i.size), sha256: i.sha256, fileId: i.file_id })),
    };
    const manifestSha256 = x.manifest_sha256 as string;
    const itemViews = items.map((i) => ({ index: i.idx, path: i.path, size: Number(i.size), sha256: i.sha256, fileId: i.file_id, fileState: i.state, sealedSha256: i.sealed_sha256 }));
    return {
      id: exportId,
      extractionId: x.extraction_id as string,
      sourceExhibitId: x.source_exhibit_id as string,
      exhibitId: x.exhibit_id as string,
      exhibitReference: x.derived_reference as string,
      state: x.state as ExportState,
      failure: x.failure_code ? { code: x.failure_code as string, reason: x.failure_reason as string } : null,
      manifest,
      manifestSha256,
      // Recomputed on every read: the stored rows still hash to what the custody event recorded, and every file sealed as inventoried.
      provenanceVerified: sha256Hex(canonicalize(manifest)) === manifestSha256 && itemViews.every((i) => i.fileState === 'sealed' && i.sealedSha256 === i.sha256),
      items: itemViews,
      createdAt: x.created_at as Date,
      completedAt: (x.completed_at as Date) ?? null,
    };
  }
}

/** A file name for the exported entry: the last part of its path, with characters that could mislead shown as U+FFFD. */
function fileNameOf(path: string, index: number): string {
  const name = (path.split(/[/\\]/).filter(Boolean).pop() ?? '').replace(MISLEADING_CHARACTERS, '\uFFFD').slice(0, 255);
  return name === '' || name === '.' || name === '..' ? `entry-${index}` : name;
}
