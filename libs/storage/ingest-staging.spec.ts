import { describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { removeDeadStagingDirs } from './ingest-upload-store.js';

describe('removeDeadStagingDirs (a killed API leaves its staged parts behind)', () => {
  it('removes the folders of this host’s dead processes and other hosts’ folders untouched for a day, nothing else', () => {
    const base = mkdtempSync(path.join(tmpdir(), 'dems-staging-spec-'));
    const live = spawn('sleep', ['30']);
    const deadPid = spawnSync('true').pid!;
    try {
      const dir = (name: string) => {
        const d = path.join(base, name);
        mkdirSync(d);
        writeFileSync(path.join(d, 'tus-s3-part-x'), 'staged evidence bytes');
        return d;
      };
      const dead = dir(`dems-ingest-${hostname()}-${deadPid}-0a1b2c3d`);
      const alive = dir(`dems-ingest-${hostname()}-${live.pid}-0a1b2c3d`);
      const mine = dir(`dems-ingest-${hostname()}-${process.pid}-0a1b2c3d`);
      const otherHostOld = dir('dems-ingest-another-host-42-0a1b2c3d');
      const otherHostRecent = dir('dems-ingest-another-host-43-0a1b2c3d');
      const unrelated = dir('something-else');
      const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
      utimesSync(otherHostOld, twoDaysAgo, twoDaysAgo);

      expect(removeDeadStagingDirs(base).sort()).toEqual([dead, otherHostOld].sort());
      for (const d of [alive, mine, otherHostRecent, unrelated]) expect(existsSync(d)).toBe(true);
      expect(existsSync(dead)).toBe(false);
    } finally {
      live.kill();
      rmSync(base, { recursive: true, force: true });
    }
  });
});
