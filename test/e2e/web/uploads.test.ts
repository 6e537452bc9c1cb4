import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { freshUrn, JUSTIFY, type TestUser } from '../../support/api-harness.js';
import { SCREENSHOTS, seriousViolations, WebHarness } from '../../support/web-harness.js';

interface ApiFile {
  filename: string;
  state: string;
  hashes: { algorithm: string; value: string }[];
}

/**
 * Journey 2, uploads: an investigator adds files on the exhibit page (tus through the web
 * server's /uploads relay), one of them cut off by a dropped connection (it goes on when the
 * browser is back online) and by a reload of the page (resumed by choosing it again); the files'
 * states appear on the page by themselves, and the SHA-256 the API computed from the stored bytes
 * equals the local files'. Real API, worker, PostgreSQL, Redis, S3
 * and Debian's Chromium; axe-core on every page visited.
 */
describe('web application: uploads on the exhibit page (browser, real API)', () => {
  const h = new WebHarness();
  let worker: INestApplicationContext;
  let oic: TestUser;
  let caseId: string;
  let exhibitId: string;
  const dir = mkdtempSync(join(tmpdir(), 'dems-web-upload-'));
  const local = new Map<string, string>();

  function localFile(name: string, size: number): string {
    const bytes = randomBytes(size);
    const path = join(dir, name);
    writeFileSync(path, bytes);
    local.set(name, createHash('sha256').update(bytes).digest('hex'));
    return path;
  }

  async function checked(page: Page, problems: string[]): Promise<void> {
    await page.waitForLoadState('load');
    const violations = await seriousViolations(page);
    expect(violations.map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
    expect(problems).toEqual([]);
  }

  async function signIn(page: Page): Promise<void> {
    await page.goto('/sign-in');
    await page.getByLabel('Username').fill(oic.username);
    await page.getByLabel('Password', { exact: true }).fill(oic.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/cases$/);
  }

  const apiFiles = async () => (await h.api.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibitId}/files`, { token: oic.token, headers: JUSTIFY })).body as unknown as ApiFile[];

  beforeAll(async () => {
    await h.start();
    worker = await startWorker(h.api.config, { shutdownHooks: false });
    oic = await h.api.user('webUploadOic', 'investigator');
    caseId = (await h.api.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Robbery at the Post Office' } })).body.id as string;
    const ex = await h.api.call('POST', `/api/v1/cases/${caseId}/exhibits`, {
      token: oic.token,
      body: { reference: 'JS/1', sourceType: 'cctv', description: 'CCTV export from the post office', producer: 'PC Jane Smith' },
    });
    exhibitId = ex.body.id as string;
  });

  afterAll(async () => {
    await worker?.close();
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads several files, resumes one after a reload mid-upload, and shows them sealed with the local SHA-256', async () => {
    const { page, problems } = await h.page();
    await signIn(page);
    await page.goto(`/cases/${caseId}`);
    await page.getByRole('button', { name: 'Give your reason to see the exhibits' }).click();
    await page.getByLabel('Investigation').check();
    await page.getByLabel('Your reason').fill('Adding the post office CCTV export to the exhibit');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => !u.pathname.endsWith('/reason'));
    await page.getByRole('link', { name: 'JS/1' }).click();
    await page.waitForURL(/\/exhibits\//);
    await checked(page, problems);
    expect(await page.locator('#exhibit-upload').isVisible()).toBe(true);
    expect(await page.textContent('main')).toContain('dems ingest --case');

    // Two small files at once: their states come to the page without a reload.
    await page.getByLabel('Choose files').setInputFiles([localFile('still-1.jpg', 300_000), localFile('notes.txt', 1_500_000)]);
    await page.locator('#exhibit-files [data-state="sealed"]').nth(1).waitFor({ timeout: 60_000 });
    expect(await page.textContent('#upload-total-text')).toContain('2 of 2 files uploaded');
    await checked(page, problems);

    // A large file, sent slowly enough (the browser's network emulation) to cut it off and reload the page halfway.
    const big = localFile('dvr-export.dav', 64 * 1024 * 1024);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 8 * 1024 * 1024 });
    await page.getByLabel('Choose files').setInputFiles(big);
    const bar = page.locator('#upload-list li:last-child progress');
    const atLeast = async (percent: number) => {
      while (Number(await bar.getAttribute('value')) < percent) await page.waitForTimeout(200);
    };
    await atLeast(10);
    // The connection drops: the upload stops, and goes on by itself when the browser is online again.
    await cdp.send('Network.emulateNetworkConditions', { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.locator('#upload-list li:last-child [data-upload-status]', { hasText: 'Stopped' }).waitFor();
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 8 * 1024 * 1024 });
    // The browser reports the request the emulated outage cut off; nothing else may have gone wrong.
    problems.splice(0, problems.length, ...problems.filter((p) => !/ERR_INTERNET_DISCONNECTED/.test(p)));
    await atLeast(25);
    await page.reload();
    await checked(page, problems);
    expect(await page.textContent('#upload-unfinished')).toContain('dvr-export.dav');

    // Chosen again, it continues from the offset the service holds rather than from the start.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const resumedAt = page.waitForRequest((r) => r.method() === 'PATCH' && r.url().includes('/uploads/'));
    await page.getByLabel('Choose files').setInputFiles(big);
    expect(Number((await resumedAt).headers()['upload-offset'])).toBeGreaterThan(0);
    expect(await page.textContent('#upload-list')).toMatch(/Continuing where it stopped|sent|Uploaded/);
    expect(await page.textContent('#upload-unfinished')).toBe('');
    await page.locator('#exhibit-files [data-state="sealed"]').nth(2).waitFor({ timeout: 180_000 });
    await checked(page, problems);
    await page.screenshot({ path: `${SCREENSHOTS}/journey-2-uploads.png`, fullPage: true });

    // One file each (the interrupted one was resumed, not started again), sealed with the local SHA-256.
    const files = await apiFiles();
    expect(files.map((f) => f.filename).sort()).toEqual(['dvr-export.dav', 'notes.txt', 'still-1.jpg']);
    for (const f of files) {
      expect(f.state).toBe('sealed');
      expect(f.hashes.find((x) => x.algorithm === 'sha256')?.value).toBe(local.get(f.filename));
    }
    expect(await page.evaluate(`Object.keys(localStorage).filter((k) => k.startsWith('tus::')).length`)).toBe(0);
  });

  it('refuses an upload without the session and its CSRF token', async () => {
    const tusHeaders = { 'tus-resumable': '1.0.0', 'upload-length': '1' };
    const anonymous = await fetch(`${h.base}/uploads`, { method: 'POST', headers: tusHeaders, redirect: 'manual' });
    expect(anonymous.status).toBe(403);
    // Signed in (the session cookie sent), but without the page's token: a forged cross-site upload.
    const { page } = await h.page();
    await signIn(page);
    const forged = await page.request.post('/uploads', { headers: tusHeaders });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('This form has expired');
  });
});
