import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { freshUrn, type TestUser } from '../../support/api-harness.js';
import { SCREENSHOTS, seriousViolations, WebHarness } from '../../support/web-harness.js';

/**
 * Journey 7 (users and API tokens) and journey 2 (opening a case, declaring an exhibit) in a real
 * browser in front of the real API. Every page visited passes axe-core (no serious or critical
 * WCAG 2.2 AA violation) and logs no console error; the API's refusals appear as GOV.UK error
 * summaries tied to the field they concern. The forms are filled and sent with the keyboard.
 */
describe('web application: administration and case forms (browser, real API)', () => {
  const h = new WebHarness();
  let admin: TestUser;
  let oic: TestUser;
  let target: TestUser;

  async function checked(page: Page, problems: string[]): Promise<void> {
    await page.waitForLoadState('load');
    const violations = await seriousViolations(page);
    expect(violations.map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
    expect(problems).toEqual([]);
  }

  async function signIn(page: Page, user: TestUser): Promise<void> {
    await page.goto('/sign-in');
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/cases$/);
  }

  /** Sends the form of the focused field with Enter, as a keyboard user would. */
  async function submitByKeyboard(page: Page, label: string): Promise<void> {
    await page.getByLabel(label, { exact: true }).focus();
    const loaded = page.waitForEvent('load');
    await page.keyboard.press('Enter');
    await loaded;
  }

  async function errorSummary(page: Page): Promise<string> {
    return (await page.locator('.govuk-error-summary').textContent()) ?? '';
  }

  /** WCAG 1.4.10: at 320 CSS pixels the page reflows; only a table may scroll, in its own region. */
  async function reflowsAt320(page: Page): Promise<void> {
    await page.setViewportSize({ width: 320, height: 800 });
    const overflowing = await page.evaluate(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 321 && !e.closest('.app-table-scroll')).map((e) => e.tagName + '.' + e.className).slice(0, 5)`);
    expect(overflowing).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  const login = (user: TestUser, password = user.password) => h.api.call('POST', '/api/v1/auth/login', { body: { username: user.username, password } });

  beforeAll(async () => {
    await h.start();
    admin = await h.api.user('webUsersAdmin', 'administrator');
    oic = await h.api.user('webFormsOic', 'investigator');
    target = await h.api.user('webTarget', 'investigator');
  });

  afterAll(async () => {
    await h.stop();
  });

  it('journey 7: an administrator creates an account (the API refuses a weak password on the form), unlocks, ends sessions, deactivates and reactivates', async () => {
    const { page, problems } = await h.page();
    await signIn(page, admin);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.waitForURL(/\/admin\/users$/);
    await checked(page, problems);
    expect(await page.locator('h1').textContent()).toBe('Users');

    // Create: the API's refusals appear on the form, tied to their field; the password is not sent back.
    const username = `web-made-${randomBytes(3).toString('hex')}`;
    await page.getByLabel('Username').fill('X');
    await page.getByLabel('Full name').fill('Made In Browser');
    await page.getByLabel('Role').selectOption('disclosure_officer');
    await page.getByLabel('First password').fill('qwertyuiop123');
    await submitByKeyboard(page, 'First password');
    await checked(page, problems);
    expect(await errorSummary(page)).toMatch(/Username must be 3-64 lower-case letters/);
    expect(await page.locator('#username-error').isVisible()).toBe(true);
    expect(await page.getByLabel('First password').inputValue()).toBe('');
    expect(await page.getByLabel('Role').inputValue()).toBe('disclosure_officer');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('First password').fill('qwertyuiop123');
    await submitByKeyboard(page, 'First password');
    await checked(page, problems);
    expect(await page.locator('#password-error').textContent()).toMatch(/password/i);
    const password = `pw-${randomBytes(12).toString('base64url')}`;
    await page.getByLabel('First password').fill(password);
    await submitByKeyboard(page, 'First password');
    await page.waitForURL(/\/admin\/users\?created=/);
    await checked(page, problems);
    expect(await page.locator('.govuk-notification-banner').textContent()).toContain(`Account ${username} was created.`);
    const made = await h.api.call('POST', '/api/v1/auth/login', { body: { username, password } });
    expect(made.status).toBe(200);
    const [row] = await h.api.ds.query(`SELECT role, display_name FROM users WHERE username = $1`, [username]);
    expect(row).toEqual({ role: 'disclosure_officer', display_name: 'Made In Browser' });

    // Unlock: the target is locked by failed sign-ins, the page says so, and unlocking lets them in.
    for (let i = 0; i < h.api.config.AUTH_LOGIN_MAX_FAILURES; i += 1) await login(target, 'wrong-password-xxxxxxxx');
    expect((await login(target)).status).toBe(401);
    await page.goto('/admin/users');
    const targetRow = page.locator('tr', { has: page.locator(`#user-${target.id}`) });
    expect(await targetRow.textContent()).toContain('Locked');
    await targetRow.getByRole('button', { name: `Unlock ${target.username}` }).click();
    await page.waitForURL(/done=unlock/);
    await checked(page, problems);
    expect(await page.locator('.govuk-notification-banner').textContent()).toContain(`${target.username} was unlocked.`);
    const session = await login(target);
    expect(session.status).toBe(200);

    // End all sessions: the target's access token stops working at once.
    const before = await h.api.call('GET', '/api/v1/me', { token: session.body.accessToken as string });
    expect(before.status).toBe(200);
    await page.locator('tr', { has: page.locator(`#user-${target.id}`) }).getByRole('button', { name: `End all sessions ${target.username}` }).click();
    await page.waitForURL(/done=end-sessions/);
    await checked(page, problems);
    expect((await h.api.call('GET', '/api/v1/me', { token: session.body.accessToken as string })).status).toBe(401);

    // Deactivate, then reactivate.
    await page.locator('tr', { has: page.locator(`#user-${target.id}`) }).getByRole('button', { name: `Deactivate ${target.username}` }).click();
    await page.waitForURL(/done=deactivate/);
    await checked(page, problems);
    expect(await page.locator('tr', { has: page.locator(`#user-${target.id}`) }).textContent()).toContain('Deactivated');
    expect((await login(target)).status).toBe(401);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-7-users.png`, fullPage: true });
    await reflowsAt320(page);
    await page.locator('tr', { has: page.locator(`#user-${target.id}`) }).getByRole('button', { name: `Reactivate ${target.username}` }).click();
    await page.waitForURL(/done=activate/);
    expect((await login(target)).status).toBe(200);

    // The API refuses deactivating oneself: shown as an error summary, nothing changed.
    await page.locator('tr', { has: page.locator(`#user-${admin.id}`) }).getByRole('button', { name: `Deactivate ${admin.username}` }).click();
    await page.waitForURL(new RegExp(`/admin/users/${admin.id}/deactivate$`));
    await checked(page, problems);
    expect(await errorSummary(page)).toMatch(/There is a problem/);
    const [self] = await h.api.ds.query(`SELECT is_active FROM users WHERE id = $1`, [admin.id]);
    expect(self.is_active).toBe(true);

    // Not an administrator: the API refuses the page.
    const other = await h.page();
    await signIn(other.page, oic);
    expect(await other.page.getByRole('link', { name: 'Users' }).count()).toBe(0);
    const res = await other.page.goto('/admin/users');
    expect(res?.status()).toBe(403);
    await checked(other.page, other.problems);
  });

  it('journey 7: a person creates an API token with an expiry, sees it once, uses it, and revokes it', async () => {
    const { page, problems } = await h.page();
    await signIn(page, oic);
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.waitForURL(/\/account\/tokens$/);
    await checked(page, problems);
    expect(await page.locator('#no-tokens').isVisible()).toBe(true);
    // An empty name is refused by the API, shown on the field.
    await submitByKeyboard(page, 'Token name');
    await checked(page, problems);
    expect(await page.locator('#name-error').isVisible()).toBe(true);
    await page.getByLabel('Token name').fill('laptop CLI');
    await page.getByLabel('Expires after').selectOption('7');
    await submitByKeyboard(page, 'Token name');
    await checked(page, problems);
    const token = await page.locator('#new-token').inputValue();
    expect(token.length).toBeGreaterThan(20);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-7-token-created.png`, fullPage: true });
    await reflowsAt320(page);
    const me = await h.api.call('GET', '/api/v1/me', { token });
    expect([me.status, me.body.username]).toEqual([200, oic.username]);
    const [stored] = await h.api.ds.query(`SELECT round(extract(epoch from expires_at - created_at) / 86400) AS days FROM api_tokens WHERE user_id = $1 AND name = 'laptop CLI'`, [oic.id]);
    expect(Number(stored.days)).toBe(7);

    // Shown once: the list page never holds the secret again.
    await page.goto('/account/tokens');
    await checked(page, problems);
    expect(await page.locator('#new-token').count()).toBe(0);
    expect(await page.content()).not.toContain(token);
    await page.getByRole('button', { name: 'Revoke laptop CLI' }).click();
    await page.waitForURL(/revoked=1/);
    await checked(page, problems);
    expect(await page.locator('tbody').textContent()).toContain('Revoked');
    expect((await h.api.call('GET', '/api/v1/me', { token })).status).toBe(401);
  });

  it('journey 2: an investigator opens a case and declares an exhibit; the API\'s URN and reference rules show on the forms', async () => {
    const { page, problems } = await h.page();
    await signIn(page, oic);
    await page.getByRole('button', { name: 'Open a case' }).click();
    await page.waitForURL(/\/cases\/new$/);
    await checked(page, problems);
    expect(await page.locator('#urn-hint').textContent()).toContain('01/AB/12345/23');
    await page.getByLabel('Unique reference number (URN)').fill('12-345');
    await page.getByLabel('Title').fill('Robbery at the Corn Exchange');
    await submitByKeyboard(page, 'Title');
    await checked(page, problems);
    expect(await errorSummary(page)).toMatch(/is not a valid URN/);
    expect(await page.locator('#urn-error').textContent()).toMatch(/01\/AB\/12345\/23/);
    expect(await page.getByLabel('Title').inputValue()).toBe('Robbery at the Corn Exchange');
    const urn = freshUrn();
    await page.getByLabel('Unique reference number (URN)').fill(urn);
    await submitByKeyboard(page, 'Title');
    await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
    await checked(page, problems);
    const caseId = new URL(page.url()).pathname.split('/')[2];
    expect(await page.locator('h1').textContent()).toBe('Robbery at the Corn Exchange');
    const [kase] = await h.api.ds.query(`SELECT title, created_by FROM cases WHERE id = $1`, [caseId]);
    expect(kase).toEqual({ title: 'Robbery at the Corn Exchange', created_by: oic.id });

    // A URN already in use is refused with the API's words.
    const again = await h.page();
    await signIn(again.page, oic);
    await again.page.goto('/cases/new');
    await again.page.getByLabel('Unique reference number (URN)').fill(urn);
    await again.page.getByLabel('Title').fill('Same URN again');
    await submitByKeyboard(again.page, 'Title');
    await checked(again.page, again.problems);
    expect(await again.page.locator('#urn-error').textContent()).toMatch(/cannot be used to open a new case/);

    await page.getByRole('link', { name: 'Declare an exhibit' }).click();
    await page.waitForURL(/\/declare-exhibit$/);
    await checked(page, problems);
    expect(await page.locator('#reference-hint').textContent()).toMatch(/JS\/1[\s\S]*JS\/1\/1/);
    await page.getByLabel('Exhibit reference').fill('not a ref');
    await page.getByLabel('Source').selectOption('body_worn_video');
    await page.getByLabel('Description').fill('Body-worn video of the arrest');
    await page.getByLabel('Producer').fill('PC 1234 Jane Smith');
    await submitByKeyboard(page, 'Producer');
    await checked(page, problems);
    expect(await page.locator('#reference-error').textContent()).toMatch(/is not a valid exhibit reference/);
    expect(await page.getByLabel('Source').inputValue()).toBe('body_worn_video');
    await page.getByLabel('Exhibit reference').fill('js/7');
    await submitByKeyboard(page, 'Producer');
    // The new exhibit's page is evidence: the s.62 reason is asked first, then the page shows it.
    await page.waitForURL(/\/reason\?returnTo=/);
    await checked(page, problems);
    await page.getByLabel('Investigation').check();
    await page.getByLabel('Your reason').fill('Checking the exhibit I have just declared');
    await page.getByLabel('Your reason').focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/exhibits\/[0-9a-f-]{36}$/);
    await checked(page, problems);
    expect(await page.locator('h1').textContent()).toContain('JS/7');
    await page.screenshot({ path: `${SCREENSHOTS}/journey-2-exhibit-declared.png`, fullPage: true });
    const [exhibit] = await h.api.ds.query(`SELECT reference, source_type, producer FROM exhibits WHERE case_id = $1`, [caseId]);
    expect(exhibit).toEqual({ reference: 'JS/7', source_type: 'body_worn_video', producer: 'PC 1234 Jane Smith' });

    // The same reference again: the API's 409 on the reference field.
    await page.goto(`/cases/${caseId}/declare-exhibit`);
    await page.getByLabel('Exhibit reference').fill('JS/7');
    await page.getByLabel('Source').selectOption('cctv');
    await page.getByLabel('Description').fill('Another');
    await page.getByLabel('Producer').fill('PC 1234 Jane Smith');
    await submitByKeyboard(page, 'Producer');
    await checked(page, problems);
    expect(await page.locator('#reference-error').textContent()).toMatch(/JS\/7 already exists on this case/);
  });

  it('works without JavaScript: opening a case and creating an API token are plain forms', async () => {
    const context = await h.browser.newContext({ baseURL: h.base, javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, oic);
    await page.goto('/cases/new');
    await page.getByLabel('Unique reference number (URN)').fill(freshUrn());
    await page.getByLabel('Title').fill('Opened without JavaScript');
    await page.getByRole('button', { name: 'Open case' }).click();
    await page.waitForURL(/\/cases\/[0-9a-f-]{36}$/);
    expect(await page.locator('h1').textContent()).toBe('Opened without JavaScript');
    await page.goto('/account/tokens');
    await page.getByLabel('Token name').fill('no script');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.locator('#new-token').waitFor();
    const token = await page.locator('#new-token').inputValue();
    expect((await h.api.call('GET', '/api/v1/me', { token })).status).toBe(200);
    await context.close();
  });
});
