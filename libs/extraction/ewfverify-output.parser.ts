import type { EwfHashComparison } from './extraction.types.js';

/**
 * Parses ewfverify 20140813 output. Its exit code is only 0 or 1, so the verdict comes from the
 * last `ewfverify: SUCCESS|FAILURE|ABORTED` line; rc 1 without that line means the set could not
 * be opened at all, and stderr says why. Hashes are taken only from anchored lines and checked to
 * be hex (EXTRACTION-NOTES (a)).
 */
export type EwfverifyVerdict = 'success' | 'failure' | 'aborted' | 'unopened';

export interface EwfverifyReport {
  verdict: EwfverifyVerdict;
  hashes: EwfHashComparison[];
  bytesRead?: number;
  sectorErrors: { firstSector: number; lastSector: number; count: number; segmentFiles: string[] }[];
  /** stderr lines that explain a failure (libewf's own messages), for the reason shown to people. */
  errorLines: string[];
}

export function parseEwfverifyOutput(stdout: string, stderr: string, exitCode: number | null): EwfverifyReport {
  const lines = stdout.replace(/\r/g, '\n').split('\n');
  let verdict: EwfverifyVerdict = 'unopened';
  const hashes = new Map<string, EwfHashComparison>();
  let bytesRead: number | undefined;
  const sectorErrors: EwfverifyReport['sectorErrors'] = [];
  for (const line of lines) {
    const v = /^ewfverify: (SUCCESS|FAILURE|ABORTED)\s*$/.exec(line);
    if (v) verdict = v[1].toLowerCase() as EwfverifyVerdict;
    const h = /^(MD5|SHA1|SHA256) hash (stored in file|calculated over data):\s*(\S+)\s*$/.exec(line);
    if (h) {
      const algorithm = h[1].toLowerCase() as EwfHashComparison['algorithm'];
      const value = /^[0-9a-f]{32,64}$/i.test(h[3]) ? h[3].toLowerCase() : undefined;
      const c = hashes.get(algorithm) ?? { algorithm };
      if (h[2] === 'stored in file') c.stored = value;
      else c.calculated = value;
      hashes.set(algorithm, c);
    }
    const r = /^Read: .*\((\d+) bytes\)/.exec(line);
    if (r) bytesRead = Number(r[1]);
    const s = /^\s*at sector\(s\): (\d+) - (\d+) \(number: (\d+)\)(?: in segment file\(s\):\s*(.*))?$/.exec(line);
    if (s) {
      sectorErrors.push({
        firstSector: Number(s[1]),
        lastSector: Number(s[2]),
        count: Number(s[3]),
        segmentFiles: (s[4] ?? '').split(/,\s*/).filter((x) => x.trim().length > 0),
      });
    }
  }
  // A run killed by a signal never printed a verdict it could stand by.
  if (exitCode === null && verdict !== 'aborted') verdict = 'unopened';
  for (const c of hashes.values()) if (c.stored && c.calculated) c.matches = c.stored === c.calculated;
  const errorLines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .slice(-6);
  return { verdict, hashes: [...hashes.values()], bytesRead, sectorErrors, errorLines };
}

/** Progress from `Status: at 85%.` blocks (printed without -q, also into a pipe). */
export function parseEwfverifyProgress(chunk: string): number | undefined {
  let last: number | undefined;
  for (const m of chunk.matchAll(/Status: at (\d{1,3})%/g)) last = Number(m[1]);
  return last;
}
