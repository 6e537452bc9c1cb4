import { describe, expect, it } from '@jest/globals';
import {
  CheckpointError,
  ed25519KeyId,
  formatCheckpoint,
  generateSignerKey,
  isValidKeyName,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifierKeyFromSigner,
  type CheckpointErrorCode,
} from './checkpoint.js';
import { leafHash, rootFromLeafHashes } from './merkle.js';

function codeOf(fn: () => unknown): CheckpointErrorCode {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as CheckpointError).code;
  }
  throw new Error('expected a CheckpointError');
}

// Published example keys and notes from golang.org/x/mod/sumdb/note (package doc and note_test.go).
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

// A real sum.golang.org checkpoint (quoted in transparency-dev/witness's README), with two
// witness cosignatures from keys we do not know, which must be ignored.
const SUMDB_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';
const SUMDB_CHECKPOINT =
  'go.sum database tree\n15081221\nBoMMe1wd25Tco0mYGROkyqxHZWx+hcSCtMV315Lu6Lg=\n\n' +
  '\u2014 sum.golang.org Az3grilD7vQqTrv66jRgKM84Y80KTprrSt4bKmiOPxgmS5ZVBTeCl6dUvjYnN13R+C8j0jGY1WnUADGMkok3U0m2Zgo=\n' +
  '\u2014 test.example.com qTGhC3917mAr6hGh+T55tNjxaej/D/GQivJZRIj7XGdAcQOTqfMWIPgp/v/904LEduN/h2sSRtHUJXUL4b9Gm7Bz4Qc=\n' +
  '\u2014 test.example.com /Pa7Y/dUvWMAAAAAQVwkQVi81ArPV7BIaQYrMIxyzY0m8a4BdeeBhSKd3PviPK4/3Sd+NKSc5N7PDTCfAkUSVniN+R2oKIggA4iiDQ==\n';

const ORIGIN = 'evidence.example.police.uk/custody-ledger';
const ROOT = rootFromLeafHashes([leafHash('a'), leafHash('b'), leafHash('c')]);

describe('keys', () => {
  it('derives the published public key and key ID from the sumdb/note example private key', () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(signer.name).toBe('PeterNeumann');
    expect(signer.keyId).toBe(0xc74f20a3);
    expect(verifierKeyFromSigner(signer)).toBe(PETER_VKEY);
    expect(verifierKeyFromSigner(PETER_SKEY)).toBe(PETER_VKEY);
    const verifier = parseVerifierKey(PETER_VKEY);
    expect(ed25519KeyId('PeterNeumann', verifier.publicKey)).toBe(0xc74f20a3);
    expect(verifier.publicKey.equals(signer.publicKey)).toBe(true);
  });

  it('computes the key ID as SHA-256(name || 0x0A || 0x01 || key)[:4]', () => {
    expect(parseVerifierKey(ENOCH_VKEY).keyId).toBe(0xaf0cfe78);
    expect(parseVerifierKey(SUMDB_VKEY).keyId).toBe(0x033de0ae);
  });

  it('generates keys that round-trip and verify each other', () => {
    const skey = generateSignerKey('custody.example/log');
    expect(skey).toMatch(/^PRIVATE\+KEY\+custody\.example\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    const signer = parseSignerKey(skey);
    const vkey = verifierKeyFromSigner(signer);
    expect(vkey).toMatch(/^custody\.example\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    expect(parseVerifierKey(vkey).keyId).toBe(signer.keyId);
    expect(openNote(signNote('hi\n', signer), vkey).text).toBe('hi\n');
  });

  it('validates key names: non-empty, no whitespace, no plus', () => {
    expect(isValidKeyName('example.com/log42')).toBe(true);
    for (const bad of ['', 'a b', 'a+b', 'tab\there', 'nbsp\u00a0x', 'line\nbreak', 'ideographic\u3000space']) {
      expect(isValidKeyName(bad)).toBe(false);
    }
    expect(codeOf(() => generateSignerKey('has space'))).toBe('MALFORMED_KEY');
    expect(codeOf(() => generateSignerKey('has+plus'))).toBe('MALFORMED_KEY');
    expect(codeOf(() => generateSignerKey(''))).toBe('MALFORMED_KEY');
  });

  it('rejects mangled key strings', () => {
    const bad = [
      '',
      'PeterNeumann',
      'PeterNeumann+c74f20a3',
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // wrong ID
      'PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // short ID
      'PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // ID of another name
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T', // bad base64
      'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==', // wrong length
      'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // unknown algorithm
    ];
    for (const k of bad) expect(codeOf(() => parseVerifierKey(k))).toBe('MALFORMED_KEY');
    expect(codeOf(() => parseSignerKey(PETER_VKEY))).toBe('MALFORMED_KEY');
    expect(codeOf(() => parseSignerKey(PETER_SKEY.replace('c74f20a3', 'c74f20a4')))).toBe('MALFORMED_KEY');
    expect(codeOf(() => parseSignerKey(PETER_SKEY.slice(0, -1)))).toBe('MALFORMED_KEY');
  });
});

describe('signed notes', () => {
  it('reproduces the sumdb/note example signature exactly (Ed25519 is deterministic)', () => {
    expect(signNote(PETER_TEXT, PETER_SKEY)).toBe(`${PETER_TEXT}\n${PETER_SIG}`);
  });

  it('opens the sumdb/note example note', () => {
    const opened = openNote(`${PETER_TEXT}\n${PETER_SIG}`, PETER_VKEY);
    expect(opened.text).toBe(PETER_TEXT);
    expect(opened.verified).toHaveLength(1);
    expect(opened.verified[0].keyId).toBe(0xc74f20a3);
  });

  it('verifies its own key and ignores signatures by other keys', () => {
    const note = `${PETER_TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
    const asPeter = openNote(note, PETER_VKEY);
    expect(asPeter.others.map((s) => s.name)).toEqual(['EnochRoot']);
    const asEnoch = openNote(note, ENOCH_VKEY);
    expect(asEnoch.verified.map((s) => s.name)).toEqual(['EnochRoot']);
    expect(asEnoch.others.map((s) => s.name)).toEqual(['PeterNeumann']);
  });

  it('accepts a Buffer and requires valid UTF-8', () => {
    expect(openNote(Buffer.from(`${PETER_TEXT}\n${PETER_SIG}`), PETER_VKEY).text).toBe(PETER_TEXT);
    const bytes = Buffer.concat([Buffer.from([0xff]), Buffer.from(`${PETER_TEXT}\n${PETER_SIG}`)]);
    expect(codeOf(() => openNote(bytes, PETER_VKEY))).toBe('MALFORMED_NOTE');
  });

  it('rejects malformed notes', () => {
    const bad = [
      PETER_TEXT,
      `${PETER_TEXT}\n`,
      `${PETER_TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\u0001${PETER_TEXT}\n${PETER_SIG}`,
      `${PETER_TEXT}\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
      `${PETER_TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${PETER_TEXT}\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
      `${PETER_TEXT}\n\u2014 PeterNeumann x08g\n`, // too short to hold an ID and a signature
      `${PETER_TEXT}\n${PETER_SIG.repeat(101)}`,
      `${PETER_TEXT}\r\n\n${PETER_SIG}`,
    ];
    for (const note of bad) expect(codeOf(() => openNote(note, PETER_VKEY))).toBe('MALFORMED_NOTE');
  });

  it('rejects a note whose known signature fails, and a note the key did not sign', () => {
    const tampered = `${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(codeOf(() => openNote(`${PETER_TEXT}\n${tampered}`, PETER_VKEY))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => openNote(`${PETER_TEXT}\n${ENOCH_SIG}`, PETER_VKEY))).toBe('UNKNOWN_KEY');
    expect(codeOf(() => openNote(`${PETER_TEXT.replace('problem', 'Problem')}\n${PETER_SIG}`, PETER_VKEY))).toBe('BAD_SIGNATURE');
  });

  it('refuses to sign text that is not a note', () => {
    expect(codeOf(() => signNote('no newline', PETER_SKEY))).toBe('MALFORMED_NOTE');
    expect(codeOf(() => signNote('bell\u0007\n', PETER_SKEY))).toBe('MALFORMED_NOTE');
  });
});

describe('checkpoints', () => {
  const signer = parseSignerKey(generateSignerKey(ORIGIN));
  const vkey = verifierKeyFromSigner(signer);
  const signed = signCheckpoint({ origin: ORIGIN, size: 3, rootHash: ROOT }, signer);

  it('formats the C2SP body: origin, decimal size, base64 root', () => {
    expect(formatCheckpoint({ origin: ORIGIN, size: 3, rootHash: ROOT })).toBe(`${ORIGIN}\n3\n${ROOT.toString('base64')}\n`);
    expect(signed.startsWith(`${ORIGIN}\n3\n${ROOT.toString('base64')}\n\n\u2014 ${ORIGIN} `)).toBe(true);
    expect(signed.endsWith('\n')).toBe(true);
  });

  it('round-trips', () => {
    const cp = openCheckpoint(signed, vkey, { origin: ORIGIN });
    expect(cp.origin).toBe(ORIGIN);
    expect(cp.size).toBe(3);
    expect(cp.rootHash.equals(ROOT)).toBe(true);
    expect(cp.extensions).toEqual([]);
    expect(cp.note.verified[0].keyId).toBe(signer.keyId);
  });

  it('carries extension lines', () => {
    const withExt = signCheckpoint({ origin: ORIGIN, size: 0, rootHash: ROOT, extensions: ['ext one', 'ext two'] }, signer);
    expect(openCheckpoint(withExt, vkey).extensions).toEqual(['ext one', 'ext two']);
  });

  it('opens a real sum.golang.org checkpoint and ignores the unknown cosignatures', () => {
    const cp = openCheckpoint(SUMDB_CHECKPOINT, SUMDB_VKEY, { origin: 'go.sum database tree' });
    expect(cp.size).toBe(15081221);
    expect(cp.rootHash.toString('base64')).toBe('BoMMe1wd25Tco0mYGROkyqxHZWx+hcSCtMV315Lu6Lg=');
    expect(cp.note.others).toHaveLength(2);
  });

  it('rejects a tampered size, root, origin or signature byte', () => {
    const b64 = ROOT.toString('base64');
    const otherRoot = Buffer.from(ROOT);
    otherRoot[0] ^= 1;
    expect(codeOf(() => openCheckpoint(signed.replace('\n3\n', '\n4\n'), vkey))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => openCheckpoint(signed.replace(b64, otherRoot.toString('base64')), vkey))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => openCheckpoint(signed.replace(`${ORIGIN}\n`, 'evil.example/log\n'), vkey))).toBe('BAD_SIGNATURE');

    const lineStart = signed.lastIndexOf(' ') + 1;
    const sig = Buffer.from(signed.slice(lineStart, -1), 'base64');
    for (const at of [4, 20, sig.length - 1]) {
      const forged = Buffer.from(sig);
      forged[at] ^= 0x01;
      expect(codeOf(() => openCheckpoint(`${signed.slice(0, lineStart)}${forged.toString('base64')}\n`, vkey))).toBe('BAD_SIGNATURE');
    }
    // Changing the key ID bytes turns it into another key's signature, so ours is missing.
    const otherId = Buffer.from(sig);
    otherId[0] ^= 0x01;
    expect(codeOf(() => openCheckpoint(`${signed.slice(0, lineStart)}${otherId.toString('base64')}\n`, vkey))).toBe('UNKNOWN_KEY');
  });

  it('rejects the wrong key, including one with the same name', () => {
    expect(codeOf(() => openCheckpoint(signed, PETER_VKEY))).toBe('UNKNOWN_KEY');
    const impostor = verifierKeyFromSigner(generateSignerKey(ORIGIN));
    expect(codeOf(() => openCheckpoint(signed, impostor))).toBe('UNKNOWN_KEY');
  });

  it('rejects a checkpoint for another origin when one is expected', () => {
    expect(codeOf(() => openCheckpoint(signed, vkey, { origin: 'other.example/log' }))).toBe('ORIGIN_MISMATCH');
  });

  it('rejects a validly signed note that is not a checkpoint', () => {
    const root = ROOT.toString('base64');
    const bodies = [
      'only\ntwo\n',
      `${ORIGIN}\n03\n${root}\n`, // leading zero
      `${ORIGIN}\n-1\n${root}\n`,
      `${ORIGIN}\n99999999999999999999\n${root}\n`, // beyond safe integers
      `${ORIGIN}\n1\nAAAA\n`, // root of the wrong length
      `${ORIGIN}\n1\n${root}\n\nafter a blank line\n`,
    ];
    for (const body of bodies) expect(codeOf(() => openCheckpoint(signNote(body, signer), vkey))).toBe('MALFORMED_CHECKPOINT');
    expect(codeOf(() => openCheckpoint(`${PETER_TEXT}\n${PETER_SIG}`, PETER_VKEY))).toBe('MALFORMED_CHECKPOINT');
  });

  it('refuses to sign an invalid checkpoint', () => {
    expect(codeOf(() => signCheckpoint({ origin: '', size: 1, rootHash: ROOT }, signer))).toBe('MALFORMED_CHECKPOINT');
    expect(codeOf(() => signCheckpoint({ origin: 'a\nb', size: 1, rootHash: ROOT }, signer))).toBe('MALFORMED_CHECKPOINT');
    expect(codeOf(() => signCheckpoint({ origin: ORIGIN, size: -1, rootHash: ROOT }, signer))).toBe('MALFORMED_CHECKPOINT');
    expect(codeOf(() => signCheckpoint({ origin: ORIGIN, size: 1.5, rootHash: ROOT }, signer))).toBe('MALFORMED_CHECKPOINT');
    expect(codeOf(() => signCheckpoint({ origin: ORIGIN, size: 1, rootHash: ROOT.subarray(1) }, signer))).toBe('MALFORMED_CHECKPOINT');
    expect(codeOf(() => signCheckpoint({ origin: ORIGIN, size: 1, rootHash: ROOT, extensions: [''] }, signer))).toBe('MALFORMED_CHECKPOINT');
  });

  it('parses a checkpoint body without signatures', () => {
    const cp = parseCheckpoint(`${ORIGIN}\n0\n${ROOT.toString('base64')}\n`);
    expect(cp.size).toBe(0);
    expect(codeOf(() => parseCheckpoint(`${ORIGIN}\n0\n${ROOT.toString('base64')}`))).toBe('MALFORMED_CHECKPOINT');
  });
});
