import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';

const b64 = (v: string) => Buffer.from(v).toString('base64');

describe('HTTP hardening: no caching, no CORS on uploads, API docs by configuration, a case keeps its manager', () => {
  const h = new ApiHarness();
  let oic: TestUser;
  let caseId: string;
  let exhibitId: string;

  beforeAll(async () => {
    await h.start();
    oic = await h.user('oic', 'investigator');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Hardening case' } });
    caseId = c.body.id as string;
    const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/1', sourceType: 'cctv', description: 'CCTV', producer: 'J Smith' } });
    exhibitId = x.body.id as string;
  });
  afterAll(() => h.stop());

  const tusCreate = () => ({ 'tus-resumable': '1.0.0', 'upload-length': '3', 'upload-metadata': `caseId ${b64(caseId)},exhibitId ${b64(exhibitId)},filename ${b64('a.bin')}` });

  it('answers Cache-Control: no-store everywhere: data, errors, uploads, health', async () => {
    const upload = await h.call('POST', '/api/v1/uploads', { token: oic.token, headers: tusCreate() });
    expect(upload.status).toBe(201);
    const uploadPath = new URL(upload.headers.get('location')!).pathname;
    const answers = [
      upload,
      await h.call('GET', '/api/v1/me', { token: oic.token }),
      await h.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token }),
      await h.call('GET', '/api/v1/cases/00000000-0000-4000-8000-000000000000', { token: oic.token }),
      await h.call('GET', '/api/v1/me'),
      await h.call('GET', '/api/v1/no-such-route'),
      await h.call('HEAD', uploadPath, { token: oic.token, headers: { 'tus-resumable': '1.0.0' } }),
      await h.call('GET', uploadPath, { token: oic.token }),
      await h.call('OPTIONS', '/api/v1/uploads'),
      await h.call('GET', '/api/v1/system'),
      await h.call('GET', '/health/live'),
    ];
    expect(answers.map((a) => a.headers.get('cache-control'))).toEqual(answers.map(() => 'no-store'));
  });

  it('sends no CORS headers on uploads, whatever the origin', async () => {
    const origin = { origin: 'https://attacker.example' };
    const answers = [
      await h.call('OPTIONS', '/api/v1/uploads', { headers: { ...origin, 'access-control-request-method': 'POST' } }),
      await h.call('POST', '/api/v1/uploads', { token: oic.token, headers: { ...origin, ...tusCreate() } }),
      await h.call('POST', '/api/v1/uploads', { token: oic.token, headers: { ...origin, 'tus-resumable': '1.0.0', 'upload-length': '1' } }),
    ];
    const up = answers[1];
    expect(up.status).toBe(201);
    answers.push(await h.call('HEAD', new URL(up.headers.get('location')!).pathname, { token: oic.token, headers: { ...origin, 'tus-resumable': '1.0.0' } }));
    for (const a of answers) expect([...a.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([]);
    // tus discovery itself still works.
    expect(answers[0].headers.get('tus-version')).toBe('1.0.0');
  });

  it('serves the OpenAPI UI and document only where configured: off in production by default', async () => {
    expect((await h.call('GET', '/api/docs-json')).status).toBe(200);
    for (const overrides of [{ API_DOCS_ENABLED: false }, { NODE_ENV: 'production' as const, API_DOCS_ENABLED: undefined }]) {
      const off = new ApiHarness();
      await off.start(overrides);
      try {
        for (const path of ['/api/docs', '/api/docs-json', '/api/docs/swagger-ui-init.js']) {
          const res = await off.call('GET', path);
          expect([path, res.status, res.body.code]).toEqual([path, 404, 'NOT_FOUND']);
        }
        // Without the UI, no inline script is allowed either.
        expect((await off.call('GET', '/api/v1/system')).headers.get('content-security-policy')).toMatch(/script-src 'self';/);
      } finally {
        await off.stop();
      }
    }
  });

  describe('a case always keeps an officer in the case', () => {
    it('refuses the last officer stepping down or leaving, and lets one go when another remains', async () => {
      const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Manager case' } });
      const id = c.body.id as string;
      const demote = await h.call('PUT', `/api/v1/cases/${id}/members/${oic.id}`, { token: oic.token, body: { caseRole: 'investigator' } });
      expect([demote.status, demote.body.code]).toEqual([409, 'LAST_OFFICER_IN_CASE']);
      const leave = await h.call('DELETE', `/api/v1/cases/${id}/members/${oic.id}`, { token: oic.token });
      expect([leave.status, leave.body.code]).toEqual([409, 'LAST_OFFICER_IN_CASE']);
      const members = await h.call('GET', `/api/v1/cases/${id}/members`, { token: oic.token, headers: JUSTIFY });
      expect((members.body as unknown as { userId: string; caseRole: string }[]).find((m) => m.userId === oic.id)?.caseRole).toBe('officer_in_case');

      const second = await h.user('second', 'investigator');
      expect((await h.call('PUT', `/api/v1/cases/${id}/members/${second.id}`, { token: oic.token, body: { caseRole: 'officer_in_case' } })).status).toBe(200);
      expect((await h.call('PUT', `/api/v1/cases/${id}/members/${oic.id}`, { token: oic.token, body: { caseRole: 'investigator' } })).status).toBe(200);
      const lastLeaves = await h.call('DELETE', `/api/v1/cases/${id}/members/${second.id}`, { token: second.token });
      expect([lastLeaves.status, lastLeaves.body.code]).toEqual([409, 'LAST_OFFICER_IN_CASE']);
      // Another officer may leave while one remains.
      expect((await h.call('PUT', `/api/v1/cases/${id}/members/${oic.id}`, { token: second.token, body: { caseRole: 'officer_in_case' } })).status).toBe(200);
      expect((await h.call('DELETE', `/api/v1/cases/${id}/members/${oic.id}`, { token: oic.token })).status).toBe(204);
    });

    it('lets only one of two officers stepping down at the same moment go', async () => {
      const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Race case' } });
      const id = c.body.id as string;
      const other = await h.user('other', 'investigator');
      await h.call('PUT', `/api/v1/cases/${id}/members/${other.id}`, { token: oic.token, body: { caseRole: 'officer_in_case' } });
      const results = await Promise.all([
        h.call('PUT', `/api/v1/cases/${id}/members/${oic.id}`, { token: oic.token, body: { caseRole: 'reviewer' } }),
        h.call('PUT', `/api/v1/cases/${id}/members/${other.id}`, { token: other.token, body: { caseRole: 'reviewer' } }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      const left = await h.ds.query(`SELECT count(*)::int AS n FROM case_members WHERE case_id = $1 AND case_role = 'officer_in_case'`, [id]);
      expect(left[0].n).toBe(1);
    });
  });
});
