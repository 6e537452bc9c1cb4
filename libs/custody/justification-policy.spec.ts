import { describe, expect, it } from '@jest/globals';
import { AppError } from '../core/index.js';
import { checkJustification, vagueness } from './justification-policy.js';

const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as AppError).code;
  }
  return 'accepted';
};

describe('s.62 justification policy', () => {
  it.each([
    ['reviewing CCTV from the shop for the burglary file', 'accepted'],
    ['weekly case review', 'accepted'],
    ['Überprüfung der Aufnahmen für die Akte', 'accepted'],
    ['.....', 'JUSTIFICATION_TOO_VAGUE'],
    ['          ', 'JUSTIFICATION_TOO_VAGUE'],
    ['', 'JUSTIFICATION_TOO_VAGUE'],
    ['checking', 'JUSTIFICATION_TOO_VAGUE'],
    ['N/A', 'JUSTIFICATION_TOO_VAGUE'],
    ['Just checking!!!', 'JUSTIFICATION_TOO_VAGUE'],
    ['investigation', 'JUSTIFICATION_TOO_VAGUE'],
    ['Case Review.', 'JUSTIFICATION_TOO_VAGUE'],
    ['test test test', 'JUSTIFICATION_TOO_VAGUE'],
    ['1234567890 12', 'JUSTIFICATION_TOO_VAGUE'],
    ['safeguarding', 'JUSTIFICATION_TOO_VAGUE'],
    ['x'.repeat(501), 'INVALID_JUSTIFICATION'],
    ['reviewing \u001b[2J the file', 'INVALID_JUSTIFICATION'],
  ])('%j -> %s', (text, expected) => {
    expect(codeOf(() => checkJustification('investigation', text))).toBe(expected);
  });

  it('refuses an unknown or missing code before looking at the text', () => {
    expect(codeOf(() => checkJustification('curiosity', 'reviewing the file for court'))).toBe('INVALID_JUSTIFICATION');
    expect(codeOf(() => checkJustification(undefined, 'reviewing the file for court'))).toBe('INVALID_JUSTIFICATION');
  });

  it('keeps the text as given, trimmed and NFC-normalised', () => {
    expect(checkJustification('case_review', '  Cafe\u0301 CCTV review for the file  ')).toEqual({ code: 'case_review', text: 'Café CCTV review for the file' });
  });

  it('says why a reason is too vague', () => {
    expect(vagueness('.....')).toMatch(/too short/);
    expect(vagueness('..........')).toBe('has no words');
    expect(vagueness('see above.')).toMatch(/stock phrase/);
  });
});
