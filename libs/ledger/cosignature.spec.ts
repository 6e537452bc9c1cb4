import { describe, expect, it } from '@jest/globals';
import { CheckpointError, generateSignerKey, openCheckpoint, parseSignerKey, parseVerifierKey, signCheckpoint, verifierKeyFromSigner, type CheckpointErrorCode } from './checkpoint.js';
import {
  checkWitnesses,
  cosignatureKeyId,
  cosignCheckpoint,
  cosignedMessage,
  generateWitnessKey,
  parseCosignatureLine,
  parseWitnessKey,
  parseWitnessKeys,
  parseWitnessSigner,
  verifyCosignature,
  witnessCosignatures,
  witnessKeyFromSigner,
  withSignatureLines,
} from './cosignature.js';

function codeOf(fn: () => unknown): CheckpointErrorCode {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as CheckpointError).code;
  }
  throw new Error('expected a CheckpointError');
}

// A complete cosignature/v1 vector made by another implementation from fixed seeds: a checkpoint
// signed by a log key (golang.org/x/mod/sumdb/note) and cosigned by a witness key (stated at its
// source to be github.com/transparency-dev/formats v0.1.1, NewSignerForCosignatureV1). Our key ID,
// signed message and signature layout must verify it and, Ed25519 being deterministic, reproduce
// the witness line byte for byte from the same seed and time.
const VEC_LOG_VKEY = 'example.com/vector-log+4516a1da+ARGkVJ4QEa2MOOLGBO6i7NVSJ1FQ97tIX+w+Ku0RZ6Em';
const VEC_WIT_SKEY = 'PRIVATE+KEY+witness.example.com/vector+416f103d+BJEX3xv88eoQIKT4E+GkxZcXaJCYlQfi/GJ3NDFmZIW8';
const VEC_WIT_VKEY = 'witness.example.com/vector+416f103d+BK/QmJFVP3SKJOqAMhFxBQPtylo3sjwWibyFDAlZKK8B';
const VEC_TEXT = 'example.com/vector-log\n1234\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n';
const VEC_LOG_LINE = '\u2014 example.com/vector-log RRah2qlLrSlk6J8DA1HmNewppUM15Quhs5cAIb1KjBsV3otVirJTW8AFVsQtJkTW1Zny7GuoAxZpI6bUPcpM68QOIgE=';
const VEC_WIT_LINE = '\u2014 witness.example.com/vector QW8QPQAAAABqwLUbDdj7sDNRIVjmjYgqFI6y4UJhPg/UAA8J8wAdqSd3q4PedRhkgXA4xFN/Jg5uWn7ZkBA+H/UHQs5d9hITdXmQAA==';
const VEC_TIME = 1791014171;
const VEC_NOTE = `${VEC_TEXT}\n${VEC_LOG_LINE}\n${VEC_WIT_LINE}\n`;

// A real witness's cosignature/v1 verifier key (type 0x04), from transparency-dev/formats' tests.
const REMORA_VKEY = 'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2';
// The example cosignature of c2sp.org/tlog-cosignature, whose signed message it gives as "time 1679315147".
const SPEC_EXAMPLE_LINE = '\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==';
// transparency-dev/formats' timestamp test signature (1727964367).
const FORMATS_TIMESTAMP_LINE = '\u2014 w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==';

describe('cosignature/v1 encoding against published vectors', () => {
  it('derives key IDs with the type byte 0x04', () => {
    const remora = parseWitnessKey(REMORA_VKEY);
    expect(remora.keyId).toBe(0xda77ade7);
    expect(cosignatureKeyId('remora.n621.de', remora.publicKey)).toBe(0xda77ade7);
    const witness = parseWitnessKey(VEC_WIT_VKEY);
    expect([witness.name, witness.keyId]).toEqual(['witness.example.com/vector', 0x416f103d]);
    expect(witnessKeyFromSigner(VEC_WIT_SKEY)).toBe(VEC_WIT_VKEY);
    expect(parseWitnessSigner(VEC_WIT_SKEY).keyId).toBe(0x416f103d);
  });

  it('verifies the vector: the log signature with the log key, the cosignature with the witness key', () => {
    const cp = openCheckpoint(VEC_NOTE, VEC_LOG_VKEY, { origin: 'example.com/vector-log' });
    expect(cp.size).toBe(1234);
    expect(cp.note.others.map((s) => s.name)).toEqual(['witness.example.com/vector']);
    const { text, cosignatures } = witnessCosignatures(VEC_NOTE, [parseWitnessKey(VEC_WIT_VKEY)]);
    expect(text).toBe(VEC_TEXT);
    expect(cosignatures).toEqual([{ witness: 'witness.example.com/vector', keyId: 0x416f103d, timestamp: VEC_TIME, line: VEC_WIT_LINE }]);
    expect(verifyCosignature(VEC_TEXT, VEC_WIT_LINE, VEC_WIT_VKEY).timestamp).toBe(VEC_TIME);
  });

  it('reproduces the vector byte for byte from the same seed and time', () => {
    expect(cosignedMessage(VEC_TEXT, VEC_TIME).toString('utf8')).toBe(`cosignature/v1\ntime ${VEC_TIME}\n${VEC_TEXT}`);
    expect(cosignCheckpoint(VEC_TEXT, VEC_WIT_SKEY, VEC_TIME).line).toBe(VEC_WIT_LINE);
  });

  it('reads the signature as key ID, 8-byte big-endian timestamp, 64-byte signature', () => {
    expect(parseCosignatureLine(SPEC_EXAMPLE_LINE)).toMatchObject({ witness: 'witness.example.com/w1', keyId: 0x8d66cf3f, timestamp: 1679315147 });
    expect(parseCosignatureLine(FORMATS_TIMESTAMP_LINE).timestamp).toBe(1727964367);
    const parsed = parseCosignatureLine(VEC_WIT_LINE + '\n');
    expect([parsed.timestamp, parsed.signature.length, parsed.line]).toEqual([VEC_TIME, 64, VEC_WIT_LINE]);
    // A plain note signature (64 bytes, no timestamp) is not a cosignature.
    expect(codeOf(() => parseCosignatureLine(VEC_LOG_LINE))).toBe('MALFORMED_NOTE');
  });

  it('fails when the checkpoint or the signed timestamp is changed', () => {
    const witness = [parseWitnessKey(VEC_WIT_VKEY)];
    expect(codeOf(() => witnessCosignatures(VEC_NOTE.replace('\n1234\n', '\n1235\n'), witness))).toBe('BAD_SIGNATURE');
    // The timestamp's last byte is the 12th of the blob: base64 characters 13-16 hold bytes 10-12.
    const blob = VEC_WIT_LINE.slice(VEC_WIT_LINE.lastIndexOf(' ') + 1);
    const raw = Buffer.from(blob, 'base64');
    raw[11] ^= 1;
    const moved = VEC_WIT_LINE.replace(blob, raw.toString('base64'));
    expect(parseCosignatureLine(moved).timestamp).toBe(VEC_TIME ^ 1);
    expect(codeOf(() => verifyCosignature(VEC_TEXT, moved, VEC_WIT_VKEY))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyCosignature(VEC_TEXT, VEC_WIT_LINE, REMORA_VKEY))).toBe('UNKNOWN_KEY');
  });
});

describe('witness keys', () => {
  it('keeps log keys and witness keys apart', () => {
    expect(() => parseWitnessKey(VEC_LOG_VKEY)).toThrow(/type 0x01.*not a cosignature\/v1 witness key/);
    expect(codeOf(() => parseVerifierKey(VEC_WIT_VKEY))).toBe('MALFORMED_KEY');
    expect(codeOf(() => parseWitnessKey(VEC_WIT_VKEY.replace('+416f103d+', '+416f103e+')))).toBe('MALFORMED_KEY');
    expect(codeOf(() => parseWitnessKey('witness+416f103d'))).toBe('MALFORMED_KEY');
    expect(codeOf(() => parseWitnessSigner(VEC_WIT_VKEY))).toBe('MALFORMED_KEY');
  });

  it('makes fresh witness keys that round-trip', () => {
    const skey = generateWitnessKey('cps.example.gov.uk/witness');
    expect(skey).toMatch(/^PRIVATE\+KEY\+cps\.example\.gov\.uk\/witness\+[0-9a-f]{8}\+/);
    expect(Buffer.from(skey.split('+').slice(4).join('+'), 'base64')[0]).toBe(0x04);
    const vkey = witnessKeyFromSigner(skey);
    const key = parseWitnessKey(vkey);
    expect(key.verifierKey).toBe(vkey);
    const c = cosignCheckpoint(VEC_TEXT, skey, 1_700_000_000);
    expect(verifyCosignature(VEC_TEXT, c.line, key)).toEqual(c);
    expect(codeOf(() => generateWitnessKey('has space'))).toBe('MALFORMED_KEY');
  });

  it('accepts a plain Ed25519 signer key as a witness key, cosigning under its type-0x04 key ID', () => {
    const skey = generateSignerKey('psu.example.police.uk/witness');
    const plain = parseSignerKey(skey);
    const signer = parseWitnessSigner(skey);
    expect(signer.publicKey.equals(plain.publicKey)).toBe(true);
    expect(signer.keyId).toBe(cosignatureKeyId(plain.name, plain.publicKey));
    expect(signer.keyId).not.toBe(plain.keyId);
    const c = cosignCheckpoint(VEC_TEXT, signer, 1);
    expect(verifyCosignature(VEC_TEXT, c.line, witnessKeyFromSigner(signer)).timestamp).toBe(1);
  });

  it('parses a list separated by commas, spaces or newlines, and refuses a witness listed twice', () => {
    expect(parseWitnessKeys(`${VEC_WIT_VKEY},\n ${REMORA_VKEY}\n`).map((k) => k.name)).toEqual(['witness.example.com/vector', 'remora.n621.de']);
    expect(parseWitnessKeys('')).toEqual([]);
    expect(() => parseWitnessKeys([VEC_WIT_VKEY, VEC_WIT_VKEY])).toThrow(/listed twice/);
  });
});

describe('witness quorum on a checkpoint note', () => {
  const log = generateSignerKey('ledger.example.police.uk');
  const note = signCheckpoint({ origin: 'ledger.example.police.uk', size: 1234, rootHash: Buffer.alloc(32, 7) }, log);
  const text = note.slice(0, note.indexOf('\n\n') + 1);
  const w1 = generateWitnessKey('w1.example');
  const w2 = generateWitnessKey('w2.example');
  // A witness that takes the log's own name: the key IDs still tell the lines apart.
  const namesake = generateWitnessKey('ledger.example.police.uk');
  const keys = [w1, w2, namesake].map((k) => parseWitnessKey(witnessKeyFromSigner(k)));

  it('counts each trusted witness once and ignores every other line', () => {
    const one = withSignatureLines(note, [cosignCheckpoint(text, w1, 100).line]);
    expect(checkWitnesses(one, keys, 2)).toMatchObject({ ok: false, required: 2, missing: [keys[1], keys[2]].map((k) => `${k.name}+${k.keyId.toString(16).padStart(8, '0')}`) });
    expect(checkWitnesses(one, keys, 1).ok).toBe(true);
    const twiceByOne = withSignatureLines(one, [cosignCheckpoint(text, w1, 200).line]);
    const check = checkWitnesses(twiceByOne, keys, 2);
    expect(check.ok).toBe(false);
    expect(check.cosigned).toEqual([expect.objectContaining({ witness: 'w1.example', timestamp: 200 })]);
    const two = withSignatureLines(twiceByOne, [cosignCheckpoint(text, w2, 300).line]);
    expect(checkWitnesses(two, keys, 2).ok).toBe(true);
    // The log still opens its checkpoint; the cosignatures are other keys' lines to it.
    expect(openCheckpoint(two, verifierKeyFromSigner(log)).note.others).toHaveLength(3);
    // Witnesses the verifier does not trust count for nothing.
    expect(checkWitnesses(two, [], 1)).toMatchObject({ ok: false, cosigned: [] });
  });

  it('does not repeat a line already on the note', () => {
    const line = cosignCheckpoint(text, w1, 100).line;
    const once = withSignatureLines(note, [line]);
    expect(withSignatureLines(once, [line, line + '\n'])).toBe(once);
    expect(() => withSignatureLines(note, ['not a signature'])).toThrow(CheckpointError);
  });

  it('refuses a cosignature of something that is not a checkpoint', () => {
    expect(codeOf(() => cosignCheckpoint('just one line\n', w1, 1))).toBe('MALFORMED_CHECKPOINT');
    expect(codeOf(() => cosignedMessage(text, -1))).toBe('MALFORMED_NOTE');
  });
});
