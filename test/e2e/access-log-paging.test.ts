import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { createScratchDatabase } from '../support/test-env.js';

const AUDIT = { 'x-justification-code': 'audit', 'x-justification-text': 'quarterly s.62 compliance audit' };

/**
 * The auditors' export must hand over every record exactly once, in order. A database of its own
 * makes sequence numbers start at 1, so the log crosses 9 -> 10 and 99 -> 100, where ordering
 * numbers as text (10 before 9) lost entries between pages.
 */
describe('s.62 access log paging', () => {
  const h = new ApiHarness();
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let auditor: TestUser;
  let caseId: string;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    await h.start({ DATABASE_URL: scratch.url });
    const oic = await h.user('oic', 'investigator');
    auditor = await h.user('aud', 'auditor');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Paging case' } });
    caseId = c.body.id as string;
    // 110 consultations: the case's events run past seq 100.
    for (let i = 0; i < 110; i++) expect((await h.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token, headers: JUSTIFY })).status).toBe(200);
  });
  afterAll(async () => {
    await h.stop();
    await scratch?.drop();
  });

  const expected = async (): Promise<number[]> =>
    (await h.ds.query(`SELECT seq FROM custody_events WHERE case_id = $1 ORDER BY seq`, [caseId])).map((r: { seq: string }) => Number(r.seq));

  it('pages through every entry once, in sequence order (JSON)', async () => {
    const want = await expected();
    expect(want.length).toBeGreaterThan(100);
    const got: number[] = [];
    let after: number | null = null;
    for (let page = 0; page < 100; page++) {
      const res = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}&limit=7${after === null ? '' : `&afterSeq=${after}`}`, { token: auditor.token, headers: AUDIT });
      expect(res.status).toBe(200);
      const items = res.body.items as { seq: number }[];
      got.push(...items.map((i) => i.seq));
      after = res.body.nextAfterSeq as number | null;
      if (after === null) break;
    }
    // Each query is recorded on the global chain, not the case's (the audited officers read the
    // case's events), so the case's log does not grow while it is read: every entry, once, in order.
    expect(got).toEqual(await expected());
  });

  it('answers the first entries on the default page, with numeric seq', async () => {
    const want = await expected();
    const res = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}&limit=12`, { token: auditor.token, headers: AUDIT });
    const items = res.body.items as { seq: unknown }[];
    expect(items.map((i) => i.seq)).toEqual(want.slice(0, 12));
    expect(res.body.nextAfterSeq).toBe(want[11]);
  });

  it('pages the CSV export the same way', async () => {
    const want = await expected();
    const got: number[] = [];
    let after = -1;
    for (let page = 0; page < 100; page++) {
      const res = await h.call('GET', `/api/v1/audit/events?caseId=${caseId}&limit=9&format=csv${after < 0 ? '' : `&afterSeq=${after}`}`, { token: auditor.token, headers: AUDIT });
      const seqs = res.text.trim().split('\r\n').slice(1).map((l) => Number(l.split(',')[0]));
      if (!seqs.length) break;
      got.push(...seqs);
      after = seqs[seqs.length - 1];
    }
    expect(got.length).toBeGreaterThanOrEqual(want.length);
    expect(got).toEqual((await expected()).slice(0, got.length));
  });

  it('refuses a sequence number that is not one', async () => {
    for (const v of ['-1', '1.5', 'abc', '1e300', '99999999999999999999']) {
      const res = await h.call('GET', `/api/v1/audit/events?afterSeq=${v}`, { token: auditor.token, headers: AUDIT });
      expect([v, res.status, res.body.code]).toEqual([v, 400, 'VALIDATION_FAILED']);
    }
  });
});
