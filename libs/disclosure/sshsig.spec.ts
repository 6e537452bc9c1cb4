import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowedSignersLine, BUNDLE_SIGNATURE_NAMESPACE, BUNDLE_SIGNER_PRINCIPAL, ed25519FromSeed, keyFromAllowedSigners, parseSshsig, rawEd25519PublicKey, sshsigSign, sshsigVerify } from './sshsig.js';

const key = ed25519FromSeed(Buffer.alloc(32, 7));
const raw = rawEd25519PublicKey(key);
const message = Buffer.from('{"format":"dems-disclosure-manifest/1"}\n');

/** ssh-keygen -Y verify over the files, as a lawyer runs it; returns its exit code and output. */
function sshVerify(sig: string, msg: Buffer, opts: { namespace?: string; principal?: string; signers?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sshsig-'));
  try {
    writeFileSync(join(dir, 'allowed_signers'), opts.signers ?? allowedSignersLine(raw));
    writeFileSync(join(dir, 'm.sig'), sig);
    const r = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', join(dir, 'allowed_signers'), '-I', opts.principal ?? BUNDLE_SIGNER_PRINCIPAL, '-n', opts.namespace ?? BUNDLE_SIGNATURE_NAMESPACE, '-s', join(dir, 'm.sig')], { input: msg });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('SSHSIG (PROTOCOL.sshsig) over the manifest', () => {
  it('is accepted by the machine\'s ssh-keygen -Y verify, for sha512 and sha256', () => {
    for (const alg of ['sha512', 'sha256'] as const) {
      const r = sshVerify(sshsigSign(message, key, BUNDLE_SIGNATURE_NAMESPACE, alg), message);
      expect(r.out).toContain(`Good "${BUNDLE_SIGNATURE_NAMESPACE}" signature for ${BUNDLE_SIGNER_PRINCIPAL}`);
      expect(r.status).toBe(0);
    }
  });

  it('is refused by ssh-keygen for a changed byte, another namespace, another principal', () => {
    const sig = sshsigSign(message, key);
    const changed = Buffer.from(message);
    changed[3] ^= 1;
    expect(sshVerify(sig, changed).status).toBe(255);
    expect(sshVerify(sshsigSign(message, key, 'file'), message).status).toBe(255);
    expect(sshVerify(sig, message, { principal: 'someone@police.example' }).status).toBe(255);
  });

  it('wraps the armour at 70 columns with LF only, and is deterministic', () => {
    const sig = sshsigSign(message, key);
    expect(sig).toBe(sshsigSign(message, key));
    expect(sig).not.toContain('\r');
    const body = sig.split('\n').slice(1, -2);
    expect(body.slice(0, -1).every((l) => l.length === 70)).toBe(true);
  });

  it('our verifier agrees, and names what is wrong', () => {
    const sig = sshsigSign(message, key);
    expect(sshsigVerify(message, sig, raw)).toEqual({ ok: true });
    expect(sshsigVerify(Buffer.concat([message, Buffer.from(' ')]), sig, raw)).toMatchObject({ ok: false, reason: expect.stringContaining('changed after signing') });
    expect(sshsigVerify(message, sig.replace(/\n/g, '\r\n'), raw)).toMatchObject({ ok: false, reason: expect.stringContaining('CRLF') });
    expect(sshsigVerify(message, sig, rawEd25519PublicKey(ed25519FromSeed(Buffer.alloc(32, 8))))).toMatchObject({ ok: false, reason: expect.stringContaining('another key') });
    expect(sshsigVerify(message, sshsigSign(message, key, 'file'), raw)).toMatchObject({ ok: false, reason: expect.stringContaining('namespace') });
  });

  it('parser refuses a higher version and trailing data', () => {
    const sig = sshsigSign(message, key);
    const blob = Buffer.from(sig.split('\n').slice(1, -2).join(''), 'base64');
    const armour = (b: Buffer) => `-----BEGIN SSH SIGNATURE-----\n${b.toString('base64')}\n-----END SSH SIGNATURE-----\n`;
    const v2 = Buffer.from(blob);
    v2.writeUInt32BE(2, 6);
    expect(() => parseSshsig(armour(v2))).toThrow('version 2');
    expect(() => parseSshsig(armour(Buffer.concat([blob, Buffer.from([0])])))).toThrow('trailing');
  });

  it('reads the key back from an allowed_signers line', () => {
    expect(keyFromAllowedSigners(`# comment\n${allowedSignersLine(raw)}`)?.equals(raw)).toBe(true);
    expect(keyFromAllowedSigners(allowedSignersLine(raw), 'other@x')).toBeUndefined();
  });
});
