import { describe, expect, it } from '@jest/globals';
import { clean, jsonText, say, truncate } from './output.js';

describe('CLI output escaping', () => {
  it('shows terminal controls, C1 controls and bidi formatting as visible escapes', () => {
    expect(clean('Op \u001b[2J\u001b[31mKestrel\u0007')).toBe('Op \\u{1b}[2J\\u{1b}[31mKestrel\\u{7}');
    expect(clean('invoice\u202efdp.exe')).toBe('invoice\\u{202e}fdp.exe');
    expect(clean('a\u009b31mb\rc\u0008')).toBe('a\\u{9b}31mb\\u{d}c\\u{8}');
    expect(clean('two\nlines')).toBe('two\\u{a}lines');
    expect(clean('two\nlines', { multiLine: true })).toBe('two\nlines');
    expect(clean('سرقة — 報告書 😀')).toBe('سرقة — 報告書 😀');
    expect(clean(null)).toBe('');
  });

  it('cleans every interpolated value of a line, and table cells', () => {
    const title = 'x\u001b]0;owned\u0007';
    expect(say`Opened case "${title}" (${42})`).toBe('Opened case "x\\u{1b}]0;owned\\u{7}" (42)');
    expect(truncate('a\u001b[31mb')).toBe('a\\u{1b}[31mb');
  });

  it('keeps JSON output the same JSON value, with nothing a terminal would act on', () => {
    const value = { title: 'a\u001b[31m\u009b\u202eb\u007f', n: 1, lone: '\ud800' };
    const text = jsonText(value);
    expect(JSON.parse(text)).toEqual(value);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/);
  });
});
