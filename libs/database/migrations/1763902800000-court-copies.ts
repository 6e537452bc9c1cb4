import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Court copies made on request: who asked, the caption asked for (exhibit reference, the
 * recorder's reading at stream time 0, the exhibit's clock offset and time zone), the state of
 * the job, and the derivative it made. One request per file and caption (`variant`, a digest of
 * the caption), so asking twice gives the same copy.
 */
export class CourtCopies1763902800000 implements MigrationInterface {
  name = 'CourtCopies1763902800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE court_copy_requests (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        evidence_file_id uuid NOT NULL REFERENCES evidence_files(id),
        case_id          uuid NOT NULL REFERENCES cases(id),
        variant          text NOT NULL CHECK (variant ~ '^[0-9a-f]{16}$'),
        caption          jsonb NOT NULL,
        state            text NOT NULL CHECK (state IN ('pending', 'processing', 'ready', 'failed')),
        derivative_id    uuid REFERENCES derivatives(id),
        failure_code     text,
        failure_reason   text,
        requested_by     uuid NOT NULL REFERENCES users(id),
        requests         integer NOT NULL DEFAULT 1,
        progress         integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (evidence_file_id, variant),
        CHECK (state <> 'ready' OR derivative_id IS NOT NULL),
        CHECK (state <> 'failed' OR (failure_code IS NOT NULL AND failure_reason IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX court_copy_requests_case ON court_copy_requests (case_id)`);
    const role = await q.query(`SELECT 1 FROM pg_roles WHERE rolname = 'dems_app'`);
    if (role.length) await q.query(`GRANT SELECT, INSERT, UPDATE ON court_copy_requests TO dems_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE court_copy_requests`);
  }
}
