import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Express } from 'express';
import nunjucks from 'nunjucks';

const require = createRequire(import.meta.url);
/** Found through the module resolver, not a cwd-relative node_modules path (packages may be hoisted). */
export const GOVUK_DIR = join(dirname(require.resolve('govuk-frontend/package.json')), 'dist');
export const MOJ_DIR = dirname(require.resolve('@ministryofjustice/frontend/package.json'));

const LONDON_DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});
const LONDON_DATE = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', day: 'numeric', month: 'long', year: 'numeric' });

/** Times as people in England and Wales read them, with GMT or BST said (never the server's zone). */
export function londonTime(value: unknown, type: string = 'datetime'): string {
  if (value === null || value === undefined || value === '') return '';
  const d = new Date(value as string);
  if (Number.isNaN(d.getTime())) return String(value);
  return type === 'date' ? LONDON_DATE.format(d) : LONDON_DATE_TIME.format(d);
}

/** Sizes in the units people know (1 kB = 1000 bytes, as file managers on police PCs show them). */
export function fileSize(bytes: unknown): string {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '';
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Nunjucks over our templates, GOV.UK Frontend's and MoJ Frontend's, with autoescape on: text from
 * the API (descriptions, file names) is attacker-controlled and goes only through `text` params.
 * The MoJ timeline's `mojDate` and `date` filters are ours: MoJ's format in the server's local zone.
 */
export function configureViews(app: Express, templatesDir: string, noCache: boolean): nunjucks.Environment {
  const env = nunjucks.configure([templatesDir, GOVUK_DIR, MOJ_DIR], { autoescape: true, express: app, noCache });
  env.addFilter('mojDate', londonTime);
  env.addFilter('date', (v: unknown) => londonTime(v));
  env.addFilter('londonTime', londonTime);
  env.addFilter('fileSize', fileSize);
  env.addGlobal('serviceName', 'Digital evidence service');
  app.set('view engine', 'njk');
  return env;
}
