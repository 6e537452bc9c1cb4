import { describe, expect, it } from '@jest/globals';
import { audienceBreaches } from './bundle-rules.js';
import { formatSha256Sums, parseSha256Sums, pathSafeRef, safeFileName, uniqueName } from './bundle-layout.js';

describe('bundle layout', () => {
  it('makes exhibit references into folder names (JS/1/2 -> JS_1_2)', () => {
    expect(pathSafeRef('JS/1/2')).toBe('JS_1_2');
    expect(pathSafeRef('AB/10')).toBe('AB_10');
  });

  it('sanitises file names for every platform and for sha256sum -c', () => {
    expect(safeFileName('..\\..\\etc/passwd')).toBe('__.._etc_passwd');
    expect(safeFileName('a\nb\u0007.mp4')).toBe('ab.mp4');
    expect(safeFileName('CON.txt')).toBe('_CON.txt');
    expect(safeFileName('what?.mp4')).toBe('what_.mp4');
    expect(safeFileName('Cafe\u0301.jpg')).toBe('Caf\u00e9.jpg'); // NFD in, NFC out
    expect(Buffer.byteLength(safeFileName('x'.repeat(400)))).toBeLessThanOrEqual(150);
    expect(safeFileName('...')).toBe('_');
  });

  it('keeps names unique within a folder, case-insensitively', () => {
    const taken = new Set<string>();
    expect(uniqueName('a.mp4', taken)).toBe('a.mp4');
    expect(uniqueName('A.mp4', taken)).toBe('A (2).mp4');
  });

  it('writes and reads SHA256SUMS in sha256sum format', () => {
    const text = formatSha256Sums([{ path: 'exhibits/JS_1/a.mp4', sha256: 'a'.repeat(64) }]);
    expect(text).toBe(`${'a'.repeat(64)}  exhibits/JS_1/a.mp4\n`);
    expect(parseSha256Sums(text).get('exhibits/JS_1/a.mp4')).toBe('a'.repeat(64));
    expect(() => formatSha256Sums([{ path: 'a\\b', sha256: 'a'.repeat(64) }])).toThrow();
  });

  it('refuses MG6D material in a bundle that is not CPS-only', () => {
    const items = [{ sensitive: true, exhibitReference: 'JS/2' }, { sensitive: false, exhibitReference: 'JS/1' }];
    expect(audienceBreaches('cps_and_defence', items, ['MG6C', 'MG6D'])).toEqual(['exhibit JS/2 is sensitive (MG6D) material', 'the MG6D schedule lists sensitive material']);
    expect(audienceBreaches('cps_only', items, ['MG6D'])).toEqual([]);
    expect(audienceBreaches('cps_and_defence', [items[1]], ['MG6C'])).toEqual([]);
  });
});
