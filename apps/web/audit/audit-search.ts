import type { FormError } from '../form-errors.js';

/** The auditor's search as the form gives it: ids and whole days (UTC). */
export interface AuditSearch {
  caseId: string;
  userId: string;
  from: string;
  to: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

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
    if (s[field] && !(DAY.test(s[field]) && !Number.isNaN(Date.parse(`${s[field]}T00:00:00Z`)))) problems.push({ field, text: 'Enter a real date, for example 2026-11-27' });
  }
  if (!problems.length && s.from && s.to && s.to < s.from) problems.push({ field: 'to', text: 'The end of the period must be the same as or after its start' });
  return problems;
}

/** The API's query for the search: `to` is a whole day, so the period ends at the next midnight (UTC). */
export function apiQuery(s: AuditSearch): Record<string, string | undefined> {
  const nextDay = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString();
  return {
    caseId: s.caseId || undefined,
    userId: s.userId || undefined,
    from: s.from ? `${s.from}T00:00:00Z` : undefined,
    to: s.to ? nextDay(s.to) : undefined,
  };
}

/** The search as a query string, for paging and export links. */
export function searchParams(s: AuditSearch, extra: Record<string, string> = {}): string {
  return new URLSearchParams(Object.entries({ ...s, ...extra }).filter(([, v]) => v !== '')).toString();
}
