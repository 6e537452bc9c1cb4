import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { createObjectStore } from '../../../libs/storage/index.js';
import { freshUrn, type TestUser } from '../../support/api-harness.js';
import { tusUpload, uploadIdOf } from '../../support/tus.js';
import { expectAccessible, SCREENSHOTS, until, WebHarness } from '../../support/web-harness.js';

/**
 * Journey 4 (disclosure officer) in Debian's Chromium against the real API, worker, PostgreSQL,
 * Redis and S3: MG6C and MG6D schedules made and changed as new versions, a bundle chosen under
 * the API's MG6D rule and followed live while the worker builds it, shared with a CPS lawyer and
 * revoked, each with an s.62 reason given on the form. Outcomes are read back from the database.
 * Every page visited passes axe-core (no serious or critical WCAG 2.2 AA violation) with no
 * console error.
 */
describe('web application: disclosure officer journey (browser, real API)', () => {
  const h = new WebHarness();
  let worker: INestApplicationContext;
  let discloser: TestUser;
  let cps: TestUser;
  let caseId: string;
  const title = `Burglary at Mill Lane ${randomBytes(3).toString('hex')}`;

  const errorSummary = (page: Page) => page.locator('.govuk-error-summary').textContent();

  beforeAll(async () => {
    await h.start();
    await createObjectStore(h.api.config).ensureBuckets();
    worker = await startWorker(h.api.config, { shutdownHooks: false });
    const oic = await h.api.user('webDoOic', 'investigator');
    discloser = await h.api.user('webDoOfficer', 'disclosure_officer');
    cps = await h.api.user('webDoCps', 'cps_prosecutor');
    caseId = (await h.api.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title } })).body.id as string;
    expect((await h.api.call('PUT', `/api/v1/cases/${caseId}/members/${discloser.id}`, { token: oic.token, body: { caseRole: 'disclosure_officer' } })).status).toBe(200);
    const exhibitId = (await h.api.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'ML/1', sourceType: 'cctv', description: 'Mill Lane doorbell camera', producer: 'PC M Lane' } })).body.id as string;
    const up = await tusUpload(`${h.api.base}/api/v1/uploads`, oic.token, randomBytes(150_000), { metadata: { caseId, exhibitId, filename: 'doorbell.mp4' } });
    expect(up.error).toBeUndefined();
    await until(async () => (await h.api.call('GET', `/api/v1/uploads/${uploadIdOf(up.url)}`, { token: oic.token })).body.state, (s) => s === 'sealed');
  });

  afterAll(async () => {
    await worker?.close();
    await h.stop();
  });

  it('journey 4: schedules as versions, a bundle built under the MG6D rule, shared with a CPS lawyer and revoked with s.62 reasons', async () => {
    const { page, problems } = await h.page();
    const home = `/cases/${caseId}/disclosure`;
    await page.goto(home);
    await expectAccessible(page, problems);
    await page.getByLabel('Username').fill(discloser.username);
    await page.getByLabel('Password', { exact: true }).fill(discloser.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/sign-in'));
    await page.goto(`/cases/${caseId}`);
    await page.getByRole('link', { name: 'Disclosure: schedules and bundles' }).click();
    await page.waitForURL(new RegExp(`${home}$`));
    await expectAccessible(page, problems);

    // MG6C: a first version, then a second that rewords item 1 and adds item 2.
    await page.getByRole('link', { name: 'MG6C schedule' }).click();
    await expectAccessible(page, problems);
    await page.locator('#new-description').fill('Door-to-door enquiry notes, 3 March');
    await page.locator('#new-location').fill('Mill Lane station, box 4');
    await page.getByRole('button', { name: 'Save as version 1' }).click();
    await expectAccessible(page, problems);
    expect(await page.locator('#shown-version').textContent()).toContain('Version 1');
    await page.locator('#e0-description').fill('Door-to-door enquiry notes, 3 and 4 March');
    await page.locator('#new-description').fill('Neighbour statement (unused), 5 March');
    await page.locator('#new-location').fill('Mill Lane station, box 4');
    await page.locator('#new-cpsDecision').selectOption('CND');
    // A required column emptied: the API's refusal lands on that entry's field; what was typed stays.
    await page.locator('#e0-location').fill('');
    await page.getByRole('button', { name: 'Save as version 2' }).click();
    await expectAccessible(page, problems);
    expect(await errorSummary(page)).toContain('Entry 1: Location must be filled in');
    expect(await page.locator('#e0-location').getAttribute('class')).toContain('govuk-input--error');
    expect(await page.locator('#new-description').inputValue()).toBe('Neighbour statement (unused), 5 March');
    await page.locator('#e0-location').fill('Mill Lane station, box 4');
    await page.getByRole('button', { name: 'Save as version 2' }).click();
    await expectAccessible(page, problems);
    expect(await page.locator('#schedule-versions').textContent()).toContain('Version 1');
    expect(await page.locator('#schedule-entries').textContent()).toContain('Neighbour statement');
    // An earlier version stays as it was.
    await page.getByRole('link', { name: 'Version 1', exact: true }).click();
    await expectAccessible(page, problems);
    expect(await page.locator('#shown-version').textContent()).toContain('Version 1');
    expect(await page.locator('#schedule-entries').textContent()).not.toContain('Neighbour statement');
    const mg6c = (await h.api.ds.query(
      `SELECT v.version, e.item_number, e.fields->>'description' AS description FROM disclosure_schedule_versions v JOIN disclosure_schedule_entries e ON e.version_id = v.id
        WHERE v.case_id = $1 AND v.schedule = 'MG6C' ORDER BY v.version, e.position`,
      [caseId],
    )) as unknown[];
    expect(mg6c).toEqual([
      { version: 1, item_number: 1, description: 'Door-to-door enquiry notes, 3 March' },
      { version: 2, item_number: 1, description: 'Door-to-door enquiry notes, 3 and 4 March' },
      { version: 2, item_number: 2, description: 'Neighbour statement (unused), 5 March' },
    ]);

    // MG6D: an empty version is the API's refusal (a nil MG6D must be certified), shown as an error summary.
    await page.goto(`${home}/schedules/MG6D`);
    await expectAccessible(page, problems);
    await page.getByRole('button', { name: 'Save as version 1' }).click();
    await expectAccessible(page, problems);
    expect(await errorSummary(page)).toContain('must be certified nil');
    await page.locator('#new-description').fill('Informant contact log');
    await page.locator('#new-sensitivityReason').fill('Would reveal a covert human intelligence source');
    await page.getByRole('button', { name: 'Save as version 1' }).click();
    await expectAccessible(page, problems);
    expect(await h.api.ds.query(`SELECT version FROM disclosure_schedule_versions WHERE case_id = $1 AND schedule = 'MG6D'`, [caseId])).toEqual([{ version: 1 }]);

    // A bundle: the exhibits need the case's s.62 reason first; the MG6D is refused for the defence.
    await page.goto(home);
    await page.getByRole('button', { name: 'Build a bundle' }).click();
    await page.waitForURL(/\/reason\?/);
    await expectAccessible(page, problems);
    await page.getByLabel('Disclosure review').check();
    await page.getByLabel('Your reason').fill('Preparing the first disclosure bundle for the CPS review of Mill Lane');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/disclosure\/bundles\/new$/);
    await expectAccessible(page, problems);
    await page.getByLabel(/ML\/1/).check();
    await page.getByLabel('MG6C (latest version)').check();
    await page.getByLabel('MG6D (latest version)').check();
    await page.getByLabel('The CPS, to serve on the defence').check();
    await page.getByRole('button', { name: 'Build the bundle' }).click();
    await expectAccessible(page, problems);
    expect(await errorSummary(page)).toContain('Only a CPS-only bundle may hold MG6D material');
    await page.getByLabel('The CPS only (may hold sensitive material)').check();
    // No worker while the page opens, so it is seen queued; the page then follows the build by
    // itself (its script polls) once a worker runs, with no reload by the test.
    await worker.close();
    await page.getByRole('button', { name: 'Build the bundle' }).click();
    await page.waitForURL(/\/disclosure\/bundles\/[0-9a-f-]{36}$/);
    const bundleId = new URL(page.url()).pathname.split('/').at(-1)!;
    await expectAccessible(page, problems);
    expect(await page.locator('#bundle-state').textContent()).toBe('Queued');
    expect(await page.getByRole('button', { name: 'Share the bundle' }).count()).toBe(0);
    worker = await startWorker(h.api.config, { shutdownHooks: false });
    await page.locator('#bundle-state', { hasText: 'Ready' }).waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Share the bundle' }).waitFor();
    await expectAccessible(page, problems);
    const built = (await h.api.call('GET', `/api/v1/disclosure/bundles/${bundleId}`, { token: discloser.token })).body;
    expect(built).toMatchObject({ state: 'ready', audience: 'cps_only' });
    expect(built.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await page.locator('#bundle-sha256').textContent()).toBe(built.sha256);
    // What the page's script polls: the web server's answer is the API's state.
    expect(await (await page.request.get(`${home}/bundles/${bundleId}/state`)).json()).toEqual({ state: 'ready', size: built.size, sha256: built.sha256, failure: null });

    // Share: the s.62 reason is asked on the form; without it the form says so.
    await page.getByLabel("CPS lawyer's user id").fill(cps.id);
    await page.getByLabel('Days until the share ends').fill('14');
    await page.getByRole('button', { name: 'Share the bundle' }).click();
    await expectAccessible(page, problems);
    expect(await errorSummary(page)).toContain('Select the reason for this disclosure');
    // The API's refusal of a recipient who is not a CPS user, on the recipient field.
    await page.getByLabel("CPS lawyer's user id").fill(discloser.id);
    await page.getByLabel('Court preparation').check();
    await page.getByLabel('Your reason').fill('Initial disclosure to the reviewing lawyer before the PTPH');
    await page.getByRole('button', { name: 'Share the bundle' }).click();
    await expectAccessible(page, problems);
    expect(await errorSummary(page)).toContain('only with active CPS users');
    expect(await page.locator('#recipientId').getAttribute('class')).toContain('govuk-input--error');
    await page.getByLabel("CPS lawyer's user id").fill(cps.id);
    await page.getByRole('button', { name: 'Share the bundle' }).click();
    await page.waitForURL(new RegExp(`/bundles/${bundleId}$`));
    await expectAccessible(page, problems);
    expect(await page.locator('#shares').textContent()).toContain(cps.username);
    const shared = (await h.api.ds.query(`SELECT id, recipient_id, revoked_at, expires_at > now() + interval '13 days' AS two_weeks FROM disclosure_shares WHERE bundle_id = $1`, [bundleId])) as {
      id: string;
      recipient_id: string;
      revoked_at: Date | null;
      two_weeks: boolean;
    }[];
    expect(shared).toEqual([{ id: expect.any(String), recipient_id: cps.id, revoked_at: null, two_weeks: true }]);
    expect(((await h.api.call('GET', '/api/v1/disclosure/bundles', { token: cps.token })).body as unknown as { id: string }[]).map((b) => b.id)).toEqual([bundleId]);

    // Revoke, with its own reason.
    await page.getByRole('link', { name: `Revoke the share with ${cps.username}` }).click();
    await expectAccessible(page, problems);
    await page.getByLabel('Case review').check();
    await page.getByLabel('Your reason').fill('Bundle superseded after the MG6D review with the CPS');
    await page.getByRole('button', { name: 'Revoke the share' }).click();
    await page.waitForURL(new RegExp(`/bundles/${bundleId}$`));
    await expectAccessible(page, problems);
    expect(await page.locator('#shares').textContent()).toContain('Revoked');
    const after = (await h.api.ds.query(`SELECT revoked_at IS NOT NULL AS revoked FROM disclosure_shares WHERE bundle_id = $1`, [bundleId])) as unknown[];
    expect(after).toEqual([{ revoked: true }]);
    expect((await h.api.call('GET', '/api/v1/disclosure/bundles', { token: cps.token })).body).toEqual([]);
    const events = (await h.api.ds.query(`SELECT type, justification_code FROM custody_events WHERE type IN ('disclosure.bundle_shared', 'disclosure.share_revoked') AND case_id = $1 ORDER BY seq`, [caseId])) as unknown[];
    expect(events).toEqual([
      { type: 'disclosure.bundle_shared', justification_code: 'court_preparation' },
      { type: 'disclosure.share_revoked', justification_code: 'case_review' },
    ]);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-4-disclosure-officer.png`, fullPage: true });
  });
});
