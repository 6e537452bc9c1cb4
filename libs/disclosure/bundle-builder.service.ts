import { createHash, createHmac } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import yazl from 'yazl';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
import { FixityService, LedgerService, recordCustodyEvent } from '../custody/index.js';
import { displayUrn } from '../cases/index.js';
import { one, rows } from '../database/sql.js';
import { parseSignerKey, type LedgerEvent, type SignerKey } from '../ledger/index.js';
import { TerminalJobError } from '../queue/index.js';
import { ObjectStore } from '../storage/index.js';
import { indexHtml, indexPdf } from './bundle-index.js';
import {
  BUNDLE_FILES,
  custodyExtractPath,
  exhibitFilePath,
  formatSha256Sums,
  manifestBytes,
  MANIFEST_FORMAT,
  pathSafeRef,
  readmeText,
  safeFileName,
  uniqueName,
  type BundleManifest,
  type ManifestFile,
} from './bundle-layout.js';
import { audienceBreaches, type BundleAudience, type BundleItemRef, type ResolvedItem } from './bundle-rules.js';
import { formatCustodyExtract, type ExtractLine } from './custody-extract.js';
import { DisclosureSchedulesService } from './disclosure-schedules.service.js';
import { scheduleCsv, schedulePdf, type ScheduleType } from './mg6-forms.js';
import { allowedSignersLine, ed25519FromSeed, rawEd25519PublicKey, sshsigSign } from './sshsig.js';

/** Files in the ZIP: 0644, and one fixed time (the bundle's creation) so bytes do not depend on when or where it was built. */
const FILE_MODE = 0o100644;
/**
 * The bundle goes to S3 in parts of S3's minimum, 5 MiB, whatever S3_PART_SIZE_MB says: the put
 * holds (S3_UPLOAD_CONCURRENCY + 1) parts, 25 MiB instead of 40 at the defaults, towards the
 * worker's 200 MB budget while it builds. Larger bundles get larger parts (10,000 parts at most).
 */
const BUNDLE_PART_SIZE = 5 * 1024 * 1024;

export interface BundleSelection {
  items: BundleItemRef[];
  schedules: ScheduleType[];
  /** Schedule version ids fixed at request time (older requests: the latest at build time). */
  scheduleVersions?: Record<string, string>;
}

/**
 * The manifest signing key. Derived from the ledger key (HMAC-SHA256 of its seed with a fixed
 * label) so an installation needs no second secret: the two keys are distinct, and knowing the
 * bundle key reveals nothing of the ledger key. Its public half goes in every bundle
 * (allowed_signers) and is served by the API, for the CPS to pin.
 */
export function bundleSigningKey(ledger: SignerKey) {
  const seed = Buffer.from(ledger.privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const key = ed25519FromSeed(createHmac('sha256', seed).update('dems-bundle-sshsig-v1').digest());
  return { privateKey: key, publicKey: rawEd25519PublicKey(key) };
}

/**
 * Builds a bundle in the worker: a fresh checkpoint, each exhibit's custody extract proven
 * against it, then one ZIP64 streamed straight into S3 (yazl: STORE entries, sizes known up
 * front, one source stream open at a time; never the whole bundle in memory or on disk). Fixity
 * of every object is checked on the way (size by HEAD first, SHA-256 of the bytes as they are
 * zipped): any failure stops the bundle with a report naming each file, and no object is left.
 * Idempotent: a ready bundle is left alone.
 */
@Injectable()
export class BundleBuilder {
  private readonly logger = new Logger('BundleBuilder');
  private readonly ledgerSigner: SignerKey;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(LedgerService) private readonly ledger: LedgerService,
    @Inject(FixityService) private readonly fixity: FixityService,
    @Inject(DisclosureSchedulesService) private readonly schedules: DisclosureSchedulesService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.ledgerSigner = parseSignerKey(config.LEDGER_SIGNING_KEY);
  }

  signingPublicKey() {
    const k = bundleSigningKey(this.ledgerSigner).publicKey;
    return { allowedSigners: allowedSignersLine(k), ledgerVerifierKey: this.ledger.verifierKey };
  }

  /** Resolves selection items to stored objects. The extension point for working copies (bundle-rules.ts). */
  async resolveItems(caseId: string, items: BundleItemRef[]): Promise<ResolvedItem[]> {
    const out: ResolvedItem[] = [];
    for (const ref of items) {
      switch (ref.kind) {
        case 'original': {
          const r = await one<Record<string, unknown>>(
            this.ds,
            `SELECT f.id, f.bucket, f.object_key, f.size, f.sha256, f.original_filename, f.state, x.id AS exhibit_id, x.reference, x.sensitivity,
                    EXISTS (SELECT 1 FROM disclosure_schedule_items i WHERE i.case_id = f.case_id AND i.schedule = 'MG6D' AND i.exhibit_id = x.id) AS on_mg6d
               FROM evidence_files f JOIN exhibits x ON x.id = f.exhibit_id WHERE f.id = $1 AND f.case_id = $2`,
            [ref.evidenceFileId, caseId],
          );
          if (!r) throw new AppError('BUNDLE_ITEM_NOT_FOUND', `No evidence file ${ref.evidenceFileId} in this case`, 404);
          if (r.state !== 'sealed') throw new AppError('BUNDLE_ITEM_NOT_SEALED', `Evidence file ${ref.evidenceFileId} of exhibit ${String(r.reference)} is ${String(r.state)}, not sealed: only sealed evidence is disclosed`, 409);
          out.push({
            ref,
            exhibitId: r.exhibit_id as string,
            exhibitReference: r.reference as string,
            sensitive: r.sensitivity === 'sensitive' || (r.on_mg6d as boolean),
            bucket: r.bucket as string,
            objectKey: r.object_key as string,
            size: Number(r.size),
            sha256: r.sha256 as string,
            originalFilename: r.original_filename as string,
            entryName: safeFileName(r.original_filename as string),
          });
          break;
        }
        case 'derivative': {
          const r = await one<Record<string, unknown>>(
            this.ds,
            `SELECT d.id, d.kind, d.role, d.recipe_version, d.reference AS copy_reference, d.bucket, d.object_key, d.mime, d.size, d.sha256, d.quality, d.provenance,
                    f.id AS file_id, f.sha256 AS master_sha256, f.original_filename, f.state, x.id AS exhibit_id, x.reference, x.sensitivity,
                    EXISTS (SELECT 1 FROM disclosure_schedule_items i WHERE i.case_id = f.case_id AND i.schedule = 'MG6D' AND i.exhibit_id = x.id) AS on_mg6d
               FROM derivatives d JOIN evidence_files f ON f.id = d.evidence_file_id JOIN exhibits x ON x.id = f.exhibit_id
              WHERE d.id = $1 AND d.case_id = $2`,
            [ref.derivativeId, caseId],
          );
          if (!r) throw new AppError('BUNDLE_ITEM_NOT_FOUND', `No working copy ${ref.derivativeId} in this case`, 404);
          if (r.state !== 'sealed') throw new AppError('BUNDLE_ITEM_NOT_SEALED', `The master of working copy ${String(r.copy_reference)} is ${String(r.state)}, not sealed`, 409);
          const key = String(r.object_key);
          out.push({
            ref,
            exhibitId: r.exhibit_id as string,
            exhibitReference: r.reference as string,
            sensitive: r.sensitivity === 'sensitive' || (r.on_mg6d as boolean),
            bucket: r.bucket as string,
            objectKey: key,
            size: Number(r.size),
            sha256: r.sha256 as string,
            originalFilename: r.original_filename as string,
            entryName: `working-copies/${safeFileName(`${pathSafeRef(String(r.copy_reference))}-${key.slice(key.lastIndexOf('/') + 1)}`)}`,
            masterSha256: r.master_sha256 as string,
            derivation: {
              derivativeId: r.id,
              masterEvidenceFileId: r.file_id,
              reference: r.copy_reference,
              kind: r.kind,
              role: r.role,
              recipeVersion: r.recipe_version,
              mime: r.mime,
              quality: r.quality,
              provenance: r.provenance,
            },
          });
          break;
        }
        default:
          throw new AppError('BUNDLE_ITEM_UNSUPPORTED', `Unknown bundle item kind ${String((ref as { kind: unknown }).kind)}`, 400);
      }
    }
    return out;
  }

  async build(bundleId: string, signal: AbortSignal, progress: (percent: number) => Promise<void> = async () => undefined): Promise<{ state: string; sha256: string | null; size: number | null }> {
    // yazl writes DOS times in local time: bytes must not depend on the machine's time zone.
    if (new Date().getTimezoneOffset() !== 0) throw new TerminalJobError('WORKER_TZ_NOT_UTC', 'The worker must run with TZ=UTC to build disclosure bundles (ZIP times are local times)');
    const b = await one<Record<string, unknown>>(this.ds, `SELECT b.*, c.urn FROM disclosure_bundles b JOIN cases c ON c.id = b.case_id WHERE b.id = $1`, [bundleId]);
    if (!b) throw new TerminalJobError('BUNDLE_NOT_FOUND', `No bundle ${bundleId}`);
    if (b.state === 'ready') return { state: 'ready', sha256: b.sha256 as string, size: Number(b.size) };
    if (b.state === 'failed') return { state: 'failed', sha256: null, size: null };
    await this.ds.query(`UPDATE disclosure_bundles SET state = 'building' WHERE id = $1 AND state IN ('queued', 'building')`, [bundleId]);
    const caseId = b.case_id as string;
    const selection = b.selection as BundleSelection;
    const audience = b.audience as BundleAudience;
    const createdAt = (b.created_at as Date).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const mtime = new Date(createdAt);

    const items = await this.resolveItems(caseId, selection.items).catch((e: unknown) => {
      throw e instanceof AppError ? new TerminalJobError(e.code, e.message) : e;
    });
    const schedules = selection.scheduleVersions
      ? await Promise.all(Object.values(selection.scheduleVersions).map((id) => this.schedules.viewById(id)))
      : (await this.schedules.latestVersions(caseId)).filter((s) => selection.schedules.includes(s.schedule));
    const breaches = audienceBreaches(audience, items, schedules.map((s) => s.schedule));
    if (breaches.length) throw new TerminalJobError('BUNDLE_AUDIENCE_REFUSED', `This bundle is not CPS-only, so it cannot hold MG6D material: ${breaches.join('; ')}`);

    // Fixity, part one: every object is there with its sealed size (HEAD). Part two is in the ZIP
    // stream itself: each object's bytes are hashed as they go in (`verifying`), and any mismatch
    // fails the put before the object is complete, naming every file that differs. One read of
    // each object instead of two: the build costs what a plain streaming zip costs.
    const problems: string[] = [];
    for (const it of items) {
      const info = await this.store.head(it.bucket, it.objectKey);
      if (!info) problems.push(`${it.exhibitReference} ${it.originalFilename}: the stored object is missing`);
      else if (info.size !== it.size) problems.push(`${it.exhibitReference} ${it.originalFilename}: the stored object has ${info.size} bytes, sealed ${it.size} bytes`);
    }
    const fixityFailed = () => new TerminalJobError('BUNDLE_FIXITY_FAILED', `Fixity check failed for ${problems.length} of ${items.length} file(s): ${problems.join('; ')}`);
    if (problems.length) throw fixityFailed();

    // A checkpoint now, so every custody event so far (the fixity checks included) is proven.
    const cp = (await this.ledger.publishCheckpoint()) ?? (await this.ledger.latest())!;
    const rootHash = Buffer.from(cp.rootHash, 'hex');
    const checkpointNote = cp.note;

    const files: ManifestFile[] = [];
    const small: { path: string; data: Buffer }[] = [];
    const addSmall = (path: string, data: Buffer, kind: ManifestFile['kind'], extra: Partial<ManifestFile> = {}) => {
      small.push({ path, data });
      files.push({ path, size: data.length, sha256: createHash('sha256').update(data).digest('hex'), kind, ...extra });
    };
    for (const s of schedules) {
      const base = `schedules/${s.schedule}-v${s.version}`;
      addSmall(`${base}.csv`, Buffer.from(scheduleCsv(s)), 'schedule');
      addSmall(`${base}.pdf`, await schedulePdf(s), 'schedule');
    }
    const exhibits = new Map<string, string>();
    for (const it of items) exhibits.set(it.exhibitId, it.exhibitReference);
    for (const [exhibitId, reference] of exhibits) {
      const text = await this.extract(caseId, exhibitId, reference, cp.treeSize, rootHash, checkpointNote);
      addSmall(custodyExtractPath(reference), Buffer.from(text), 'custody_extract', { exhibitReference: reference, exhibitId });
    }
    addSmall(BUNDLE_FILES.checkpoint, Buffer.from(checkpointNote), 'checkpoint');
    addSmall(BUNDLE_FILES.ledgerKey, Buffer.from(`${this.ledger.verifierKey}\n`), 'ledger_key');

    const taken = new Map<string, Set<string>>();
    const big: { path: string; item: ResolvedItem }[] = [];
    for (const it of items) {
      const folder = pathSafeRef(it.exhibitReference);
      const set = taken.get(folder) ?? new Set<string>();
      taken.set(folder, set);
      const path = exhibitFilePath(it.exhibitReference, uniqueName(it.entryName, set));
      big.push({ path, item: it });
      files.push({
        path,
        size: it.size,
        sha256: it.sha256,
        kind: it.ref.kind,
        exhibitReference: it.exhibitReference,
        exhibitId: it.exhibitId,
        ...(it.ref.kind === 'original' ? { evidenceFileId: it.ref.evidenceFileId } : { evidenceFileId: String(it.derivation?.masterEvidenceFileId), derivativeId: it.ref.derivativeId }),
        originalFilename: it.originalFilename,
        ...(it.masterSha256 ? { masterSha256: it.masterSha256, derivation: it.derivation } : {}),
      });
    }
    const base: Omit<BundleManifest, 'files'> = {
      format: MANIFEST_FORMAT,
      bundleId,
      caseId,
      caseUrn: displayUrn(b.urn as string),
      version: b.version as number,
      audience,
      supplementaryTo: (b.supplementary_to as string) ?? null,
      createdAt,
      checkpoint: { treeSize: cp.treeSize, rootHash: cp.rootHash },
    };
    const readme = Buffer.from(readmeText(base));
    addSmall(BUNDLE_FILES.readme, readme, 'readme');
    const html = Buffer.from(indexHtml({ ...base, files }));
    const pdf = await indexPdf({ ...base, files });
    addSmall(BUNDLE_FILES.indexHtml, html, 'index');
    addSmall(BUNDLE_FILES.indexPdf, pdf, 'index');
    const manifest: BundleManifest = { ...base, files };
    const manifestData = manifestBytes(manifest);
    const key = bundleSigningKey(this.ledgerSigner);
    const signature = Buffer.from(sshsigSign(manifestData, key.privateKey));
    const allowed = Buffer.from(allowedSignersLine(key.publicKey));
    const sha = (d: Buffer) => createHash('sha256').update(d).digest('hex');
    const sumsEntries = [
      ...files.map((f) => ({ path: f.path, sha256: f.sha256 })),
      { path: BUNDLE_FILES.manifest, sha256: sha(manifestData) },
      { path: BUNDLE_FILES.signature, sha256: sha(signature) },
      { path: BUNDLE_FILES.allowedSigners, sha256: sha(allowed) },
    ];
    const sums = Buffer.from(formatSha256Sums(sumsEntries));

    // The ZIP: the small files first (a reader finds README and the index at the top), then the originals.
    const zip = new yazl.ZipFile();
    const opts = { mtime, mode: FILE_MODE, compress: false };
    const first = [BUNDLE_FILES.readme, BUNDLE_FILES.indexHtml, BUNDLE_FILES.indexPdf];
    for (const p of first) zip.addBuffer(small.find((s) => s.path === p)!.data, p, opts);
    zip.addBuffer(manifestData, BUNDLE_FILES.manifest, opts);
    zip.addBuffer(signature, BUNDLE_FILES.signature, opts);
    zip.addBuffer(allowed, BUNDLE_FILES.allowedSigners, opts);
    zip.addBuffer(sums, BUNDLE_FILES.sums, opts);
    for (const s of small) if (!first.includes(s.path as (typeof first)[number])) zip.addBuffer(s.data, s.path, opts);
    for (const { path, item } of big) {
      zip.addReadStreamLazy(path, { ...opts, size: item.size }, (cb) => {
        this.store
          .get(item.bucket, item.objectKey)
          .then((got) => cb(null, verifying(got.body, item, problems)))
          .catch((e: unknown) => cb(e, undefined as unknown as Readable));
      });
    }
    // With STORE and every size known, yazl states the ZIP's exact size up front: the put checks it.
    const predicted = await new Promise<number>((resolve) => zip.end(undefined, ((n: number) => resolve(n)) as () => void));
    let sent = 0;
    let reported = 0;
    // Counts the bytes on their way to S3 for the job's progress (a 'data' listener would start the
    // flow before the put reads); at the end, a file that did not match its seal fails the put
    // before the object is complete.
    const out = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sent += chunk.length;
        const p = predicted > 0 ? Math.floor((99 * sent) / predicted) : 0;
        if (p > reported) {
          reported = p;
          void progress(p).catch(() => undefined);
        }
        cb(null, chunk);
      },
      flush(cb) {
        cb(problems.length ? fixityFailed() : null);
      },
    });
    const onAbort = () => out.destroy(signal.reason instanceof Error ? signal.reason : new Error('the bundle build was stopped'));
    signal.throwIfAborted();
    signal.addEventListener('abort', onAbort, { once: true });
    const onZipError = (e: unknown) => out.destroy(e as Error);
    zip.on('error', onZipError);
    zip.outputStream.on('error', onZipError);
    zip.outputStream.pipe(out);
    const objectKey = `disclosure/${caseId}/${bundleId}.zip`;
    const bucket = this.store.buckets.working;
    const put = await this.store.put(bucket, objectKey, out, { contentType: 'application/zip', expectedSize: predicted >= 0 ? predicted : undefined, partSize: BUNDLE_PART_SIZE }).catch((e: unknown) => {
      throw problems.length ? fixityFailed() : e;
    }).finally(() => signal.removeEventListener('abort', onAbort));

    await this.ds.transaction(async (tx) => {
      await tx.query(
        `UPDATE disclosure_bundles SET state = 'ready', bucket = $2, object_key = $3, size = $4, sha256 = $5, manifest_sha256 = $6, tree_size = $7, completed_at = now() WHERE id = $1`,
        [bundleId, bucket, objectKey, put.size, put.sha256, sha(manifestData), cp.treeSize],
      );
      // Watched by fixity like an original: a later change to the bundle object is reported.
      await this.fixity.register(tx, { bucket, key: objectKey, kind: 'disclosure_bundle', caseId, size: put.size, sha256: put.sha256 });
      await recordCustodyEvent(tx, {
        type: 'disclosure.bundle_built',
        operation: 'combination',
        caseId,
        object: { type: 'disclosure_bundle', id: bundleId, version: b.version as number, sha256: put.sha256 },
        details: { size: put.size, manifestSha256: sha(manifestData), files: files.length, treeSize: cp.treeSize, audience, fixityChecked: items.length },
      });
    });
    this.logger.log({ bundleId, caseId, size: put.size }, 'disclosure bundle built');
    return { state: 'ready', sha256: put.sha256, size: put.size };
  }

  /** Marks a bundle failed for good, with the reason and a custody event. */
  async failed(bundleId: string, code: string, reason: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const b = await one<{ case_id: string; version: number }>(tx, `UPDATE disclosure_bundles SET state = 'failed', failure_code = $2, failure_reason = $3 WHERE id = $1 AND state <> 'ready' RETURNING case_id, version`, [bundleId, code, reason]);
      if (!b) return;
      await recordCustodyEvent(tx, {
        type: 'disclosure.bundle_failed',
        operation: 'combination',
        caseId: b.case_id,
        object: { type: 'disclosure_bundle', id: bundleId, version: b.version },
        outcome: 'failed',
        details: { code, reason },
      });
    });
  }

  /** One exhibit's events (the exhibit and its evidence files) up to the checkpoint, each with its proof. */
  private async extract(caseId: string, exhibitId: string, reference: string, treeSize: number, rootHash: Buffer, checkpointNote: string): Promise<string> {
    const found = await rows<{ leaf_index: string; canonical: Buffer; hash: Buffer }>(
      this.ds,
      `SELECT leaf_index, canonical, hash FROM custody_events
        WHERE case_id = $1 AND leaf_index < $2
          AND ((object_type = 'exhibit' AND object_id = $3::text)
            OR (object_type = 'evidence_file' AND object_id IN (SELECT id::text FROM evidence_files WHERE exhibit_id = $3::uuid))
            OR (object_type = 'derivative' AND object_id IN (SELECT d.id::text FROM derivatives d JOIN evidence_files f ON f.id = d.evidence_file_id WHERE f.exhibit_id = $3::uuid)))
        ORDER BY leaf_index`,
      [caseId, treeSize, exhibitId],
    );
    const lines: ExtractLine[] = [];
    for (const r of found) {
      const proof = await this.ledger.inclusion(Number(r.leaf_index), treeSize);
      lines.push({ event: JSON.parse(r.canonical.toString('utf8')) as LedgerEvent, hash: r.hash.toString('hex'), proof: proof.proof });
    }
    return formatCustodyExtract({ caseId, exhibitId, exhibitReference: reference, checkpointNote, treeSize, rootHash, lines }, this.ledgerSigner);
  }
}

/** Passes an item's bytes through, noting a difference from its seal in `problems` (the put then fails). */
function verifying(body: Readable, item: ResolvedItem, problems: string[]): Transform {
  const h = createHash('sha256');
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const got = h.digest('hex');
      if (got !== item.sha256 || n !== item.size) problems.push(`${item.exhibitReference} ${item.originalFilename}: stored SHA-256 ${got} (${n} bytes), sealed ${item.sha256} (${item.size} bytes)`);
      cb();
    },
  });
  body.on('error', (e) => t.destroy(e));
  return body.pipe(t);
}
