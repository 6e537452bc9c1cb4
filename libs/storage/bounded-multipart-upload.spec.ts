import { describe, expect, it } from '@jest/globals';
import { choosePartSize } from './bounded-multipart-upload.js';

const MiB = 1024 * 1024;

describe('choosePartSize', () => {
  it('uses the configured size, never below the S3 minimum of 5 MiB', () => {
    expect(choosePartSize(8 * MiB)).toBe(8 * MiB);
    expect(choosePartSize(1 * MiB)).toBe(5 * MiB);
  });

  it('grows parts in whole MiB so a declared size fits in 10,000 parts', () => {
    expect(choosePartSize(8 * MiB, 50 * 1024 * MiB)).toBe(8 * MiB); // 50 GiB fits in 6,400 parts
    const tb = 1024 * 1024 * MiB; // 1 TiB
    const part = choosePartSize(8 * MiB, tb);
    expect(part % MiB).toBe(0);
    expect(Math.ceil(tb / part)).toBeLessThanOrEqual(10_000);
    expect(part).toBe(105 * MiB);
  });
});
