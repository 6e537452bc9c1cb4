import { expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createWeb } from '../../apps/web/bootstrap.js';
import { loadWebConfig } from '../../libs/config/index.js';
import { ApiHarness } from './api-harness.js';

/** Debian's Chromium (apt-get install chromium); the browser tests never download one. */
export const CHROMIUM = process.env.DEMS_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = '.local/web-screenshots';

const axeSource = (): string => createRequire(import.meta.url)('axe-core').source as string;

/** The real API (test database, Redis, S3) and the web application in front of it, plus a browser. */
export class WebHarness {
  readonly api = new ApiHarness();
  web!: INestApplication;
  base!: string;
  browser!: Browser;

  async start(): Promise<this> {
    await this.api.start();
    const config = loadWebConfig({
      ...process.env,
      LOG_LEVEL: 'silent',
      WEB_API_URL: this.api.base,
      WEB_SESSION_SECRET: randomBytes(32).toString('base64url'),
      WEB_PUBLIC_URL: 'http://127.0.0.1:3001',
    });
    this.web = await createWeb(config);
    await this.web.listen(0, '127.0.0.1');
    this.base = `http://127.0.0.1:${(this.web.getHttpServer().address() as AddressInfo).port}`;
    this.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--disable-dev-shm-usage'] });
    mkdirSync(SCREENSHOTS, { recursive: true });
    return this;
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await this.web?.close();
    await this.api.stop();
  }

  /** A fresh browser context (no cookies) whose pages fail the test on console errors and CSP reports. */
  async page(): Promise<{ page: Page; problems: string[] }> {
    const context = await this.browser.newContext({ baseURL: this.base, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      // A page answered 4xx on purpose (a refused sign-in, a form with errors) is not a page fault.
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    return { page, problems };
  }
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core run in the page (injected by evaluate, which the page's CSP does not govern): serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource());
  const result = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })`)) as { violations: AxeViolation[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** The page once loaded: no serious or critical axe violation, and no console error or CSP report so far. */
export async function expectAccessible(page: Page, problems: string[]): Promise<void> {
  await page.waitForLoadState('load');
  const violations = await seriousViolations(page);
  expect(violations.map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`)).toEqual([]);
  expect(problems).toEqual([]);
}

/** Asks again every 200 ms until the answer is done (the test's own timeout bounds it). */
export async function until<T>(get: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await get();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}
