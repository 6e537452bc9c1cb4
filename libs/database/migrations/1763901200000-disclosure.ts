import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Disclosure: MG6 schedules (every version kept, item numbers never reused), bundles built by the
 * worker, and their shares with CPS users.
 * - Schedule versions, their entries and the item-number register are append-only: a new
 *   version is a new row set, never an edit, and an item number once given stays that item's.
 * - Bundles change state (queued, building, ready, failed) and shares can be revoked, so those
 *   two tables are ordinary; every change to them is a custody event.
 */
export class Disclosure1763901200000 implements MigrationInterface {
  name = 'Disclosure1763901200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE disclosure_schedule_versions (
        id             uuid PRIMARY KEY,
        case_id        uuid NOT NULL REFERENCES cases(id),
        schedule       text NOT NULL CHECK (schedule IN ('MG6C', 'MG6D', 'MG6E')),
        version        integer NOT NULL CHECK (version >= 1),
        nil_certified  boolean NOT NULL DEFAULT false,
        certification  jsonb,
        created_by     uuid NOT NULL REFERENCES users(id),
        created_at     timestamptz NOT NULL DEFAULT now(),
        UNIQUE (case_id, schedule, version),
        CHECK (NOT nil_certified OR (schedule = 'MG6D' AND certification IS NOT NULL))
      )`);
    // Item numbers per case and schedule: given once, never again (Code para 6.10 numbering runs on).
    await q.query(`
      CREATE TABLE disclosure_schedule_items (
        case_id        uuid NOT NULL REFERENCES cases(id),
        schedule       text NOT NULL CHECK (schedule IN ('MG6C', 'MG6D')),
        item_number    integer NOT NULL CHECK (item_number >= 1),
        exhibit_id     uuid REFERENCES exhibits(id),
        first_version  uuid NOT NULL REFERENCES disclosure_schedule_versions(id),
        PRIMARY KEY (case_id, schedule, item_number)
      )`);
    await q.query(`
      CREATE TABLE disclosure_schedule_entries (
        version_id     uuid NOT NULL REFERENCES disclosure_schedule_versions(id),
        position       integer NOT NULL,
        item_number    integer NOT NULL,
        exhibit_id     uuid REFERENCES exhibits(id),
        fields         jsonb NOT NULL,
        PRIMARY KEY (version_id, position)
      )`);
    await q.query(`
      CREATE TABLE disclosure_bundles (
        id              uuid PRIMARY KEY,
        case_id         uuid NOT NULL REFERENCES cases(id),
        version         integer NOT NULL CHECK (version >= 1),
        audience        text NOT NULL CHECK (audience IN ('cps_only', 'cps_and_defence')),
        supplementary_to uuid REFERENCES disclosure_bundles(id),
        selection       jsonb NOT NULL,
        state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'building', 'ready', 'failed')),
        failure_code    text,
        failure_reason  text,
        bucket          text,
        object_key      text,
        size            bigint,
        sha256          text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        manifest_sha256 text,
        tree_size       bigint,
        created_by      uuid NOT NULL REFERENCES users(id),
        created_at      timestamptz NOT NULL DEFAULT now(),
        completed_at    timestamptz,
        UNIQUE (case_id, version),
        CHECK (state <> 'failed' OR failure_reason IS NOT NULL),
        CHECK (state <> 'ready' OR (object_key IS NOT NULL AND sha256 IS NOT NULL))
      )`);
    await q.query(`
      CREATE TABLE disclosure_shares (
        id           uuid PRIMARY KEY,
        bundle_id    uuid NOT NULL REFERENCES disclosure_bundles(id),
        recipient_id uuid NOT NULL REFERENCES users(id),
        expires_at   timestamptz NOT NULL,
        revoked_at   timestamptz,
        revoked_by   uuid REFERENCES users(id),
        created_by   uuid NOT NULL REFERENCES users(id),
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX disclosure_shares_recipient ON disclosure_shares (recipient_id, bundle_id)`);
    for (const t of ['disclosure_schedule_versions', 'disclosure_schedule_items', 'disclosure_schedule_entries']) {
      await q.query(`CREATE TRIGGER ${t}_no_update_delete BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION refuse_change()`);
      await q.query(`CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()`);
      // Append-only for the application too (the app-role migration: new tables get ordinary grants by default).
      await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${t} FROM PUBLIC`);
      if ((await q.query(`SELECT 1 FROM pg_roles WHERE rolname = 'dems_app'`)).length) {
        await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${t} FROM dems_app`);
      }
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE disclosure_shares, disclosure_bundles, disclosure_schedule_entries, disclosure_schedule_items, disclosure_schedule_versions`);
  }
}
