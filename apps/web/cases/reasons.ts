import type { JustificationCode } from '../../../libs/custody/index.js';
import type { FormError } from '../form-errors.js';

/** The s.62 reason codes the API takes, in words (kept in step with the API's list by the type). */
export const REASON_LABELS = {
  investigation: 'Investigation',
  case_review: 'Case review',
  disclosure_review: 'Disclosure review',
  supervision: 'Supervision',
  audit: 'Audit',
  court_preparation: 'Court preparation',
  data_protection_request: 'Data protection request',
  other: 'Other',
} as const satisfies Record<JustificationCode, string>;

/**
 * What the form itself must catch before the reason can be sent at all: a code chosen, some text,
 * and text a header can carry (header values are bytes: printable Latin-1). Whether the reason is
 * good enough is the API's rule; its answer is shown on the form.
 */
export function reasonProblems(code: unknown, text: unknown, subject = 'this case'): FormError[] {
  const problems: FormError[] = [];
  if (typeof code !== 'string' || !(code in REASON_LABELS)) problems.push({ field: 'code', text: `Select why you need to see ${subject}` });
  const t = typeof text === 'string' ? text.trim() : '';
  if (!t) problems.push({ field: 'text', text: `Say why you need to see ${subject}` });
  else if (/[^\u0020-\u007e\u00a0-\u00ff]/.test(t)) problems.push({ field: 'text', text: 'Use letters, numbers and common punctuation only (no line breaks or symbols such as emoji)' });
  return problems;
}
