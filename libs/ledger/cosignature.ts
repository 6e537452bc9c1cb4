import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import {
  ALG_ED25519,
  assertKeyName,
  CheckpointError,
  ed25519KeyId,
  formatKeyId,
  formatSignatureLine,
  parseCheckpoint,
  parseSignatureLine,
  privateKeyFromSeed,
  publicKeyFromRaw,
  rawPublicKey,
  splitKeyFields,
  splitNote,
} from './checkpoint.js';

/**
 * Witness cosignatures of checkpoints: C2SP tlog-cosignature (c2sp.org/tlog-cosignature), the
 * Ed25519 `cosignature/v1` type. A witness, run by another organisation with its own key, signs
 * a checkpoint once it has checked that it extends the last one it accepted. Its cosignature is
 * one more signature line on the checkpoint's signed note:
 *
 *   key ID         SHA-256(<name> || 0x0A || 0x04 || 32-byte public key)[:4]
 *   verifier key   <name>+<8 hex key id>+base64(0x04 || 32-byte public key)      (a vkey of type 0x04)
 *   signer key     PRIVATE+KEY+<name>+<8 hex key id>+base64(0x04 || 32-byte seed)
 *   signed message "cosignature/v1\n" || "time <POSIX seconds, decimal>\n" || the checkpoint's note text
 *   signature line — <name> base64(key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64))
 *
 * Semantically: as of that time, the largest consistent tree the witness has seen for the origin
 * has this root. The message does not name the witness, so one key serves one witness only.
 */

/** Signed-note signature type of Ed25519 cosignature/v1. */
export const ALG_COSIGNATURE_V1 = 0x04;
export const COSIGNATURE_V1_HEADER = 'cosignature/v1';
const TIMESTAMP_BYTES = 8;
const SIGNATURE_BYTES = 64;

export interface WitnessSigner {
  readonly name: string;
  /** The cosignature/v1 key ID (type 0x04), whatever type the signer key string was written with. */
  readonly keyId: number;
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
}

export interface WitnessKey {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Buffer;
  readonly key: KeyObject;
  /** The verifier key string (vkey of type 0x04). */
  readonly verifierKey: string;
}

/** One witness's cosignature of one checkpoint. */
export interface Cosignature {
  witness: string;
  keyId: number;
  /** When the witness signed, in POSIX seconds (as the witness's clock said). */
  timestamp: number;
  /** The note signature line, without its newline. */
  line: string;
}

/** The cosignature/v1 key ID: the first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x04 || public key). */
export function cosignatureKeyId(name: string, publicKey: Buffer): number {
  return createHash('sha256').update(name, 'utf8').update(Buffer.from([0x0a, ALG_COSIGNATURE_V1])).update(publicKey).digest().readUInt32BE(0);
}

function encodeWitnessKey(name: string, publicKey: Buffer): string {
  return `${name}+${formatKeyId(cosignatureKeyId(name, publicKey))}+${Buffer.concat([Buffer.from([ALG_COSIGNATURE_V1]), publicKey]).toString('base64')}`;
}

/** A fresh witness signer key string (type 0x04). It is the witness's secret: store it like a password. */
export function generateWitnessKey(name: string): string {
  assertKeyName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new Error('Ed25519 key export failed');
  const id = cosignatureKeyId(name, Buffer.from(jwk.x, 'base64url'));
  return `PRIVATE+KEY+${name}+${formatKeyId(id)}+${Buffer.concat([Buffer.from([ALG_COSIGNATURE_V1]), Buffer.from(jwk.d, 'base64url')]).toString('base64')}`;
}

/**
 * Parses a witness signer key. Type 0x04 is the cosigner's own; a plain Ed25519 signer key (type
 * 0x01, e.g. from golang.org/x/mod/sumdb/note) is accepted too, as the reference witness
 * implementations do, and cosigns under the type-0x04 key ID of the same public key.
 */
export function parseWitnessSigner(encoded: string): WitnessSigner {
  if (typeof encoded !== 'string' || !encoded.startsWith('PRIVATE+KEY+')) throw new CheckpointError('MALFORMED_KEY', 'malformed witness signer key');
  const { name, keyId, algorithm, material } = splitKeyFields(encoded.slice('PRIVATE+KEY+'.length).trim(), 'witness signer key', [ALG_COSIGNATURE_V1, ALG_ED25519]);
  const privateKey = privateKeyFromSeed(material);
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  const expected = algorithm === ALG_COSIGNATURE_V1 ? cosignatureKeyId(name, publicKey) : ed25519KeyId(name, publicKey);
  if (expected !== keyId) throw new CheckpointError('MALFORMED_KEY', 'witness signer key ID does not match its key');
  return { name, keyId: cosignatureKeyId(name, publicKey), publicKey, privateKey };
}

/** The public verifier key string (type 0x04) of a witness, to give to the log and to verifiers. */
export function witnessKeyFromSigner(signer: WitnessSigner | string): string {
  const s = typeof signer === 'string' ? parseWitnessSigner(signer) : signer;
  return encodeWitnessKey(s.name, s.publicKey);
}

/** Parses a witness verifier key (a vkey of type 0x04); the key ID must match the name and key. */
export function parseWitnessKey(encoded: string): WitnessKey {
  if (typeof encoded !== 'string') throw new CheckpointError('MALFORMED_KEY', 'malformed witness key');
  const trimmed = encoded.trim();
  let fields;
  try {
    fields = splitKeyFields(trimmed, 'witness key', [ALG_COSIGNATURE_V1]);
  } catch (e) {
    // The one likely mix-up gets its own words: a log's checkpoint key given as a witness key.
    if (e instanceof CheckpointError && /unsupported algorithm 1$/.test(e.message)) {
      throw new CheckpointError('MALFORMED_KEY', 'witness key: this is a plain Ed25519 signed-note key (type 0x01, such as a log key), not a cosignature/v1 witness key (type 0x04)');
    }
    throw e;
  }
  const { name, keyId, material } = fields;
  if (cosignatureKeyId(name, material) !== keyId) throw new CheckpointError('MALFORMED_KEY', 'witness key ID does not match its key');
  let key: KeyObject;
  try {
    key = publicKeyFromRaw(material);
  } catch {
    throw new CheckpointError('MALFORMED_KEY', 'witness key is not a valid Ed25519 public key');
  }
  return { name, keyId, publicKey: Buffer.from(material), key, verifierKey: trimmed };
}

/** A list of witness keys separated by commas, spaces or newlines; the same witness twice is refused. */
export function parseWitnessKeys(list: string | readonly string[]): WitnessKey[] {
  const items = (typeof list === 'string' ? list.split(/[\s,]+/) : list.flatMap((l) => l.split(/[\s,]+/))).filter((s) => s !== '');
  const keys = items.map(parseWitnessKey);
  const seen = new Set<string>();
  for (const k of keys) {
    const id = `${k.name}+${formatKeyId(k.keyId)}`;
    if (seen.has(id)) throw new CheckpointError('MALFORMED_KEY', `witness key ${id} is listed twice`);
    seen.add(id);
  }
  return keys;
}

function assertTimestamp(timestamp: number): void {
  // The spec allows up to 2^63 - 1; this code keeps to exact JavaScript integers.
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new CheckpointError('MALFORMED_NOTE', `cosignature timestamp must be a non-negative whole number of seconds, got ${timestamp}`);
}

/** The message a cosignature/v1 signs: header line, time line, then the checkpoint's note text (which must parse). */
export function cosignedMessage(checkpointText: string, timestamp: number): Buffer {
  parseCheckpoint(checkpointText);
  assertTimestamp(timestamp);
  return Buffer.from(`${COSIGNATURE_V1_HEADER}\ntime ${timestamp}\n${checkpointText}`, 'utf8');
}

/**
 * Cosigns checkpoint note text (the text only, without signature lines) at `timestamp` (POSIX
 * seconds, default now). The caller must first have checked the checkpoint: its log signature,
 * and that it extends what this witness accepted before.
 */
export function cosignCheckpoint(checkpointText: string, signer: WitnessSigner | string, timestamp = Math.floor(Date.now() / 1000)): Cosignature {
  const s = typeof signer === 'string' ? parseWitnessSigner(signer) : signer;
  const signature = sign(null, cosignedMessage(checkpointText, timestamp), s.privateKey);
  const stamp = Buffer.alloc(TIMESTAMP_BYTES);
  stamp.writeBigUInt64BE(BigInt(timestamp));
  return { witness: s.name, keyId: s.keyId, timestamp, line: formatSignatureLine(s.name, s.keyId, Buffer.concat([stamp, signature])) };
}

/** Takes a cosignature line apart (form only; nothing verified): name, key ID, timestamp, signature. */
export function parseCosignatureLine(line: string): { witness: string; keyId: number; timestamp: number; signature: Buffer; line: string } {
  const trimmed = typeof line === 'string' ? line.replace(/\n$/, '') : line;
  if (typeof trimmed !== 'string' || trimmed.includes('\n')) throw new CheckpointError('MALFORMED_NOTE', 'a cosignature is one signature line');
  const sig = parseSignatureLine(trimmed);
  return { witness: sig.name, keyId: sig.keyId, ...splitTimestamped(sig.signature), line: trimmed };
}

function splitTimestamped(raw: Buffer): { timestamp: number; signature: Buffer } {
  if (raw.length !== TIMESTAMP_BYTES + SIGNATURE_BYTES) {
    throw new CheckpointError('MALFORMED_NOTE', `a cosignature/v1 signature is ${TIMESTAMP_BYTES + SIGNATURE_BYTES} bytes (timestamp and Ed25519 signature), not ${raw.length}`);
  }
  const big = raw.readBigUInt64BE(0);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError('MALFORMED_NOTE', `cosignature timestamp ${big} is out of range`);
  return { timestamp: Number(big), signature: raw.subarray(TIMESTAMP_BYTES) };
}

function verifyTimestamped(checkpointText: string, key: WitnessKey, timestamp: number, signature: Buffer): void {
  if (!verify(null, cosignedMessage(checkpointText, timestamp), key.key, signature)) {
    throw new CheckpointError('BAD_SIGNATURE', `cosignature by ${key.name}+${formatKeyId(key.keyId)} does not verify`);
  }
}

/**
 * Verifies one cosignature line against checkpoint note text and the witness's key. Throws
 * UNKNOWN_KEY when the line is another key's, BAD_SIGNATURE when it does not verify.
 */
export function verifyCosignature(checkpointText: string, line: string, key: WitnessKey | string): Cosignature {
  const k = typeof key === 'string' ? parseWitnessKey(key) : key;
  const parsed = parseCosignatureLine(line);
  if (parsed.witness !== k.name || parsed.keyId !== k.keyId) {
    throw new CheckpointError('UNKNOWN_KEY', `the cosignature is by ${parsed.witness}+${formatKeyId(parsed.keyId)}, not ${k.name}+${formatKeyId(k.keyId)}`);
  }
  verifyTimestamped(checkpointText, k, parsed.timestamp, parsed.signature);
  return { witness: k.name, keyId: k.keyId, timestamp: parsed.timestamp, line: parsed.line };
}

/**
 * The cosignatures on a signed checkpoint note by the given witness keys, each verified over the
 * note's text; lines by other keys (the log's own signature, unknown witnesses) are ignored, as
 * signed-note requires. A line by a given key that does not verify throws BAD_SIGNATURE: it was
 * altered, or is not what it claims. One entry per witness (its latest timestamp).
 */
export function witnessCosignatures(note: string | Buffer, keys: readonly WitnessKey[]): { text: string; cosignatures: Cosignature[] } {
  const { text, signatures } = splitNote(note);
  const byWitness = new Map<WitnessKey, Cosignature>();
  for (const sig of signatures) {
    const key = keys.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!key) continue;
    const { timestamp, signature } = splitTimestamped(sig.signature);
    verifyTimestamped(text, key, timestamp, signature);
    const previous = byWitness.get(key);
    if (!previous || previous.timestamp < timestamp) {
      byWitness.set(key, { witness: key.name, keyId: key.keyId, timestamp, line: formatSignatureLine(sig.name, sig.keyId, sig.signature) });
    }
  }
  return { text, cosignatures: [...byWitness.values()] };
}

export interface WitnessCheck {
  ok: boolean;
  required: number;
  /** The given witnesses that cosigned, one entry each. */
  cosigned: Cosignature[];
  /** Names of the given witnesses that did not. */
  missing: string[];
}

/** Whether at least `required` of the given witnesses cosigned the note (a bad cosignature by one of them throws). */
export function checkWitnesses(note: string | Buffer, keys: readonly WitnessKey[], required: number): WitnessCheck {
  if (!Number.isSafeInteger(required) || required < 0) throw new RangeError(`required witnesses must be a count, got ${required}`);
  const { cosignatures } = witnessCosignatures(note, keys);
  const missing = keys.filter((k) => !cosignatures.some((c) => c.witness === k.name && c.keyId === k.keyId)).map((k) => `${k.name}+${formatKeyId(k.keyId)}`);
  return { ok: cosignatures.length >= required, required, cosigned: cosignatures, missing };
}

/** A signed note with signature lines added at the end (lines it already has are not repeated). */
export function withSignatureLines(note: string, lines: readonly string[]): string {
  const { signatures } = splitNote(note);
  const present = new Set(signatures.map((s) => formatSignatureLine(s.name, s.keyId, s.signature)));
  let out = note;
  for (const raw of lines) {
    const line = raw.replace(/\n$/, '');
    parseSignatureLine(line);
    if (present.has(line)) continue;
    present.add(line);
    out += `${line}\n`;
  }
  return out;
}
