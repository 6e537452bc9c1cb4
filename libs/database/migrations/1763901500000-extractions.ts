import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Device extractions (docs/extraction.md): one row per extraction set within an exhibit (an E01
 * set, a UFDR, a ZIP export, a UFD, or a file that is none of those), its state and outcome, the
 * acquisition tool's stored hashes against the calculated ones, and the inventory of ZIP-based
 * extractions (one row per archive entry, searchable by path, name, extension and hash).
 */
export class Extractions1763901500000 implements MigrationInterface {
  name = 'Extractions1763901500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE extractions (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        case_id          uuid NOT NULL REFERENCES cases(id),
        exhibit_id       uuid NOT NULL REFERENCES exhibits(id),
        set_key          text NOT NULL,
        kind             text NOT NULL CHECK (kind IN ('ewf', 'ewf2', 'ufdr', 'zip', 'ufd', 'opaque', 'empty')),
        state            text NOT NULL CHECK (state IN ('received', 'verifying', 'verified', 'verified_with_warnings', 'failed', 'not_verifiable')),
        outcome_code     text,
        outcome_reason   text,
        warnings         jsonb NOT NULL DEFAULT '[]',
        problems         jsonb NOT NULL DEFAULT '[]',
        facts            jsonb NOT NULL DEFAULT '{}',
        hashes           jsonb NOT NULL DEFAULT '[]',
        member_file_ids  uuid[] NOT NULL DEFAULT '{}',
        missing_segments integer[] NOT NULL DEFAULT '{}',
        entry_count      integer NOT NULL DEFAULT 0,
        attempts         integer NOT NULL DEFAULT 0,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        verified_at      timestamptz,
        UNIQUE (exhibit_id, set_key),
        CHECK (state NOT IN ('failed', 'not_verifiable') OR (outcome_code IS NOT NULL AND outcome_reason IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX extractions_case ON extractions (case_id, state)`);
    await q.query(`
      CREATE TABLE extraction_entries (
        extraction_id    uuid NOT NULL REFERENCES extractions(id) ON DELETE CASCADE,
        idx              integer NOT NULL,
        path             text NOT NULL,
        name             text NOT NULL,
        extension        text,
        is_directory     boolean NOT NULL DEFAULT false,
        size             bigint NOT NULL,
        compressed_size  bigint NOT NULL,
        modified_at      text,
        sha256           text,
        md5              text,
        crc_ok           boolean,
        deleted          boolean,
        tagged           boolean,
        flags            text[] NOT NULL DEFAULT '{}',
        status           text NOT NULL,
        PRIMARY KEY (extraction_id, idx)
      )`);
    // Prefix search on path and name (text_pattern_ops serves LIKE 'abc%' whatever the collation).
    await q.query(`CREATE INDEX extraction_entries_path ON extraction_entries (extraction_id, lower(path) text_pattern_ops)`);
    await q.query(`CREATE INDEX extraction_entries_name ON extraction_entries (extraction_id, lower(name) text_pattern_ops)`);
    await q.query(`CREATE INDEX extraction_entries_extension ON extraction_entries (extraction_id, extension)`);
    await q.query(`CREATE INDEX extraction_entries_sha256 ON extraction_entries (sha256) WHERE sha256 IS NOT NULL`);
    const role = await q.query(`SELECT 1 FROM pg_roles WHERE rolname = 'dems_app'`);
    if (role.length) {
      await q.query(`GRANT SELECT, INSERT, UPDATE ON extractions TO dems_app`);
      await q.query(`GRANT SELECT, INSERT, DELETE ON extraction_entries TO dems_app`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE extraction_entries`);
    await q.query(`DROP TABLE extractions`);
  }
}
