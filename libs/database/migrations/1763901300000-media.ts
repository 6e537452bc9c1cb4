import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Working copies of sealed media: what the content is (detected from its bytes, stored on the
 * evidence file), the probe's typed facts and raw tool output, the processing state and its
 * reason, and each derivative as its own object with its own hash and the record a third party
 * needs to repeat it. Derivatives are append-only: a new recipe version makes a new row.
 */
export class Media1763901300000 implements MigrationInterface {
  name = 'Media1763901300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE evidence_files ADD COLUMN media_kind text CHECK (media_kind IN ('video', 'audio', 'image', 'other')), ADD COLUMN media_mime text`);
    await q.query(`
      CREATE TABLE media_analyses (
        evidence_file_id uuid PRIMARY KEY REFERENCES evidence_files(id),
        case_id          uuid NOT NULL REFERENCES cases(id),
        state            text NOT NULL CHECK (state IN ('pending', 'processing', 'ready', 'partial', 'not_media', 'needs_specialist_tool', 'failed')),
        kind             text,
        mime             text,
        format           text,
        facts            jsonb,
        raw              jsonb,
        warnings         jsonb NOT NULL DEFAULT '[]',
        failure_code     text,
        failure_reason   text,
        failure_detail   text,
        attempts         integer NOT NULL DEFAULT 0,
        retries          integer NOT NULL DEFAULT 0,
        progress         integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        CHECK (state NOT IN ('needs_specialist_tool', 'failed') OR (failure_code IS NOT NULL AND failure_reason IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX media_analyses_case ON media_analyses (case_id, state)`);
    await q.query(`
      CREATE TABLE derivatives (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        evidence_file_id uuid NOT NULL REFERENCES evidence_files(id),
        case_id          uuid NOT NULL REFERENCES cases(id),
        kind             text NOT NULL,
        role             text NOT NULL,
        recipe_version   text NOT NULL,
        variant          text NOT NULL DEFAULT '',
        reference        text NOT NULL,
        bucket           text NOT NULL,
        object_key       text NOT NULL UNIQUE,
        mime             text NOT NULL,
        size             bigint NOT NULL CHECK (size >= 0),
        sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        quality          text NOT NULL DEFAULT 'complete' CHECK (quality IN ('complete', 'with-decode-errors')),
        summary          jsonb NOT NULL DEFAULT '{}',
        provenance       jsonb NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (evidence_file_id, kind, role, recipe_version, variant)
      )`);
    await q.query(`CREATE INDEX derivatives_file ON derivatives (evidence_file_id)`);
    await q.query(`CREATE TRIGGER derivatives_no_update_delete BEFORE UPDATE OR DELETE ON derivatives FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
    await q.query(`CREATE TRIGGER derivatives_no_truncate BEFORE TRUNCATE ON derivatives FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`);
    // The app role may add derivatives and analyse, never rewrite a derivative's record.
    const role = await q.query(`SELECT 1 FROM pg_roles WHERE rolname = 'dems_app'`);
    if (role.length) {
      await q.query(`GRANT SELECT, INSERT, UPDATE ON media_analyses TO dems_app`);
      await q.query(`GRANT SELECT, INSERT ON derivatives TO dems_app`);
      await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON derivatives FROM dems_app`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE derivatives`);
    await q.query(`DROP TABLE media_analyses`);
    await q.query(`ALTER TABLE evidence_files DROP COLUMN media_kind, DROP COLUMN media_mime`);
  }
}
