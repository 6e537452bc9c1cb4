import { z } from 'zod';

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANY_CASE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True for a UUID in its canonical form (RFC 9562: lower-case hex, hyphenated), as PostgreSQL
 * returns it. Ids reach services only in this form (the API canonicalises them at its boundary);
 * anything else is answered like an unknown id (404), never looked up: PostgreSQL would also
 * accept upper case, braces or missing hyphens, and a record of the lookup would then name the
 * object differently from the database.
 */
export function isUuid(id: unknown): id is string {
  return typeof id === 'string' && CANONICAL_UUID.test(id);
}

/**
 * The canonical form of a hyphenated UUID in any letter case (RFC 9562 says input is
 * case-insensitive), or undefined for anything else (braces, no hyphens, URNs, garbage).
 */
export function canonicalUuid(id: unknown): string | undefined {
  return typeof id === 'string' && ANY_CASE_UUID.test(id) ? id.toLowerCase() : undefined;
}

/** `id` lower-cased when it is a hyphenated UUID in any letter case; anything else unchanged. */
export function canonicalIdOrSelf<T>(id: T): T {
  return (canonicalUuid(id) ?? id) as T;
}

/** A UUID in a request body or query: any letter case accepted, passed on in canonical form. */
export const uuidInput = (message: string) => z.uuid({ message }).transform((v) => v.toLowerCase());
