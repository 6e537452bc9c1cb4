import { describe, expect, it } from '@jest/globals';
import { checkHandlers, JOB_NAMES, JOBS, QUEUE_NAMES } from './job-registry.js';

describe('job registry', () => {
  it('puts every job on a known queue with sane retry settings', () => {
    for (const name of JOB_NAMES) {
      const spec = JOBS[name];
      expect(QUEUE_NAMES).toContain(spec.queue);
      expect(spec.attempts).toBeGreaterThanOrEqual(1);
      expect(spec.timeoutMs).toBeGreaterThan(0);
      expect(name.startsWith(`${spec.queue}.`)).toBe(true);
    }
  });

  it('accepts exactly one handler per job', () => {
    expect(checkHandlers([{ job: 'a.x', handler: 'AX' }, { job: 'a.y', handler: 'AY' }], ['a.x', 'a.y'])).toEqual([]);
  });

  it('names a job without a handler', () => {
    expect(checkHandlers([{ job: 'a.x', handler: 'AX' }], ['a.x', 'a.y'])).toEqual(['job "a.y" has no handler']);
  });

  it('names a job with two handlers and both classes', () => {
    expect(
      checkHandlers(
        [
          { job: 'a.x', handler: 'First' },
          { job: 'a.x', handler: 'Second' },
        ],
        ['a.x'],
      ),
    ).toEqual(['job "a.x" has 2 handlers (First, Second)']);
  });

  it('names a handler for a job the registry does not know', () => {
    expect(checkHandlers([{ job: 'a.x', handler: 'AX' }, { job: 'b.z', handler: 'BZ' }], ['a.x'])).toEqual([
      'handler BZ is for unknown job "b.z"',
    ]);
  });

  it('finds the real registry incomplete when no handlers are given', () => {
    expect(checkHandlers([])).toHaveLength(JOB_NAMES.length);
  });
});
