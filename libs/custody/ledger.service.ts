import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
import { one, rows } from '../database/sql.js';
import {
  consistencyProof,
  countReads,
  inclusionProof,
  leafHash,
  parseSignerKey,
  parseVerifierKey,
  rootAt,
  signCheckpoint,
  verifierKeyFromSigner,
  formatKeyId,
  signCaseLogSummary,
  GENESIS_HASH,
  CASE_LOG_FORMAT,
  type CaseLogHeader,
  type CaseLogLine,
  type LedgerEvent,
  type SignerKey,
  parseWitnessKeys,
  withSignatureLines,
  type WitnessKey,
} from '../ledger/index.js';
import { ObjectStore } from '../storage/index.js';
import { ledgerSize, LEDGER_ROW_COLUMNS, nodeReader, storedLedgerEvent } from './ledger-append.js';
import { verifyLedger, type LedgerVerification } from './ledger-verifier.js';
import { checkpointObjectKey, publishedCheckpoints } from './published-checkpoints.js';
import { recordCustodyEvent, type Justification } from './custody-recorder.js';
import { cosignaturesAt, storeCosignature, type CosignatureView } from './ledger-cosignatures.js';
import type { Principal, RequestContext } from '../identity/index.js';

export interface CheckpointView {
  treeSize: number;
  rootHash: string;
  /** The signed note: the log's signature, then the witnesses' cosignatures received so far. */
  note: string;
  /** The witnesses' cosignatures in the note, each checked against its configured key when received. */
  cosignatures: CosignatureView[];
  objectKey: string | null;
  createdAt: Date;
}

/** Serialises checkpoint publication (transaction-scoped advisory lock). */
const CHECKPOINT_LOCK_KEY = 0x63706b74; // "cpkt"

/**
 * The ledger's public face: signed checkpoints (C2SP tlog-checkpoint, Ed25519) published to the
 * database and to object storage, inclusion and consistency proofs, and full verification.
 */
@Injectable()
export class LedgerService {
  private readonly logger = new Logger('Ledger');
  private readonly signer: SignerKey;
  readonly verifierKey: string;
  /** The witnesses whose cosignatures are accepted (LEDGER_WITNESS_KEYS). */
  private readonly witnessKeys: WitnessKey[];

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.signer = parseSignerKey(config.LEDGER_SIGNING_KEY);
    this.verifierKey = verifierKeyFromSigner(this.signer);
    this.witnessKeys = parseWitnessKeys(config.LEDGER_WITNESS_KEYS);
  }

  get origin(): string {
    return this.signer.name;
  }

  size(): Promise<number> {
    return ledgerSize(this.ds);
  }

  /** The log's size and its latest checkpoint's size and age: two indexed reads, for the metrics scrape. */
  async checkpointLag(): Promise<{ size: number; checkpointSize: number; lastCheckpointAgeSeconds: number | undefined }> {
    const size = await ledgerSize(this.ds);
    const cp = await one<{ tree_size: string; age: number }>(
      this.ds,
      `SELECT tree_size, extract(epoch FROM now() - created_at)::float8 AS age FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1`,
    );
    return { size, checkpointSize: cp ? Number(cp.tree_size) : 0, lastCheckpointAgeSeconds: cp?.age };
  }

  publicKey() {
    const v = parseVerifierKey(this.verifierKey);
    return { origin: this.origin, keyName: v.name, keyId: formatKeyId(v.keyId), verifierKey: this.verifierKey, algorithm: 'Ed25519', format: 'C2SP signed-note / tlog-checkpoint' };
  }

  /**
   * Signs the current tree head if it grew since the last checkpoint. The note is written to
   * object storage under a key of its own (never overwritten; Object Lock where the store has it)
   * and then to the database. Safe to run concurrently: the size is the primary key.
   */
  async publishCheckpoint(): Promise<CheckpointView | undefined> {
    // One publisher at a time, across every API and worker process: the schedule and a manual
    // request racing would otherwise both sign the same size and write its object twice (two
    // locked versions of one key on a store with Object Lock).
    const size = await this.ds.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock($1)`, [CHECKPOINT_LOCK_KEY]);
      const size = await ledgerSize(tx);
      const latest = await one<{ tree_size: string }>(tx, `SELECT tree_size FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1`);
      if (size === 0 || (latest && Number(latest.tree_size) >= size)) return latest ? Number(latest.tree_size) : undefined;
      const root = await rootAt(size, nodeReader(tx));
      const note = signCheckpoint({ origin: this.origin, size, rootHash: root }, this.signer);
      // The key names the signing key, the size and the root: a checkpoint is never overwritten,
      // not even by a forked or restored database sharing the bucket (the old one stays as proof).
      const objectKey = checkpointObjectKey(this.signer.keyId, size, root);
      // Write-once where the store has Object Lock (COMPLIANCE); said plainly where it has not.
      const bucket = this.store.buckets.originals;
      const retainUntil = this.store.capabilities()?.objectLockBuckets.includes(bucket)
        ? new Date(Date.now() + this.config.LEDGER_CHECKPOINT_RETENTION_DAYS * 86400_000)
        : undefined;
      const stored = await this.store.put(bucket, objectKey, Buffer.from(note), { contentType: 'text/plain; charset=utf-8', retainUntil });
      await tx.query(`INSERT INTO ledger_checkpoints (tree_size, root_hash, note, object_key) VALUES ($1, $2, $3, $4)`, [size, root, note, objectKey]);
      // Published checkpoints are stored objects like any other: fixity re-checks them.
      await tx.query(
        `INSERT INTO stored_objects (bucket, object_key, kind, size, sha256) VALUES ($1, $2, 'checkpoint', $3, $4) ON CONFLICT (bucket, object_key) DO NOTHING`,
        [stored.bucket, objectKey, stored.size, stored.sha256],
      );
      this.logger.log({ size, root: root.toString('hex') }, 'checkpoint published');
      return size;
    });
    return size === undefined ? undefined : this.bySize(size);
  }

  async latest(): Promise<CheckpointView | undefined> {
    const r = await one(this.ds, `SELECT tree_size, root_hash, note, object_key, created_at FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1`);
    return r ? this.withCosignatures(r) : undefined;
  }

  async bySize(size: number): Promise<CheckpointView> {
    const r = await one(this.ds, `SELECT tree_size, root_hash, note, object_key, created_at FROM ledger_checkpoints WHERE tree_size = $1`, [size]);
    if (!r) throw new AppError('CHECKPOINT_NOT_FOUND', `No checkpoint was signed at tree size ${size}`, 404);
    return this.withCosignatures(r);
  }

  /** The witnesses whose cosignatures this service accepts (their public keys only). */
  witnesses() {
    return {
      format: 'C2SP tlog-cosignature (cosignature/v1, Ed25519)',
      witnesses: this.witnessKeys.map((k) => ({ name: k.name, keyId: formatKeyId(k.keyId), verifierKey: k.verifierKey })),
    };
  }

  /**
   * Stores a witness's cosignature of the checkpoint signed at treeSize once it verifies with a
   * configured witness key over that checkpoint (append-only; one per witness and checkpoint).
   * No custody event is recorded: the cosignature is itself signed evidence, kept as received,
   * and an event would grow the log and call for a new checkpoint after every witness round.
   */
  async addCosignature(treeSize: number, line: string): Promise<{ created: boolean; treeSize: number; cosignature: CosignatureView }> {
    const cp = await one<{ note: string }>(this.ds, `SELECT note FROM ledger_checkpoints WHERE tree_size = $1`, [treeSize]);
    if (!cp) throw new AppError('CHECKPOINT_NOT_FOUND', `No checkpoint was signed at tree size ${treeSize}`, 404);
    try {
      const stored = await storeCosignature(this.ds, { treeSize, note: cp.note }, line, this.witnessKeys);
      this.logger.log({ treeSize, witness: stored.cosignature.witness, created: stored.created }, 'checkpoint cosigned');
      return { ...stored, treeSize };
    } catch (e) {
      // A trusted witness whose cosignature is for another checkpoint of this size has been shown a different log: say so loudly.
      if (e instanceof AppError && e.code === 'COSIGNATURE_INVALID') this.logger.error({ treeSize, ...e.details }, 'a witness cosigned a checkpoint this log did not sign at this size');
      throw e;
    }
  }

  private async withCosignatures(r: Record<string, unknown>): Promise<CheckpointView> {
    const size = Number(r.tree_size);
    const cosignatures = (await cosignaturesAt(this.ds, [size])).get(size) ?? [];
    const view = toCheckpoint(r);
    return { ...view, note: withSignatureLines(view.note, cosignatures.map((c) => c.line)), cosignatures };
  }

  async inclusion(leafIndex: number, treeSize: number) {
    await this.assertSizes(treeSize);
    if (leafIndex >= treeSize) throw new AppError('INVALID_PROOF_REQUEST', `Leaf index ${leafIndex} is not inside a tree of size ${treeSize}`, 400);
    const event = await one(this.ds, `SELECT ${LEDGER_ROW_COLUMNS} FROM custody_events WHERE leaf_index = $1`, [leafIndex]);
    const read = countReads(nodeReader(this.ds));
    const proof = await inclusionProof(leafIndex, treeSize, read);
    return {
      leafIndex,
      treeSize,
      leafHash: leafHash(storedLedgerEvent(event!).canonical).toString('hex'),
      proof: proof.map((p) => p.toString('hex')),
      nodeReads: read.reads,
    };
  }

  async consistency(from: number, to: number) {
    await this.assertSizes(to);
    if (from < 1 || from > to) throw new AppError('INVALID_PROOF_REQUEST', `A consistency proof needs 1 ≤ from (${from}) ≤ to (${to})`, 400);
    const read = countReads(nodeReader(this.ds));
    const proof = await consistencyProof(from, to, read);
    return { from, to, proof: proof.map((p) => p.toString('hex')), nodeReads: read.reads };
  }

  /**
   * A case's events with their canonical encoding and chain hashes, in ledger order (access is
   * checked by the caller). Reading the log is itself a consultation, recorded after the read.
   */
  async caseEvents(
    caseId: string,
    reader: { principal: Principal; justification?: Justification; context: RequestContext },
    // Need-to-know is the caller's rule (libs/cases): events it withholds are left out whole, never altered.
    visible: (e: { event: LedgerEvent; canonical: Buffer }) => boolean = () => true,
  ) {
    return this.ds.transaction(async (tx) => {
      const all = await rows(tx, `SELECT ${LEDGER_ROW_COLUMNS} FROM custody_events WHERE case_id = $1 ORDER BY leaf_index`, [caseId]);
      const found = all.filter((r) => visible(storedLedgerEvent(r)));
      await recordCustodyEvent(tx, {
        type: 'case.events_consulted',
        operation: 'consultation',
        caseId,
        actor: reader.principal,
        object: { type: 'case_events', id: caseId },
        justification: reader.justification,
        context: reader.context,
        details: { returned: found.length },
      });
      return found.map((r) => ({ event: storedLedgerEvent(r).event, hash: (r.hash as Buffer).toString('hex') }));
    });
  }

  /**
   * The case log for offline checking (`dems verify case-log`): every event of the case covered by
   * the latest checkpoint, each with its inclusion proof against it, and a signed summary of the
   * export's extent (how many events, the last one's chain hash, the checkpoint), so a copy with
   * lines deleted or added fails instead of checking as a shorter log. Checkpoints come from the
   * schedule, never from a reader: each one is a new object kept under Object Lock for
   * LEDGER_CHECKPOINT_RETENTION_DAYS, so signing one per export let any member grow locked storage
   * at will. Events after the checkpoint are counted in `pendingEvents` (the next scheduled one covers them).
   */
  async exportCaseLog(
    caseId: string,
    reader: { principal: Principal; justification?: Justification; context: RequestContext },
  ): Promise<{ header: CaseLogHeader; events: CaseLogLine[]; pendingEvents: number }> {
    const cp = await this.latest();
    if (!cp) {
      throw new AppError(
        'CHECKPOINT_PENDING',
        `No checkpoint has been signed yet; the schedule signs one within ${this.config.LEDGER_CHECKPOINT_INTERVAL_SECONDS} s of new events: export again then`,
        409,
      );
    }
    const found = await rows(this.ds, `SELECT ${LEDGER_ROW_COLUMNS} FROM custody_events WHERE case_id = $1 AND leaf_index < $2 ORDER BY leaf_index`, [caseId, cp.treeSize]);
    const later = await one<{ n: number }>(this.ds, `SELECT count(*)::int AS n FROM custody_events WHERE case_id = $1 AND leaf_index >= $2`, [caseId, cp.treeSize]);
    const read = nodeReader(this.ds);
    const events: CaseLogLine[] = [];
    for (const r of found) {
      const proof = await inclusionProof(Number(r.leaf_index), cp.treeSize, read);
      events.push({ event: storedLedgerEvent(r).event, hash: (r.hash as Buffer).toString('hex'), proof: proof.map((p) => p.toString('hex')) });
    }
    const head = events.length ? events[events.length - 1].hash : GENESIS_HASH.toString('hex');
    const exportedAt = new Date().toISOString();
    await this.ds.transaction((tx) =>
      recordCustodyEvent(tx, {
        type: 'case.log_exported',
        operation: 'consultation',
        caseId,
        actor: reader.principal,
        object: { type: 'case_log', id: caseId },
        justification: reader.justification,
        context: reader.context,
        details: { events: events.length, head, treeSize: cp.treeSize, pendingEvents: later!.n },
      }),
    );
    const summary = signCaseLogSummary({ caseId, events: events.length, head, treeSize: cp.treeSize, rootHash: Buffer.from(cp.rootHash, 'hex'), exportedAt }, this.signer);
    return {
      header: { format: CASE_LOG_FORMAT, caseId, summary, checkpoint: cp.note, verifierKey: this.verifierKey, exportedAt },
      events,
      pendingEvents: later!.n,
    };
  }

  /** Full verification with the public key, against the database and the checkpoints published in storage. */
  verify(): Promise<LedgerVerification> {
    return verifyLedger(this.ds, this.verifierKey, { published: publishedCheckpoints(this.store, this.verifierKey) });
  }

  private async assertSizes(treeSize: number) {
    const size = await ledgerSize(this.ds);
    if (!Number.isSafeInteger(treeSize) || treeSize < 1 || treeSize > size) {
      throw new AppError('INVALID_PROOF_REQUEST', `Tree size must be between 1 and the current size ${size}`, 400, { currentSize: size });
    }
  }
}

function toCheckpoint(r: Record<string, unknown>): CheckpointView {
  return {
    treeSize: Number(r.tree_size),
    rootHash: (r.root_hash as Buffer).toString('hex'),
    note: r.note as string,
    cosignatures: [],
    objectKey: (r.object_key as string) ?? null,
    createdAt: r.created_at as Date,
  };
}
