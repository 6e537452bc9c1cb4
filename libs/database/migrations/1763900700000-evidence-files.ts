import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Files uploaded to an exhibit and their life: uploading -> verifying -> sealed | quarantined, or
 * expired / cancelled before completion. A file is evidence only once sealed. State changes, like
 * every change to cases and exhibits, cannot commit without a custody event; progress
 * (bytes_received, last_activity_at) is not a custody fact and is updated freely.
 */
export class EvidenceFiles1763900700000 implements MigrationInterface {
  name = 'EvidenceFiles1763900700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE evidence_files (
        id                 uuid PRIMARY KEY,
        case_id            uuid NOT NULL REFERENCES cases(id),
        exhibit_id         uuid NOT NULL REFERENCES exhibits(id),
        bucket             text NOT NULL,
        object_key         text NOT NULL,
        original_filename  text NOT NULL CHECK (length(original_filename) BETWEEN 1 AND 1024),
        declared_type      text CHECK (length(declared_type) <= 255),
        size               bigint NOT NULL CHECK (size >= 0),
        declared_empty     boolean NOT NULL DEFAULT false,
        bytes_received     bigint NOT NULL DEFAULT 0,
        state              text NOT NULL DEFAULT 'uploading'
                             CHECK (state IN ('uploading', 'verifying', 'sealed', 'quarantined', 'expired', 'cancelled')),
        declared_hashes    jsonb NOT NULL DEFAULT '[]',
        sha256             text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        sha1               text CHECK (sha1 ~ '^[0-9a-f]{40}$'),
        md5                text CHECK (md5 ~ '^[0-9a-f]{32}$'),
        hashed_from        text CHECK (hashed_from IN ('ingest_stream', 'stored_object')),
        quarantine_code    text,
        quarantine_reason  text,
        duplicate_of       uuid REFERENCES evidence_files(id),
        write_once_until   timestamptz,
        created_by         uuid NOT NULL REFERENCES users(id),
        created_at         timestamptz NOT NULL DEFAULT now(),
        last_activity_at   timestamptz NOT NULL DEFAULT now(),
        completed_at       timestamptz,
        sealed_at          timestamptz,
        version            integer NOT NULL DEFAULT 1,
        UNIQUE (bucket, object_key),
        CHECK (state NOT IN ('sealed', 'quarantined') OR sha256 IS NOT NULL OR quarantine_code IS NOT NULL),
        CHECK (state <> 'quarantined' OR quarantine_reason IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX evidence_files_exhibit ON evidence_files (exhibit_id, created_at, id)`);
    await q.query(`CREATE INDEX evidence_files_case_sha256 ON evidence_files (case_id, sha256) WHERE sha256 IS NOT NULL`);
    await q.query(`CREATE INDEX evidence_files_open ON evidence_files (created_by) WHERE state = 'uploading'`);
    await q.query(`CREATE INDEX evidence_files_idle ON evidence_files (last_activity_at) WHERE state = 'uploading'`);
    // Once sealed, what the seal says about the bytes can never change (only later states can be added by events).
    await q.query(`
      CREATE FUNCTION evidence_files_sealed_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.state = 'sealed' AND (NEW.sha256, NEW.sha1, NEW.md5, NEW.size, NEW.bucket, NEW.object_key, NEW.state)
             IS DISTINCT FROM (OLD.sha256, OLD.sha1, OLD.md5, OLD.size, OLD.bucket, OLD.object_key, OLD.state) THEN
          RAISE EXCEPTION 'evidence file % is sealed: its object and hashes cannot change', OLD.id USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'evidence files are never deleted (erasure is a recorded disposal)' USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER evidence_files_guard BEFORE UPDATE OR DELETE ON evidence_files
        FOR EACH ROW EXECUTE FUNCTION evidence_files_sealed_immutable()`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER evidence_files_require_custody_event AFTER INSERT OR UPDATE OF state, sha256, sha1, md5, duplicate_of, write_once_until ON evidence_files
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION require_custody_event()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE evidence_files`);
    await q.query(`DROP FUNCTION evidence_files_sealed_immutable`);
  }
}
