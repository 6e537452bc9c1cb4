import { describe, expect, it } from '@jest/globals';
import { apiQuery, auditSearch, londonMidnight, searchParams, searchProblems } from './audit-search.js';

describe('the auditor search form', () => {
  it('takes days in England and Wales: GMT in winter, BST in summer, across both clock changes', () => {
    expect(londonMidnight('2026-01-15')).toBe('2026-01-15T00:00:00.000Z');
    expect(londonMidnight('2026-07-01')).toBe('2026-06-30T23:00:00.000Z');
    // Clocks go forward at 01:00 UTC on 29 March 2026 and back at 01:00 UTC on 25 October 2026.
    expect(londonMidnight('2026-03-29')).toBe('2026-03-29T00:00:00.000Z');
    expect(londonMidnight('2026-03-30')).toBe('2026-03-29T23:00:00.000Z');
    expect(londonMidnight('2026-10-25')).toBe('2026-10-24T23:00:00.000Z');
    expect(londonMidnight('2026-10-26')).toBe('2026-10-26T00:00:00.000Z');
  });

  it('includes the last day of the period and leaves out what was not asked for', () => {
    const s = auditSearch({ caseId: ' 3f2b6c1e-8d4a-4b7e-9a51-0c6d2e7f1a93 ', userId: '', from: '2026-07-01', to: '2026-07-01' });
    expect(apiQuery(s)).toEqual({ caseId: '3f2b6c1e-8d4a-4b7e-9a51-0c6d2e7f1a93', userId: undefined, from: '2026-06-30T23:00:00.000Z', to: '2026-07-01T23:00:00.000Z' });
    expect(searchParams(s, { afterSeq: '25' })).toBe('caseId=3f2b6c1e-8d4a-4b7e-9a51-0c6d2e7f1a93&from=2026-07-01&to=2026-07-01&afterSeq=25');
  });

  it('names each field that cannot be sent, and a period that ends before it starts', () => {
    expect(searchProblems(auditSearch({ caseId: 'x', userId: '1', from: '2026-02-30', to: 'tomorrow' })).map((p) => p.field)).toEqual(['caseId', 'userId', 'from', 'to']);
    expect(searchProblems(auditSearch({ from: '2026-07-02', to: '2026-07-01' }))).toEqual([{ field: 'to', text: 'The end of the period must be the same as or after its start' }]);
    expect(searchProblems(auditSearch({ query: ['array'] }))).toEqual([]);
  });
});
