import { describe, expect, it } from '@jest/globals';
import { StagingBudget } from './staging-budget.js';

describe('StagingBudget', () => {
  it('refuses at once a set larger than the whole budget', async () => {
    const b = new StagingBudget(100);
    await expect(b.reserve(101, 1000, 'set')).rejects.toMatchObject({ code: 'EXTRACTION_OVER_STAGING_BUDGET', status: 507, details: { neededBytes: 101, budgetBytes: 100 } });
    expect(b.inUse).toBe(0);
  });

  it('makes a set that fits wait for others, in order, and grants it on release', async () => {
    const b = new StagingBudget(100);
    const releaseA = await b.reserve(70, 1000, 'a');
    let granted = false;
    const waiting = b.reserve(50, 5000, 'b').then((r) => ((granted = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(granted).toBe(false);
    releaseA();
    releaseA(); // releasing twice gives nothing back twice
    const releaseB = await waiting;
    expect(b.inUse).toBe(50);
    releaseB();
    expect(b.inUse).toBe(0);
  });

  it('gives way with a retryable code when the budget stays taken', async () => {
    const b = new StagingBudget(100);
    const release = await b.reserve(100, 1000, 'a');
    await expect(b.reserve(1, 30, 'b')).rejects.toMatchObject({ code: 'EXTRACTION_STAGING_BUSY', status: 503 });
    release();
    expect(b.inUse).toBe(0);
    (await b.reserve(100, 10, 'c'))();
  });
});
