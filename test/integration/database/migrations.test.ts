import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createApi } from '../../../apps/api/bootstrap.js';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { assertSchemaCurrent, createDataSource, pendingMigrations, runMigrations } from '../../../libs/database/index.js';
import { IdentityService } from '../../../libs/identity/index.js';
import { PasswordHasher } from '../../../libs/identity/password-hasher.js';
import { verifyLedger } from '../../../libs/custody/index.js';
import { MIGRATIONS } from '../../../libs/database/schema.js';
import { chainHash, encodeLedgerEvent, GENESIS_HASH, leafHash, verifierKeyFromSigner, type LedgerEvent } from '../../../libs/ledger/index.js';
import { CLI, cliOptions, createScratchDatabase, testConfig } from '../../support/test-env.js';

const run = promisify(execFile);

describe('migrations on a fresh PostgreSQL database', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let ds: DataSource;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    ds = createDataSource({ DATABASE_URL: scratch.ownerUrl, DATABASE_POOL_SIZE: 2 });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await scratch?.drop();
  });

  it('lists every migration as pending, and the API and worker refuse to start', async () => {
    const pending = await pendingMigrations(ds);
    expect(pending).toEqual(ds.migrations.map((m) => m.name));
    await expect(assertSchemaCurrent(ds)).rejects.toMatchObject({ code: 'PENDING_MIGRATIONS' });

    const config = testConfig({ DATABASE_URL: scratch.url });
    await expect(createApi(config, { shutdownHooks: false })).rejects.toThrow(/pending migration.*npm run migrate/);
    await expect(startWorker(config, { shutdownHooks: false })).rejects.toThrow(/pending migration/);
  });

  it('`dems admin migrate --check` exits 1 and names what is pending', async () => {
    const err = (await run('node', [CLI, 'admin', 'migrate', '--check'], cliOptions({ ...testConfig(), DATABASE_URL: scratch.url, DATABASE_OWNER_URL: scratch.ownerUrl })).catch((e) => e)) as { code: number; stdout: string };
    expect(err.code).toBe(1);
    expect(err.stdout).toMatch(/^pending: CreateUsers/);
  });

  it('applies them all, after which nothing is pending and the schema exists', async () => {
    const applied = await runMigrations(ds);
    expect(applied.length).toBe(ds.migrations.length);
    expect(await pendingMigrations(ds)).toEqual([]);
    await assertSchemaCurrent(ds);
    const cols = await ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1`);
    expect(cols.map((c: { column_name: string }) => c.column_name)).toEqual(
      expect.arrayContaining(['id', 'username', 'password_hash', 'role']),
    );
    expect(await runMigrations(ds)).toEqual([]);
  });

  it('creates the demo administrator once, with an argon2id hash and a one-time generated password', async () => {
    const identity = new IdentityService(ds);
    const first = await identity.ensureAdmin('admin');
    expect(first.created).toBe(true);
    expect(first.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const [row] = await ds.query(`SELECT password_hash, role FROM users WHERE username = 'admin'`);
    expect(row.role).toBe('administrator');
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(first.generatedPassword);

    const hasher = new PasswordHasher();
    expect(await hasher.verify(row.password_hash, first.generatedPassword!)).toBe(true);
    expect(await hasher.verify(row.password_hash, 'wrong password')).toBe(false);

    const second = await identity.ensureAdmin('admin', 'another-password-123');
    expect(second).toMatchObject({ created: false });
    expect(second.generatedPassword).toBeUndefined();
    const [after] = await ds.query(`SELECT password_hash FROM users WHERE username = 'admin'`);
    expect(after.password_hash).toBe(row.password_hash);
  });

  it('refuses a malformed username at the database level', async () => {
    await expect(ds.query(`INSERT INTO users (username, display_name, role) VALUES ('Bad Name', 'x', 'investigator')`)).rejects.toThrow(
      /users_username_format/,
    );
  });
});


describe('the ledger migration on a database that already has custody events', () => {
  it('chains and logs them in their original order, and the ledger then verifies', async () => {
    const scratch = await createScratchDatabase();
    const before = createDataSource({ DATABASE_URL: scratch.ownerUrl, DATABASE_POOL_SIZE: 2 });
    // Only the migrations from before the ledger existed.
    (before.options as { migrations: unknown[] }).migrations = MIGRATIONS.slice(0, MIGRATIONS.findIndex((m) => m.name.startsWith('CustodyLedger')));
    await before.initialize();
    try {
      await runMigrations(before);
      const [user] = await before.query(`INSERT INTO users (username, display_name, role) VALUES ('old-user', 'Old', 'investigator') RETURNING id`);
      const [kase] = await before.query(`INSERT INTO cases (urn, title, created_by) VALUES ('01AB1234523', 'Old case', $1) RETURNING id`, [user.id]);
      for (const type of ['case.created', 'case.consulted', 'case.updated']) {
        await before.query(`INSERT INTO custody_events (type, s62_operation, case_id, actor_id, actor_role, outcome, details) VALUES ($1, 'collection', $2, $3, 'investigator', 'success', '{"old": true}')`, [type, kase.id, user.id]);
      }
      await before.query(`INSERT INTO custody_events (type, s62_operation, outcome) VALUES ('access_log.queried', 'consultation', 'success')`);
    } finally {
      await before.destroy();
    }
    const ds = createDataSource({ DATABASE_URL: scratch.ownerUrl, DATABASE_POOL_SIZE: 2 });
    await ds.initialize();
    try {
      await runMigrations(ds);
      const rows = await ds.query(`SELECT seq, leaf_index, type FROM custody_events ORDER BY seq`);
      expect(rows.map((r: { leaf_index: string }) => Number(r.leaf_index))).toEqual([0, 1, 2, 3]);
      const result = await verifyLedger(ds, verifierKeyFromSigner(testConfig().LEDGER_SIGNING_KEY));
      expect(result).toMatchObject({ ok: true, events: 4 });
      await expect(ds.query(`UPDATE custody_events SET type = 'x'`)).rejects.toThrow(/append-only/);
    } finally {
      await ds.destroy();
      await scratch.drop();
    }
  });
});

describe('the migration that stores each event\'s hashed bytes', () => {
  it('recovers the exact bytes of an event hashed with an upper-case id (the old bug), and the ledger then verifies', async () => {
    const scratch = await createScratchDatabase();
    const before = createDataSource({ DATABASE_URL: scratch.ownerUrl, DATABASE_POOL_SIZE: 2 });
    (before.options as { migrations: unknown[] }).migrations = MIGRATIONS.slice(0, MIGRATIONS.findIndex((m) => m.name.startsWith('LedgerEventBytes')));
    await before.initialize();
    let caseId = '';
    try {
      await runMigrations(before);
      await before.transaction(async (tx) => {
        await tx.query(`SELECT set_config('dems.custody_event_recorded', 'on', true)`);
        const [user] = await tx.query(`INSERT INTO users (username, display_name, role) VALUES ('old-user', 'Old', 'investigator') RETURNING id`);
        const [kase] = await tx.query(`INSERT INTO cases (urn, title, created_by) VALUES ('01AB1234523', 'Old case', $1) RETURNING id`, [user.id]);
        caseId = kase.id;
        // What the old code recorded for GET /cases/<ID IN UPPER CASE>: the hash covers the upper-case spelling.
        const event: LedgerEvent = {
          v: 1, id: randomUUID(), leafIndex: 0, chain: `case:${caseId.toUpperCase()}`, prevHash: GENESIS_HASH.toString('hex'),
          occurredAt: new Date('2026-11-01T10:00:00.000Z').toISOString(), type: 'case.consulted', operation: 'consultation', caseId: caseId.toUpperCase(),
          actor: { id: user.id, role: 'supervisor' }, object: { type: 'case', id: caseId.toUpperCase(), version: null, sha256: null },
          justification: { code: 'supervision', text: 'weekly review' }, recipient: null, outcome: 'success', clientAddress: '127.0.0.1', requestId: null, details: {},
        };
        const bytes = encodeLedgerEvent(event);
        await tx.query(
          `INSERT INTO custody_events (id, occurred_at, type, s62_operation, case_id, actor_id, actor_role, object_type, object_id, justification_code, justification_text,
             outcome, client_address, details, prev_hash, hash, leaf_index)
           VALUES ($1, $2, 'case.consulted', 'consultation', $3, $4, 'supervisor', 'case', $5, 'supervision', 'weekly review', 'success', '127.0.0.1', '{}', $6, $7, 0)`,
          [event.id, event.occurredAt, caseId.toUpperCase(), user.id, caseId.toUpperCase(), GENESIS_HASH, chainHash(GENESIS_HASH, bytes)],
        );
        await tx.query(`INSERT INTO ledger_nodes (level, idx, hash) VALUES (0, 0, $1)`, [leafHash(bytes)]);
      });
    } finally {
      await before.destroy();
    }
    const ds = createDataSource({ DATABASE_URL: scratch.ownerUrl, DATABASE_POOL_SIZE: 2 });
    await ds.initialize();
    try {
      await runMigrations(ds);
      const [row] = await ds.query(`SELECT case_id, canonical FROM custody_events WHERE leaf_index = 0`);
      expect(row.case_id).toBe(caseId);
      expect(JSON.parse(row.canonical.toString('utf8'))).toMatchObject({ caseId: caseId.toUpperCase(), chain: `case:${caseId.toUpperCase()}` });
      const result = await verifyLedger(ds, verifierKeyFromSigner(testConfig().LEDGER_SIGNING_KEY));
      expect(result).toMatchObject({ ok: true, events: 1 });
      // The stored bytes are guarded like every other column.
      await expect(ds.query(`UPDATE custody_events SET canonical = '\\x00'`)).rejects.toThrow(/append-only/);
    } finally {
      await ds.destroy();
      await scratch.drop();
    }
  });
});

describe('the dems_app role the service runs as', () => {
  it('reads and writes ordinary tables but can only append to the custody log, and cannot disable its guards', async () => {
    const scratch = await createScratchDatabase();
    const owner = createDataSource({ DATABASE_URL: scratch.ownerUrl, DATABASE_POOL_SIZE: 2 });
    await owner.initialize();
    const login = `dems_app_test_${Date.now().toString(36)}`;
    let app: pg.Client | undefined;
    try {
      await runMigrations(owner);
      await owner.query(`CREATE ROLE ${login} LOGIN IN ROLE dems_app`);
      const url = new URL(scratch.url);
      url.username = login;
      app = new pg.Client({ connectionString: url.toString() });
      await app.connect();
      await app.query(`INSERT INTO users (username, display_name, role) VALUES ('app-made', 'x', 'investigator')`);
      await app.query(`UPDATE users SET display_name = 'y' WHERE username = 'app-made'`);
      await app.query(`INSERT INTO custody_events (type, s62_operation, outcome, prev_hash, hash, leaf_index, canonical) VALUES ('t', 'consultation', 'success', '\\x00', '\\x00', 0, '\\x00')`);
      await expect(app.query(`UPDATE custody_events SET type = 'x'`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`DELETE FROM ledger_nodes`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`ALTER TABLE custody_events DISABLE TRIGGER USER`)).rejects.toThrow(/must be owner/);
      await expect(app.query(`INSERT INTO schema_migrations (timestamp, name) VALUES (1, 'x')`)).rejects.toThrow(/permission denied/);
    } finally {
      await app?.end();
      await owner.destroy();
      await scratch.drop();
      const admin = new URL(scratch.ownerUrl);
      admin.pathname = '/postgres';
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      await c.query(`DROP ROLE IF EXISTS ${login}`);
      await c.end();
    }
  });
});
