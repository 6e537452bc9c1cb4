import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { allowedSignersLine, BUNDLE_FILES, MANIFEST_FORMAT, sshsigSign, verifyBundle, type BundleManifest } from '../libs/disclosure/index.js';
import { generateSignerKey, MemoryNodeStore, leafHash, signCheckpoint, verifierKeyFromSigner } from '../libs/ledger/index.js';
import { timed, type Benchmark } from './harness.js';
import { createPrivateKey } from 'node:crypto';

const MiB = 1024 * 1024;

/**
 * `dems verify bundle` against `sha256sum` over the same files (the target: ratio ≥ 0.8).
 * The bundle is made here from the pure helpers (signed manifest, SHA256SUMS, a checkpoint), so
 * no service runs; verification reads the ZIP, sha256sum the unzipped files, both from the page
 * cache after a warm-up read.
 */
export const disclosureVerify: Benchmark = {
  name: 'disclosure-verify',
  description: 'dems verify bundle (default 20 files, 512 MiB) vs sha256sum over the unzipped files',
  smoke: { 'size-mb': '2', files: '2' },
  async run(ctx) {
    const totalMb = Number(ctx.args.get('size-mb') ?? 512);
    const count = Number(ctx.args.get('files') ?? 20);
    const dir = await mkdtemp(join(tmpdir(), 'dems-bench-verify-'));
    try {
      const per = Math.floor((totalMb * MiB) / count);
      const chunk = randomBytes(MiB);
      const files: BundleManifest['files'] = [];
      const zip = new yazl.ZipFile();
      const opts = { mtime: new Date(0), mode: 0o100644, compress: false };
      for (let i = 0; i < count; i++) {
        const data = Buffer.alloc(per);
        for (let o = 0; o < per; o += MiB) chunk.copy(data, o, 0, Math.min(MiB, per - o));
        data.writeUInt32BE(i, 0);
        const path = `exhibits/BN_${i + 1}/file-${i + 1}.bin`;
        files.push({ path, size: per, sha256: createHash('sha256').update(data).digest('hex'), kind: 'original' });
        zip.addBuffer(data, path, opts);
      }
      const signer = generateSignerKey('bench.local/ledger');
      const tree = new MemoryNodeStore();
      tree.append(leafHash(Buffer.from('bench')));
      const checkpoint = signCheckpoint({ origin: 'bench.local/ledger', size: 1, rootHash: tree.root() }, signer);
      const manifest: BundleManifest = {
        format: MANIFEST_FORMAT, bundleId: 'bench', caseId: 'bench', caseUrn: '01/AB/12345/23', version: 1, audience: 'cps_and_defence', supplementaryTo: null,
        createdAt: new Date(0).toISOString(), checkpoint: { treeSize: 1, rootHash: tree.root().toString('hex') }, files: [],
      };
      const cp = Buffer.from(checkpoint);
      const key = Buffer.from(`${verifierKeyFromSigner(signer)}\n`);
      manifest.files = [
        ...files,
        { path: BUNDLE_FILES.checkpoint, size: cp.length, sha256: createHash('sha256').update(cp).digest('hex'), kind: 'checkpoint' },
        { path: BUNDLE_FILES.ledgerKey, size: key.length, sha256: createHash('sha256').update(key).digest('hex'), kind: 'ledger_key' },
      ];
      const m = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      const sshKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), randomBytes(32)]), format: 'der', type: 'pkcs8' });
      const raw = Buffer.from(sshKey.export({ format: 'jwk' }).x as string, 'base64url');
      zip.addBuffer(m, BUNDLE_FILES.manifest, opts);
      zip.addBuffer(Buffer.from(sshsigSign(m, sshKey)), BUNDLE_FILES.signature, opts);
      zip.addBuffer(Buffer.from(allowedSignersLine(raw)), BUNDLE_FILES.allowedSigners, opts);
      zip.addBuffer(Buffer.from(manifest.files.map((f) => `${f.sha256}  ${f.path}\n`).join('')), BUNDLE_FILES.sums, opts);
      zip.addBuffer(cp, BUNDLE_FILES.checkpoint, opts);
      zip.addBuffer(key, BUNDLE_FILES.ledgerKey, opts);
      zip.end();
      const bundle = join(dir, 'bundle.zip');
      await new Promise<void>((resolve, reject) => zip.outputStream.pipe(createWriteStream(bundle)).on('close', resolve).on('error', reject));
      const out = join(dir, 'unzipped');
      spawnSync('unzip', ['-q', bundle, '-d', out]);
      spawnSync('cat', [bundle], { stdio: 'ignore' }); // warm the page cache for both
      const ours = await timed(() => verifyBundle(bundle));
      if (!ours.value.ok) throw new Error(`the bench bundle does not verify: ${ours.value.problems.join('; ')}`);
      const base = await timed(async () => spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out, maxBuffer: 1 << 24 }));
      if (base.value.status !== 0) throw new Error('sha256sum -c failed on the bench bundle');
      const mbps = (s: number) => (count * per) / s / 1e6;
      ctx.log(`verify bundle ${mbps(ours.seconds).toFixed(0)} MB/s, sha256sum ${mbps(base.seconds).toFixed(0)} MB/s`);
      const ratio = mbps(ours.seconds) / mbps(base.seconds);
      return [{ figure: `dems verify bundle throughput (${count} files, ${totalMb} MiB)`, unit: 'MB/s', ours: mbps(ours.seconds), baseline: mbps(base.seconds), ratio, target: 'ratio >= 0.8', pass: ratio >= 0.8 }];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
