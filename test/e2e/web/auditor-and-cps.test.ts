import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { createObjectStore } from '../../../libs/storage/index.js';
import { freshUrn, JUSTIFY, type TestUser } from '../../support/api-harness.js';
import { tusUpload, uploadIdOf } from '../../support/tus.js';
import { SCREENSHOTS, seriousViolations, WebHarness } from '../../support/web-harness.js';

/**
 * Journeys 5 (CPS lawyer) and 6 (auditor) in Debian's Chromium against the real API, worker,
 * PostgreSQL, Redis and S3: a bundle built by the worker and shared with the lawyer is listed,
 * shown and downloaded straight from storage (presigned URL, Range honoured); the auditor then
 * finds that disclosure in the s.62 log, pages through a case's entries and exports them.
 * Every page visited passes axe-core (no serious or critical WCAG 2.2 AA violation) with no
 * console error.
 */
describe('web application: CPS lawyer and auditor journeys (browser, real API)', () => {
  const h = new WebHarness();
  let worker: INestApplicationContext;
  let oic: TestUser;
  let cps: TestUser;
  let auditor: TestUser;
  let caseId: string;
  let bundle: { id: string; sha256: string; size: number };
  const title = `Robbery at Station Road ${randomBytes(3).toString('hex')}`;

  const until = async <T>(get: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
    for (;;) {
      const v = await get();
      if (done(v)) return v;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  async function checked(page: Page, problems: string[]): Promise<void> {
    await page.waitForLoadState('load');
    const violations = await seriousViolations(page);
    expect(violations.map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
    expect(problems).toEqual([]);
  }

  async function signIn(page: Page, problems: string[], user: TestUser, landing: string): Promise<void> {
    await page.goto(landing);
    expect(page.url()).toContain('/sign-in');
    await checked(page, problems);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'));
  }

  /** Moves the focus with Tab alone until it is on the control named (at most 100 presses). */
  async function tabTo(page: Page, name: string): Promise<void> {
    for (let i = 0; i < 100; i += 1) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate<string | undefined>('document.activeElement?.textContent?.trim()')) === name) return;
    }
    throw new Error(`${name} is not reachable with Tab`);
  }

  beforeAll(async () => {
    await h.start();
    await createObjectStore(h.api.config).ensureBuckets();
    worker = await startWorker(h.api.config, { shutdownHooks: false });
    oic = await h.api.user('webCpsOic', 'investigator');
    const discloser = await h.api.user('webCpsDo', 'disclosure_officer');
    cps = await h.api.user('webCps', 'cps_prosecutor');
    auditor = await h.api.user('webAuditor', 'auditor');
    caseId = (await h.api.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title } })).body.id as string;
    expect((await h.api.call('PUT', `/api/v1/cases/${caseId}/members/${discloser.id}`, { token: oic.token, body: { caseRole: 'disclosure_officer' } })).status).toBe(200);
    const exhibitId = (await h.api.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'RS/1', sourceType: 'cctv', description: 'Station forecourt CCTV', producer: 'PC R Shah' } })).body.id as string;
    const up = await tusUpload(`${h.api.base}/api/v1/uploads`, oic.token, randomBytes(200_000), { metadata: { caseId, exhibitId, filename: 'forecourt.mp4' } });
    expect(up.error).toBeUndefined();
    await until(async () => (await h.api.call('GET', `/api/v1/uploads/${uploadIdOf(up.url)}`, { token: oic.token })).body.state, (s) => s === 'sealed');
    const requested = await h.api.call('POST', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: discloser.token, body: { exhibitIds: [exhibitId], audience: 'cps_and_defence' } });
    expect(requested.status).toBe(202);
    const id = requested.body.id as string;
    const ready = await until(async () => (await h.api.call('GET', `/api/v1/disclosure/bundles/${id}`, { token: discloser.token })).body, (b) => b.state === 'ready' || b.state === 'failed');
    expect(ready.state).toBe('ready');
    bundle = { id, sha256: ready.sha256 as string, size: ready.size as number };
    const share = await h.api.call('POST', `/api/v1/disclosure/bundles/${id}/shares`, {
      token: discloser.token,
      headers: { 'x-justification-code': 'disclosure_review', 'x-justification-text': 'initial disclosure to the reviewing lawyer' },
      body: { recipientId: cps.id, expiresAt: new Date(Date.now() + 3600_000).toISOString() },
    });
    expect(share.status).toBe(201);
    // More entries for the case than one page of the log (25) holds.
    for (let i = 0; i < 30; i += 1) expect((await h.api.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token, headers: JUSTIFY })).status).toBe(200);
  });

  afterAll(async () => {
    await worker?.close();
    await h.stop();
  });

  it('journey 5: a CPS lawyer finds the bundle shared with them, reads how to check it and downloads it from storage, resumable', async () => {
    const { page, problems } = await h.page();
    await signIn(page, problems, cps, '/shared');
    await page.goto('/shared');
    await checked(page, problems);
    await page.getByRole('link', { name: new RegExp(title) }).click();
    await page.waitForURL(new RegExp(`/shared/${bundle.id}$`));
    await checked(page, problems);
    expect(await page.locator('#bundle-sha256').textContent()).toBe(bundle.sha256);
    for (const check of ['sha256sum -c SHA256SUMS', 'unzip -t', 'dems verify bundle']) expect(await page.getByText(check).count()).toBeGreaterThan(0);

    // By keyboard alone: Tab to the button, Enter.
    await tabTo(page, 'Get a download link');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/shared/${bundle.id}/download$`));
    await checked(page, problems);
    const link = page.locator('#download-link');
    const href = (await link.getAttribute('href'))!;
    // The browser goes to storage, not through the web server, and the API token is not in the link.
    expect(new URL(href).origin).not.toBe(h.base);
    expect(href).not.toContain(cps.token);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const bytes = await readFile((await download.path())!);
    expect(bytes.length).toBe(bundle.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(bundle.sha256);
    // What a resumed download asks for: the rest from an offset, answered 206 with exactly those bytes.
    const rest = await fetch(href, { headers: { range: `bytes=${bundle.size - 1000}-` } });
    expect(rest.status).toBe(206);
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(bundle.size - 1000))).toBe(true);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-5-bundle-download.png`, fullPage: true });

    // The link was recorded as a disclosure to the lawyer before it was issued.
    const entries = (await h.api.ds.query(`SELECT s62_operation, recipient, details->>'via' AS via FROM custody_events WHERE type = 'disclosure.bundle_downloaded' AND object_id = $1`, [bundle.id])) as unknown[];
    expect(entries).toEqual([{ s62_operation: 'disclosure', recipient: cps.username, via: 'presigned_url' }]);
  });

  it('journey 6: an auditor gives a reason, searches the s.62 log by user, case and period, pages and exports CSV and JSON', async () => {
    const { page, problems } = await h.page();
    await signIn(page, problems, auditor, '/audit');
    await page.goto('/audit');
    await page.waitForURL(/\/audit\/reason$/);
    await checked(page, problems);
    await page.getByRole('button', { name: 'Continue' }).click();
    await checked(page, problems);
    expect(await page.locator('.govuk-error-summary').textContent()).toContain('Select why you need to see the access log');
    await page.getByLabel('Audit', { exact: true }).check();
    await page.getByLabel('Your reason').fill('Quarterly audit AR-2026-11 of disclosures to the CPS in Station Road');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/audit$/);
    await checked(page, problems);

    // A malformed id is caught on the form.
    await page.getByLabel('Case id').fill('not-a-case');
    await page.getByRole('button', { name: 'Search the log' }).click();
    await checked(page, problems);
    expect(await page.locator('#caseId-error').textContent()).toContain('Enter a case id');

    // By user: the lawyer's download is there, naming them as the recipient.
    await page.getByLabel('Case id').fill('');
    await page.getByLabel('User id').fill(cps.id);
    await page.getByRole('button', { name: 'Search the log' }).click();
    await checked(page, problems);
    const rows = page.locator('tbody tr');
    expect(await rows.filter({ hasText: 'disclosure.bundle_downloaded' }).filter({ hasText: cps.username }).count()).toBe(1);

    // By case and period (today in England and Wales): 25 on a page, then the rest.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());
    await page.goto(`/audit?caseId=${caseId}&from=${today}&to=${today}`);
    await checked(page, problems);
    expect(await rows.count()).toBe(25);
    const firstPage = await rows.locator('td:first-child').allTextContents();
    await page.getByRole('link', { name: 'Next page' }).click();
    await checked(page, problems);
    const secondPage = await rows.locator('td:first-child').allTextContents();
    expect(secondPage.length).toBeGreaterThan(0);
    expect(Math.min(...secondPage.map(Number))).toBeGreaterThan(Math.max(...firstPage.map(Number)));
    const total = (await h.api.ds.query(`SELECT count(*)::int AS n FROM custody_events WHERE case_id = $1 AND s62_operation IS NOT NULL`, [caseId])) as { n: number }[];

    // Exports come through the web server (the session's token stays there) and hold the whole search.
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download as CSV' }).click()]);
    expect(csv.suggestedFilename()).toBe('access-log.csv');
    const csvText = await readFile((await csv.path())!, 'utf8');
    expect(csvText.split('\n')[0]).toMatch(/^seq,id,occurredAt/);
    expect(csvText).toContain(caseId);
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download as JSON' }).click()]);
    const exported = JSON.parse(await readFile((await json.path())!, 'utf8')) as { items: { caseId: string }[] };
    expect(exported.items.length).toBeGreaterThanOrEqual(total[0].n);
    expect(exported.items.every((e) => e.caseId === caseId)).toBe(true);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-6-access-log.png`, fullPage: true });

    // Someone who is not an auditor gets the API's refusal, not the log.
    const other = await h.page();
    await signIn(other.page, other.problems, oic, '/cases');
    await other.page.goto('/audit/reason');
    await other.page.getByLabel('Audit', { exact: true }).check();
    await other.page.getByLabel('Your reason').fill('Quarterly audit AR-2026-11 of disclosures to the CPS in Station Road');
    await other.page.getByRole('button', { name: 'Continue' }).click();
    expect(await other.page.locator('main').textContent()).toContain('ROLE_NOT_ALLOWED');
    await checked(other.page, other.problems);
  });
});
