import { describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFileRanges } from './file-range-hash.js';

describe('hashFileRanges', () => {
  it('gives the SHA-256 of each byte range of a file, in order, on one thread or several', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dems-ranges-'));
    try {
      // Larger than one 8 MiB read, so a range spans several reads.
      const data = randomBytes(20 * 1024 * 1024 + 123);
      const file = join(dir, 'f.bin');
      await writeFile(file, data);
      const ranges = [
        { start: 0, length: data.length },
        { start: 17, length: 9 * 1024 * 1024 },
        { start: data.length - 5, length: 5 },
        { start: 100, length: 0 },
      ];
      const want = ranges.map((r) => createHash('sha256').update(data.subarray(r.start, r.start + r.length)).digest('hex'));
      expect(await hashFileRanges(file, ranges)).toEqual(want);
      expect(await hashFileRanges(file, ranges, 3)).toEqual(want);
      await expect(hashFileRanges(file, [{ start: data.length - 2, length: 10 }])).rejects.toThrow('the file ends 8 bytes before the entry does');
      await expect(hashFileRanges(join(dir, 'missing.bin'), [{ start: 0, length: 1 }])).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
