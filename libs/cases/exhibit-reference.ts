import { AppError } from '../core/index.js';

/**
 * Exhibit reference: producer's initials and a sequence number, `JS/1`; sub-exhibits `JS/1/1`
 * (up to three levels below). Unique per case. `JS_1_1` is the file-system-safe alias used
 * to name files in bundles.
 */
const REFERENCE = /^([A-Z]{1,4})\/([1-9]\d{0,4})((?:\/[1-9]\d{0,4}){0,3})$/;

export interface ExhibitReference {
  reference: string;
  /** The parent's reference for a sub-exhibit (`JS/1` for `JS/1/2`), else undefined. */
  parent?: string;
  alias: string;
}

export function parseExhibitReference(input: string): ExhibitReference {
  const raw = String(input ?? '').trim().toUpperCase().replace(/\s*\/\s*/g, '/');
  const m = raw.length <= 40 ? REFERENCE.exec(raw) : null;
  if (!m) {
    throw new AppError(
      'INVALID_EXHIBIT_REFERENCE',
      `"${String(input).slice(0, 40)}" is not a valid exhibit reference: expected the producer's initials and a number, e.g. JS/1, or a sub-exhibit such as JS/1/2`,
      400,
    );
  }
  const segments = raw.split('/');
  return {
    reference: raw,
    parent: segments.length > 2 ? segments.slice(0, -1).join('/') : undefined,
    alias: segments.join('_'),
  };
}
