import { describe, expect, it } from '@jest/globals';
import { queueConcurrency } from './queue-concurrency.js';

describe('queueConcurrency', () => {
  it('gives every queue the default, except those named', () => {
    const c = queueConcurrency('media=1,extraction=3', 2);
    expect(c.media).toBe(1);
    expect(c.extraction).toBe(3);
    expect(c.integrity).toBe(2);
    expect(queueConcurrency('', 4).media).toBe(4);
  });

  it('refuses a queue that does not exist and a count of 0', () => {
    expect(() => queueConcurrency('videos=1', 2)).toThrow(/names no queue "videos"/);
    expect(() => queueConcurrency('media=0', 2)).toThrow(/at least 1/);
  });
});
