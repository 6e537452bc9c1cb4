import { BUNDLE_SIGNATURE_NAMESPACE, BUNDLE_SIGNER_PRINCIPAL } from './sshsig.js';

/**
 * Where things go inside a bundle, and the small text files every standard tool reads. Pure
 * functions: the builder and the offline verifier both use them, so they agree by construction.
 */

export const MANIFEST_FORMAT = 'dems-disclosure-manifest/1';
export const CUSTODY_EXTRACT_FORMAT = 'dems-custody-extract/1';
export const BUNDLE_FILES = {
  manifest: 'manifest.json',
  signature: 'manifest.json.sig',
  allowedSigners: 'allowed_signers',
  sums: 'SHA256SUMS',
  readme: 'README.txt',
  indexHtml: 'index.html',
  indexPdf: 'index.pdf',
  checkpoint: 'custody/checkpoint.txt',
  ledgerKey: 'custody/ledger-public-key.txt',
} as const;

/** An exhibit reference as a folder name: `JS/1/2` becomes `JS_1_2` (docs/domain.md). */
export function pathSafeRef(reference: string): string {
  const s = reference.normalize('NFC').replace(/\//g, '_').replace(/[^A-Za-z0-9_.-]/g, '-');
  if (!s || s === '.' || s === '..') throw new Error(`exhibit reference ${JSON.stringify(reference)} gives no usable folder name`);
  return s;
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * A file name safe on every platform and for `sha256sum -c`: NFC, no path separators, none of
 * `\:*?"<>|`, no control characters, not a Windows device name, at most 150 bytes. The original
 * name is kept in manifest.json; only the entry name is sanitised (yazl would otherwise turn `\`
 * into `/` silently, and a name with a newline breaks SHA256SUMS).
 */
export function safeFileName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  let s = name.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').replace(/[\\/:*?"<>|]/g, '_').trim();
  s = s.replace(/^\.+/, '_').replace(/[. ]+$/, '');
  if (!s) s = 'file';
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  while (Buffer.byteLength(s, 'utf8') > 150) s = s.slice(0, -1);
  return s;
}

/** Entry names made unique within a folder (a second `a.mp4` becomes `a (2).mp4`). */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate.toLowerCase()); i++) {
    const dot = name.lastIndexOf('.');
    candidate = dot > 0 ? `${name.slice(0, dot)} (${i})${name.slice(dot)}` : `${name} (${i})`;
  }
  taken.add(candidate.toLowerCase());
  return candidate;
}

export function exhibitFilePath(reference: string, fileName: string): string {
  return `exhibits/${pathSafeRef(reference)}/${fileName}`;
}

export function custodyExtractPath(reference: string): string {
  return `custody/${pathSafeRef(reference)}.jsonl`;
}

/**
 * `sha256sum -c` format: hash, two spaces (text mode marker is a space), path, LF. Paths never
 * hold a backslash or newline (safeFileName), so no escaping is needed.
 */
export function formatSha256Sums(entries: { path: string; sha256: string }[]): string {
  return entries.map((e) => {
    if (/[\\\n\r]/.test(e.path)) throw new Error(`entry name ${JSON.stringify(e.path)} cannot be listed in SHA256SUMS`);
    return `${e.sha256}  ${e.path}\n`;
  }).join('');
}

export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new Error(`malformed SHA256SUMS line ${JSON.stringify(line.slice(0, 80))}`);
    out.set(m[2], m[1]);
  }
  return out;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** One file in the bundle, as the manifest lists it. */
export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
  /** What the file is: an exhibit's original (evidence file), a schedule, a custody extract… */
  kind: 'original' | 'derivative' | 'schedule' | 'custody_extract' | 'checkpoint' | 'ledger_key' | 'index' | 'readme';
  exhibitReference?: string;
  exhibitId?: string;
  /** For a working copy: its master's evidence file id. */
  evidenceFileId?: string;
  derivativeId?: string;
  originalFilename?: string;
  /** For a working copy: its master's SHA-256 and the derivation record (tool, version, parameters). */
  masterSha256?: string;
  derivation?: Record<string, unknown>;
}

export interface BundleManifest {
  format: typeof MANIFEST_FORMAT;
  bundleId: string;
  caseId: string;
  caseUrn: string;
  version: number;
  /** CPS-only bundles may hold sensitive (MG6D) material; others never. */
  audience: 'cps_only' | 'cps_and_defence';
  supplementaryTo: string | null;
  createdAt: string;
  checkpoint: { treeSize: number; rootHash: string };
  files: ManifestFile[];
}

/** manifest.json bytes: stable key order, two-space indent, LF, final newline. */
export function manifestBytes(m: BundleManifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 2)}\n`, 'utf8');
}

export function readmeText(m: { caseUrn: string; bundleId: string; version: number; createdAt: string; audience: BundleManifest['audience'] }): string {
  return `DISCLOSURE BUNDLE - case ${m.caseUrn}, bundle ${m.bundleId}, version ${m.version}
Made ${m.createdAt} (UTC). ${m.audience === 'cps_only' ? 'CPS ONLY: this bundle may hold sensitive material (MG6D). Do not serve it on the defence.' : 'Prepared for the CPS; it holds no sensitive (MG6D) material.'}

WHAT IS IN IT
  index.html / index.pdf   start here: every exhibit and file, with its SHA-256 fingerprint
  exhibits/<ref>/          the files themselves, byte for byte as held (exhibit JS/1 is folder JS_1)
  schedules/               the MG6 schedules included (CSV and PDF)
  custody/<ref>.jsonl      each exhibit's chain-of-custody record, one event a line
  custody/checkpoint.txt   the signed state of the custody log the records are proven against
  custody/ledger-public-key.txt   the key that signs the custody log
  manifest.json            the list of every file with its size and SHA-256
  manifest.json.sig        an OpenSSH signature over manifest.json
  allowed_signers          the public key that made that signature
  SHA256SUMS               fingerprints of every file, for sha256sum

HOW TO CHECK IT (Linux, macOS with coreutils, or Windows with WSL)
1. The ZIP is whole:            unzip -t bundle.zip
   Extract it with unzip, 7-Zip or Windows Explorer (not macOS Archive Utility, which cannot
   read ZIP64, nor a streaming extractor such as "bsdtar -xf -").
2. Every file is unchanged:      cd <the unzipped folder> && sha256sum -c SHA256SUMS
   Every line must say OK.
3. The list of files is ours and unchanged:
      ssh-keygen -Y verify -f allowed_signers -I ${BUNDLE_SIGNER_PRINCIPAL} \\
        -n ${BUNDLE_SIGNATURE_NAMESPACE} -s manifest.json.sig < manifest.json
   It must print 'Good "${BUNDLE_SIGNATURE_NAMESPACE}" signature'. The allowed_signers file in
   the bundle is a convenience: compare its key with the copy the force gave the CPS separately,
   because someone who altered the bundle could also replace the key in it.
4. Everything at once, including every custody event and its proof against the signed log:
      dems verify bundle bundle.zip --ledger-key "<the ledger key given to you separately>"
   It needs no network and no access to the service, and names anything that fails.

Do not open and re-save manifest.json, manifest.json.sig or the .jsonl files in an editor:
changing line ends (for example to Windows CRLF) makes the checks fail.
`;
}
