import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError, isUuid } from '../core/index.js';
import { affected, one, rows, type Queryable } from '../database/sql.js';
import { hashStoredObject, ObjectStore } from '../storage/index.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { recordCustodyEvent } from './custody-recorder.js';

export type FixityOutcome = 'ok' | 'changed' | 'missing' | 'error';
export type StoredObjectKind = 'original' | 'derivative' | 'checkpoint' | 'disclosure_bundle';

export interface FixityRunView {
  id: string;
  trigger: string;
  caseId: string | null;
  /** Who asked for the run (case runs); null for scheduled ones. */
  requestedBy: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  status: string;
  checked: number;
  ok: number;
  changed: number;
  missing: number;
  errors: number;
}

interface StoredObjectRow {
  id: string;
  bucket: string;
  object_key: string;
  kind: StoredObjectKind;
  case_id: string | null;
  size: string;
  sha256: string;
}

const RUN_COLUMNS = `id, trigger, case_id AS "caseId", requested_by AS "requestedBy", started_at AS "startedAt", finished_at AS "finishedAt", status, checked, ok, changed, missing, errors`;

/**
 * Fixity: stored objects are re-hashed against the SHA-256 recorded when they were stored. A
 * scheduled run checks a rotating share (the least recently checked first) sized so that every
 * object is checked within FIXITY_PERIOD_DAYS; a run can also cover one case on demand. Every
 * result is a custody event; anything but "ok" is logged as an error and shown by /health/ready.
 */
@Injectable()
export class FixityService {
  private readonly logger = new Logger('Fixity');

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Records an object the service stored, with the SHA-256 computed over the stored bytes. */
  async register(q: Queryable, o: { bucket: string; key: string; kind: StoredObjectKind; caseId?: string | null; size: number; sha256: string }): Promise<string> {
    // Registering a key again returns its row unchanged: a no-op update of a fixity column (the
    // only columns the application role may update) makes RETURNING give the existing id.
    const row = await one<{ id: string }>(
      q,
      `INSERT INTO stored_objects (bucket, object_key, kind, case_id, size, sha256) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (bucket, object_key) DO UPDATE SET last_fixity_at = stored_objects.last_fixity_at RETURNING id`,
      [o.bucket, o.key, o.kind, o.caseId ?? null, o.size, o.sha256],
    );
    return row!.id;
  }

  /** How many objects a scheduled run checks so that all are checked within the period. */
  async shareSize(): Promise<number> {
    const total = (await one<{ n: number }>(this.ds, `SELECT count(*)::int AS n FROM stored_objects`))!.n;
    const runsPerPeriod = (this.config.FIXITY_PERIOD_DAYS * 24 * 60) / this.config.FIXITY_RUN_INTERVAL_MINUTES;
    return Math.max(1, Math.ceil(total / runsPerPeriod));
  }

  /**
   * Queues a re-hash of every stored object of a case, asked for by `principal` (whose access the
   * caller has checked): the run row names the requester and a custody event records the request.
   * A case has one run queued or running at a time (a unique index): a second request is refused.
   */
  async requestCaseRun(principal: Principal, caseId: string, context?: RequestContext): Promise<string> {
    try {
      return await this.ds.transaction(async (tx) => {
        const run = (await one<{ id: string }>(tx, `INSERT INTO fixity_runs (trigger, case_id, status, requested_by) VALUES ('case', $1, 'queued', $2) RETURNING id`, [caseId, principal.userId]))!;
        await recordCustodyEvent(tx, {
          type: 'fixity.requested',
          operation: 'consultation',
          caseId,
          actor: principal,
          object: { type: 'fixity_run', id: run.id },
          context,
        });
        return run.id;
      });
    } catch (e) {
      if ((e as { code?: string; constraint?: string }).constraint !== 'fixity_runs_one_active_per_case') throw e;
      const active = await one<{ id: string }>(this.ds, `SELECT id FROM fixity_runs WHERE case_id = $1 AND status IN ('queued', 'running')`, [caseId]);
      throw new AppError('FIXITY_RUN_IN_PROGRESS', 'A fixity run of this case is already queued or running; its report appears under /fixity/runs when it ends', 409, { runId: active?.id });
    }
  }

  /**
   * A case run still queued or running whose job is gone, started at least `minAgeSeconds` ago:
   * failed, so that the case can be asked for again. True when it was.
   */
  async failStaleRun(runId: string, minAgeSeconds: number): Promise<boolean> {
    const changed = await affected(
      this.ds,
      `UPDATE fixity_runs SET status = 'failed', finished_at = now() WHERE id = $1 AND status IN ('queued', 'running') AND started_at < now() - make_interval(secs => $2)`,
      [runId, minAgeSeconds],
    );
    return changed > 0;
  }

  /** A requested run whose job could not be queued: failed, so that the case can be asked for again. */
  async abandonRun(runId: string): Promise<void> {
    await this.ds.query(`UPDATE fixity_runs SET status = 'failed', finished_at = now() WHERE id = $1 AND status = 'queued'`, [runId]);
  }

  /**
   * Runs a fixity check: a new run, or the requested run `runId` (a case run queued by
   * requestCaseRun). A retried job resumes its run: objects it already checked are skipped.
   */
  async run(trigger: 'scheduled' | 'case' | 'manual', caseId?: string, signal?: AbortSignal, runId?: string): Promise<FixityRunView> {
    const run = runId
      ? await one<{ id: string }>(this.ds, `UPDATE fixity_runs SET status = 'running', finished_at = NULL WHERE id = $1 AND status <> 'completed' RETURNING id`, [runId])
      : await one<{ id: string }>(this.ds, `INSERT INTO fixity_runs (trigger, case_id) VALUES ($1, $2) RETURNING id`, [trigger, caseId ?? null]);
    // A job delivered again after its run completed has nothing left to do.
    if (!run) return this.getRun(runId!);
    const objects = caseId
      ? await rows<StoredObjectRow>(
          this.ds,
          `SELECT id, bucket, object_key, kind, case_id, size::text, sha256 FROM stored_objects o
            WHERE case_id = $1 AND NOT EXISTS (SELECT 1 FROM fixity_results r WHERE r.run_id = $2 AND r.object_id = o.id)
            ORDER BY created_at, id`,
          [caseId, run.id],
        )
      : await rows<StoredObjectRow>(
          this.ds,
          `SELECT id, bucket, object_key, kind, case_id, size::text, sha256 FROM stored_objects ORDER BY last_fixity_at NULLS FIRST, id LIMIT $1`,
          [await this.shareSize()],
        );
    try {
      for (const o of objects) {
        // A run past its time limit stops reading at once; objects not reached wait for the next run.
        signal?.throwIfAborted();
        await this.checkOne(run.id, o, signal);
      }
      await this.ds.query(`UPDATE fixity_runs SET status = 'completed', finished_at = now() WHERE id = $1`, [run.id]);
    } catch (e) {
      await this.ds.query(`UPDATE fixity_runs SET status = 'failed', finished_at = now() WHERE id = $1`, [run.id]);
      throw e;
    }
    const view = await this.getRun(run.id);
    const log = { runId: view.id, trigger, caseId, checked: view.checked, changed: view.changed, missing: view.missing, errors: view.errors };
    if (view.changed || view.missing) this.logger.error(log, 'FIXITY FAILURE: stored objects changed or missing');
    else if (view.errors) this.logger.warn(log, 'fixity run could not check some objects');
    else this.logger.log(log, 'fixity run completed');
    return view;
  }

  private async checkOne(runId: string, o: StoredObjectRow, signal?: AbortSignal): Promise<void> {
    let outcome: FixityOutcome;
    let observed: { sha256: string; size: number } | undefined;
    let message: string | undefined;
    try {
      observed = await hashStoredObject(this.store, o.bucket, o.object_key, { signal });
      outcome = observed.sha256 === o.sha256 && observed.size === Number(o.size) ? 'ok' : 'changed';
    } catch (e) {
      if (signal?.aborted) throw e;
      if (e instanceof AppError && e.code === 'OBJECT_NOT_FOUND') outcome = 'missing';
      else {
        outcome = 'error';
        message = (e as Error).message;
      }
    }
    await this.ds.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO fixity_results (run_id, object_id, outcome, expected_sha256, observed_sha256, observed_size, message) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [runId, o.id, outcome, o.sha256, observed?.sha256 ?? null, observed?.size ?? null, message ?? null],
      );
      await tx.query(`UPDATE stored_objects SET last_fixity_at = now(), last_outcome = $2 WHERE id = $1`, [o.id, outcome]);
      await tx.query(`UPDATE fixity_runs SET checked = checked + 1, ${outcome === 'error' ? 'errors' : outcome} = ${outcome === 'error' ? 'errors' : outcome} + 1 WHERE id = $1`, [runId]);
      await recordCustodyEvent(tx, {
        type: 'fixity.checked',
        operation: 'consultation',
        caseId: o.case_id,
        object: { type: o.kind, id: o.id, sha256: o.sha256 },
        outcome: outcome === 'ok' ? 'success' : 'failed',
        details: { runId, result: outcome, bucket: o.bucket, key: o.object_key, observedSha256: observed?.sha256 ?? null, observedSize: observed?.size ?? null, message: message ?? null },
      });
    });
  }

  async getRun(id: string): Promise<FixityRunView> {
    const run = isUuid(id) ? await one<FixityRunView>(this.ds, `SELECT ${RUN_COLUMNS} FROM fixity_runs WHERE id = $1`, [id]) : undefined;
    if (!run) throw new AppError('FIXITY_RUN_NOT_FOUND', 'No such fixity run', 404);
    return run;
  }

  /** A run's report: the run and every object's result. */
  async report(id: string) {
    const run = await this.getRun(id);
    const results = await rows(
      this.ds,
      `SELECT r.object_id AS "objectId", o.kind, o.case_id AS "caseId", o.bucket, o.object_key AS "key", r.outcome, r.expected_sha256 AS "expectedSha256",
              r.observed_sha256 AS "observedSha256", r.observed_size AS "observedSize", r.message, r.checked_at AS "checkedAt"
         FROM fixity_results r JOIN stored_objects o ON o.id = r.object_id WHERE r.run_id = $1 ORDER BY r.checked_at`,
      [id],
    );
    return { ...run, results };
  }

  listRuns(limit = 50): Promise<FixityRunView[]> {
    return rows<FixityRunView>(this.ds, `SELECT ${RUN_COLUMNS} FROM fixity_runs ORDER BY started_at DESC LIMIT $1`, [limit]);
  }

  /** For /health/ready: objects whose latest check failed. */
  async alert(): Promise<{ alert: boolean; changed: number; missing: number; lastRunAt: Date | null }> {
    const r = (await one<{ changed: number; missing: number; last: Date | null }>(
      this.ds,
      `SELECT count(*) FILTER (WHERE last_outcome = 'changed')::int AS changed, count(*) FILTER (WHERE last_outcome = 'missing')::int AS missing,
              (SELECT max(started_at) FROM fixity_runs) AS last
         FROM stored_objects WHERE last_outcome <> 'ok'`,
    ))!;
    return { alert: r.changed + r.missing > 0, changed: r.changed, missing: r.missing, lastRunAt: r.last };
  }

  /** Objects whose latest check did not find them intact, by outcome (read by every metrics scrape; a partial index keeps it cheap). */
  async failingObjects(): Promise<Record<'changed' | 'missing' | 'error', number>> {
    const found = await rows<{ outcome: 'changed' | 'missing' | 'error'; n: number }>(
      this.ds,
      `SELECT last_outcome AS outcome, count(*)::int AS n FROM stored_objects WHERE last_outcome <> 'ok' GROUP BY last_outcome`,
    );
    const counts = { changed: 0, missing: 0, error: 0 };
    for (const r of found) counts[r.outcome] = r.n;
    return counts;
  }
}
