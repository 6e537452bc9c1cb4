import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * OpenSSH signatures (PROTOCOL.sshsig) over a bundle's manifest.json, so a lawyer or an expert
 * checks the manifest with `ssh-keygen -Y verify` and nothing of ours. Written by hand because it
 * is about sixty lines of SSH wire encoding over node:crypto's Ed25519, and no npm package we
 * found both signs and verifies SSHSIG without a native agent; the output is byte-identical to
 * `ssh-keygen -Y sign` (Ed25519 is deterministic), which the spec beside this file checks.
 */
export const BUNDLE_SIGNATURE_NAMESPACE = 'dems-bundle-v1@police.example';
export const BUNDLE_SIGNER_PRINCIPAL = 'disclosure@police.example';
const MAGIC = Buffer.from('SSHSIG');
const ARMOUR_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const ARMOUR_END = '-----END SSH SIGNATURE-----';

function sshString(b: Buffer | string): Buffer {
  const v = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(v.length);
  return Buffer.concat([len, v]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The 32-byte raw Ed25519 public key of a key object. */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

/** An Ed25519 private key from a 32-byte seed. */
export function ed25519FromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyBlob(raw: Buffer): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]);
}

/** `ssh-ed25519 AAAA…` as in an authorized_keys or allowed_signers line. */
export function sshPublicKey(raw: Buffer): string {
  return `ssh-ed25519 ${publicKeyBlob(raw).toString('base64')}`;
}

/** One allowed_signers line (ssh-keygen(1), ALLOWED SIGNERS) limiting the key to the bundle namespace. */
export function allowedSignersLine(raw: Buffer, principal = BUNDLE_SIGNER_PRINCIPAL, namespace = BUNDLE_SIGNATURE_NAMESPACE): string {
  return `${principal} namespaces="${namespace}" ${sshPublicKey(raw)}\n`;
}

function signedData(namespace: string, hashAlg: 'sha512' | 'sha256', message: Buffer): Buffer {
  // H(message) goes in as an SSH string: appending it raw was a pre-8.1 bug that verifiers reject.
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(hashAlg), sshString(createHash(hashAlg).update(message).digest())]);
}

/** Signs `message` and returns the armoured signature (LF line ends, base64 at 70 columns like ssh-keygen). */
export function sshsigSign(message: Buffer, privateKey: KeyObject, namespace = BUNDLE_SIGNATURE_NAMESPACE, hashAlg: 'sha512' | 'sha256' = 'sha512'): string {
  if (!namespace) throw new Error('an SSHSIG namespace must not be empty');
  const raw = rawEd25519PublicKey(privateKey);
  const sig = sign(null, signedData(namespace, hashAlg, message), privateKey);
  const blob = Buffer.concat([
    MAGIC,
    u32(1),
    sshString(publicKeyBlob(raw)),
    sshString(namespace),
    sshString(''),
    sshString(hashAlg),
    sshString(Buffer.concat([sshString('ssh-ed25519'), sshString(sig)])),
  ]);
  const b64 = blob.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 70) lines.push(b64.slice(i, i + 70));
  return `${ARMOUR_BEGIN}\n${lines.join('\n')}\n${ARMOUR_END}\n`;
}

class Reader {
  private off = 0;
  constructor(private readonly b: Buffer) {}
  u32(): number {
    if (this.off + 4 > this.b.length) throw new Error('truncated');
    const v = this.b.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  string(): Buffer {
    const n = this.u32();
    if (this.off + n > this.b.length) throw new Error('truncated');
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  raw(n: number): Buffer {
    if (this.off + n > this.b.length) throw new Error('truncated');
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  get done(): boolean {
    return this.off === this.b.length;
  }
}

export interface SshsigParsed {
  publicKey: Buffer;
  namespace: string;
  hashAlg: 'sha512' | 'sha256';
  signature: Buffer;
}

/** Parses an armoured SSHSIG (Ed25519 only); throws with a reason a person can read. */
export function parseSshsig(armoured: string): SshsigParsed {
  if (armoured.includes('\r')) throw new Error('the signature has CRLF line ends (OpenSSH before 9.5 refuses them): it was converted as text');
  const lines = armoured.trim().split('\n');
  if (lines[0] !== ARMOUR_BEGIN || lines[lines.length - 1] !== ARMOUR_END) throw new Error('not an SSH signature (armour missing)');
  const blob = Buffer.from(lines.slice(1, -1).join(''), 'base64');
  const r = new Reader(blob);
  if (!r.raw(6).equals(MAGIC)) throw new Error('not an SSHSIG blob');
  const version = r.u32();
  if (version !== 1) throw new Error(`unsupported SSHSIG version ${version}`);
  const pk = new Reader(r.string());
  if (pk.string().toString() !== 'ssh-ed25519') throw new Error('only ssh-ed25519 signatures are accepted');
  const publicKey = pk.string();
  const namespace = r.string().toString('utf8');
  if (!namespace) throw new Error('empty namespace');
  r.string(); // reserved
  const hashAlg = r.string().toString();
  if (hashAlg !== 'sha512' && hashAlg !== 'sha256') throw new Error(`unknown hash algorithm ${hashAlg}`);
  const s = new Reader(r.string());
  if (s.string().toString() !== 'ssh-ed25519') throw new Error('signature type is not ssh-ed25519');
  const signature = s.string();
  if (!r.done) throw new Error('trailing data after the signature');
  if (publicKey.length !== 32 || signature.length !== 64) throw new Error('malformed Ed25519 key or signature');
  return { publicKey, namespace, hashAlg, signature };
}

/** Verifies an armoured SSHSIG over `message` made by `trustedKey` (raw 32 bytes) in `namespace`. */
export function sshsigVerify(message: Buffer, armoured: string, trustedKey: Buffer, namespace = BUNDLE_SIGNATURE_NAMESPACE): { ok: true } | { ok: false; reason: string } {
  let p: SshsigParsed;
  try {
    p = parseSshsig(armoured);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (p.namespace !== namespace) return { ok: false, reason: `signature namespace ${p.namespace} is not ${namespace}` };
  if (!p.publicKey.equals(trustedKey)) return { ok: false, reason: 'the signature was made by another key than the trusted one' };
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), p.publicKey]), format: 'der', type: 'spki' });
  return verify(null, signedData(namespace, p.hashAlg, message), key, p.signature) ? { ok: true } : { ok: false, reason: 'the signature does not match the manifest (it was changed after signing)' };
}

/** Parses the key of the first allowed_signers line for `principal`. */
export function keyFromAllowedSigners(text: string, principal = BUNDLE_SIGNER_PRINCIPAL): Buffer | undefined {
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = /^(\S+)\s+(?:.*\s)?ssh-ed25519\s+([A-Za-z0-9+/=]+)/.exec(t);
    if (!m || !m[1].split(',').includes(principal)) continue;
    const r = new Reader(Buffer.from(m[2], 'base64'));
    try {
      if (r.string().toString() !== 'ssh-ed25519') continue;
      return r.string();
    } catch {
      continue;
    }
  }
  return undefined;
}
