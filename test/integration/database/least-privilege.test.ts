import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { createApi } from '../../../apps/api/bootstrap.js';
import { recordCustodyEvent } from '../../../libs/custody/index.js';
import { AppRole1763900600000 } from '../../../libs/database/migrations/1763900600000-app-role.js';
import { connectsWithLeastPrivilege } from '../../../libs/database/index.js';
import { ApiHarness, freshUrn, type TestUser } from '../../support/api-harness.js';
import { CLI, cliOptions, createScratchDatabase, testConfig } from '../../support/test-env.js';

const run = promisify(execFile);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Runs `work` in one transaction on `ds` and resolves to the error its commit (or a statement) raised. */
async function refusal(ds: DataSource, work: (tx: EntityManager) => Promise<unknown>): Promise<string> {
  const error = await ds.transaction(work).then(() => undefined, (e: Error) => e);
  if (!error) throw new Error('the database accepted the change');
  return error.message;
}

/**
 * The API and worker connect as a login role in dems_app (scripts/test.sh sets DATABASE_URL to
 * one, DATABASE_OWNER_URL to the owner): every guard below must hold for that role, which is
 * what a compromised or buggy service could use.
 */
describe('least privilege in the database: the service login role', () => {
  const h = new ApiHarness();
  let oic: TestUser;
  let caseId: string;
  let otherCaseId: string;
  let exhibitId: string;
  let otherExhibitId: string;
  let fileId: string;

  beforeAll(async () => {
    await h.start();
    oic = await h.user('priv', 'investigator');
    caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Least privilege' } })).body.id as string;
    otherCaseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Another case' } })).body.id as string;
    const exhibit = (reference: string, kase = caseId) =>
      h.call('POST', `/api/v1/cases/${kase}/exhibits`, { token: oic.token, body: { reference, sourceType: 'cctv', description: 'export', producer: 'P R' } });
    exhibitId = (await exhibit('PR/1')).body.id as string;
    otherExhibitId = (await exhibit('PR/2')).body.id as string;
    // A sealed file, written as the service writes one: each state change with its custody event.
    fileId = randomUUID();
    const digest = sha256('sealed bytes');
    await h.ds.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO evidence_files (id, case_id, exhibit_id, bucket, object_key, original_filename, size, declared_hashes, created_by)
         VALUES ($1, $2, $3, 'dems-priv', $4, 'clip.mp4', 12, $5, $6)`,
        [fileId, caseId, exhibitId, `priv/${fileId}`, JSON.stringify([{ algorithm: 'sha256', value: digest }]), oic.id],
      );
      await tx.query(`UPDATE evidence_files SET state = 'sealed', sha256 = $2, sealed_at = now() WHERE id = $1`, [fileId, digest]);
      await tx.query(`INSERT INTO stored_objects (bucket, object_key, kind, case_id, size, sha256) VALUES ('dems-priv', $1, 'original', $2, 12, $3)`, [`priv/${fileId}`, caseId, digest]);
      await recordCustodyEvent(tx, { type: 'evidence.sealed', operation: 'collection', caseId, object: { type: 'evidence_file', id: fileId, sha256: digest } });
    });
  });
  afterAll(() => h.stop());

  it('is what the API and the tests connect as: a member of dems_app, not the owner, not a superuser', async () => {
    const [me] = await h.ds.query(`SELECT current_user AS name, r.rolsuper, r.rolcanlogin FROM pg_roles r WHERE r.rolname = current_user`);
    expect(me).toMatchObject({ rolsuper: false, rolcanlogin: true });
    expect(me.name).toBe(decodeURIComponent(new URL(h.config.DATABASE_URL).username));
    expect(await connectsWithLeastPrivilege(h.ds)).toBe(true);
    expect(await connectsWithLeastPrivilege(h.owner)).toBe(false);
  });

  describe('no change to cases, exhibits or members without its custody event', () => {
    it('is not satisfied by the setting the old check trusted', async () => {
      const message = await refusal(h.ds, async (tx) => {
        await tx.query(`SELECT set_config('dems.custody_event_recorded', 'on', true)`);
        await tx.query(`UPDATE cases SET title = 'changed behind the ledger' WHERE id = $1`, [caseId]);
      });
      expect(message).toMatch(/UPDATE on cases without a custody event in the same transaction/);
      const member = await refusal(h.ds, async (tx) => {
        await tx.query(`SELECT set_config('dems.custody_event_recorded', 'on', true)`);
        await tx.query(`INSERT INTO case_members (case_id, user_id, case_role, added_by) VALUES ($1, $2, 'reviewer', $2)`, [otherCaseId, (await h.user('stranger', 'investigator')).id]);
      });
      expect(member).toMatch(/INSERT on case_members without a custody event/);
      const [row] = await h.ds.query(`SELECT title FROM cases WHERE id = $1`, [caseId]);
      expect(row.title).toBe('Least privilege');
    });

    it("is not satisfied by another case's event, nor by a temporary table standing in for the log", async () => {
      const other = await refusal(h.ds, async (tx) => {
        await tx.query(`UPDATE exhibits SET description = 'changed', version = version + 1 WHERE id = $1`, [exhibitId]);
        await recordCustodyEvent(tx, { type: 'case.consulted', operation: 'consultation', caseId: otherCaseId, object: { type: 'case', id: otherCaseId } });
      });
      expect(other).toMatch(/UPDATE on exhibits without a custody event/);
      const temp = await refusal(h.ds, async (tx) => {
        await tx.query(`CREATE TEMP TABLE custody_events (txid bigint, case_id uuid) ON COMMIT DROP`);
        await tx.query(`INSERT INTO pg_temp.custody_events VALUES (txid_current(), $1)`, [caseId]);
        await tx.query(`UPDATE cases SET title = 'changed behind the ledger' WHERE id = $1`, [caseId]);
      });
      expect(temp).toMatch(/UPDATE on cases without a custody event/);
    });

    it('stamps each event with the transaction that wrote it, whatever the writer says', async () => {
      const qr = h.ds.createQueryRunner();
      await qr.connect();
      try {
        await qr.startTransaction();
        const [row] = await qr.query(
          `INSERT INTO custody_events (type, s62_operation, case_id, outcome, prev_hash, hash, leaf_index, canonical, txid)
           VALUES ('forged', 'alteration', $1, 'success', '\\x00', '\\x00', $2, '\\x00', 42) RETURNING txid = txid_current() AS stamped`,
          [caseId, 2 ** 52 + Number.parseInt(randomBytes(4).toString('hex'), 16)],
        );
        expect(row.stamped).toBe(true);
      } finally {
        await qr.rollbackTransaction();
        await qr.release();
      }
    });

    it('lets a change commit with its event', async () => {
      await h.ds.transaction(async (tx) => {
        await tx.query(`UPDATE cases SET title = 'Least privilege (renamed)', version = version + 1 WHERE id = $1`, [caseId]);
        await recordCustodyEvent(tx, { type: 'case.updated', operation: 'alteration', caseId, object: { type: 'case', id: caseId } });
      });
      expect((await h.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token })).body.title).toBe('Least privilege (renamed)');
    });
  });

  describe("a sealed file's facts", () => {
    it.each([
      ['case', `case_id = '{other-case}'`],
      ['exhibit', `exhibit_id = '{other-exhibit}'`],
      ['file name', `original_filename = 'innocent.mp4'`],
      ['declared hashes', `declared_hashes = '[]'`],
      ['declared type', `declared_type = 'video/mp4'`],
      ['SHA-256', `sha256 = '${sha256('other bytes')}'`],
    ])('refuses a change of its %s, even with a custody event', async (_what, assignment) => {
      const set = assignment.replace('{other-case}', otherCaseId).replace('{other-exhibit}', otherExhibitId);
      const message = await refusal(h.ds, async (tx) => {
        await tx.query(`UPDATE evidence_files SET ${set} WHERE id = $1`, [fileId]);
        await recordCustodyEvent(tx, { type: 'evidence.updated', operation: 'alteration', caseId, object: { type: 'evidence_file', id: fileId } });
      });
      expect(message).toMatch(/evidence file .* is sealed: its case, exhibit, name, declared and computed hashes and object cannot change/);
    });

    it('refuses deleting the file', async () => {
      await expect(h.ds.query(`DELETE FROM evidence_files WHERE id = $1`, [fileId])).rejects.toThrow(/permission denied for table evidence_files/);
      const [row] = await h.ds.query(`SELECT case_id, exhibit_id, original_filename, sha256 FROM evidence_files WHERE id = $1`, [fileId]);
      expect(row).toEqual({ case_id: caseId, exhibit_id: exhibitId, original_filename: 'clip.mp4', sha256: sha256('sealed bytes') });
    });
  });

  describe('the SHA-256 fixity compares with (stored_objects)', () => {
    it('cannot be updated or deleted by the service; only the fixity columns can', async () => {
      const key = `priv/${fileId}`;
      await expect(h.ds.query(`UPDATE stored_objects SET sha256 = $2 WHERE object_key = $1`, [key, sha256('x')])).rejects.toThrow(/permission denied for table stored_objects/);
      await expect(h.ds.query(`DELETE FROM stored_objects WHERE object_key = $1`, [key])).rejects.toThrow(/permission denied for table stored_objects/);
      await expect(h.ds.query(`TRUNCATE stored_objects CASCADE`)).rejects.toThrow(/permission denied/);
      await h.ds.query(`UPDATE stored_objects SET last_fixity_at = now(), last_outcome = 'ok' WHERE object_key = $1`, [key]);
      const [row] = await h.ds.query(`SELECT sha256, last_outcome FROM stored_objects WHERE object_key = $1`, [key]);
      expect(row).toEqual({ sha256: sha256('sealed bytes'), last_outcome: 'ok' });
    });

    it('cannot be changed by the owner either', async () => {
      await expect(h.owner.query(`UPDATE stored_objects SET sha256 = $2 WHERE object_key = $1`, [`priv/${fileId}`, sha256('x')])).rejects.toThrow(
        /its object, size and SHA-256 cannot change/,
      );
    });
  });

  it('is required by the API in production: it refuses to start as the owner', async () => {
    const config = testConfig({ NODE_ENV: 'production', DATABASE_URL: h.config.DATABASE_OWNER_URL });
    await expect(createApi(config, { shutdownHooks: false })).rejects.toThrow(/DATABASE_URL must connect as a login role in dems_app/);
  });
});

describe('setting up the roles', () => {
  const admin = () => {
    const url = new URL(testConfig().DATABASE_OWNER_URL ?? testConfig().DATABASE_URL);
    url.pathname = '/postgres';
    return url.toString();
  };
  const asAdmin = async <T>(work: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: admin() });
    await c.connect();
    try {
      return await work(c);
    } finally {
      await c.end();
    }
  };

  it('`dems admin migrate` runs as the owner and makes DATABASE_URL a login role in dems_app, which then runs the service', async () => {
    const scratch = await createScratchDatabase();
    const login = `dems_priv_${randomBytes(4).toString('hex')}`;
    const appUrl = Object.assign(new URL(scratch.url), { username: login }).toString();
    try {
      const c = testConfig();
      const env = { NODE_ENV: 'test', DATABASE_URL: appUrl, DATABASE_OWNER_URL: scratch.ownerUrl, REDIS_URL: c.REDIS_URL, S3_ACCESS_KEY_ID: c.S3_ACCESS_KEY_ID,
        S3_SECRET_ACCESS_KEY: c.S3_SECRET_ACCESS_KEY, AUTH_JWT_SECRET: c.AUTH_JWT_SECRET, LEDGER_SIGNING_KEY: c.LEDGER_SIGNING_KEY };
      const first = await run('node', [CLI, 'admin', 'migrate'], cliOptions(env));
      expect(first.stdout).toMatch(/DATABASE_URL's role: created as a login role in dems_app/);
      const again = await run('node', [CLI, 'admin', 'migrate'], cliOptions(env));
      expect(again.stdout).toMatch(/nothing to apply\nDATABASE_URL's role: a login role in dems_app/);
      const app = new pg.Client({ connectionString: appUrl });
      await app.connect();
      try {
        const [row] = (await app.query(`SELECT pg_has_role(current_user, 'dems_app', 'MEMBER') AS member, (SELECT count(*)::int FROM users) AS users`)).rows;
        expect(row).toEqual({ member: true, users: 0 });
        await expect(app.query(`CREATE TABLE sneaky (x int)`)).rejects.toThrow(/permission denied/);
      } finally {
        await app.end();
      }
    } finally {
      await scratch.drop();
      await asAdmin((c) => c.query(`DROP ROLE IF EXISTS ${login}`));
    }
  });

  it('the app-role migration fails, instead of recording itself applied, when it cannot create dems_app', async () => {
    const scratch = await createScratchDatabase();
    const weak = `dems_priv_weak_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client({ connectionString: scratch.ownerUrl });
    await c.connect();
    try {
      // All in one transaction, rolled back: dems_app is hidden (renamed) from this transaction
      // only, and the migration runs as a role without CREATEROLE.
      await c.query(`BEGIN`);
      await c.query(`ALTER ROLE dems_app RENAME TO ${weak}_hidden`);
      await c.query(`CREATE ROLE ${weak} NOLOGIN`);
      await c.query(`SET LOCAL ROLE ${weak}`);
      const queryRunner = { query: (sql: string) => c.query(sql).then((r) => r.rows) };
      await expect(new AppRole1763900600000().up(queryRunner as never)).rejects.toThrow(/cannot create role dems_app: the migrating role lacks CREATEROLE/);
    } finally {
      await c.query(`ROLLBACK`).catch(() => undefined);
      await c.end();
      await scratch.drop();
    }
    expect(await asAdmin(async (a) => (await a.query(`SELECT 1 FROM pg_roles WHERE rolname = 'dems_app'`)).rowCount)).toBe(1);
  });
});
