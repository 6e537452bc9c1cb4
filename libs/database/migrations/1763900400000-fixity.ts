import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every object the service stores (originals, derivatives, checkpoints) with the SHA-256 it was
 * recorded with, and the fixity runs that re-hash them. Results are append-only; each result is
 * also a custody event.
 */
export class Fixity1763900400000 implements MigrationInterface {
  name = 'Fixity1763900400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE stored_objects (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bucket         text NOT NULL,
        object_key     text NOT NULL,
        kind           text NOT NULL CHECK (kind IN ('original', 'derivative', 'checkpoint')),
        case_id        uuid REFERENCES cases(id),
        size           bigint NOT NULL CHECK (size >= 0),
        sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        created_at     timestamptz NOT NULL DEFAULT now(),
        last_fixity_at timestamptz,
        last_outcome   text CHECK (last_outcome IN ('ok', 'changed', 'missing', 'error')),
        UNIQUE (bucket, object_key)
      )`);
    await q.query(`CREATE INDEX stored_objects_due ON stored_objects (last_fixity_at NULLS FIRST, id)`);
    await q.query(`CREATE INDEX stored_objects_case ON stored_objects (case_id)`);
    await q.query(`
      CREATE TABLE fixity_runs (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        trigger     text NOT NULL CHECK (trigger IN ('scheduled', 'case', 'manual')),
        case_id     uuid REFERENCES cases(id),
        started_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
        checked     integer NOT NULL DEFAULT 0,
        ok          integer NOT NULL DEFAULT 0,
        changed     integer NOT NULL DEFAULT 0,
        missing     integer NOT NULL DEFAULT 0,
        errors      integer NOT NULL DEFAULT 0
      )`);
    await q.query(`
      CREATE TABLE fixity_results (
        run_id          uuid NOT NULL REFERENCES fixity_runs(id),
        object_id       uuid NOT NULL REFERENCES stored_objects(id),
        outcome         text NOT NULL CHECK (outcome IN ('ok', 'changed', 'missing', 'error')),
        expected_sha256 text NOT NULL,
        observed_sha256 text,
        observed_size   bigint,
        message         text,
        checked_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, object_id)
      )`);
    await q.query(`CREATE TRIGGER fixity_results_no_update_delete BEFORE UPDATE OR DELETE ON fixity_results FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE fixity_results`);
    await q.query(`DROP TABLE fixity_runs`);
    await q.query(`DROP TABLE stored_objects`);
  }
}
