import { AppError } from '../core/index.js';

/**
 * Unique Reference Number shared by police, CPS and courts (DOMAIN.md): force code (2 digits),
 * station (2 letters), serial (5 or 7 digits), year (2 digits). Accepted with or without spaces
 * or slashes between the parts, letters in either case; stored normalised (`01AB1234523`),
 * displayed with slashes (`01/AB/12345/23`).
 */
const URN = /^(\d{2})([A-Z]{2})(\d{5}|\d{7})(\d{2})$/;
const SEPARATED = /^(\d{2})[ /]+([A-Za-z]{2})[ /]+(\d{5}|\d{7})[ /]+(\d{2})$/;

export interface Urn {
  normalised: string;
  display: string;
}

export function parseUrn(input: string): Urn {
  const raw = String(input ?? '').trim();
  let parts: RegExpMatchArray | null = null;
  if (raw.length <= 40) {
    parts = SEPARATED.exec(raw) ?? (/^[0-9A-Za-z]+$/.test(raw) ? URN.exec(raw.toUpperCase()) : null);
  }
  if (!parts) {
    throw new AppError(
      'INVALID_URN',
      `"${raw.slice(0, 40)}" is not a valid URN: expected force code (2 digits), station (2 letters), serial (5 or 7 digits) and year (2 digits), e.g. 01/AB/12345/23`,
      400,
    );
  }
  const [, force, station, serial, year] = parts;
  const normalised = `${force}${station.toUpperCase()}${serial}${year}`;
  return { normalised, display: `${force}/${station.toUpperCase()}/${serial}/${year}` };
}

/** Display form of an already-normalised URN. */
export function displayUrn(normalised: string): string {
  return parseUrn(normalised).display;
}
