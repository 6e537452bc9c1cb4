import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { TextDecoder } from 'node:util';

/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and C2SP transparency-log
 * checkpoints (c2sp.org/tlog-checkpoint) carried in them. Key strings use the
 * golang.org/x/mod/sumdb/note encodings so keys and notes interoperate with the Go tooling:
 *
 *   verifier key  <name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>
 *   signer key    PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || 32-byte seed)>
 *   signature     — <name> <base64(4-byte key id || 64-byte Ed25519 signature)>
 */

export type CheckpointErrorCode =
  | 'MALFORMED_NOTE'
  | 'UNKNOWN_KEY'
  | 'BAD_SIGNATURE'
  | 'MALFORMED_CHECKPOINT'
  | 'ORIGIN_MISMATCH'
  | 'MALFORMED_KEY';

export class CheckpointError extends Error {
  constructor(
    readonly code: CheckpointErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** A log's signed tree head. rootHash is the RFC 6962 root at size. */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** Optional opaque extension lines; the spec discourages them (monitors cannot audit them). */
  extensions?: string[];
}

export interface SignerKey {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Buffer;
  readonly key: KeyObject;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the 4-byte key ID. */
  signature: Buffer;
}

export interface OpenedNote {
  /** The signed text, ending in a newline. */
  text: string;
  /** Signatures by the given key; all verified, at least one. */
  verified: NoteSignature[];
  /** Signatures by other keys, which the spec says to ignore (e.g. witness cosignatures). */
  others: NoteSignature[];
}

export interface OpenedCheckpoint extends Checkpoint {
  extensions: string[];
  note: OpenedNote;
}

/** Signed-note signature type identifier for Ed25519. */
export const ALG_ED25519 = 0x01;
const SIGNATURE_PREFIX = '\u2014 '; // em dash, space
// Go's Open caps at 100; the spec requires accepting at least 16.
const MAX_SIGNATURES = 100;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// Unicode White_Space, as Go's unicode.IsSpace (which the reference implementation uses) sees it.
const UNICODE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Key names: non-empty, no Unicode spaces, no '+' (it separates the fields of key strings). */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name !== '' &&
    !UNICODE_SPACE.test(name) &&
    !name.includes('+') &&
    !FORBIDDEN_CONTROL.test(name) &&
    !LONE_SURROGATE.test(name)
  );
}

/** Ed25519 key ID: first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x01 || public key). */
export function ed25519KeyId(name: string, publicKey: Buffer): number {
  const digest = createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, ALG_ED25519])).update(publicKey).digest();
  return digest.readUInt32BE(0);
}

export function formatKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** Strict standard base64: canonical padding and trailing bits, so one value has one encoding. */
export function decodeBase64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : undefined;
}

export function privateKeyFromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new CheckpointError('MALFORMED_KEY', 'not an Ed25519 key');
  return Buffer.from(jwk.x, 'base64url');
}

export function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) throw new CheckpointError('MALFORMED_KEY', `invalid key name ${JSON.stringify(name)}: must be non-empty, without spaces or '+'`);
}

/**
 * Splits `<name>+<hex id>+<base64(algorithm byte || 32-byte key)>`; the base64 may itself contain
 * '+', so only the first two count. `algorithms` are the signature types accepted (Ed25519 by default).
 */
export function splitKeyFields(s: string, what: string, algorithms: readonly number[] = [ALG_ED25519]): { name: string; keyId: number; algorithm: number; material: Buffer } {
  const first = s.indexOf('+');
  const second = first < 0 ? -1 : s.indexOf('+', first + 1);
  if (second < 0) throw new CheckpointError('MALFORMED_KEY', `malformed ${what}`);
  const name = s.slice(0, first);
  const hex = s.slice(first + 1, second);
  const material = decodeBase64(s.slice(second + 1));
  if (!isValidKeyName(name) || !/^[0-9a-fA-F]{8}$/.test(hex) || !material || material.length === 0) {
    throw new CheckpointError('MALFORMED_KEY', `malformed ${what}`);
  }
  if (!algorithms.includes(material[0])) throw new CheckpointError('MALFORMED_KEY', `${what}: unsupported algorithm ${material[0]}`);
  if (material.length !== 33) throw new CheckpointError('MALFORMED_KEY', `${what}: Ed25519 key must be 32 bytes`);
  return { name, keyId: parseInt(hex, 16), algorithm: material[0], material: material.subarray(1) };
}

function encodeVerifierKey(name: string, publicKey: Buffer): string {
  const id = ed25519KeyId(name, publicKey);
  return `${name}+${formatKeyId(id)}+${Buffer.concat([Buffer.from([ALG_ED25519]), publicKey]).toString('base64')}`;
}

/** A fresh Ed25519 signer key string. It is a secret: store it like a password. */
export function generateSignerKey(name: string): string {
  assertKeyName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new Error('Ed25519 key export failed');
  const seed = Buffer.from(jwk.d, 'base64url');
  const id = ed25519KeyId(name, Buffer.from(jwk.x, 'base64url'));
  return `PRIVATE+KEY+${name}+${formatKeyId(id)}+${Buffer.concat([Buffer.from([ALG_ED25519]), seed]).toString('base64')}`;
}

/** Parses a signer key string; the key ID must match the public key derived from the seed. */
export function parseSignerKey(encoded: string): SignerKey {
  if (typeof encoded !== 'string' || !encoded.startsWith('PRIVATE+KEY+')) throw new CheckpointError('MALFORMED_KEY', 'malformed signer key');
  const { name, keyId, material } = splitKeyFields(encoded.slice('PRIVATE+KEY+'.length), 'signer key');
  const privateKey = privateKeyFromSeed(material);
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  if (ed25519KeyId(name, publicKey) !== keyId) throw new CheckpointError('MALFORMED_KEY', 'signer key ID does not match its key');
  return { name, keyId, publicKey, privateKey };
}

/** The public verifier key string for a signer (to hand to auditors and verifiers). */
export function verifierKeyFromSigner(signer: SignerKey | string): string {
  const s = typeof signer === 'string' ? parseSignerKey(signer) : signer;
  return encodeVerifierKey(s.name, s.publicKey);
}

/** Parses a verifier key string; the key ID must match the name and public key. */
export function parseVerifierKey(encoded: string): VerifierKey {
  if (typeof encoded !== 'string') throw new CheckpointError('MALFORMED_KEY', 'malformed verifier key');
  const { name, keyId, material } = splitKeyFields(encoded, 'verifier key');
  if (ed25519KeyId(name, material) !== keyId) throw new CheckpointError('MALFORMED_KEY', 'verifier key ID does not match its key');
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(material);
  } catch {
    throw new CheckpointError('MALFORMED_KEY', 'verifier key is not a valid Ed25519 public key');
  }
  return { name, keyId, publicKey: Buffer.from(material), key };
}

/** Notes must be well-formed UTF-8 with no control characters but newline (signed-note §Format). */
export function noteTextProblem(s: string): string | undefined {
  if (FORBIDDEN_CONTROL.test(s)) return 'contains a control character';
  if (LONE_SURROGATE.test(s)) return 'is not valid UTF-8';
  return undefined;
}

/** Signs note text (which must end in a newline) and returns the signed note. */
export function signNote(text: string, signer: SignerKey | string): string {
  const s = typeof signer === 'string' ? parseSignerKey(signer) : signer;
  if (typeof text !== 'string' || !text.endsWith('\n')) throw new CheckpointError('MALFORMED_NOTE', 'note text must end with a newline');
  const problem = noteTextProblem(text);
  if (problem) throw new CheckpointError('MALFORMED_NOTE', `note text ${problem}`);
  const signature = sign(null, Buffer.from(text, 'utf8'), s.privateKey);
  return `${text}\n${formatSignatureLine(s.name, s.keyId, signature)}\n`;
}

function decodeNote(note: string | Buffer): string {
  if (typeof note === 'string') return note;
  if (!Buffer.isBuffer(note)) throw new CheckpointError('MALFORMED_NOTE', 'note must be a string or Buffer');
  try {
    // ignoreBOM keeps a leading BOM in the text, so what is verified is byte-for-byte what was sent.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
  } catch {
    throw new CheckpointError('MALFORMED_NOTE', 'note is not valid UTF-8');
  }
}

/** A signed note taken apart, nothing verified: its text and every signature line, in order. */
export interface SplitNote {
  /** The signed text, ending in a newline. */
  text: string;
  signatures: NoteSignature[];
}

/**
 * Splits a signed note into its text and signature lines (signed-note §Format), checking only
 * the form: UTF-8 without control characters but newline, a blank line before the signatures,
 * each signature line `— <name> base64(key ID || signature)`.
 */
export function splitNote(note: string | Buffer): SplitNote {
  const msg = decodeNote(note);
  const problem = noteTextProblem(msg);
  if (problem) throw new CheckpointError('MALFORMED_NOTE', `note ${problem}`);
  // The text ends at the last blank line; the text itself may contain blank lines.
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) throw new CheckpointError('MALFORMED_NOTE', 'note has no signature block');
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw new CheckpointError('MALFORMED_NOTE', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new CheckpointError('MALFORMED_NOTE', `note has more than ${MAX_SIGNATURES} signatures`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

/** One signature line, `— <name> base64(4-byte key ID || signature)`, without its newline. */
export function parseSignatureLine(line: string): NoteSignature {
  if (typeof line !== 'string' || !line.startsWith(SIGNATURE_PREFIX)) throw new CheckpointError('MALFORMED_NOTE', 'signature line must start with an em dash and a space');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const raw = space < 0 ? undefined : decodeBase64(rest.slice(space + 1));
  if (!isValidKeyName(name) || !raw || raw.length < 5) throw new CheckpointError('MALFORMED_NOTE', 'malformed signature line');
  return { name, keyId: raw.readUInt32BE(0), signature: Buffer.from(raw.subarray(4)) };
}

/** The signature line for a signature (without its newline). */
export function formatSignatureLine(name: string, keyId: number, signature: Buffer): string {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(keyId);
  return `${SIGNATURE_PREFIX}${name} ${Buffer.concat([id, signature]).toString('base64')}`;
}

/**
 * Parses a signed note and verifies the signatures made by verifierKey. Signatures from other
 * keys are returned unverified, as the spec requires them to be ignored (not rejected). Throws
 * UNKNOWN_KEY if the key did not sign, BAD_SIGNATURE if any of its signatures fails.
 */
export function openNote(note: string | Buffer, verifierKey: VerifierKey | string): OpenedNote {
  const v = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey;
  const { text, signatures } = splitNote(note);
  const textBytes = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const others: NoteSignature[] = [];
  for (const sig of signatures) {
    // A key is identified by name and ID together; sharing only one of them is another key.
    if (sig.name !== v.name || sig.keyId !== v.keyId) {
      others.push(sig);
      continue;
    }
    if (sig.signature.length !== 64 || !verify(null, textBytes, v.key, sig.signature)) {
      throw new CheckpointError('BAD_SIGNATURE', `signature by ${v.name}+${formatKeyId(v.keyId)} does not verify`);
    }
    verified.push(sig);
  }
  if (verified.length === 0) throw new CheckpointError('UNKNOWN_KEY', `note is not signed by ${v.name}+${formatKeyId(v.keyId)}`);
  return { text, verified, others };
}

function checkLine(what: string, line: string): void {
  if (typeof line !== 'string' || line === '') throw new CheckpointError('MALFORMED_CHECKPOINT', `${what} must be a non-empty string`);
  if (line.includes('\n') || noteTextProblem(line)) throw new CheckpointError('MALFORMED_CHECKPOINT', `${what} must be a single line of printable text`);
}

/** The checkpoint note text: origin, decimal size, base64 root, then any extension lines. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  checkLine('origin', origin);
  if (!Number.isSafeInteger(size) || size < 0) throw new CheckpointError('MALFORMED_CHECKPOINT', `tree size must be a non-negative safe integer, got ${size}`);
  if (!Buffer.isBuffer(rootHash) || rootHash.length !== 32) throw new CheckpointError('MALFORMED_CHECKPOINT', 'root hash must be a 32-byte Buffer');
  extensions.forEach((line, i) => checkLine(`extension line ${i}`, line));
  return [origin, String(size), rootHash.toString('base64'), ...extensions].map((l) => `${l}\n`).join('');
}

/** Parses checkpoint note text (already verified; this does not check signatures). */
export function parseCheckpoint(text: string): Checkpoint & { extensions: string[] } {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw new CheckpointError('MALFORMED_CHECKPOINT', 'checkpoint text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new CheckpointError('MALFORMED_CHECKPOINT', 'checkpoint needs origin, size and root hash lines');
  if (lines.some((l) => l === '')) throw new CheckpointError('MALFORMED_CHECKPOINT', 'checkpoint lines must be non-empty');
  const [origin, sizeText, rootText, ...extensions] = lines;
  // No leading zeros (tlog-checkpoint §Note text), so a size has exactly one encoding.
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new CheckpointError('MALFORMED_CHECKPOINT', `malformed tree size ${JSON.stringify(sizeText)}`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new CheckpointError('MALFORMED_CHECKPOINT', `tree size ${sizeText} is too large`);
  const rootHash = decodeBase64(rootText);
  if (!rootHash || rootHash.length !== 32) throw new CheckpointError('MALFORMED_CHECKPOINT', 'root hash must be base64 of 32 bytes');
  return { origin, size, rootHash, extensions };
}

/** Formats and signs a checkpoint, returning the signed note. */
export function signCheckpoint(checkpoint: Checkpoint, signer: SignerKey | string): string {
  return signNote(formatCheckpoint(checkpoint), signer);
}

/**
 * Verifies a signed checkpoint against the log's verifier key and parses it. Pass the expected
 * origin to reject a validly signed checkpoint of some other log that shares the key.
 */
export function openCheckpoint(note: string | Buffer, verifierKey: VerifierKey | string, options: { origin?: string } = {}): OpenedCheckpoint {
  const opened = openNote(note, verifierKey);
  const checkpoint = parseCheckpoint(opened.text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new CheckpointError('ORIGIN_MISMATCH', `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(options.origin)}`);
  }
  return { ...checkpoint, note: opened };
}
