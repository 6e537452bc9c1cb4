import { AppError, textProblem } from '../core/index.js';
import { JUSTIFICATION_CODES, type Justification, type JustificationCode } from './custody-recorder.js';

/** A reason must say why in words an auditor can weigh later (DPA 2018 s.62: the justification is part of the record). */
export const JUSTIFICATION_TEXT_MIN = 10;
export const JUSTIFICATION_TEXT_MAX = 500;

/**
 * Reasons that say nothing, compared after folding case, punctuation and spacing. Our own list:
 * what people type to get past a required field; a reason that only repeats its code is added below.
 */
const BOILERPLATE = new Set([
  'na', 'n a', 'none', 'nil', 'null', 'no reason', 'reason', 'the reason', 'test', 'testing', 'just testing', 'asdf', 'qwerty', 'xxx',
  'because', 'just because', 'see above', 'as above', 'as before', 'same as before', 'tbc', 'tbd', 'todo', 'to do', 'misc', 'various',
  'work', 'for work', 'work purposes', 'my job', 'just looking', 'looking', 'checking', 'just checking', 'check', 'review', 'access',
  'need access', 'need to know', 'needed', 'required', 'ok', 'okay', 'yes', 'no', 'other', 'other reason', 'police', 'police work',
  ...JUSTIFICATION_CODES.map((c) => c.replace(/_/g, ' ')),
]);

const fold = (text: string) => text.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

/**
 * Checks the s.62 justification a caller gives. Malformed (unknown code, too long, control
 * characters): INVALID_JUSTIFICATION. Present but saying nothing (under JUSTIFICATION_TEXT_MIN
 * characters, fewer than two words, no letters, a stock phrase): JUSTIFICATION_TOO_VAGUE, so a
 * client can tell the person to write a real reason rather than fix a format.
 */
export function checkJustification(code: string | undefined, rawText: string | undefined): Justification {
  if (!code || !(JUSTIFICATION_CODES as readonly string[]).includes(code)) {
    throw new AppError('INVALID_JUSTIFICATION', `X-Justification-Code must be one of ${JUSTIFICATION_CODES.join(', ')}`, 400);
  }
  const text = (rawText ?? '').normalize('NFC').trim();
  if (text.length > JUSTIFICATION_TEXT_MAX) {
    throw new AppError('INVALID_JUSTIFICATION', `X-Justification-Text must say why in at most ${JUSTIFICATION_TEXT_MAX} characters`, 400);
  }
  const problem = textProblem(text);
  if (problem) throw new AppError('INVALID_JUSTIFICATION', `X-Justification-Text ${problem}`, 400);
  const vague = vagueness(text);
  if (vague) {
    throw new AppError('JUSTIFICATION_TOO_VAGUE', `X-Justification-Text ${vague}: say in your own words why you need this (for example which enquiry or task)`, 400, { minLength: JUSTIFICATION_TEXT_MIN });
  }
  return { code: code as JustificationCode, text };
}

/** Why a reason says too little, or undefined when it will do. */
export function vagueness(text: string): string | undefined {
  if (!text) return 'is empty';
  if ([...text].length < JUSTIFICATION_TEXT_MIN) return `is too short (at least ${JUSTIFICATION_TEXT_MIN} characters)`;
  const words = fold(text).split(' ').filter((w) => /\p{L}/u.test(w));
  if (!words.length) return 'has no words';
  if (BOILERPLATE.has(words.join(' '))) return `is a stock phrase ("${text}")`;
  if (words.length < 2) return 'is a single word';
  if (new Set(words).size === 1) return 'repeats one word';
  return undefined;
}
