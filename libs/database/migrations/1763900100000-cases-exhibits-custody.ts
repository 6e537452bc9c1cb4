import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * People, cases, exhibits and the custody/s.62 event log.
 * custody_events is append-only: a trigger refuses UPDATE and DELETE for every role (the custody
 * ledger issue adds the hash chain columns' contents; the columns exist from the start).
 */
export class CasesExhibitsCustody1763900100000 implements MigrationInterface {
  name = 'CasesExhibitsCustody1763900100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users
        ADD COLUMN failed_logins integer NOT NULL DEFAULT 0,
        ADD COLUMN locked_until timestamptz,
        ADD COLUMN last_login_at timestamptz`);

    await q.query(`
      CREATE TABLE refresh_tokens (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id     uuid NOT NULL REFERENCES users(id),
        token_hash  text NOT NULL UNIQUE,
        expires_at  timestamptz NOT NULL,
        revoked_at  timestamptz,
        replaced_by uuid,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)`);

    await q.query(`
      CREATE TABLE api_tokens (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id      uuid NOT NULL REFERENCES users(id),
        name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        token_hash   text NOT NULL UNIQUE,
        prefix       text NOT NULL,
        expires_at   timestamptz,
        revoked_at   timestamptz,
        last_used_at timestamptz,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX api_tokens_user ON api_tokens (user_id)`);

    await q.query(`
      CREATE TABLE cases (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        urn              text NOT NULL UNIQUE CHECK (urn ~ '^[0-9]{2}[A-Z]{2}([0-9]{5}|[0-9]{7})[0-9]{2}$'),
        title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
        operation_name   text CHECK (length(operation_name) <= 100),
        offence_summary  text CHECK (length(offence_summary) <= 4000),
        status           text NOT NULL DEFAULT 'open'
                           CHECK (status IN ('open', 'under_investigation', 'charged', 'awaiting_trial', 'concluded', 'closed')),
        classification   text NOT NULL DEFAULT 'OFFICIAL' CHECK (classification IN ('OFFICIAL', 'OFFICIAL-SENSITIVE')),
        retention_group  smallint NOT NULL DEFAULT 3 CHECK (retention_group IN (1, 2, 3)),
        review_date      date,
        officer_in_case  uuid REFERENCES users(id),
        created_by       uuid NOT NULL REFERENCES users(id),
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        version          integer NOT NULL DEFAULT 1,
        search           tsvector GENERATED ALWAYS AS (
                           to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(operation_name, '') || ' ' || coalesce(offence_summary, ''))
                         ) STORED
      )`);
    await q.query(`CREATE INDEX cases_created ON cases (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX cases_status ON cases (status)`);
    await q.query(`CREATE INDEX cases_search ON cases USING gin (search)`);

    await q.query(`
      CREATE TABLE case_members (
        case_id   uuid NOT NULL REFERENCES cases(id),
        user_id   uuid NOT NULL REFERENCES users(id),
        case_role text NOT NULL CHECK (case_role IN ('officer_in_case', 'investigator', 'forensic_analyst', 'disclosure_officer', 'reviewer')),
        added_by  uuid NOT NULL REFERENCES users(id),
        added_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (case_id, user_id)
      )`);
    await q.query(`CREATE INDEX case_members_user ON case_members (user_id, case_id)`);

    await q.query(`
      CREATE TABLE exhibits (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        case_id         uuid NOT NULL REFERENCES cases(id),
        reference       text NOT NULL CHECK (reference ~ '^[A-Z]{1,4}/[1-9][0-9]{0,4}(/[1-9][0-9]{0,4}){0,3}$'),
        parent_id       uuid REFERENCES exhibits(id),
        source_type     text NOT NULL CHECK (source_type IN ('cctv', 'body_worn_video', 'audio', 'image', 'document', 'device_extraction', 'other')),
        description     text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
        producer        text NOT NULL CHECK (length(producer) BETWEEN 1 AND 200),
        seized_at       timestamptz,
        seized_by       text CHECK (length(seized_by) <= 200),
        seized_from     text CHECK (length(seized_from) <= 500),
        seized_where    text CHECK (length(seized_where) <= 500),
        retrieval       jsonb,
        declared_hashes jsonb NOT NULL DEFAULT '[]',
        classification  text NOT NULL DEFAULT 'OFFICIAL' CHECK (classification IN ('OFFICIAL', 'OFFICIAL-SENSITIVE')),
        disclosure_use  text NOT NULL DEFAULT 'undetermined' CHECK (disclosure_use IN ('undetermined', 'used', 'unused')),
        sensitivity     text CHECK (sensitivity IN ('non_sensitive', 'sensitive')),
        created_by      uuid NOT NULL REFERENCES users(id),
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        version         integer NOT NULL DEFAULT 1,
        UNIQUE (case_id, reference)
      )`);
    await q.query(`CREATE INDEX exhibits_case ON exhibits (case_id, created_at, id)`);

    await q.query(`
      CREATE TABLE custody_events (
        seq                bigserial PRIMARY KEY,
        id                 uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
        occurred_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
        type               text NOT NULL,
        s62_operation      text NOT NULL CHECK (s62_operation IN ('collection', 'alteration', 'consultation', 'disclosure', 'combination', 'erasure')),
        case_id            uuid REFERENCES cases(id),
        actor_id           uuid REFERENCES users(id),
        actor_role         text,
        object_type        text,
        object_id          text,
        object_version     integer,
        object_sha256      text,
        justification_code text,
        justification_text text,
        recipient          text,
        outcome            text NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
        client_address     text,
        request_id         text,
        details            jsonb NOT NULL DEFAULT '{}',
        -- filled by the custody ledger (hash chain and Merkle leaf index)
        prev_hash          bytea,
        hash               bytea,
        leaf_index         bigint UNIQUE
      )`);
    await q.query(`CREATE INDEX custody_events_case ON custody_events (case_id, seq)`);
    await q.query(`CREATE INDEX custody_events_actor ON custody_events (actor_id, occurred_at)`);
    await q.query(`CREATE INDEX custody_events_time ON custody_events (occurred_at)`);
    await q.query(`
      CREATE FUNCTION custody_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'custody_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER custody_events_no_update_delete BEFORE UPDATE OR DELETE ON custody_events
        FOR EACH ROW EXECUTE FUNCTION custody_events_append_only()`);
    await q.query(`
      CREATE TRIGGER custody_events_no_truncate BEFORE TRUNCATE ON custody_events
        FOR EACH STATEMENT EXECUTE FUNCTION custody_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE custody_events`);
    await q.query(`DROP FUNCTION custody_events_append_only`);
    await q.query(`DROP TABLE exhibits`);
    await q.query(`DROP TABLE case_members`);
    await q.query(`DROP TABLE cases`);
    await q.query(`DROP TABLE api_tokens`);
    await q.query(`DROP TABLE refresh_tokens`);
    await q.query(`ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until, DROP COLUMN last_login_at`);
  }
}
