import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, type ExecFileException } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';
import { CLI, cliOptions } from '../support/test-env.js';

const execFileAsync = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would; stdin gets `input` (or is closed at once). */
async function dems(args: string[], env: Record<string, string | undefined>, input = ''): Promise<Run> {
  const pending = execFileAsync('node', [CLI, ...args], cliOptions(env));
  pending.child.stdin!.end(input);
  try {
    const { stdout, stderr } = await pending;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as ExecFileException & { stdout: string; stderr: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('dems CLI: login, cases and exhibits against the real API', () => {
  const h = new ApiHarness();
  let user: TestUser;
  let root: string;
  let configDir: string;
  let env: Record<string, string>;
  const urn = freshUrn();
  let caseId: string;

  beforeAll(async () => {
    await h.start();
    user = await h.user('cli', 'investigator');
    root = await mkdtemp(join(tmpdir(), 'dems-cli-'));
    // Not created yet: login has to make it (owner-only).
    configDir = join(root, 'config', 'dems');
    env = { DEMS_API_URL: h.base, DEMS_CONFIG_DIR: configDir };
  });

  afterAll(async () => {
    await h.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('signs in with --password-stdin and saves an owner-only personal API token', async () => {
    const r = await dems(['login', '--username', user.username, '--password-stdin'], env, `${user.password}\n`);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain(`Signed in to ${h.base} as ${user.username}`);
    expect(r.stdout).not.toContain(user.password);

    const file = join(configDir, 'credentials.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(configDir)).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { apiUrl: string; token: string; tokenId: string; username: string };
    expect(saved).toMatchObject({ apiUrl: h.base, username: user.username });
    expect(saved.token).toMatch(/^dems_pat_/);

    const [token] = await h.ds.query(
      `SELECT user_id, name, revoked_at, expires_at > now() + interval '89 days' AND expires_at < now() + interval '91 days' AS ninety_days
         FROM api_tokens WHERE id = $1`,
      [saved.tokenId],
    );
    expect(token).toMatchObject({ user_id: user.id, revoked_at: null, ninety_days: true });
    expect(token.name).toMatch(/^dems CLI on /);
    // The token works on its own: it is what every later command uses.
    expect((await h.call('GET', '/api/v1/me', { token: saved.token })).body).toMatchObject({ id: user.id });
  });

  it('refuses a wrong password with the API code and leaves the saved sign-in alone', async () => {
    const before = await readFile(join(configDir, 'credentials.json'), 'utf8');
    const r = await dems(['login', '--username', user.username, '--password-stdin'], env, 'not-the-password\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dems: INVALID_CREDENTIALS: /);
    expect(await readFile(join(configDir, 'credentials.json'), 'utf8')).toBe(before);
  });

  it('opens a case and lists it (cases create, cases list --json)', async () => {
    const created = await dems(['cases', 'create', '--urn', urn, '--title', 'Burglary at the CLI depot', '--operation', 'Op Lantern', '--json'], env);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const view = JSON.parse(created.stdout) as { id: string; urnDisplay: string; title: string; access: { caseRole: string } };
    expect(view).toMatchObject({ urnDisplay: urn, title: 'Burglary at the CLI depot', access: { caseRole: 'officer_in_case' } });
    caseId = view.id;
    const [row] = await h.ds.query(`SELECT created_by, operation_name FROM cases WHERE id = $1`, [caseId]);
    expect(row).toEqual({ created_by: user.id, operation_name: 'Op Lantern' });

    const listed = await dems(['cases', 'list', '--json'], env);
    expect(listed.code).toBe(0);
    const page = JSON.parse(listed.stdout) as { items: { id: string; urnDisplay: string }[]; total: number; nextCursor: string | null };
    expect(page.items).toEqual(expect.arrayContaining([expect.objectContaining({ id: caseId, urnDisplay: urn })]));
    expect(page.total).toBe(1);

    const table = await dems(['cases', 'list', '--urn', urn, '--all'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(urn);
    expect(table.stdout).toContain('officer_in_case');
  });

  it('shows a case named by its URN with slashes (cases show)', async () => {
    const json = await dems(['cases', 'show', urn, '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: caseId, urnDisplay: urn, counts: { exhibits: 0 } });

    const table = await dems(['cases', 'show', urn, '--reason-code', 'case_review', '--reason', 'weekly case review'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('Burglary at the CLI depot');
    expect(table.stdout).toContain(caseId);
    const [event] = await h.ds.query(
      `SELECT justification_code, justification_text FROM custody_events WHERE case_id = $1 AND type = 'case.consulted' ORDER BY seq DESC LIMIT 1`,
      [caseId],
    );
    expect(event).toEqual({ justification_code: 'case_review', justification_text: 'weekly case review' });
  });

  it('declares an exhibit and lists it with a justification (exhibits create, exhibits list)', async () => {
    const created = await dems(
      ['exhibits', 'create', '--case', urn, '--ref', 'JS/1', '--type', 'cctv', '--description', 'CCTV from the depot yard, camera 3',
        '--producer', 'PC J Smith', '--seized-at', '2026-01-02T10:00:00Z', '--seized-by', 'PC J Smith', '--seized-from', 'Depot manager', '--json'],
      env,
    );
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ caseId, reference: 'JS/1', sourceType: 'cctv', producer: 'PC J Smith' });
    const rows = await h.ds.query(`SELECT reference, source_type, seized_from, seized_at FROM exhibits WHERE case_id = $1`, [caseId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ reference: 'JS/1', source_type: 'cctv', seized_from: 'Depot manager' });
    expect(new Date(rows[0].seized_at).toISOString()).toBe('2026-01-02T10:00:00.000Z');

    const listed = await dems(['exhibits', 'list', '--case', urn, '--reason-code', 'investigation', '--reason', 'checking the file'], env);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const line = listed.stdout.split('\n').find((l) => l.includes('JS/1'));
    expect(line).toBeDefined();
    expect(line).toContain('cctv');
    expect(line).toContain('OFFICIAL');
    const [event] = await h.ds.query(
      `SELECT actor_id, justification_code, justification_text FROM custody_events WHERE case_id = $1 AND type = 'exhibit.list_consulted' ORDER BY seq DESC LIMIT 1`,
      [caseId],
    );
    expect(event).toEqual({ actor_id: user.id, justification_code: 'investigation', justification_text: 'checking the file' });
  });

  it('sends a reason in any script as written, and passes on the API refusing a stock one', async () => {
    const reason = 'Überprüfung für Ó Súilleabháin – Akte 42';
    const listed = await dems(['exhibits', 'list', '--case', urn, '--reason-code', 'investigation', '--reason', reason], env);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const [event] = await h.ds.query(`SELECT justification_text FROM custody_events WHERE actor_id = $1 AND type = 'exhibit.list_consulted' ORDER BY seq DESC LIMIT 1`, [user.id]);
    expect(event.justification_text).toBe(reason);
    const vague = await dems(['exhibits', 'list', '--case', urn, '--reason-code', 'investigation', '--reason', 'N/A'], env);
    expect(vague.code).toBe(1);
    expect(vague.stderr).toMatch(/^dems: JUSTIFICATION_TOO_VAGUE: /);
  });

  it('fails with JUSTIFICATION_REQUIRED when exhibits are listed without a reason', async () => {
    const r = await dems(['exhibits', 'list', '--case', urn], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^dems: JUSTIFICATION_REQUIRED: /);
  });

  it('fails with INVALID_URN for a malformed URN and opens nothing', async () => {
    const r = await dems(['cases', 'create', '--urn', '01/TT/12', '--title', 'Never opened'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dems: INVALID_URN: /);
    const [{ n }] = await h.ds.query(`SELECT count(*)::int AS n FROM cases WHERE created_by = $1 AND title = 'Never opened'`, [user.id]);
    expect(n).toBe(0);
  });

  it('fails with NOT_SIGNED_IN without credentials, and accepts DEMS_TOKEN instead of a saved sign-in', async () => {
    const empty = await mkdtemp(join(root, 'empty-'));
    const r = await dems(['cases', 'list'], { DEMS_API_URL: h.base, DEMS_CONFIG_DIR: empty });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dems: NOT_SIGNED_IN: .*dems login/);

    const { token } = JSON.parse(await readFile(join(configDir, 'credentials.json'), 'utf8')) as { token: string };
    const withEnv = await dems(['cases', 'list', '--json'], { DEMS_API_URL: h.base, DEMS_CONFIG_DIR: empty, DEMS_TOKEN: token });
    expect(withEnv.code).toBe(0);
    expect((JSON.parse(withEnv.stdout) as { items: { id: string }[] }).items.map((c) => c.id)).toContain(caseId);
  });

  it('signs out: revokes the token and deletes the credentials file', async () => {
    const file = join(configDir, 'credentials.json');
    const { tokenId } = JSON.parse(await readFile(file, 'utf8')) as { tokenId: string };
    const r = await dems(['logout'], env);
    expect(r.code).toBe(0);
    expect(existsSync(file)).toBe(false);
    const [row] = await h.ds.query(`SELECT revoked_at FROM api_tokens WHERE id = $1`, [tokenId]);
    expect(row.revoked_at).not.toBeNull();

    const after = await dems(['cases', 'list'], env);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('NOT_SIGNED_IN');
  });
});
