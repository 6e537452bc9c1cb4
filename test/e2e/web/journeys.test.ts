import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { freshUrn, JUSTIFY, type TestUser } from '../../support/api-harness.js';
import { tusUpload } from '../../support/tus.js';
import { SCREENSHOTS, seriousViolations, WebHarness } from '../../support/web-harness.js';

/**
 * The web application in a real browser (Debian's Chromium through playwright-core) in front of
 * the real API, worker, PostgreSQL, Redis and S3. Every page visited is checked with axe-core
 * (no serious or critical WCAG 2.2 AA violation) and must log no console error (a CSP refusal or
 * GOV.UK Frontend's SupportError would show there).
 */
describe('web application journeys (browser, real API)', () => {
  const h = new WebHarness();
  let worker: INestApplicationContext;
  let oic: TestUser;
  let supervisor: TestUser;
  let admin: TestUser;
  let caseId: string;
  let exhibitId: string;
  const title = `Burglary at Mill Lane ${randomBytes(3).toString('hex')}`;
  const pagesVisited: string[] = [];

  /** After each navigation: the page is accessible and healthy. */
  async function checked(page: Page, problems: string[]): Promise<void> {
    await page.waitForLoadState('load');
    pagesVisited.push(new URL(page.url()).pathname);
    const violations = await seriousViolations(page);
    expect(violations.map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
    expect(problems).toEqual([]);
  }

  async function signIn(page: Page, problems: string[], user: TestUser): Promise<void> {
    await page.goto('/cases');
    await expect(page.url()).toMatch(/\/sign-in\?returnTo=%2Fcases$/);
    await checked(page, problems);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/cases$/);
  }

  /** On the s.62 reason page: picks the code and writes the reason. */
  async function giveReason(page: Page, problems: string[], code: string, text: string): Promise<void> {
    expect(page.url()).toContain('/reason');
    await checked(page, problems);
    await page.getByLabel(code).check();
    await page.getByLabel('Your reason').fill(text);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => !u.pathname.endsWith('/reason'));
  }

  beforeAll(async () => {
    await h.start();
    worker = await startWorker(h.api.config, { shutdownHooks: false });
    oic = await h.api.user('webOic', 'investigator');
    supervisor = await h.api.user('webSup', 'supervisor');
    admin = await h.api.user('webAdmin', 'administrator');
    const created = await h.api.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title, operationName: 'Op Lantern' } });
    caseId = created.body.id as string;
    // More cases than one page (25) holds, so paging has somewhere to go.
    for (let i = 0; i < 27; i += 1) {
      const r = await h.api.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: `Filler case ${i}` } });
      expect(r.status).toBe(201);
    }
    const ex = await h.api.call('POST', `/api/v1/cases/${caseId}/exhibits`, {
      token: oic.token,
      body: { reference: 'JS/1', sourceType: 'cctv', description: 'CCTV from the shop opposite', producer: 'PC Jane Smith' },
    });
    exhibitId = ex.body.id as string;
    const good = randomBytes(4096);
    const bad = randomBytes(2048);
    expect((await tusUpload(`${h.api.base}/api/v1/uploads`, oic.token, good, { metadata: { caseId, exhibitId, filename: 'camera-1.mp4', sha256: createHash('sha256').update(good).digest('hex') } })).error).toBeUndefined();
    expect((await tusUpload(`${h.api.base}/api/v1/uploads`, oic.token, bad, { metadata: { caseId, exhibitId, filename: 'camera-2.mp4', sha256: '0'.repeat(64) } })).error).toBeUndefined();
    // Wait for the worker's seal outcome of both files (states, not time, decide).
    for (;;) {
      const files = await h.api.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibitId}/files`, { token: oic.token, headers: JUSTIFY });
      const states = (files.body as unknown as { state: string }[]).map((f) => f.state).sort();
      if (states.join() === 'quarantined,sealed') break;
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    await worker?.close();
    await h.stop();
  });

  it('journey 1: signs in, finds a case by search and paging, gives the s.62 reason as a non-member, signs out', async () => {
    const { page, problems } = await h.page();
    await signIn(page, problems, oic);
    await checked(page, problems);
    expect(await page.locator('#case-count').textContent()).toContain('28 cases');
    expect(await page.locator('tbody tr').count()).toBe(25);
    await page.getByRole('link', { name: 'Next' }).click();
    await checked(page, problems);
    expect(await page.locator('tbody tr').count()).toBe(3);
    await page.getByRole('link', { name: 'Previous' }).click();
    expect(await page.locator('tbody tr').count()).toBe(25);
    await page.getByLabel('Search title, operation or URN').fill('Mill Lane');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await checked(page, problems);
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in\?signedOut=1$/);
    await checked(page, problems);
    expect(await page.getByText('You have signed out.').isVisible()).toBe(true);
    // The session is gone: the case list asks for sign-in again.
    await page.goto('/cases');
    expect(page.url()).toContain('/sign-in');

    // A supervisor who is not a member is asked why before anything of the case is shown.
    await signIn(page, problems, supervisor);
    await page.goto(`/cases/${caseId}`);
    expect(page.url()).toContain(`/cases/${caseId}/reason`);
    await checked(page, problems);
    await page.getByRole('button', { name: 'Continue' }).click();
    await checked(page, problems);
    expect(await page.locator('.govuk-error-summary').textContent()).toContain('Select why you need to see this case');
    await page.getByLabel('Supervision').check();
    // The API judges the reason; its refusal of a stock phrase appears on the form.
    await page.getByLabel('Your reason').fill('just checking');
    await page.getByRole('button', { name: 'Continue' }).click();
    await checked(page, problems);
    expect(await page.locator('.govuk-error-summary').textContent()).toMatch(/Your reason is a stock phrase/);
    expect(await page.locator('#text-error').textContent()).toMatch(/Your reason is a stock phrase/);
    const reason = 'Reviewing the handling of Op Lantern for the weekly supervision';
    await page.getByLabel('Your reason').fill(reason);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(new RegExp(`/cases/${caseId}$`));
    await checked(page, problems);
    expect(await page.locator('h1').textContent()).toBe(title);
    expect(await page.getByRole('link', { name: 'JS/1' }).isVisible()).toBe(true);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-1-case-after-reason.png`, fullPage: true });
    // The API logged the reason with the supervisor's reads.
    const auditor = await h.api.user('webAud', 'auditor');
    const log = await h.api.call('GET', `/api/v1/audit/events?caseId=${caseId}&userId=${supervisor.id}`, { token: auditor.token, headers: { ...JUSTIFY, 'x-justification-code': 'audit' } });
    expect(log.status).toBe(200);
    const reasons = (log.body.items as { justificationText: string | null }[]).map((e) => e.justificationText);
    expect(reasons).toContain(reason);
  });

  it('signs in with the keyboard alone', async () => {
    const { page, problems } = await h.page();
    await page.goto('/sign-in');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toContain('Skip to main content');
    // Tab through to the username field, whatever the header holds.
    for (let i = 0; i < 10 && (await page.evaluate('document.activeElement?.id')) !== 'username'; i += 1) await page.keyboard.press('Tab');
    await page.keyboard.type(oic.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(oic.password);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/cases$/);
    await checked(page, problems);
    await page.screenshot({ path: `${SCREENSHOTS}/keyboard-sign-in.png`, fullPage: true });
    // WCAG 1.4.10: at 320 CSS pixels the case list reflows; only its table may scroll sideways.
    await page.setViewportSize({ width: 320, height: 800 });
    const overflowing = await page.evaluate(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 321 && !e.closest('.app-table-scroll')).map((e) => e.tagName + '.' + e.className).slice(0, 5)`);
    expect(overflowing).toEqual([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(320);
    await page.screenshot({ path: `${SCREENSHOTS}/case-list-320px.png`, fullPage: true });
  });

  it('journey 2 (part): a member opens an exhibit and sees its files with their state and the custody history as a timeline', async () => {
    const { page, problems } = await h.page();
    await signIn(page, problems, oic);
    await page.goto(`/cases/${caseId}`);
    await checked(page, problems);
    // Members too give a reason before evidence (exhibit lists) is shown.
    await page.getByRole('button', { name: 'Give your reason to see the exhibits' }).click();
    await giveReason(page, problems, 'Investigation', 'Reviewing the shop CCTV for the suspect timeline');
    await page.getByRole('link', { name: 'JS/1' }).click();
    await checked(page, problems);
    const rows = page.locator('table tbody tr');
    expect(await rows.count()).toBe(2);
    const text = (await rows.allTextContents()).join('\n');
    expect(text).toMatch(/camera-1\.mp4[\s\S]*sealed/);
    expect(text).toMatch(/camera-2\.mp4[\s\S]*quarantined/);
    expect(await page.locator('.moj-timeline__item').count()).toBeGreaterThan(2);
    expect(await page.locator('.moj-timeline').textContent()).toMatch(/sealed|quarantined/);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-2-exhibit.png`, fullPage: true });
  });

  it('journey 8: the browser checks a custody event against the signed checkpoint itself', async () => {
    await h.api.call('POST', '/api/v1/ledger/checkpoints', { token: admin.token });
    const { page, problems } = await h.page();
    await signIn(page, problems, oic);
    await page.goto(`/cases/${caseId}/events`);
    // The custody log names files and people: reading it is a consultation that needs a reason.
    await giveReason(page, problems, 'Investigation', 'Checking the custody record of JS/1 before the file goes to CPS');
    expect(new URL(page.url()).pathname).toBe(`/cases/${caseId}/events`);
    await checked(page, problems);
    const first = await h.api.call('GET', `/api/v1/cases/${caseId}/events`, { token: oic.token, headers: JUSTIFY });
    const leafIndex = (first.body as unknown as { event: { leafIndex: number } }[])[0].event.leafIndex;
    await page.getByRole('link', { name: `Check event ${leafIndex} against the signed checkpoint` }).click();
    await page.locator('#event-check-outcome[data-verified]').waitFor();
    await checked(page, problems);
    const results = await page.locator('#event-check-results li').allTextContents();
    const outcome = await page.locator('#event-check-outcome').textContent();
    expect({ verified: await page.locator('#event-check-outcome').getAttribute('data-verified'), outcome, results }).toEqual({ verified: 'true', outcome: expect.stringMatching(/^Verified/), results: expect.any(Array) });
    expect(results).toHaveLength(3);
    expect(results.every((r) => r.startsWith('Passed'))).toBe(true);
    expect(results.join('\n')).toMatch(/Ed25519/);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-8-event-check.png`, fullPage: true });
  });

  it('journey 7 (part): an administrator sees the health and whether originals are write-once; others are refused by the API', async () => {
    const { page, problems } = await h.page();
    await signIn(page, problems, admin);
    await page.goto('/admin');
    await checked(page, problems);
    const system = await h.api.call('GET', '/api/v1/system');
    const writeOnce = (system.body.storage as { originalsWriteOnce: boolean }).originalsWriteOnce;
    expect(await page.locator('#write-once').textContent()).toContain(writeOnce ? 'write-once' : 'not write-once');
    expect(await page.locator('main').textContent()).toContain(admin.username);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-7-admin.png`, fullPage: true });

    const other = await h.page();
    await signIn(other.page, other.problems, oic);
    const res = await other.page.goto('/admin');
    expect(res?.status()).toBe(403);
    await checked(other.page, other.problems);
  });

  it('sends strict security headers, refuses a form without its CSRF token, and keeps page JavaScript small', async () => {
    const { page, problems } = await h.page();
    const scripts: Buffer[] = [];
    page.on('response', async (r) => {
      if (r.request().resourceType() === 'script') scripts.push(await r.body());
    });
    const res = await page.goto('/sign-in');
    await checked(page, problems);
    const headers = await res!.allHeaders();
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['content-security-policy']).toMatch(/script-src 'self' 'nonce-[^']+'/);
    expect(headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers['set-cookie']).toMatch(/HttpOnly/i);
    expect(headers['set-cookie']).toMatch(/SameSite=Lax/i);
    const gz = scripts.reduce((n, b) => n + gzipSync(b).length, 0);
    expect(scripts.length).toBeGreaterThan(0);
    expect(gz).toBeLessThan(100 * 1024);

    const forged = await fetch(`${h.base}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `username=${oic.username}&password=${oic.password}`, redirect: 'manual' });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('This form has expired');
  });

  it('works without JavaScript: sign-in, filters, the reason form and sign-out are plain forms', async () => {
    const context = await h.browser.newContext({ baseURL: h.base, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto('/sign-in');
    await page.getByLabel('Username').fill(oic.username);
    await page.getByLabel('Password', { exact: true }).fill(oic.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/cases$/);
    await page.getByLabel('Search title, operation or URN').fill('Mill Lane');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('tbody a').first().click();
    await page.getByRole('button', { name: 'Give your reason to see the exhibits' }).click();
    await page.getByLabel('Case review').check();
    await page.getByLabel('Your reason').fill('Case review before the file goes to the CPS lawyer');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await page.getByRole('link', { name: 'JS/1' }).isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in\?signedOut=1$/);
    await context.close();
  });

  it('shows the API\'s refusal of a sign-in as a GOV.UK error summary', async () => {
    const { page, problems } = await h.page();
    await page.goto('/sign-in');
    await page.getByLabel('Username').fill(oic.username);
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await checked(page, problems);
    expect(await page.locator('.govuk-error-summary').textContent()).toMatch(/There is a problem/);
    expect(await page.locator('body').textContent()).not.toMatch(/at .*\.ts:\d+/);
  });
});
