import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';

const MAIN_URN = freshUrn();
const AUDIT = { 'x-justification-code': 'audit', 'x-justification-text': 'quarterly s.62 compliance audit' };

describe('cases, exhibits, sign-in and the s.62 log (real PostgreSQL)', () => {
  const h = new ApiHarness();
  let oic: TestUser;
  let sup: TestUser;
  let auditor: TestUser;
  let caseId: string;

  beforeAll(async () => {
    await h.start({ AUTH_LOGIN_MAX_FAILURES: 3, AUTH_LOGIN_LOCK_SECONDS: 60 });
    oic = await h.user('oic', 'investigator');
    sup = await h.user('sup', 'supervisor');
    auditor = await h.user('audit', 'auditor');
    const c = await h.call('POST', '/api/v1/cases', {
      token: oic.token,
      body: { urn: MAIN_URN.replace(/\//g, ' ').toLowerCase(), title: 'Burglary at 1 High St', operationName: 'Op Kestrel', offenceSummary: 'Night-time burglary', retentionGroup: 2 },
    });
    expect(c.status).toBe(201);
    caseId = c.body.id as string;
  });
  afterAll(() => h.stop());

  describe('bad input: a 4xx with a stable code, and nothing half-written', () => {
    it.each([
      [{ urn: '01/AB/123/23', title: 'x' }, 400, 'INVALID_URN'],
      [{ urn: freshUrn(), title: 'x', classification: 'SECRET' }, 400, 'VALIDATION_FAILED'],
      [{ urn: freshUrn(), title: 'x'.repeat(201) }, 400, 'VALIDATION_FAILED'],
      [{ urn: freshUrn(), title: 'x', unexpected: true }, 400, 'VALIDATION_FAILED'],
      [{ urn: MAIN_URN.replace(/\//g, ''), title: 'duplicate' }, 409, 'URN_UNAVAILABLE'],
    ])('POST /cases %j -> %i %s', async (body, status, code) => {
      const before = (await h.ds.query(`SELECT count(*)::int AS n FROM cases`))[0].n;
      const res = await h.call('POST', '/api/v1/cases', { token: oic.token, body });
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      expect((await h.ds.query(`SELECT count(*)::int AS n FROM cases`))[0].n).toBe(before);
    });

    it('explains why SECRET is refused', async () => {
      const res = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'x', classification: 'SECRET' } });
      expect(res.body.message).toMatch(/classification: must be OFFICIAL or OFFICIAL-SENSITIVE/);
    });

    it('refuses a duplicate exhibit reference, an unknown source type and an orphan sub-exhibit', async () => {
      const ok = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, {
        token: oic.token,
        body: {
          reference: 'js/1',
          sourceType: 'cctv',
          description: 'DVR export, channel 3',
          producer: 'J Smith',
          retrieval: { system: 'Hikvision DS-7608', channel: '3', clockOffsetSeconds: -93, timeZone: 'Europe/London', retrievedAt: '2026-11-20T10:15:00Z' },
          declaredHashes: [{ algorithm: 'sha256', value: 'A'.repeat(64) }],
        },
      });
      expect(ok.status).toBe(201);
      expect(ok.body).toMatchObject({ reference: 'JS/1', alias: 'JS_1', declaredHashes: [{ algorithm: 'sha256', value: 'a'.repeat(64) }] });
      const dup = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/1', sourceType: 'cctv', description: 'again', producer: 'J Smith' } });
      expect([dup.status, dup.body.code]).toEqual([409, 'EXHIBIT_REFERENCE_TAKEN']);
      const src = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/2', sourceType: 'vhs', description: 'tape', producer: 'J Smith' } });
      expect([src.status, src.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(src.body.message).toMatch(/sourceType: must be one of cctv/);
      const orphan = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/9/1', sourceType: 'image', description: 'still', producer: 'J Smith' } });
      expect([orphan.status, orphan.body.code]).toEqual([400, 'PARENT_EXHIBIT_NOT_FOUND']);
      const sub = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/1/1', sourceType: 'image', description: 'still from JS/1', producer: 'J Smith' } });
      expect(sub.status).toBe(201);
      expect(sub.body.parentId).toBe(ok.body.id);
      const tz = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/3', sourceType: 'cctv', description: 'x', producer: 'J', retrieval: { timeZone: 'Mars/Olympus' } } });
      expect(tz.body.message).toMatch(/retrieval.timeZone: must be an IANA time zone/);
    });

    it('refuses consulting exhibits without a justification, and a malformed one', async () => {
      const none = await h.call('GET', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token });
      expect([none.status, none.body.code]).toEqual([400, 'JUSTIFICATION_REQUIRED']);
      const bad = await h.call('GET', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, headers: { 'x-justification-code': 'curiosity', 'x-justification-text': 'just looking' } });
      expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_JUSTIFICATION']);
    });

    it('refuses forged, malformed and missing tokens', async () => {
      const parts = oic.token.split('.');
      const forged = `${parts[0]}.${Buffer.from(JSON.stringify({ sub: sup.id, role: 'administrator', username: 'x' })).toString('base64url')}.${parts[2]}`;
      for (const [token, code] of [[forged, 'TOKEN_INVALID'], ['garbage', 'TOKEN_INVALID'], [undefined, 'UNAUTHENTICATED'], ['dems_pat_unknown', 'TOKEN_INVALID']] as const) {
        const res = await h.call('GET', '/api/v1/me', { token });
        expect([res.status, res.body.code]).toEqual([401, code]);
      }
    });
  });

  describe('sign-in', () => {
    it('refuses an expired access token', async () => {
      const short = new ApiHarness();
      await short.start({ AUTH_ACCESS_TOKEN_TTL_SECONDS: 60 });
      try {
        const { SignJWT } = await import('jose');
        const expired = await new SignJWT({ sid: '00000000-0000-4000-8000-000000000000' })
          .setProtectedHeader({ alg: 'HS256' }).setSubject(oic.id).setIssuer('dems').setAudience('dems-api')
          .setIssuedAt(Math.floor(Date.now() / 1000) - 7200).setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
          .sign(new TextEncoder().encode(short.config.AUTH_JWT_SECRET));
        const res = await short.call('GET', '/api/v1/me', { token: expired });
        expect([res.status, res.body.code]).toEqual([401, 'TOKEN_EXPIRED']);
      } finally {
        await short.stop();
      }
    });

    it('rotates refresh tokens and ends every session when one is reused', async () => {
      // A user of its own: reuse ends every session of the user, the harness's too.
      const rotator = await h.user('rotator', 'investigator');
      const login = await h.call('POST', '/api/v1/auth/login', { body: { username: rotator.username, password: rotator.password } });
      const r1 = login.body.refreshToken as string;
      const second = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: r1 } });
      expect(second.status).toBe(200);
      const r2 = second.body.refreshToken as string;
      expect(r2).not.toBe(r1);
      const replay = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: r1 } });
      expect([replay.status, replay.body.code]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
      const afterReplay = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: r2 } });
      expect(afterReplay.status).toBe(401);
      expect((await h.call('GET', '/api/v1/me', { token: rotator.token })).status).toBe(401);
    });

    it('locks an account after repeated failures, even for the right password', async () => {
      const victim = await h.user('victim', 'investigator');
      for (let i = 0; i < 3; i++) {
        const res = await h.call('POST', '/api/v1/auth/login', { body: { username: victim.username, password: 'wrong-password' } });
        expect([res.status, res.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
      }
      const locked = await h.call('POST', '/api/v1/auth/login', { body: { username: victim.username, password: victim.password } });
      // A locked account answers exactly like an unknown one, so probing tells nothing.
      const unknown = await h.call('POST', '/api/v1/auth/login', { body: { username: 'nobody-here', password: 'whatever' } });
      expect([locked.status, locked.body.code]).toEqual([401, 'INVALID_CREDENTIALS']);
      expect(locked.body).toEqual(unknown.body);
    });

    it('issues personal API tokens that work until revoked and are stored only as hashes', async () => {
      const created = await h.call('POST', '/api/v1/me/tokens', { token: oic.token, body: { name: 'laptop CLI', expiresInDays: 30 } });
      expect(created.status).toBe(201);
      const pat = created.body.token as string;
      expect(pat).toMatch(/^dems_pat_/);
      expect((await h.call('GET', '/api/v1/me', { token: pat })).body.username).toBe(oic.username);
      const stored = await h.ds.query(`SELECT token_hash FROM api_tokens WHERE id = $1`, [created.body.id]);
      expect(stored[0].token_hash).not.toContain(pat);
      const list = await h.call('GET', '/api/v1/me/tokens', { token: oic.token });
      expect(JSON.stringify(list.body)).not.toContain(pat);
      expect((await h.call('DELETE', `/api/v1/me/tokens/${created.body.id}`, { token: oic.token })).status).toBe(204);
      expect((await h.call('GET', '/api/v1/me', { token: pat })).status).toBe(401);
    });
  });

  describe('need-to-know', () => {
    it('hides OFFICIAL-SENSITIVE cases and items from supervisory access', async () => {
      const os = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Sensitive', classification: 'official sensitive' } });
      expect(os.body.classification).toBe('OFFICIAL-SENSITIVE');
      const opened = await h.call('GET', `/api/v1/cases/${os.body.id}`, { token: sup.token, headers: JUSTIFY });
      expect([opened.status, opened.body.code]).toEqual([404, 'CASE_NOT_FOUND']);

      await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/50', sourceType: 'document', description: 'informant note', producer: 'J Smith', classification: 'OFFICIAL-SENSITIVE' } });
      const asMember = await h.call('GET', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, headers: JUSTIFY });
      const asSupervisor = await h.call('GET', `/api/v1/cases/${caseId}/exhibits`, { token: sup.token, headers: JUSTIFY });
      const refs = (r: typeof asMember) => (r.body as unknown as { reference: string }[]).map((x) => x.reference);
      expect(refs(asMember)).toContain('JS/50');
      expect(refs(asSupervisor)).not.toContain('JS/50');
      expect(refs(asSupervisor)).toContain('JS/1');
    });
  });

  describe('case list', () => {
    it('filters, sorts, pages with a cursor and counts', async () => {
      const lister = await h.user('lister', 'investigator');
      const titles = ['Alpha arson', 'Bravo burglary', 'Charlie criminal damage', 'Delta drugs', 'Echo assault'];
      for (const title of titles) await h.call('POST', '/api/v1/cases', { token: lister.token, body: { urn: freshUrn(), title } });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof h.call>> = await h.call('GET', `/api/v1/cases?sort=title&order=asc&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: lister.token });
        expect(page.status).toBe(200);
        expect(page.body.total).toBe(5);
        seen.push(...(page.body.items as { title: string }[]).map((i) => i.title));
        cursor = page.body.nextCursor as string | null;
      } while (cursor);
      expect(seen).toEqual(titles);
      const search = await h.call('GET', '/api/v1/cases?q=burglary', { token: lister.token });
      expect((search.body.items as { title: string }[]).map((i) => i.title)).toEqual(['Bravo burglary']);
      const bad = await h.call('GET', '/api/v1/cases?cursor=bm9wZQ', { token: lister.token });
      expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_CURSOR']);
      const other = await h.call('GET', '/api/v1/cases', { token: oic.token });
      expect((other.body.items as { title: string }[]).map((i) => i.title)).not.toContain('Alpha arson');
    });
  });

  describe('s.62 log', () => {
    it('records consultation with justification, supervisory access with its reason, and changes, in the same transaction', async () => {
      await h.call('GET', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, headers: JUSTIFY });
      await h.call('GET', `/api/v1/cases/${caseId}`, { token: sup.token, headers: { 'x-justification-code': 'supervision', 'x-justification-text': 'weekly case review' } });
      const events = await h.ds.query(`SELECT type, s62_operation, actor_id, actor_role, justification_code, justification_text, client_address, request_id FROM custody_events WHERE case_id = $1 ORDER BY seq`, [caseId]);
      const types = events.map((e: { type: string }) => e.type);
      expect(types.slice(0, 1)).toEqual(['case.created']);
      const consulted = events.find((e: { type: string; actor_id: string }) => e.type === 'exhibit.list_consulted' && e.actor_id === oic.id);
      expect(consulted).toMatchObject({ s62_operation: 'consultation', justification_code: 'investigation', justification_text: 'reviewing footage for the file', actor_role: 'investigator' });
      expect(consulted.client_address).toMatch(/127\.0\.0\.1/);
      expect(consulted.request_id).toBeTruthy();
      const glass = events.find((e: { type: string; justification_code: string }) => e.type === 'case.opened_with_reason' && e.justification_code === 'supervision');
      expect(glass).toMatchObject({ actor_id: sup.id, justification_code: 'supervision', justification_text: 'weekly case review' });

      // A failed change writes no event: the duplicate exhibit above left none behind.
      const dupEvents = await h.ds.query(`SELECT count(*)::int AS n FROM custody_events WHERE case_id = $1 AND type = 'exhibit.created' AND details->>'reference' = 'JS/1'`, [caseId]);
      expect(dupEvents[0].n).toBe(1);
    });

    it('refuses, at commit, any change to cases, exhibits or members made without a custody event', async () => {
      const qr = h.ds.createQueryRunner();
      await qr.connect();
      try {
        await qr.startTransaction();
        await qr.query(`UPDATE cases SET title = 'changed behind the ledger' WHERE id = $1`, [caseId]);
        await expect(qr.commitTransaction()).rejects.toThrow(/UPDATE on cases without a custody event in the same transaction/);
      } finally {
        if (qr.isTransactionActive) await qr.rollbackTransaction();
        await qr.release();
      }
      const [row] = await h.ds.query(`SELECT title FROM cases WHERE id = $1`, [caseId]);
      expect(row.title).not.toBe('changed behind the ledger');
    });

    it('is append-only in the database: the service may not change it, and a trigger refuses even the owner', async () => {
      await expect(h.ds.query(`UPDATE custody_events SET type = 'tampered' WHERE case_id = $1`, [caseId])).rejects.toThrow(/permission denied for table custody_events/);
      await expect(h.ds.query(`DELETE FROM custody_events WHERE case_id = $1`, [caseId])).rejects.toThrow(/permission denied for table custody_events/);
      await expect(h.owner.query(`UPDATE custody_events SET type = 'tampered' WHERE case_id = $1`, [caseId])).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(h.owner.query(`DELETE FROM custody_events WHERE case_id = $1`, [caseId])).rejects.toThrow(/append-only: DELETE refused/);
    });

    it('lets auditors query by case, user and period, and export CSV', async () => {
      const json = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}&userId=${sup.id}`, { token: auditor.token, headers: AUDIT });
      expect(json.status).toBe(200);
      const items = json.body.items as { type: string; userId: string }[];
      expect(items.length).toBeGreaterThan(0);
      expect(items.every((i) => i.userId === sup.id)).toBe(true);
      const future = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}&from=2999-01-01T00:00:00Z`, { token: auditor.token, headers: AUDIT });
      expect(future.body.items).toEqual([]);
      const csv = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}&format=csv`, { token: auditor.token, headers: AUDIT });
      expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
      const lines = csv.text.trim().split('\r\n');
      expect(lines[0]).toBe('seq,id,occurredAt,type,operation,caseId,userId,userRole,objectType,objectId,objectVersion,objectSha256,justificationCode,justificationText,recipient,outcome,clientAddress,requestId,details');
      expect(lines.some((l) => l.includes('case.opened_with_reason') && l.includes('weekly case review'))).toBe(true);
      const bad = await h.call('GET', `/api/v1/audit/events?from=yesterday`, { token: auditor.token, headers: AUDIT });
      expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      const logged = await h.ds.query(`SELECT count(*)::int AS n FROM custody_events WHERE type = 'access_log.queried' AND actor_id = $1`, [auditor.id]);
      expect(logged[0].n).toBeGreaterThanOrEqual(3);
    });
  });
});
