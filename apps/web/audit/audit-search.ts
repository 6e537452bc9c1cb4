import type { FormError } from '../form-errors.js';

/** The auditor's search as the form gives it: ids and whole days (UK time). */
export interface AuditSearch {
  caseId: string;
  userId: string;
  from: string;
  to: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A calendar day that exists (Date.parse would take 30 February as 2 March). */
const isDay = (s: string) => DAY.test(s) && new Date(Date.parse(`${s}T00:00:00Z`) || 0).toISOString().slice(0, 10) === s;

export function auditSearch(query: Record<string, unknown>): AuditSearch {
  const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  return { caseId: str(query.caseId), userId: str(query.userId), from: str(query.from), to: str(query.to) };
}

/**
 * What the form catches before asking the API: ids that cannot be ids and days that are not
 * days (the API would refuse them too, in terms of its own parameters rather than the form's).
 */
export function searchProblems(s: AuditSearch): FormError[] {
  const problems: FormError[] = [];
  if (s.caseId && !UUID.test(s.caseId)) problems.push({ field: 'caseId', text: 'Enter a case id as shown in the log, for example 3f2b6c1e-8d4a-4b7e-9a51-0c6d2e7f1a93' });
  if (s.userId && !UUID.test(s.userId)) problems.push({ field: 'userId', text: 'Enter a user id as shown in the log, for example 3f2b6c1e-8d4a-4b7e-9a51-0c6d2e7f1a93' });
  for (const field of ['from', 'to'] as const) {
    if (s[field] && !isDay(s[field])) problems.push({ field, text: 'Enter a real date, for example 2026-11-27' });
  }
  if (!problems.length && s.from && s.to && s.to < s.from) problems.push({ field: 'to', text: 'The end of the period must be the same as or after its start' });
  return problems;
}

/** The API's query for the search: whole days in England and Wales, `to` included (so up to the next midnight). */
export function apiQuery(s: AuditSearch): Record<string, string | undefined> {
  return {
    caseId: s.caseId || undefined,
    userId: s.userId || undefined,
    from: s.from ? londonMidnight(s.from) : undefined,
    to: s.to ? londonMidnight(new Date(Date.parse(`${s.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)) : undefined,
  };
}

/**
 * The instant a day starts in England and Wales (GMT or BST), as the log's times are shown. The
 * offset in force at that day's UTC midnight is the one at London's midnight: the clocks change
 * at 01:00 UTC, never between 23:00 and 00:00 UTC.
 */
export function londonMidnight(day: string): string {
  const utcMidnight = Date.parse(`${day}T00:00:00Z`);
  const zone = LONDON_OFFSET.formatToParts(utcMidnight).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const hours = Number(/^GMT([+-]\d+)?$/.exec(zone)?.[1] ?? 0);
  return new Date(utcMidnight - hours * 3_600_000).toISOString();
}

const LONDON_OFFSET = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', timeZoneName: 'shortOffset' });

/** The search as a query string, for paging and export links. */
export function searchParams(s: AuditSearch, extra: Record<string, string> = {}): string {
  return new URLSearchParams(Object.entries({ ...s, ...extra }).filter(([, v]) => v !== '')).toString();
}
