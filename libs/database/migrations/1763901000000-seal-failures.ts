import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A seal that cannot finish (storage errors past the last retry, a refused read) ends in a state
 * of its own, `seal_failed`, with its reason, instead of staying `verifying` forever; a retry
 * moves it back to `verifying` and counts the retries (the retry's job id carries the count, so a
 * kept failed job never swallows the new one).
 */
export class SealFailures1763901000000 implements MigrationInterface {
  name = 'SealFailures1763901000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE evidence_files DROP CONSTRAINT evidence_files_state_check`);
    await q.query(`
      ALTER TABLE evidence_files
        ADD CONSTRAINT evidence_files_state_check
          CHECK (state IN ('uploading', 'verifying', 'sealed', 'quarantined', 'expired', 'cancelled', 'seal_failed')),
        ADD COLUMN seal_failure_code text,
        ADD COLUMN seal_failure_reason text,
        ADD COLUMN seal_retries integer NOT NULL DEFAULT 0,
        ADD CONSTRAINT evidence_files_seal_failure_reason CHECK (state <> 'seal_failed' OR (seal_failure_code IS NOT NULL AND seal_failure_reason IS NOT NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE evidence_files SET state = 'verifying' WHERE state = 'seal_failed'`);
    await q.query(`ALTER TABLE evidence_files DROP CONSTRAINT evidence_files_seal_failure_reason, DROP COLUMN seal_failure_code, DROP COLUMN seal_failure_reason, DROP COLUMN seal_retries`);
    await q.query(`ALTER TABLE evidence_files DROP CONSTRAINT evidence_files_state_check`);
    await q.query(`ALTER TABLE evidence_files ADD CONSTRAINT evidence_files_state_check CHECK (state IN ('uploading', 'verifying', 'sealed', 'quarantined', 'expired', 'cancelled'))`);
  }
}
