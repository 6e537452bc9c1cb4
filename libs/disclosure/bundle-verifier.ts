import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import yauzl from 'yauzl';
import { openCheckpoint, parseVerifierKey } from '../ledger/index.js';
import { BUNDLE_FILES, MANIFEST_FORMAT, parseSha256Sums, type BundleManifest } from './bundle-layout.js';
import { verifyCustodyExtract } from './custody-extract.js';
import { hashFileRanges } from './file-range-hash.js';
import { keyFromAllowedSigners, sshsigVerify } from './sshsig.js';

export interface BundleVerdict {
  ok: boolean;
  /** Each problem names the file and what is wrong with it. */
  problems: string[];
  /** Things that do not fail the bundle but limit what was proven (e.g. a key taken from the bundle itself). */
  warnings: string[];
  checked: { files: number; custodyExtracts: number; custodyEvents: number; treeSize?: number };
}

const KEEP = (name: string) => !name.startsWith('exhibits/');
const SIGNING_FILES = new Set<string>([BUNDLE_FILES.manifest, BUNDLE_FILES.signature, BUNDLE_FILES.allowedSigners, BUNDLE_FILES.sums]);

/** Where a STORE entry's bytes start: past its local header (whose own lengths say so). */
async function storedEntryStart(path: string, entry: yauzl.Entry): Promise<number> {
  if (entry.compressedSize !== entry.uncompressedSize) throw new Error(`${entry.fileName}: stored (not compressed), yet its two sizes differ`);
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(30);
    const { bytesRead } = await fh.read(header, 0, 30, entry.relativeOffsetOfLocalHeader);
    if (bytesRead !== 30 || header.readUInt32LE(0) !== 0x04034b50) throw new Error(`${entry.fileName}: no local file header where the central directory points`);
    return entry.relativeOffsetOfLocalHeader + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  } finally {
    await fh.close();
  }
}

type ZipEntries = Map<string, { size: number; sha256: string; data?: Buffer }>;

/**
 * Every entry's size and SHA-256, and the bytes of the small ones. Bundles are STORE: the
 * exhibits' bytes are hashed straight from the file on helper threads, in parallel
 * (hashFileRanges); the small files, and anything compressed, are read here through yauzl.
 */
async function readZip(path: string): Promise<ZipEntries> {
  const out: ZipEntries = new Map();
  const ranged: { name: string; start: number; length: number }[] = [];
  await new Promise<void>((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('cannot open the ZIP'));
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        if (out.has(entry.fileName) || ranged.some((r) => r.name === entry.fileName)) return reject(new Error(`the ZIP holds ${entry.fileName} twice`));
        if (entry.compressionMethod === 0 && !KEEP(entry.fileName)) {
          storedEntryStart(path, entry).then((start) => {
            ranged.push({ name: entry.fileName, start, length: entry.compressedSize });
            zip.readEntry();
          }, reject);
          return;
        }
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error(`cannot read ${entry.fileName}`));
          const h = createHash('sha256');
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on('data', (c: Buffer) => {
            h.update(c);
            size += c.length;
            if (KEEP(entry.fileName)) chunks.push(c);
          });
          stream.on('error', (x) => reject(new Error(`${entry.fileName}: ${x.message}`)));
          stream.on('end', () => {
            out.set(entry.fileName, { size, sha256: h.digest('hex'), data: KEEP(entry.fileName) ? Buffer.concat(chunks) : undefined });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
  const hashes = await hashFileRanges(path, ranged);
  ranged.forEach((r, i) => out.set(r.name, { size: r.length, sha256: hashes[i] }));
  return out;
}

/**
 * Checks a disclosure bundle offline (no network, no database): every file against the
 * manifest, SHA256SUMS, the manifest's OpenSSH signature, and each custody extract's events and
 * inclusion proofs against the signed checkpoint. Trust comes from keys given by the caller;
 * where none is given the bundle's own copy is used and a warning says that proves less.
 */
export async function verifyBundle(path: string, trust: { allowedSigners?: string; ledgerKey?: string } = {}): Promise<BundleVerdict> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const checked: BundleVerdict['checked'] = { files: 0, custodyExtracts: 0, custodyEvents: 0 };
  let entries: Awaited<ReturnType<typeof readZip>>;
  try {
    entries = await readZip(path);
  } catch (e) {
    return { ok: false, problems: [`the ZIP cannot be read: ${(e as Error).message}`], warnings, checked };
  }
  const text = (name: string) => entries.get(name)?.data?.toString('utf8');
  const manifestData = entries.get(BUNDLE_FILES.manifest)?.data;
  if (!manifestData) return { ok: false, problems: ['manifest.json is missing'], warnings, checked };

  // 1. The manifest's signature.
  const pinned = trust.allowedSigners !== undefined;
  const signersText = trust.allowedSigners ?? text(BUNDLE_FILES.allowedSigners);
  if (!pinned) warnings.push('no trusted allowed_signers given (--allowed-signers): the signature was checked with the key inside the bundle, which proves only that the bundle is self-consistent');
  const signerKey = signersText ? keyFromAllowedSigners(signersText) : undefined;
  const sig = text(BUNDLE_FILES.signature);
  if (!signerKey) problems.push('allowed_signers: no key for the bundle signer');
  else if (!sig) problems.push('manifest.json.sig is missing');
  else {
    const v = sshsigVerify(manifestData, sig, signerKey);
    if (!v.ok) problems.push(`manifest.json: signature check failed: ${v.reason}`);
  }

  let manifest: BundleManifest | undefined;
  try {
    manifest = JSON.parse(manifestData.toString('utf8')) as BundleManifest;
    if (manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.files)) throw new Error(`not a ${MANIFEST_FORMAT} manifest`);
  } catch (e) {
    problems.push(`manifest.json cannot be read: ${(e as Error).message}`);
    manifest = undefined;
  }

  // 2. Every file against the manifest; nothing unlisted.
  if (manifest) {
    const listed = new Set<string>();
    for (const f of manifest.files) {
      listed.add(f.path);
      const got = entries.get(f.path);
      checked.files++;
      if (!got) problems.push(`${f.path}: listed in the manifest but missing from the bundle`);
      else if (got.size !== f.size || got.sha256 !== f.sha256) problems.push(`${f.path}: changed: SHA-256 ${got.sha256} (${got.size} bytes), the manifest says ${f.sha256} (${f.size} bytes)`);
    }
    for (const name of entries.keys()) if (!listed.has(name) && !SIGNING_FILES.has(name)) problems.push(`${name}: in the bundle but not in the manifest`);
  }

  // 3. SHA256SUMS agrees with the bytes (it is what a lawyer checks with sha256sum -c).
  const sums = text(BUNDLE_FILES.sums);
  if (!sums) problems.push('SHA256SUMS is missing');
  else {
    try {
      for (const [name, sha] of parseSha256Sums(sums)) {
        const got = entries.get(name);
        if (!got) problems.push(`SHA256SUMS: lists ${name}, which is not in the bundle`);
        else if (got.sha256 !== sha) problems.push(`SHA256SUMS: ${name} does not match (sha256sum -c would fail)`);
      }
    } catch (e) {
      problems.push(`SHA256SUMS: ${(e as Error).message}`);
    }
  }

  // 4. Custody: the checkpoint, then each extract's events and proofs.
  const ledgerKey = trust.ledgerKey ?? text(BUNDLE_FILES.ledgerKey)?.trim();
  if (!trust.ledgerKey) warnings.push('no trusted ledger key given (--ledger-key): custody proofs were checked with the key inside the bundle');
  const cpNote = text(BUNDLE_FILES.checkpoint);
  if (!ledgerKey) problems.push(`${BUNDLE_FILES.ledgerKey}: missing, and no ledger key given`);
  else if (!cpNote) problems.push(`${BUNDLE_FILES.checkpoint}: missing`);
  else {
    try {
      parseVerifierKey(ledgerKey);
      const cp = openCheckpoint(cpNote, ledgerKey);
      checked.treeSize = cp.size;
      if (manifest && (manifest.checkpoint?.treeSize !== cp.size || manifest.checkpoint?.rootHash !== cp.rootHash.toString('hex'))) {
        problems.push(`${BUNDLE_FILES.checkpoint}: not the checkpoint the manifest names`);
      }
    } catch (e) {
      problems.push(`${BUNDLE_FILES.checkpoint}: does not verify with the ledger key (${(e as Error).message})`);
    }
    const extracts = manifest ? manifest.files.filter((f) => f.kind === 'custody_extract').map((f) => f.path) : [...entries.keys()].filter((n) => n.startsWith('custody/') && n.endsWith('.jsonl'));
    for (const name of extracts) {
      const t = text(name);
      if (t === undefined) continue; // already reported as missing
      checked.custodyExtracts++;
      const r = verifyCustodyExtract(t, ledgerKey, { checkpointNote: cpNote });
      checked.custodyEvents += r.events;
      if (!r.ok) problems.push(`${name}: custody extract fails at line ${r.line}: ${r.reason}`);
    }
  }
  return { ok: problems.length === 0, problems, warnings, checked };
}
