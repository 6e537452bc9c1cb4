import { dictionary } from '@zxcvbn-ts/language-common';
import { AppError } from '../core/index.js';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

let denied: Set<string> | undefined;

/** The maintained list of common passwords from zxcvbn-ts (about 49,000 entries), lower-cased. */
function deniedPasswords(): Set<string> {
  return (denied ??= new Set(dictionary['passwords-common'].map((p) => String(p).toLowerCase())));
}

/**
 * Password rules after the NCSC's guidance: length over complexity (at least 12 characters, no
 * composition rules, long passphrases welcome), a deny-list of common passwords (also with digits
 * or symbols merely added around a listed one), and nothing built from the username.
 * Throws PASSWORD_TOO_WEAK with the rule that failed.
 */
export function assertPasswordAcceptable(password: string, username: string): void {
  const weak = (rule: string, message: string) => new AppError('PASSWORD_TOO_WEAK', message, 422, { rule });
  if (typeof password !== 'string' || [...password].length < PASSWORD_MIN_LENGTH) {
    throw weak('length', `The password must be at least ${PASSWORD_MIN_LENGTH} characters long; a few random words make a strong one`);
  }
  if ([...password].length > PASSWORD_MAX_LENGTH) throw weak('length', `The password must be at most ${PASSWORD_MAX_LENGTH} characters long`);
  const lower = password.normalize('NFKC').toLowerCase();
  if (/^(.)\1+$/u.test(lower)) throw weak('repetition', 'The password must not be one character repeated');
  const name = username.toLowerCase();
  if (name.length >= 3 && lower.includes(name)) throw weak('username', 'The password must not contain the username');
  const core = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  if (deniedPasswords().has(lower) || (core.length >= 4 && deniedPasswords().has(core))) {
    throw weak('common', 'This password is on the list of commonly used passwords that attackers try first; choose another (a few random words work well)');
  }
}
