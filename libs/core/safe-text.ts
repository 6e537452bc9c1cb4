import { z } from 'zod';

/**
 * Text that misleads people is refused where it enters the service, by one rule shared by every
 * schema of free text and by upload file names:
 * - control characters (C0, DEL and C1): ANSI escape sequences recolour or rewrite a terminal, BEL
 *   rings, backspace and carriage return overwrite what was shown; NUL cannot be stored at all.
 *   Multi-line fields keep line feed and tab; CR is folded to LF;
 * - explicit bidirectional formatting (U+202A-U+202E embeddings and overrides, U+2066-U+2069
 *   isolates): `invoice\u202Efdp.exe` displays as `invoiceexe.pdf` (Trojan Source, CVE-2021-42574).
 *   Right-to-left scripts themselves, and the implicit marks LRM, RLM and ALM, are fine;
 * - lone surrogates, which are not text and which each layer would mend differently.
 * Outputs escape the same characters (apps/cli/output.ts), for text stored before this rule.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const LINE_BREAK = /[\n\r\t]/;
/** With the u flag a well-formed pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const BIDI_FORMATTING = /[\u202a-\u202e\u2066-\u2069]/;

/** Why `value` is not acceptable text, or undefined when it is. */
export function textProblem(value: string, options: { multiLine?: boolean } = {}): string | undefined {
  if (value.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  const control = CONTROL.exec(value) ?? (options.multiLine ? null : LINE_BREAK.exec(value));
  if (control) return `must not contain control characters (${codePoint(control[0])} at position ${control.index + 1})${options.multiLine ? '' : '; it is one line'}`;
  const bidi = BIDI_FORMATTING.exec(value);
  if (bidi) return `must not contain bidirectional formatting characters (${codePoint(bidi[0])} at position ${bidi.index + 1}), which make text display in another order than it is stored`;
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode text (it has a lone surrogate)';
  return undefined;
}

/** Every character textProblem refuses in one-line text, including line breaks and tabs (for outputs that escape instead). */
// eslint-disable-next-line no-control-regex
export const MISLEADING_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu;

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * A zod string of free text under the rule above: trimmed, 1..max characters. Multi-line text
 * (descriptions, summaries) keeps line feeds and tabs, with CRLF and CR stored as LF.
 */
export function safeText(max: number, options: { multiLine?: boolean } = {}) {
  return z
    .string()
    .transform((v) => (options.multiLine ? v.replace(/\r\n?/g, '\n') : v).trim())
    .pipe(
      z
        .string()
        .min(1, { message: 'must not be empty' })
        .max(max, { message: `must be at most ${max} characters` })
        .superRefine((v, ctx) => {
          const problem = textProblem(v, options);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
    );
}
