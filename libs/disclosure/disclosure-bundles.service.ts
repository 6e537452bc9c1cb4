import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { CaseAccessService, caseNotFound, requireJustification } from '../cases/index.js';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError, isUuid } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/index.js';
import { one, rows } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { QueueService } from '../queue/index.js';
import { ObjectStore, type ByteRange, type GetResult } from '../storage/index.js';
import { BundleBuilder, type BundleSelection } from './bundle-builder.service.js';
import { audienceBreaches, itemKey, type BundleItemRef } from './bundle-rules.js';
import { SCHEDULE_TYPES } from './mg6-forms.js';

const uuid = z.string().uuid().transform((s) => s.toLowerCase());
export const bundleRequestSchema = z.strictObject({
  /** Every sealed original of these exhibits. */
  exhibitIds: z.array(uuid).max(1000).default([]),
  /** Or single evidence files (originals). */
  evidenceFileIds: z.array(uuid).max(10000).default([]),
  /** Working copies (derivatives) by id. */
  derivativeIds: z.array(uuid).max(10000).default([]),
  /** Also every working copy (video and audio) made from the chosen originals. */
  workingCopies: z.boolean().default(false),
  schedules: z.array(z.enum(SCHEDULE_TYPES)).max(3).default([]),
  audience: z.enum(['cps_only', 'cps_and_defence']),
  /** A supplementary bundle: only the files and schedule versions not in the case's latest ready bundle. */
  supplementary: z.boolean().default(false),
});
export type BundleRequest = z.infer<typeof bundleRequestSchema>;

export const shareRequestSchema = z.strictObject({
  recipientId: uuid,
  expiresAt: z.string().datetime({ offset: true }),
});

export interface BundleView {
  id: string;
  caseId: string;
  version: number;
  audience: string;
  state: string;
  supplementaryTo: string | null;
  failure: { code: string; reason: string } | null;
  size: number | null;
  sha256: string | null;
  manifestSha256: string | null;
  createdAt: string;
  completedAt: string | null;
  shares?: { id: string; recipientId: string; recipient: string; expiresAt: string; revokedAt: string | null }[];
}

interface Actor {
  principal: Principal;
  justification?: Justification;
  context: RequestContext;
}

export const bundleNotFound = () => new AppError('BUNDLE_NOT_FOUND', 'No such bundle, or it is not shared with you', 404);

/**
 * Bundles: requested by a disclosure officer or the officer in the case, built by the worker
 * (BundleBuilder), shared with named CPS users until an expiry or a revocation, downloaded with
 * HTTP Range. A CPS user reaches a bundle only through a live share; anything else is answered
 * like a bundle that does not exist. Each step is a custody event; each download, partial ones
 * included, is a `disclosure` entry in the s.62 log naming the recipient.
 */
@Injectable()
export class DisclosureBundlesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(BundleBuilder) private readonly builder: BundleBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async request(caseId: string, input: BundleRequest, actor: Actor): Promise<BundleView> {
    await this.access.resolve(actor.principal, caseId, 'disclosure.manage', { justification: actor.justification, context: actor.context });
    const fromExhibits = input.exhibitIds.length
      ? await rows<{ id: string }>(this.ds, `SELECT id FROM evidence_files WHERE case_id = $1 AND exhibit_id = ANY($2::uuid[]) AND state = 'sealed' ORDER BY created_at, id`, [caseId, input.exhibitIds])
      : [];
    const originals = [...new Set([...fromExhibits.map((r) => r.id), ...input.evidenceFileIds])];
    const copies = input.workingCopies && originals.length
      ? await rows<{ id: string }>(this.ds, `SELECT id FROM derivatives WHERE case_id = $1 AND evidence_file_id = ANY($2::uuid[]) AND kind LIKE '%-working-copy' ORDER BY created_at, id`, [caseId, originals])
      : [];
    let refs: BundleItemRef[] = [
      ...originals.map((evidenceFileId) => ({ kind: 'original' as const, evidenceFileId })),
      ...[...new Set([...copies.map((c) => c.id), ...input.derivativeIds])].map((derivativeId) => ({ kind: 'derivative' as const, derivativeId })),
    ];
    if (!refs.length) throw new AppError('BUNDLE_EMPTY', 'Choose at least one sealed evidence file or working copy (exhibitIds, evidenceFileIds, derivativeIds)', 400);
    // The schedule versions are fixed now, so the bundle holds what was asked for even if a schedule changes while it waits.
    const latest = await rows<{ id: string; schedule: string }>(this.ds, `SELECT DISTINCT ON (schedule) id, schedule FROM disclosure_schedule_versions WHERE case_id = $1 ORDER BY schedule, version DESC`, [caseId]);
    let scheduleVersions = Object.fromEntries(latest.filter((v) => (input.schedules as string[]).includes(v.schedule)).map((v) => [v.schedule, v.id]));
    let supplementaryTo: string | null = null;
    if (input.supplementary) {
      // What the CPS already has: everything in the case's earlier ready bundles.
      const earlier = await rows<{ id: string; selection: BundleSelection }>(this.ds, `SELECT id, selection FROM disclosure_bundles WHERE case_id = $1 AND state = 'ready' ORDER BY version DESC`, [caseId]);
      if (!earlier.length) throw new AppError('NO_PREVIOUS_BUNDLE', 'A supplementary bundle follows a ready bundle; this case has none', 409);
      const had = new Set(earlier.flatMap((b) => b.selection.items.map(itemKey)));
      const sent = new Set(earlier.flatMap((b) => Object.values(b.selection.scheduleVersions ?? {})));
      refs = refs.filter((r) => !had.has(itemKey(r)));
      scheduleVersions = Object.fromEntries(Object.entries(scheduleVersions).filter(([, id]) => !sent.has(id)));
      const prev = earlier[0];
      if (!refs.length && !Object.keys(scheduleVersions).length) throw new AppError('NOTHING_NEW', 'Nothing chosen has changed since the previous bundle', 409);
      supplementaryTo = prev.id;
    }
    const selection: BundleSelection = {
      items: refs,
      schedules: Object.keys(scheduleVersions) as BundleSelection['schedules'],
      scheduleVersions,
    };
    // Checked now for a clear answer, and again by the builder.
    const items = await this.builder.resolveItems(caseId, selection.items);
    const breaches = audienceBreaches(input.audience, items, selection.schedules);
    if (breaches.length) throw new AppError('BUNDLE_AUDIENCE_REFUSED', `Only a CPS-only bundle may hold MG6D material: ${breaches.join('; ')}`, 422);
    const id = randomUUID();
    await this.ds.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`disclosure-bundle:${caseId}`]);
      const prev = await one<{ id: string; version: number }>(tx, `SELECT id, version FROM disclosure_bundles WHERE case_id = $1 ORDER BY version DESC LIMIT 1`, [caseId]);
      const version = (prev?.version ?? 0) + 1;
      await tx.query(`INSERT INTO disclosure_bundles (id, case_id, version, audience, selection, supplementary_to, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        id,
        caseId,
        version,
        input.audience,
        selection,
        supplementaryTo,
        actor.principal.userId,
      ]);
      await recordCustodyEvent(tx, {
        type: 'disclosure.bundle_requested',
        operation: 'combination',
        caseId,
        actor: actor.principal,
        object: { type: 'disclosure_bundle', id, version },
        justification: actor.justification,
        context: actor.context,
        details: { audience: input.audience, items: refs.map(itemKey), schedules: scheduleVersions, supplementaryTo },
      });
    });
    await this.queues.enqueue('disclosure.build-bundle', { bundleId: id }, { jobId: `disclosure-bundle-${id}` });
    return this.view(id, actor);
  }

  /** The case's bundles: every version for its managers; for a CPS user, those shared with them (none: 404, as for any case out of reach). */
  async listForCase(caseId: string, actor: Actor): Promise<BundleView[]> {
    if (actor.principal.role === 'cps_prosecutor') {
      const shared = isUuid(caseId) ? await this.sharedWithMe(actor.principal, caseId) : [];
      if (!shared.length) throw caseNotFound();
      return shared;
    }
    await this.access.resolve(actor.principal, caseId, 'disclosure.manage', { justification: actor.justification, context: actor.context });
    const found = await rows<Record<string, unknown>>(this.ds, `SELECT * FROM disclosure_bundles WHERE case_id = $1 ORDER BY version`, [caseId]);
    return found.map(toView);
  }

  /** Bundles shared with the caller (of one case, if given), live shares only: a CPS user's list. */
  async sharedWithMe(principal: Principal, caseId?: string): Promise<BundleView[]> {
    const found = await rows<Record<string, unknown>>(
      this.ds,
      `SELECT DISTINCT b.* FROM disclosure_bundles b JOIN disclosure_shares s ON s.bundle_id = b.id
        WHERE s.recipient_id = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND b.state = 'ready' AND ($2::uuid IS NULL OR b.case_id = $2) ORDER BY b.created_at`,
      [principal.userId, caseId ?? null],
    );
    return found.map(toView);
  }

  /** Loads a bundle the caller may reach: a CPS user through a live share, others as case managers. */
  private async reach(bundleId: string, actor: Actor): Promise<{ row: Record<string, unknown>; viaShare: boolean; shareId?: string; shareExpiresAt?: Date }> {
    if (!isUuid(bundleId)) throw bundleNotFound();
    const row = await one<Record<string, unknown>>(this.ds, `SELECT * FROM disclosure_bundles WHERE id = $1`, [bundleId]);
    if (actor.principal.role === 'cps_prosecutor') {
      const share = row && (await one<{ id: string; expires_at: Date }>(this.ds, `SELECT id, expires_at FROM disclosure_shares WHERE bundle_id = $1 AND recipient_id = $2 AND revoked_at IS NULL AND expires_at > now() ORDER BY expires_at DESC LIMIT 1`, [bundleId, actor.principal.userId]));
      if (!row || !share || row.state !== 'ready') throw bundleNotFound();
      return { row, viaShare: true, shareId: share.id, shareExpiresAt: share.expires_at };
    }
    if (!row) throw bundleNotFound();
    // Bundles are managed by members only (break-glass reading never reaches them): to anyone
    // outside the case a bundle id says nothing, the same answer as for no bundle.
    if (!(await one(this.ds, `SELECT 1 FROM case_members WHERE case_id = $1 AND user_id = $2`, [row.case_id, actor.principal.userId]))) throw bundleNotFound();
    try {
      await this.access.resolve(actor.principal, row.case_id as string, 'disclosure.manage', { justification: actor.justification, context: actor.context });
    } catch (e) {
      // Outside the case, a bundle id says nothing: the same answer as for no bundle.
      if (e instanceof AppError && e.code === 'CASE_NOT_FOUND') throw bundleNotFound();
      throw e;
    }
    return { row, viaShare: false };
  }

  async view(bundleId: string, actor: Actor): Promise<BundleView> {
    const { row, viaShare } = await this.reach(bundleId, actor);
    const v = toView(row);
    if (viaShare) return v;
    const shares = await rows<Record<string, unknown>>(
      this.ds,
      `SELECT s.id, s.recipient_id, u.username, s.expires_at, s.revoked_at FROM disclosure_shares s JOIN users u ON u.id = s.recipient_id WHERE s.bundle_id = $1 ORDER BY s.created_at`,
      [bundleId],
    );
    return { ...v, shares: shares.map((s) => ({ id: s.id as string, recipientId: s.recipient_id as string, recipient: s.username as string, expiresAt: (s.expires_at as Date).toISOString(), revokedAt: s.revoked_at ? (s.revoked_at as Date).toISOString() : null })) };
  }

  async share(bundleId: string, input: z.infer<typeof shareRequestSchema>, actor: Actor) {
    const { row, viaShare } = await this.reach(bundleId, actor);
    if (viaShare) throw new AppError('CASE_PERMISSION_DENIED', 'A recipient cannot share a bundle on', 403);
    requireJustification(actor.justification, 'Sharing a bundle is a disclosure and');
    if (row.state !== 'ready') throw new AppError('BUNDLE_NOT_READY', `The bundle is ${String(row.state)}; only a ready bundle can be shared`, 409);
    const expiresAt = new Date(input.expiresAt);
    if (expiresAt.getTime() <= Date.now()) throw new AppError('SHARE_INVALID', 'The expiry must be in the future', 400);
    const recipient = await one<{ username: string; role: string; active: boolean }>(this.ds, `SELECT username, role, is_active AS active FROM users WHERE id = $1`, [input.recipientId]);
    if (!recipient || recipient.role !== 'cps_prosecutor' || !recipient.active) throw new AppError('SHARE_INVALID', 'Bundles are shared only with active CPS users (role cps_prosecutor)', 400);
    const id = randomUUID();
    await this.ds.transaction(async (tx) => {
      await tx.query(`INSERT INTO disclosure_shares (id, bundle_id, recipient_id, expires_at, created_by) VALUES ($1, $2, $3, $4, $5)`, [id, bundleId, input.recipientId, expiresAt, actor.principal.userId]);
      await recordCustodyEvent(tx, {
        type: 'disclosure.bundle_shared',
        operation: 'disclosure',
        caseId: row.case_id as string,
        actor: actor.principal,
        object: { type: 'disclosure_bundle', id: bundleId, version: row.version as number, sha256: row.sha256 as string },
        recipient: recipient.username,
        justification: actor.justification,
        context: actor.context,
        details: { shareId: id, recipientId: input.recipientId, expiresAt: expiresAt.toISOString() },
      });
    });
    return { id, bundleId, recipientId: input.recipientId, recipient: recipient.username, expiresAt: expiresAt.toISOString(), revokedAt: null };
  }

  async revoke(bundleId: string, shareId: string, actor: Actor): Promise<void> {
    const { row, viaShare } = await this.reach(bundleId, actor);
    if (viaShare) throw new AppError('CASE_PERMISSION_DENIED', 'A recipient cannot revoke a share', 403);
    requireJustification(actor.justification, 'Revoking a share');
    if (!isUuid(shareId)) throw new AppError('SHARE_NOT_FOUND', 'No such share on this bundle', 404);
    await this.ds.transaction(async (tx) => {
      const s = await one<{ username: string }>(
        tx,
        `UPDATE disclosure_shares s SET revoked_at = now(), revoked_by = $3 FROM users u WHERE s.id = $1 AND s.bundle_id = $2 AND s.revoked_at IS NULL AND u.id = s.recipient_id RETURNING u.username`,
        [shareId, bundleId, actor.principal.userId],
      );
      if (!s) throw new AppError('SHARE_NOT_FOUND', 'No such live share on this bundle', 404);
      await recordCustodyEvent(tx, {
        type: 'disclosure.share_revoked',
        operation: 'disclosure',
        caseId: row.case_id as string,
        actor: actor.principal,
        object: { type: 'disclosure_bundle', id: bundleId, version: row.version as number },
        recipient: s.username,
        justification: actor.justification,
        context: actor.context,
        details: { shareId },
      });
    });
  }

  /**
   * The bundle's bytes, whole or a range. Recorded before the bytes go out (an s.62 entry is
   * about the disclosure attempted): `disclosure` naming the recipient for a CPS user,
   * `consultation` for police staff checking what they send.
   */
  async download(bundleId: string, range: ByteRange | undefined, actor: Actor): Promise<{ got: GetResult; sha256: string; size: number; fileName: string }> {
    const { row, viaShare, shareId } = await this.reach(bundleId, actor);
    const size = readySize(row);
    if (range && (range.start >= size || (range.end !== undefined && range.end < range.start))) {
      throw new AppError('RANGE_NOT_SATISFIABLE', `The bundle has ${size} bytes`, 416, { size });
    }
    const end = range ? Math.min(range.end ?? size - 1, size - 1) : size - 1;
    await this.recordDownload(row, actor, viaShare, { start: range?.start ?? 0, end, partial: !!range && (range.start > 0 || end < size - 1), ...(shareId ? { shareId } : {}) });
    const got = await this.store.get(row.bucket as string, row.object_key as string, range ? { start: range.start, end } : undefined);
    return { got, sha256: row.sha256 as string, size, fileName: bundleFileName(row) };
  }

  /**
   * A presigned GET of the bundle object: scoped to that one object, valid for
   * S3_PRESIGN_TTL_SECONDS at most and never beyond the caller's share. The client then reads
   * straight from storage at its speed, resuming with Range as any HTTP client does (curl -C -).
   * Storage does not tell us about each request made with the URL, so the whole object's
   * disclosure is recorded before the URL is issued: one s.62 entry per URL.
   */
  async downloadUrl(bundleId: string, actor: Actor): Promise<{ url: string; expiresAt: string; size: number; sha256: string; fileName: string }> {
    const { row, viaShare, shareId, shareExpiresAt } = await this.reach(bundleId, actor);
    const size = readySize(row);
    const limit = shareExpiresAt ? Math.floor((shareExpiresAt.getTime() - Date.now()) / 1000) : Infinity;
    const seconds = Math.min(this.config.S3_PRESIGN_TTL_SECONDS, limit);
    if (seconds < 1) throw bundleNotFound(); // the share ends now
    const expiresAt = new Date(Date.now() + seconds * 1000).toISOString();
    const fileName = bundleFileName(row);
    await this.recordDownload(row, actor, viaShare, { start: 0, end: size - 1, partial: false, via: 'presigned_url', urlExpiresAt: expiresAt, ...(shareId ? { shareId } : {}) });
    const url = await this.store.presignGet(row.bucket as string, row.object_key as string, { expiresInSeconds: seconds, downloadName: fileName });
    return { url, expiresAt, size, sha256: row.sha256 as string, fileName };
  }

  private recordDownload(row: Record<string, unknown>, actor: Actor, viaShare: boolean, details: Record<string, unknown>): Promise<unknown> {
    return this.ds.transaction((tx) =>
      recordCustodyEvent(tx, {
        type: 'disclosure.bundle_downloaded',
        operation: viaShare ? 'disclosure' : 'consultation',
        caseId: row.case_id as string,
        actor: actor.principal,
        object: { type: 'disclosure_bundle', id: row.id as string, version: row.version as number, sha256: row.sha256 as string },
        recipient: viaShare ? actor.principal.username : undefined,
        // The disclosure's reason is the share (its own event carries the officer's justification); the recipient's, when given, is kept too.
        justification: actor.justification,
        context: actor.context,
        details,
      }),
    );
  }

  publicKey() {
    return this.builder.signingPublicKey();
  }
}

/** The size of a ready bundle; anything else cannot be downloaded yet (409). */
function readySize(row: Record<string, unknown>): number {
  if (row.state !== 'ready') throw new AppError('BUNDLE_NOT_READY', `The bundle is ${String(row.state)}`, 409);
  return Number(row.size);
}

const bundleFileName = (row: Record<string, unknown>) => `bundle-${row.version as number}-${row.id as string}.zip`;

function toView(r: Record<string, unknown>): BundleView {
  return {
    id: r.id as string,
    caseId: r.case_id as string,
    version: r.version as number,
    audience: r.audience as string,
    state: r.state as string,
    supplementaryTo: (r.supplementary_to as string) ?? null,
    failure: r.failure_code ? { code: r.failure_code as string, reason: r.failure_reason as string } : null,
    size: r.size === null || r.size === undefined ? null : Number(r.size),
    sha256: (r.sha256 as string) ?? null,
    manifestSha256: (r.manifest_sha256 as string) ?? null,
    createdAt: (r.created_at as Date).toISOString(),
    completedAt: r.completed_at ? (r.completed_at as Date).toISOString() : null,
  };
}
