import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Makes a multi-segment E01 set with the real ewfacquire (ewf-tools 20140813), from random media
 * of `mediaBytes`. The size must be a multiple of 32 KiB: ewfacquire keeps only whole sectors but
 * stores the MD5 of the whole input, so a misaligned source makes an intact image FAIL
 * (EXTRACTION-NOTES (a)). Uncompressed (-c none) so a byte can be flipped at a known place.
 */
export async function acquireSet(dir: string, mediaBytes: number, segmentBytes: number, opts: { name?: string; md5Only?: boolean } = {}): Promise<string[]> {
  if (mediaBytes % (32 * 1024) !== 0) throw new Error('fixture media must be a multiple of 32 KiB');
  const name = opts.name ?? 'img';
  const src = join(dir, `${name}.raw`);
  writeFileSync(src, randomBytes(mediaBytes));
  await run('ewfacquire', [
    '-u', '-q', '-t', join(dir, name), '-S', String(segmentBytes), '-c', 'none',
    '-C', 'CASE-42', '-D', 'Seized phone handset storage', '-e', 'PC Smith', '-E', 'EXH-001', '-N', 'notes <&> "quoted"',
    ...(opts.md5Only ? [] : ['-d', 'sha1']), src,
  ]);
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${name}.E`))
    .sort()
    .map((f) => join(dir, f));
}

export interface Section {
  type: string;
  offset: number;
  next: number;
  size: number;
}

/** The section chain of a segment (76-byte descriptors: type[16], next u64, size u64). */
export function sections(file: string): Section[] {
  const d = readFileSync(file);
  const out: Section[] = [];
  let off = 13;
  for (;;) {
    const type = d.subarray(off, off + 16).toString('latin1').replace(/\0+$/, '');
    const next = Number(d.readBigUInt64LE(off + 16));
    const size = Number(d.readBigUInt64LE(off + 24));
    out.push({ type, offset: off, next, size });
    if (type === 'done' || type === 'next' || next <= off) return out;
    off = next;
  }
}

function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/**
 * Flips one byte inside chunk `k` of an uncompressed segment (data at the sectors section + 76 +
 * k × (32768 + 4)). With fixChecksum the chunk's trailing Adler-32 is recomputed, so the chunk
 * looks intact and only the media hash can tell: a pure hash mismatch.
 */
export function flipByteInChunk(file: string, k: number, fixChecksum = false): void {
  const d = readFileSync(file);
  const sectors = sections(file).find((s) => s.type === 'sectors');
  if (!sectors) throw new Error(`${file} has no sectors section`);
  const start = sectors.offset + 76 + k * 32772;
  d[start + 100] ^= 0xff;
  if (fixChecksum) d.writeUInt32LE(adler32(d.subarray(start, start + 32768)), start + 32768);
  writeFileSync(file, d);
}
