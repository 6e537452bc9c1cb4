import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A case's fixity run is asked for by someone: the run row records who (requested_by) from the
 * moment it is queued, and a case has at most one run queued or running at a time (a whole-case
 * re-hash reads every byte of the case again; a second one at once only doubles the load).
 */
export class FixityRequests1763902400000 implements MigrationInterface {
  name = 'FixityRequests1763902400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE fixity_runs ADD COLUMN requested_by uuid REFERENCES users(id)`);
    await q.query(`ALTER TABLE fixity_runs DROP CONSTRAINT fixity_runs_status_check`);
    await q.query(`ALTER TABLE fixity_runs ADD CONSTRAINT fixity_runs_status_check CHECK (status IN ('queued', 'running', 'completed', 'failed'))`);
    // Runs left 'running' by a stopped worker, all but the latest of each case, so the index can be built.
    await q.query(`
      UPDATE fixity_runs SET status = 'failed', finished_at = now()
       WHERE status = 'running' AND case_id IS NOT NULL
         AND id NOT IN (SELECT DISTINCT ON (case_id) id FROM fixity_runs WHERE status = 'running' AND case_id IS NOT NULL ORDER BY case_id, started_at DESC)`);
    await q.query(`CREATE UNIQUE INDEX fixity_runs_one_active_per_case ON fixity_runs (case_id) WHERE case_id IS NOT NULL AND status IN ('queued', 'running')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX fixity_runs_one_active_per_case`);
    await q.query(`UPDATE fixity_runs SET status = 'failed' WHERE status = 'queued'`);
    await q.query(`ALTER TABLE fixity_runs DROP CONSTRAINT fixity_runs_status_check`);
    await q.query(`ALTER TABLE fixity_runs ADD CONSTRAINT fixity_runs_status_check CHECK (status IN ('running', 'completed', 'failed'))`);
    await q.query(`ALTER TABLE fixity_runs DROP COLUMN requested_by`);
  }
}
