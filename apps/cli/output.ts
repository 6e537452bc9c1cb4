import Table from 'cli-table3';
import { MISLEADING_CHARACTERS } from '../../libs/core/safe-text.js';

/**
 * Text from the service or from files (titles, names, file names, error messages) may hold
 * characters that act on a terminal instead of showing: ANSI escapes that recolour or clear it,
 * BEL, backspace and CR that overwrite, bidi overrides that reorder (`invoice\u202Efdp.exe`). Every
 * field the CLI prints goes through here and shows them as visible `\u{…}` escapes. Line feeds
 * are kept only where a multi-line value is expected.
 */
export function clean(value: unknown, options: { multiLine?: boolean } = {}): string {
  const text = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  return text.replace(MISLEADING_CHARACTERS, (c) => (options.multiLine && c === '\n' ? c : `\\u{${c.codePointAt(0)!.toString(16)}}`));
}

/** A line of output whose interpolated values are cleaned: say`Opened case ${urn} "${title}"`. */
export function say(strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((line, s, i) => line + s + (i < values.length ? clean(values[i]) : ''), '');
}

export function printTable(head: string[], rows: string[][], empty = '(none)'): void {
  if (!rows.length) {
    console.log(empty);
    return;
  }
  const t = new Table({ head: head.map((h) => clean(h)), style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map((cell) => clean(cell))));
  console.log(t.toString());
}

/** One record as label/value rows; empty values are left out so the listing stays readable. */
export function printDetails(pairs: [string, string | number | null | undefined][]): void {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [label, value] of pairs) if (value !== null && value !== undefined && value !== '') t.push({ [clean(label)]: clean(value, { multiLine: true }) });
  console.log(t.toString());
}

/** Shortens free text for a table cell (one line, at most `max` characters). */
export function truncate(text: string | null | undefined, max = 50): string {
  const flat = clean((text ?? '').replace(/\s+/g, ' ').trim());
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

/**
 * JSON for scripts: JSON.stringify already escapes C0 controls and lone surrogates; DEL, C1
 * controls and bidi formatting are escaped too (\uXXXX), so the output is still the same JSON
 * value and is safe to show on a terminal.
 */
export function printJson(value: unknown): void {
  console.log(jsonText(value));
}

export function jsonText(value: unknown, indent = 2): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
