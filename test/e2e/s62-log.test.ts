import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { LedgerService, verifyLedger } from '../../libs/custody/index.js';
import { generateSignerKey, verifierKeyFromSigner, verifyCaseLog } from '../../libs/ledger/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { CLI, cliOptions, createScratchDatabase, verifierEnv } from '../support/test-env.js';

const run = promisify(execFile);
const AUDIT = { 'x-justification-code': 'audit', 'x-justification-text': 'quarterly s.62 compliance audit' };

interface EventRow {
  seq: string;
  type: string;
  case_id: string | null;
  actor_id: string | null;
  outcome: string;
  justification_code: string | null;
  justification_text: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

/**
 * The s.62 log is complete (issue #10, item 5): refused attempts, every consultation with its
 * justification, auditors' own queries out of the audited officers' sight, reasons that say
 * something, text kept as sent, requests traceable by the service's own request id, and changes
 * with their old values. The ledger still verifies afterwards.
 */
describe('s.62 log completeness', () => {
  const h = new ApiHarness();
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let oic: TestUser;
  let outsider: TestUser;
  let sup: TestUser;
  let auditor: TestUser;
  let caseId: string;
  let exhibitId: string;

  const events = (where: string, params: unknown[]): Promise<EventRow[]> =>
    h.ds.query(`SELECT seq, type, case_id, actor_id, outcome, justification_code, justification_text, request_id, details FROM custody_events WHERE ${where} ORDER BY seq`, params);
  const lastSeq = async () => Number((await h.ds.query(`SELECT coalesce(max(seq), 0) AS n FROM custody_events`))[0].n);

  beforeAll(async () => {
    // A database and a signing key of its own, so the whole ledger, with the checkpoints published
    // under that key, can be verified at the end (other suites publish under the run's key).
    scratch = await createScratchDatabase();
    await h.start({ DATABASE_URL: scratch.url, LEDGER_SIGNING_KEY: generateSignerKey('s62.test.local/ledger') });
    oic = await h.user('oic', 'investigator');
    outsider = await h.user('outsider', 'investigator');
    sup = await h.user('sup', 'supervisor');
    auditor = await h.user('aud', 'auditor');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Robbery at the post office' } });
    expect(c.status).toBe(201);
    caseId = c.body.id as string;
    const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, {
      token: oic.token,
      body: { reference: 'PO/1', sourceType: 'cctv', description: 'Counter camera export', producer: 'P Olsen', declaredHashes: [{ algorithm: 'sha256', value: 'a'.repeat(64) }] },
    });
    expect(x.status).toBe(201);
    exhibitId = x.body.id as string;
  });
  afterAll(async () => {
    await h.stop();
    await scratch?.drop();
  });

  it('records a non-member refused with 404 on the case, and an unknown id on the global chain, answering both alike', async () => {
    const since = await lastSeq();
    const unknown = randomUUID();
    const real = await h.call('GET', `/api/v1/cases/${caseId}`, { token: outsider.token, headers: JUSTIFY });
    const none = await h.call('GET', `/api/v1/cases/${unknown}`, { token: outsider.token, headers: JUSTIFY });
    expect([real.status, none.status]).toEqual([404, 404]);
    expect(real.body).toEqual(none.body);

    const refused = await events(`seq > $1 AND actor_id = $2`, [since, outsider.id]);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({
      type: 'access.refused', case_id: caseId, outcome: 'denied', justification_code: 'investigation', justification_text: JUSTIFY['x-justification-text'],
      details: { code: 'CASE_NOT_FOUND', status: 404, method: 'GET', route: '/api/v1/cases/:caseId', params: { caseId } },
    });
    expect(refused[1]).toMatchObject({ type: 'access.refused', case_id: null, outcome: 'denied', details: { code: 'CASE_NOT_FOUND', params: { caseId: unknown } } });
  });

  it('records a 403 (a role the case does not allow, a supervisor without a reason) and a member without a justification', async () => {
    expect((await h.call('PUT', `/api/v1/cases/${caseId}/members/${sup.id}`, { token: oic.token, body: { caseRole: 'reviewer' } })).status).toBe(200);
    const since = await lastSeq();
    const patch = await h.call('PATCH', `/api/v1/cases/${caseId}`, { token: sup.token, body: { title: 'Renamed by a reviewer' } });
    expect([patch.status, patch.body.code]).toEqual([403, 'CASE_PERMISSION_DENIED']);
    const bare = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibitId}`, { token: oic.token });
    expect([bare.status, bare.body.code]).toEqual([400, 'JUSTIFICATION_REQUIRED']);
    const other = await h.user('sup2', 'supervisor');
    const noReason = await h.call('GET', `/api/v1/cases/${caseId}`, { token: other.token });
    expect([noReason.status, noReason.body.code]).toEqual([403, 'ACCESS_REASON_REQUIRED']);

    const got = await events(`seq > $1 AND type = 'access.refused'`, [since]);
    expect(got.map((e) => [e.actor_id, e.case_id, e.details.code, e.details.method])).toEqual([
      [sup.id, caseId, 'CASE_PERMISSION_DENIED', 'PATCH'],
      [oic.id, caseId, 'JUSTIFICATION_REQUIRED', 'GET'],
      [other.id, caseId, 'ACCESS_REASON_REQUIRED', 'GET'],
    ]);
    expect(got[1].details).toMatchObject({ params: { caseId, exhibitId } });
  });

  it('needs and records a justification to read the case log, its export and the members', async () => {
    for (const path of ['events', 'events/export', 'members']) {
      const bare = await h.call('GET', `/api/v1/cases/${caseId}/${path}`, { token: oic.token });
      expect([path, bare.status, bare.body.code]).toEqual([path, 400, 'JUSTIFICATION_REQUIRED']);
    }
    const since = await lastSeq();
    const members = await h.call('GET', `/api/v1/cases/${caseId}/members`, { token: oic.token, headers: JUSTIFY });
    expect(members.status).toBe(200);
    expect((await h.call('GET', `/api/v1/cases/${caseId}/events`, { token: oic.token, headers: JUSTIFY })).status).toBe(200);
    const got = await events(`seq > $1 AND case_id = $2`, [since, caseId]);
    expect(got.map((e) => [e.type, e.actor_id, e.justification_code, e.justification_text])).toEqual([
      ['case.members_consulted', oic.id, 'investigation', JUSTIFY['x-justification-text']],
      ['case.events_consulted', oic.id, 'investigation', JUSTIFY['x-justification-text']],
    ]);
    expect(got[0].details).toMatchObject({ returned: (members.body as unknown as unknown[]).length });
  });

  it('refuses empty, too short and stock reasons with JUSTIFICATION_TOO_VAGUE, and records the attempt with what was sent', async () => {
    const since = await lastSeq();
    for (const text of ['.....', 'N/A', 'investigation', 'checking', 'test test test']) {
      const res = await h.call('GET', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, headers: { 'x-justification-code': 'investigation', 'x-justification-text': text } });
      expect([text, res.status, res.body.code]).toEqual([text, 400, 'JUSTIFICATION_TOO_VAGUE']);
      expect(res.body.message).toMatch(/X-Justification-Text/);
    }
    const got = await events(`seq > $1 AND type = 'access.refused'`, [since]);
    expect(got.map((e) => [e.case_id, e.justification_code, (e.details.givenJustification as { text: string }).text])).toEqual(
      ['.....', 'N/A', 'investigation', 'checking', 'test test test'].map((t) => [caseId, null, t]),
    );
  });

  it('keeps a non-ASCII reason exactly as written (UTF-8 in the header)', async () => {
    const text = 'Überprüfung der Aufnahmen für Zeuge Ó Súilleabháin – Akte 42';
    // Header values travel as bytes; fetch sends each character of this string as one byte: the UTF-8 encoding.
    const res = await h.call('GET', `/api/v1/cases/${caseId}/exhibits`, {
      token: oic.token,
      headers: { 'x-justification-code': 'investigation', 'x-justification-text': Buffer.from(text, 'utf8').toString('latin1') },
    });
    expect(res.status).toBe(200);
    const [row] = await h.ds.query(`SELECT justification_text FROM custody_events WHERE request_id = $1`, [res.headers.get('x-request-id')]);
    expect(row.justification_text).toBe(text);
  });

  it("traces a response to its log entry by the service's own request id, keeping the caller's id beside it", async () => {
    const headers = { ...JUSTIFY, 'x-request-id': 'client-trace-1' };
    const first = await h.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token, headers });
    const second = await h.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token, headers });
    const ids = [first.headers.get('x-request-id'), second.headers.get('x-request-id')];
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).not.toBe(ids[0]);
    const found = await h.call('GET', `/api/v1/audit/events?requestId=${ids[0]}`, { token: auditor.token, headers: AUDIT });
    expect(found.status).toBe(200);
    const items = found.body.items as { type: string; requestId: string; userId: string; details: Record<string, unknown> }[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'case.consulted', requestId: ids[0], userId: oic.id, details: { clientRequestId: 'client-trace-1' } });
  });

  it('records an exhibit change with the old and new value of every changed field', async () => {
    const res = await h.call('PATCH', `/api/v1/cases/${caseId}/exhibits/${exhibitId}`, {
      token: oic.token,
      body: { classification: 'OFFICIAL-SENSITIVE', declaredHashes: [{ algorithm: 'sha256', value: 'B'.repeat(64) }], description: 'Counter camera export, channel 2' },
    });
    expect(res.status).toBe(200);
    const [updated] = await events(`type = 'exhibit.updated' AND request_id = $1`, [res.headers.get('x-request-id')]);
    expect(updated.details.changed).toEqual({
      classification: { from: 'OFFICIAL', to: 'OFFICIAL-SENSITIVE' },
      declared_hashes: { from: [{ algorithm: 'sha256', value: 'a'.repeat(64) }], to: [{ algorithm: 'sha256', value: 'b'.repeat(64) }] },
      description: { from: 'Counter camera export', to: 'Counter camera export, channel 2' },
    });
  });

  it("needs an auditor's justification, records the query on the global chain only, and lets auditors find every refused attempt", async () => {
    const bare = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}`, { token: auditor.token });
    expect([bare.status, bare.body.code]).toEqual([400, 'JUSTIFICATION_REQUIRED']);
    const vague = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}`, { token: auditor.token, headers: { 'x-justification-code': 'audit', 'x-justification-text': 'audit' } });
    expect([vague.status, vague.body.code]).toEqual([400, 'JUSTIFICATION_TOO_VAGUE']);

    const denied = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}&outcome=denied`, { token: auditor.token, headers: AUDIT });
    expect(denied.status).toBe(200);
    const items = denied.body.items as { type: string; userId: string; outcome: string; details: { code: string } }[];
    expect(items.length).toBeGreaterThanOrEqual(9);
    expect(items.every((i) => i.outcome === 'denied')).toBe(true);
    expect(new Set(items.map((i) => i.details.code))).toEqual(new Set(['CASE_NOT_FOUND', 'CASE_PERMISSION_DENIED', 'JUSTIFICATION_REQUIRED', 'ACCESS_REASON_REQUIRED', 'JUSTIFICATION_TOO_VAGUE']));
    const csv = await h.call('GET', `/api/v1/audit/events?userId=${outsider.id}&format=csv`, { token: auditor.token, headers: AUDIT });
    expect(csv.text.split('\r\n').filter((l) => l.includes('access.refused'))).toHaveLength(2);

    const queries = await events(`type = 'access_log.queried' AND actor_id = $1`, [auditor.id]);
    expect(queries.length).toBeGreaterThanOrEqual(3);
    expect(queries.every((q) => q.case_id === null && q.justification_code === 'audit' && q.justification_text === AUDIT['x-justification-text'])).toBe(true);
    const caseLog = (await h.call('GET', `/api/v1/cases/${caseId}/events`, { token: oic.token, headers: JUSTIFY })).body as unknown as { event: { type: string } }[];
    expect(caseLog.filter((e) => e.event.type === 'access_log.queried')).toEqual([]);
    // The officer being audited cannot query the log either (a refusal, itself recorded).
    const self = await h.call('GET', `/api/v1/audit/events?userId=${oic.id}`, { token: oic.token, headers: JUSTIFY });
    expect([self.status, self.body.code]).toEqual([403, 'ROLE_NOT_ALLOWED']);
    const mine = await events(`actor_id = $1 AND type = 'access.refused'`, [oic.id]);
    expect(mine[mine.length - 1]).toMatchObject({ case_id: null, details: { code: 'ROLE_NOT_ALLOWED', route: '/api/v1/audit/events' } });
  });

  it('exports the case log against the latest scheduled checkpoint, signing none for the reader', async () => {
    const early = await h.call('GET', `/api/v1/cases/${caseId}/events/export`, { token: oic.token, headers: JUSTIFY });
    expect([early.status, early.body.code]).toEqual([409, 'CHECKPOINT_PENDING']);
    const cp = (await h.app.get(LedgerService).publishCheckpoint())!;
    expect((await h.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token, headers: JUSTIFY })).status).toBe(200);
    const signed = async () => Number((await h.ds.query(`SELECT count(*) AS n FROM ledger_checkpoints`))[0].n);
    const before = await signed();
    const res = await h.call('GET', `/api/v1/cases/${caseId}/events/export`, { token: oic.token, headers: JUSTIFY });
    expect(res.status).toBe(200);
    expect(await signed()).toBe(before);
    const body = res.body as unknown as { header: Record<string, unknown>; events: { event: { leafIndex: number } }[]; pendingEvents: number };
    expect(body.pendingEvents).toBe(1);
    expect(body.events.every((e) => e.event.leafIndex < cp.treeSize)).toBe(true);
    const check = verifyCaseLog([body.header, ...body.events].map((l) => JSON.stringify(l)).join('\n') + '\n', verifierKeyFromSigner(h.config.LEDGER_SIGNING_KEY));
    expect(check).toMatchObject({ ok: true, treeSize: cp.treeSize });
  });

  it('leaves a ledger that verifies, in the library and with dems verify ledger (public key only)', async () => {
    const key = verifierKeyFromSigner(h.config.LEDGER_SIGNING_KEY);
    const result = await verifyLedger(h.ds, key);
    expect(result.problem).toBeUndefined();
    expect(result.ok).toBe(true);
    const cp = await h.call('POST', '/api/v1/ledger/checkpoints', { token: auditor.token });
    expect(cp.status).toBe(201);
    const { stdout } = await run('node', [CLI, 'verify', 'ledger', '--key', key, '--json'], cliOptions(verifierEnv(h.config)));
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, events: result.events });
  });
});
