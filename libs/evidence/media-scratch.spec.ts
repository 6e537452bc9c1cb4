import { describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { scratchDir, sweepScratch } from './media-scratch.js';

describe('media scratch folders', () => {
  it("removes only this host's folders whose worker no longer runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scratch-spec-'));
    try {
      const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
      const gone = 4_194_000; // far above any pid in use
      for (const name of [`dems-media-${host}-${gone}-aB3dE9`, `dems-media-${host}-${process.pid}-xY7zQ1`, `dems-media-other-host-${gone}-k2L9mN`, 'unrelated-folder']) mkdirSync(join(dir, name));
      expect(await sweepScratch(dir)).toEqual([`dems-media-${host}-${gone}-aB3dE9`]);
      expect(readdirSync(dir).sort()).toEqual([`dems-media-${host}-${process.pid}-xY7zQ1`, `dems-media-other-host-${gone}-k2L9mN`, 'unrelated-folder'].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a new folder after this host and process', async () => {
    const made = await scratchDir();
    try {
      expect(basename(made)).toMatch(new RegExp(`^dems-media-.+-${process.pid}-[A-Za-z0-9]{6}$`));
    } finally {
      rmSync(made, { recursive: true, force: true });
    }
  });
});
