import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { createObjectStore } from '../../../libs/storage/index.js';
import { freshUrn, JUSTIFY, type TestUser } from '../../support/api-harness.js';
import { tusUpload, uploadIdOf } from '../../support/tus.js';
import { fixturePath } from '../../support/fixtures.js';
import { SCREENSHOTS, seriousViolations, WebHarness } from '../../support/web-harness.js';
import { buildUfdr, type UfdrFile } from '../../integration/extraction/zip-fixtures.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * Journey 3 (forensic analyst) in Debian's Chromium against the real API, worker, PostgreSQL,
 * Redis and S3: a UFDR uploaded to a device-extraction exhibit is verified by the worker; the
 * analyst reads the verification result, browses and searches its inventory page by page with the
 * API's cursor, exports chosen entries as a derived exhibit and watches the export settle, records
 * the digital strategy (then a second version), adds a note, attaches a sealed report of a
 * sub-exhibit and moves the examination to examined. Every outcome is checked through the API too.
 * Every page visited passes axe-core (no serious or critical WCAG 2.2 AA violation) with no console error.
 */
describe('web application: forensic analyst journey (browser, real API and worker)', () => {
  const h = new WebHarness();
  let worker: INestApplicationContext;
  let analyst: TestUser;
  let caseId: string;
  let extractionId: string;
  let e01Id: string;
  let reportFileId: string;
  const exhibits: Record<string, string> = {};
  // More entries than one page (100) holds, so the inventory pages forward with the API's cursor.
  const files: UfdrFile[] = Array.from({ length: 230 }, (_, i) => ({
    path: `files/Image/IMG_${String(i).padStart(4, '0')}.jpg`,
    data: randomBytes(200 + i),
    devicePath: `/DCIM/IMG_${i}.jpg`,
    deleted: i % 50 === 7,
  }));
  files.push({ path: 'files/Chats/chat.txt', data: Buffer.from('see you at the station '.repeat(100)), devicePath: '/data/chat.txt' });

  const until = async <T>(get: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
    for (;;) {
      const v = await get();
      if (done(v)) return v;
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  const api = (path: string) => h.api.call('GET', `/api/v1/cases/${caseId}${path}`, { token: analyst.token, headers: JUSTIFY });

  async function checked(page: Page, problems: string[]): Promise<void> {
    await page.waitForLoadState('load');
    const violations = await seriousViolations(page);
    expect(violations.map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
    expect(problems).toEqual([]);
  }

  /** Signs in from the page asked for, then gives the s.62 reason the extraction pages need. */
  async function signInWithReason(page: Page, problems: string[], landing: string): Promise<void> {
    await page.goto(landing);
    await checked(page, problems);
    await page.getByLabel('Username').fill(analyst.username);
    await page.getByLabel('Password', { exact: true }).fill(analyst.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Reading extractions is a consultation of evidence: the s.62 reason first.
    await page.waitForURL(/\/reason/);
    await checked(page, problems);
    await page.getByLabel('Investigation').check();
    await page.getByLabel('Your reason').fill('Examining the suspect handset KH/4 for the digital strategy');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.pathname === landing);
    await checked(page, problems);
  }

  const upload = async (ref: string, name: string, bytes: Buffer) => {
    const r = await tusUpload(`${h.api.base}/api/v1/uploads`, analyst.token, bytes, { metadata: { caseId, exhibitId: exhibits[ref], filename: name, sha256: sha256(bytes) } });
    expect(r.error).toBeUndefined();
    return uploadIdOf(r.url);
  };

  beforeAll(async () => {
    await h.start();
    await createObjectStore(h.api.config).ensureBuckets();
    worker = await startWorker(h.api.config, { shutdownHooks: false });
    const oic = await h.api.user('webKhOic', 'investigator');
    analyst = await h.api.user('webKhAnalyst', 'forensic_analyst');
    caseId = (await h.api.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: `Handset of the suspect ${randomBytes(3).toString('hex')}` } })).body.id as string;
    expect((await h.api.call('PUT', `/api/v1/cases/${caseId}/members/${analyst.id}`, { token: oic.token, body: { caseRole: 'forensic_analyst' } })).status).toBe(200);
    for (const [reference, sourceType] of [['KH/4', 'device_extraction'], ['KH/4/2', 'document'], ['KH/5', 'device_extraction']]) {
      const r = await h.api.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: analyst.token, body: { reference, sourceType, description: `exhibit ${reference}`, producer: 'K H' } });
      expect(r.status).toBe(201);
      exhibits[reference] = r.body.id as string;
    }
    await upload('KH/4', 'KH-4.ufdr', await buildUfdr(files));
    reportFileId = await upload('KH/4/2', 'KH-4 report.pdf', Buffer.from('%PDF-1.4 examination report of KH/4'));
    await upload('KH/5', 'ext2.E01', readFileSync(fixturePath('forensic-images/ext2.E01')));
    const settled = (ref: string) =>
      until(
        async () => (await api(`/exhibits/${exhibits[ref]}/extractions`)).body as unknown as { id: string; state: string }[],
        (v) => v.length > 0 && !['received', 'verifying'].includes(v[0].state),
      ).then((v) => v[0]);
    const [extraction, e01] = await Promise.all([settled('KH/4'), settled('KH/5')]);
    expect([extraction.state, e01.state]).toEqual(['verified', 'verified']);
    extractionId = extraction.id;
    e01Id = e01.id;
    await until(
      async () => (await api(`/exhibits/${exhibits['KH/4/2']}/files`)).body as unknown as { id: string; state: string }[],
      (v) => v.find((f) => f.id === reportFileId)?.state === 'sealed',
    );
  }, 300_000);

  afterAll(async () => {
    await worker?.close();
    await h.stop();
  });

  it('journey 3: verification result, inventory search and paging, export as a derived exhibit, strategy, note, report and examination', async () => {
    const { page, problems } = await h.page();
    const base = `/cases/${caseId}/extractions/${extractionId}`;
    await signInWithReason(page, problems, `/cases/${caseId}/extractions`);

    // The verification result with its facts.
    await page.getByRole('link', { name: 'KH/4 (ufdr)' }).click();
    await page.waitForURL(new RegExp(`${base}$`));
    await checked(page, problems);
    expect(await page.locator('#verification-state').textContent()).toContain('verified');
    expect(await page.locator('#examination-state').textContent()).toContain('awaiting');
    expect(await page.locator('#members').textContent()).toContain('KH-4.ufdr');
    expect(await page.locator('main').textContent()).toContain('Facts from the acquisition');

    // The inventory: 100 a page, forward with the API's cursor, then a search by name.
    await page.getByRole('link', { name: 'Browse the inventory' }).click();
    await checked(page, problems);
    const rows = page.locator('tbody tr');
    expect(await rows.count()).toBe(100);
    const firstPage = await rows.locator('td:nth-child(2)').allTextContents();
    await page.getByRole('link', { name: 'Next page' }).click();
    await checked(page, problems);
    const secondPage = await rows.locator('td:nth-child(2)').allTextContents();
    expect(secondPage).toHaveLength(100);
    expect(secondPage.filter((p) => firstPage.includes(p))).toEqual([]);
    await page.getByRole('link', { name: 'Next page' }).click();
    await checked(page, problems);
    expect(await rows.count()).toBe(files.length + 1 - 200);
    expect(await page.getByRole('link', { name: 'Next page' }).count()).toBe(0);
    // Back with the cursors the links carry: the second page, then the first, exactly as before.
    await page.getByRole('link', { name: 'Previous page' }).click();
    await checked(page, problems);
    expect(await rows.locator('td:nth-child(2)').allTextContents()).toEqual(secondPage);
    await page.getByRole('link', { name: 'Previous page' }).click();
    await checked(page, problems);
    expect(await rows.locator('td:nth-child(2)').allTextContents()).toEqual(firstPage);
    expect(await page.getByRole('link', { name: 'Previous page' }).count()).toBe(0);
    await page.getByLabel('Name or path').fill('IMG_012');
    await page.getByRole('button', { name: 'Search the inventory' }).click();
    await checked(page, problems);
    expect(await rows.count()).toBe(10);
    await page.getByLabel('Deleted', { exact: true }).selectOption('true');
    await page.getByLabel('Name or path').fill('');
    await page.getByRole('button', { name: 'Search the inventory' }).click();
    await checked(page, problems);
    expect((await rows.locator('td:nth-child(2)').allTextContents()).map((t) => t.trim())).toEqual(
      files.filter((f) => f.deleted).map((f) => `${f.path} deleted`),
    );

    // Nothing chosen: the form says so. Then two entries chosen and exported.
    await page.getByRole('button', { name: 'Export selected entries' }).click();
    await checked(page, problems);
    expect(await page.locator('.govuk-error-summary').textContent()).toContain('Select at least one entry to export');
    const chosen = files.filter((f) => f.deleted).slice(0, 2);
    for (const f of chosen) await page.getByLabel(`Select ${f.path}`).check();
    await page.getByLabel('Reference of the derived exhibit (optional)').fill('KH/4/1');
    await page.getByRole('button', { name: 'Export selected entries' }).click();
    await page.waitForURL(/\/exports\/[0-9a-f-]{36}$/);
    await checked(page, problems);
    // The page follows the export live (polling) until it has settled, then shows the final facts.
    await page.locator('#export-status', { hasText: 'Completed' }).waitFor({ timeout: 120_000 });
    await checked(page, problems);
    expect(await page.locator('#export-provenance').textContent()).toContain('Verified');
    await page.screenshot({ path: `${SCREENSHOTS}/journey-3-export.png`, fullPage: true });
    const exportId = page.url().split('/').pop()!;
    // What the page's script polls: the web server's digest of the API's export, for this session only.
    const progress = await page.request.get(`${base}/exports/${exportId}/progress`);
    expect(await progress.json()).toEqual({ state: 'completed', provenanceVerified: true, sealed: 2, total: 2 });
    const exported = (await api(`/extractions/${extractionId}/exports/${exportId}`)).body as { state: string; provenanceVerified: boolean; exhibitReference: string; items: { path: string; sealedSha256: string }[] };
    expect(exported).toMatchObject({ state: 'completed', provenanceVerified: true, exhibitReference: 'KH/4/1' });
    expect(exported.items.map((i) => [i.path, i.sealedSha256])).toEqual(chosen.map((f) => [f.path, sha256(f.data)]));

    // The digital strategy: recorded, then edited into a second version.
    await page.goto(`${base}/strategy`);
    await checked(page, problems);
    await page.getByRole('button', { name: 'Record as a new version' }).click();
    await checked(page, problems);
    expect(await page.locator('.govuk-error-summary').count()).toBe(1);
    await page.getByLabel('Investigative questions').fill('Did the suspect message the complainant between 1 and 3 March?');
    await page.getByLabel('Attribution').fill('Handset seized from the suspect on arrest; PIN given in interview.');
    await page.getByLabel('Targeted').check();
    await page.getByLabel('Data categories').fill('messages\nimages');
    await page.getByLabel('Date ranges').fill('2026-03-01 to 2026-03-03 around the offence');
    await page.getByLabel('Search terms').fill('station');
    await page.getByLabel('Why this scope is necessary and proportionate').fill('Only messages and images in the three days around the offence.');
    await page.getByLabel('Tools').fill('Cellebrite Physical Analyzer; 7.70.0.12');
    await page.getByRole('button', { name: 'Record as a new version' }).click();
    await checked(page, problems);
    expect(await page.locator('#strategy-current').textContent()).toContain('Version 1');
    await page.getByLabel('Search terms').fill('station\nmeet');
    await page.getByRole('button', { name: 'Record as a new version' }).click();
    await checked(page, problems);
    expect(await page.locator('#strategy-current').textContent()).toContain('Version 2');
    const versions = (await api(`/extractions/${extractionId}/strategy`)).body as unknown as { version: number; record: Record<string, unknown> }[];
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
    expect(versions[0].record).toMatchObject({
      scope: 'targeted',
      searchTerms: ['station', 'meet'],
      dataCategories: ['messages', 'images'],
      dateRanges: [{ from: '2026-03-01', to: '2026-03-03', reason: 'around the offence' }],
      tools: [{ name: 'Cellebrite Physical Analyzer', version: '7.70.0.12' }],
    });
    expect(versions[1].record.searchTerms).toEqual(['station']);

    // Examination: started, a note, a report of the sub-exhibit, then examined.
    await page.goto(base);
    await checked(page, problems);
    await page.getByLabel('Examined (needs a report)').check();
    await page.getByRole('button', { name: 'Record the move' }).click();
    await checked(page, problems);
    expect(await page.locator('.govuk-error-summary').textContent()).toContain('An extraction that is awaiting cannot become examined');
    await page.getByLabel('In examination').check();
    await page.getByRole('button', { name: 'Record the move' }).click();
    await checked(page, problems);
    expect(await page.locator('#examination-state').textContent()).toContain('in examination');
    // Examined needs a report first: the API's refusal shows on the form.
    await page.getByLabel('Examined (needs a report)').check();
    await page.getByRole('button', { name: 'Record the move' }).click();
    await checked(page, problems);
    expect(await page.locator('.govuk-error-summary').textContent()).toMatch(/report/i);
    const note = 'Started on the chat database.\nNothing deleted in the first pass.';
    await page.getByLabel('Add a note').fill(note);
    await page.getByRole('button', { name: 'Add the note' }).click();
    await checked(page, problems);
    // A sealed file that is not in a sub-exhibit of KH/4 (the UFDR itself) is refused on its field.
    const [container] = (await api(`/exhibits/${exhibits['KH/4']}/files`)).body as unknown as { id: string }[];
    await page.getByLabel('Report file id').fill(container.id);
    await page.getByLabel('Report title').fill('Examination report KH/4');
    await page.getByRole('button', { name: 'Attach the report' }).click();
    await checked(page, problems);
    expect(await page.locator('#reports-fileId-error').count()).toBe(1);
    await page.getByLabel('Report file id').fill(reportFileId);
    await page.getByLabel('Report title').fill('Examination report KH/4');
    await page.getByRole('button', { name: 'Attach the report' }).click();
    await checked(page, problems);
    expect(await page.locator('#report-list').textContent()).toContain('Examination report KH/4');
    await page.getByLabel('Examined (needs a report)').check();
    await page.getByRole('button', { name: 'Record the move' }).click();
    await checked(page, problems);
    expect(await page.locator('#examination-state').textContent()).toContain('examined');
    await page.screenshot({ path: `${SCREENSHOTS}/journey-3-extraction.png`, fullPage: true });

    const notes = (await api(`/extractions/${extractionId}/notes`)).body as unknown as { text: string; author: { username: string }; sha256: string }[];
    expect(notes.map((n) => [n.text, n.author.username, n.sha256])).toEqual([[note, analyst.username, sha256(note)]]);
    const workflow = (await api(`/extractions/${extractionId}/workflow`)).body as { examinationState: string; reports: { fileId: string }[] };
    expect(workflow).toMatchObject({ examinationState: 'examined', reports: [{ fileId: reportFileId }] });
  });

  it('journey 3: an E01 image shows the stored hash of the acquisition tool against the one calculated here, and the header facts', async () => {
    const { page, problems } = await h.page();
    await signInWithReason(page, problems, `/cases/${caseId}/extractions/${e01Id}`);
    expect(await page.locator('#verification-state').textContent()).toContain('verified');
    const md5 = '196066add11fb71c4c49cf1bb50d6d24';
    const md5Row = page.locator('tbody tr', { hasText: 'md5' });
    expect((await md5Row.locator('td').allTextContents()).map((t) => t.trim())).toEqual(['md5', 'media', md5, md5, 'Yes']);
    expect(await page.locator('#members').textContent()).toContain('ext2.E01');
    expect(await page.locator('main').textContent()).toContain('header · storedMd5');
    await page.screenshot({ path: `${SCREENSHOTS}/journey-3-e01.png`, fullPage: true });
  });
});
