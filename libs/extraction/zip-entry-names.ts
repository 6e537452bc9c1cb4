import type { EntryFlag } from './extraction.types.js';

/**
 * Rules applied to raw ZIP entry names. They only flag: an entry name is never turned into a
 * filesystem path anywhere in this library (nothing is extracted to disk by name), so a hostile
 * name costs a flag, not a write outside the intended place.
 */
export function nameFlags(name: string): EntryFlag[] {
  const flags = new Set<EntryFlag>();
  // Windows tools write backslashes; both separators count (UFDR Local Paths use `\`).
  const parts = name.split(/[/\\]/);
  if (/^[/\\]/.test(name) || /^[A-Za-z]:/.test(name)) flags.add('absolute_path');
  if (parts.some((p) => p === '..')) flags.add('path_traversal');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) flags.add('unsafe_name');
  // Empty or `.` components in the middle (a//b, a/./b) make two names mean one path.
  const inner = parts.slice(/^[/\\]/.test(name) ? 1 : 0, name.endsWith('/') || name.endsWith('\\') ? -1 : undefined);
  if (name.length === 0 || inner.some((p) => p === '' || p === '.')) flags.add('unsafe_name');
  return [...flags];
}

/**
 * Key under which two names count as the same file for the duplicate check: the exact bytes are
 * one key, and names that differ only in Unicode normalisation (NFC/NFD, as macOS writes them) or
 * letter case (Windows, and case-insensitive examiners' tools) collide too.
 */
export function duplicateKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** UFDR Local Paths are backslash separated and may carry stray spaces (as IPED normalises them). */
export function normaliseReportPath(p: string): string {
  return p
    .replace(/\\/g, '/')
    .split('/')
    .map((c) => c.trim())
    .filter((c) => c.length > 0)
    .join('/');
}

/** IBM PC code page 437, which the ZIP specification gives names without the UTF-8 flag. */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ';

export function decodeCp437(b: Buffer): string {
  let s = '';
  for (const byte of b) s += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  return s;
}
