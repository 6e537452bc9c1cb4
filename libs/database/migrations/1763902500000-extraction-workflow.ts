import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The analyst's work on a device extraction (docs/extraction.md, "Analyst workflow"): the
 * examination state beside the verification state, its transitions, append-only notes, the
 * versioned digital strategy record, the reports attached (sealed files of a derived exhibit), and
 * exports of selected inventory entries as a derived exhibit with their provenance. Notes,
 * transitions, strategy versions, reports and export items are never changed or deleted.
 */
export class ExtractionWorkflow1763902500000 implements MigrationInterface {
  name = 'ExtractionWorkflow1763902500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE extractions
        ADD COLUMN examination_state text NOT NULL DEFAULT 'awaiting' CHECK (examination_state IN ('awaiting', 'in_examination', 'examined', 'not_examined'))`);
    await q.query(`
      CREATE TABLE extraction_transitions (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        extraction_id uuid NOT NULL REFERENCES extractions(id),
        from_state    text NOT NULL,
        to_state      text NOT NULL,
        reason        text,
        actor_id      uuid NOT NULL REFERENCES users(id),
        created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`CREATE INDEX extraction_transitions_extraction ON extraction_transitions (extraction_id, created_at)`);
    await q.query(`
      CREATE TABLE extraction_notes (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        extraction_id uuid NOT NULL REFERENCES extractions(id),
        author_id     uuid NOT NULL REFERENCES users(id),
        body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
        sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`CREATE INDEX extraction_notes_extraction ON extraction_notes (extraction_id, created_at)`);
    await q.query(`
      CREATE TABLE extraction_strategies (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        extraction_id uuid NOT NULL REFERENCES extractions(id),
        version       integer NOT NULL CHECK (version >= 1),
        record        jsonb NOT NULL,
        sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        author_id     uuid NOT NULL REFERENCES users(id),
        created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (extraction_id, version)
      )`);
    await q.query(`
      CREATE TABLE extraction_reports (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        extraction_id uuid NOT NULL REFERENCES extractions(id),
        file_id       uuid NOT NULL REFERENCES evidence_files(id),
        title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
        attached_by   uuid NOT NULL REFERENCES users(id),
        created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        UNIQUE (extraction_id, file_id)
      )`);
    await q.query(`
      CREATE TABLE extraction_exports (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        case_id           uuid NOT NULL REFERENCES cases(id),
        extraction_id     uuid NOT NULL REFERENCES extractions(id),
        exhibit_id        uuid NOT NULL UNIQUE REFERENCES exhibits(id),
        state             text NOT NULL CHECK (state IN ('queued', 'exporting', 'completed', 'failed')),
        failure_code      text,
        failure_reason    text,
        manifest_sha256   text NOT NULL CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
        requested_by      uuid NOT NULL REFERENCES users(id),
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        completed_at      timestamptz,
        CHECK (state <> 'failed' OR (failure_code IS NOT NULL AND failure_reason IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX extraction_exports_extraction ON extraction_exports (extraction_id, created_at)`);
    // One row per exported entry: where it came from (entry index, path, inventoried hash) and the evidence file it became.
    await q.query(`
      CREATE TABLE extraction_export_items (
        export_id  uuid NOT NULL REFERENCES extraction_exports(id),
        idx        integer NOT NULL,
        path       text NOT NULL,
        size       bigint NOT NULL CHECK (size >= 0),
        sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        file_id    uuid NOT NULL UNIQUE,
        PRIMARY KEY (export_id, idx)
      )`);
    for (const t of ['extraction_transitions', 'extraction_notes', 'extraction_strategies', 'extraction_reports', 'extraction_export_items']) {
      await q.query(`CREATE TRIGGER ${t}_no_update_delete BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
      await q.query(`CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`);
    }
    const role = await q.query(`SELECT 1 FROM pg_roles WHERE rolname = 'dems_app'`);
    if (role.length) {
      await q.query(`GRANT SELECT, INSERT ON extraction_transitions, extraction_notes, extraction_strategies, extraction_reports, extraction_export_items TO dems_app`);
      await q.query(`GRANT SELECT, INSERT, UPDATE ON extraction_exports TO dems_app`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE extraction_export_items, extraction_exports, extraction_reports, extraction_strategies, extraction_notes, extraction_transitions`);
    await q.query(`ALTER TABLE extractions DROP COLUMN examination_state`);
  }
}
