import { describe, expect, it } from '@jest/globals';
import { safeText, textProblem } from './safe-text.js';

describe('the shared text rule', () => {
  it.each([
    ['a terminal escape', 'Op \u001b[2J\u001b[31mKestrel'],
    ['a bell', 'ring\u0007'],
    ['a backspace', 'abc\u0008\u0008\u0008xyz'],
    ['a carriage return', 'shown\roverwritten'],
    ['DEL', 'a\u007fb'],
    ['a C1 control (CSI)', 'a\u009b31mb'],
    ['a right-to-left override', 'invoice\u202efdp.exe'],
    ['a left-to-right embedding', 'a\u202ab'],
    ['an isolate', 'a\u2067b\u2069'],
    ['a lone surrogate', 'a\ud800b'],
    ['NUL', 'a\u0000b'],
    ['a line break in one-line text', 'two\nlines'],
  ])('refuses %s', (_what, value) => {
    expect(textProblem(value)).toMatch(/^must/);
  });

  it('accepts ordinary text in any script, with the implicit direction marks', () => {
    for (const value of ['Burglary at 1 High St', 'Opération Kestrel — 2ᵉ phase', 'سرقة في الشارع الرئيسي', 'גניבה\u200f (2026)', '報告書 😀']) {
      expect(textProblem(value)).toBeUndefined();
    }
  });

  it('keeps line breaks and tabs in multi-line text, with CR folded to LF, and still refuses escapes there', () => {
    const schema = safeText(100, { multiLine: true });
    expect(schema.parse('  first\r\nsecond\rthird\tcolumn  ')).toBe('first\nsecond\nthird\tcolumn');
    expect(schema.safeParse('a\n\u001b[31mred').success).toBe(false);
    expect(safeText(100).safeParse('a\nb').success).toBe(false);
    expect(safeText(5).safeParse('   ').success).toBe(false);
  });
});
