import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The metrics scrape counts stored objects whose latest fixity check failed (changed, missing,
 * error) every few seconds: a partial index holds only those, so the count stays cheap however
 * many intact objects there are.
 */
export class FixityFailingIndex1763902200000 implements MigrationInterface {
  name = 'FixityFailingIndex1763902200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX stored_objects_fixity_failing ON stored_objects (last_outcome) WHERE last_outcome <> 'ok'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX stored_objects_fixity_failing`);
  }
}
