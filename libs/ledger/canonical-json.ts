/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the byte-exact encoding a ledger event is hashed
 * in, so the same event always yields the same leaf hash on every machine and runtime.
 *
 * Values are restricted to the I-JSON data model (RFC 7493) that JCS builds on: null, booleans,
 * finite numbers, well-formed strings, arrays and plain objects. Anything else throws a
 * CanonicalJsonError naming where it was found, rather than being silently dropped or coerced as
 * JSON.stringify would (undefined, functions, toJSON, Dates, Maps, …).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`canonical JSON: ${reason} at ${path}`);
    this.name = 'CanonicalJsonError';
  }
}

// Lone surrogates cannot be encoded as UTF-8 and I-JSON forbids them.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serializeString(s: string, path: string): string {
  if (LONE_SURROGATE.test(s)) throw new CanonicalJsonError(path, 'string contains a lone surrogate');
  // JCS §3.2.2.2 prescribes exactly ECMAScript's JSON string quoting.
  return JSON.stringify(s);
}

function serializeNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) throw new CanonicalJsonError(path, `${n} is not a JSON number`);
  // JCS §3.2.2.3 is ECMAScript Number-to-String (shortest round-trip form), with -0 as "0";
  // JSON.stringify on a finite number is exactly that.
  return JSON.stringify(n);
}

// Default Array.prototype.sort compares UTF-16 code units, which is JCS §3.2.3's order;
// localeCompare or a codepoint sort would both be wrong for astral characters.
function sortedKeys(obj: object): string[] {
  return Object.keys(obj).sort();
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function serialize(value: unknown, path: string, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return serializeNumber(value, path);
    case 'string':
      return serializeString(value, path);
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(path, `${typeof value} is not a JSON value`);
  }
  const obj = value as object;
  if (ancestors.has(obj)) throw new CanonicalJsonError(path, 'circular reference');
  ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      const parts: string[] = [];
      for (let i = 0; i < obj.length; i++) {
        // A hole would become null in JSON.stringify; treat it as the undefined it is.
        if (!(i in obj)) throw new CanonicalJsonError(`${path}[${i}]`, 'sparse array hole is not a JSON value');
        parts.push(serialize(obj[i], `${path}[${i}]`, ancestors));
      }
      return `[${parts.join(',')}]`;
    }
    if (!isPlainObject(obj)) {
      const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object';
      throw new CanonicalJsonError(path, `${name} is not a plain object`);
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) throw new CanonicalJsonError(path, 'symbol keys are not JSON');
    const record = obj as Record<string, unknown>;
    const parts = sortedKeys(obj).map((key) => {
      const p = childPath(path, key);
      if (LONE_SURROGATE.test(key)) throw new CanonicalJsonError(p, 'property name contains a lone surrogate');
      return `${JSON.stringify(key)}:${serialize(record[key], p, ancestors)}`;
    });
    return `{${parts.join(',')}}`;
  } finally {
    ancestors.delete(obj);
  }
}

/** The RFC 8785 canonical form of value as a string. Throws CanonicalJsonError for non-JSON input. */
export function canonicalize(value: unknown): string {
  return serialize(value, '$', new Set());
}

/** The canonical form as UTF-8 bytes: what gets hashed or signed. */
export function canonicalJsonBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
