import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Disclosure bundles are stored objects like originals: fixity runs re-hash them and report a
 * change. The kind is allowed, and bundles built before this migration are registered with the
 * SHA-256 they were built with.
 */
export class DisclosureBundleFixity1763902600000 implements MigrationInterface {
  name = 'DisclosureBundleFixity1763902600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE stored_objects DROP CONSTRAINT stored_objects_kind_check`);
    await q.query(`ALTER TABLE stored_objects ADD CONSTRAINT stored_objects_kind_check CHECK (kind IN ('original', 'derivative', 'checkpoint', 'disclosure_bundle'))`);
    await q.query(`
      INSERT INTO stored_objects (bucket, object_key, kind, case_id, size, sha256, created_at)
      SELECT bucket, object_key, 'disclosure_bundle', case_id, size, sha256, completed_at FROM disclosure_bundles WHERE state = 'ready'
      ON CONFLICT (bucket, object_key) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM stored_objects WHERE kind = 'disclosure_bundle' AND NOT EXISTS (SELECT 1 FROM fixity_results r WHERE r.object_id = stored_objects.id)`);
    await q.query(`ALTER TABLE stored_objects DROP CONSTRAINT stored_objects_kind_check`);
    await q.query(`ALTER TABLE stored_objects ADD CONSTRAINT stored_objects_kind_check CHECK (kind IN ('original', 'derivative', 'checkpoint'))`);
  }
}
