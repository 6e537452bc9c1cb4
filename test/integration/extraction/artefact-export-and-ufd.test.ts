import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import {
  CountingByteSource,
  exportArtefacts,
  inspectZip,
  LocalFileByteSource,
  ObjectStoreByteSource,
  recogniseContainer,
  selectArtefacts,
  verifyUfd,
  type ComputedDigests,
  type InventoryEntry,
} from '../../../libs/extraction/index.js';
import { createObjectStore, type S3ObjectStore } from '../../../libs/storage/index.js';
import { randomKey, testConfig } from '../../support/test-env.js';
import { buildUfdr, md5, rawZip, sha256 } from './zip-fixtures.js';

describe('Exporting selected artefacts from an extraction in S3, verified as they pass', () => {
  let store: S3ObjectStore;
  const keys: string[] = [];
  let source: CountingByteSource;
  let inventory: InventoryEntry[];
  const files = [
    // Over 1 MiB compressed: exported through the streaming inflater, with backpressure from the upload.
    { path: 'files/Image/IMG_0001.JPG', data: randomBytes(3_000_000), devicePath: '/Root/DCIM/IMG_0001.JPG' },
    { path: 'files/Image/IMG_0002.JPG', data: randomBytes(90_000), devicePath: '/Root/DCIM/IMG_0002.JPG', deleted: true },
    { path: 'files/Text/chat.txt', data: Buffer.from('see you at the usual place\n'.repeat(5000)), devicePath: '/Root/chat.txt' },
  ];

  beforeAll(async () => {
    store = createObjectStore(testConfig({ S3_PART_SIZE_MB: 5 }));
    await store.ensureBuckets();
    const key = randomKey('extraction-export-src');
    keys.push(key);
    await store.put(store.buckets.originals, key, await buildUfdr(files));
    source = new CountingByteSource(await ObjectStoreByteSource.open(store, store.buckets.originals, key));
    inventory = [];
    const r = await inspectZip(source, { onEntries: (b) => void inventory.push(...b) });
    expect(r.outcome.status).toBe('verified');
  });
  afterAll(async () => {
    for (const k of keys) await store.delete(store.buckets.working, k).catch(() => undefined);
    for (const k of keys) await store.delete(store.buckets.originals, k).catch(() => undefined);
    store.destroy();
  });

  it('streams the chosen entries (by path and by hash) into new objects, each with its hash and source path', async () => {
    const requests = selectArtefacts(inventory, { paths: ['files/Image/IMG_0002.JPG'], sha256s: [sha256(files[2].data).toUpperCase(), sha256(files[0].data)] });
    expect(requests.map((r) => r.path).sort()).toEqual(['files/Image/IMG_0001.JPG', 'files/Image/IMG_0002.JPG', 'files/Text/chat.txt']);
    const before = source.requests;
    const stored = new Map<string, string>();
    const exported = await exportArtefacts(source, requests, async (artefact, bytes) => {
      const key = randomKey('extraction-artefact');
      keys.push(key);
      const put = await store.put(store.buckets.working, key, bytes, { expectedSize: artefact.size });
      expect(put.sha256).toBe(artefact.sha256);
      stored.set(artefact.path, key);
    });
    expect(exported.map((e) => [e.path, e.sha256, e.md5, e.size])).toEqual(
      [...files].map((f) => [f.path, sha256(f.data), md5(f.data), f.data.length]),
    );
    for (const f of files) {
      const got = await buffer((await store.get(store.buckets.working, stored.get(f.path)!)).body);
      expect(sha256(got)).toBe(sha256(f.data));
    }
    // The directory and one forward pass over the selected entries; never the whole archive again.
    expect(source.requests - before).toBeLessThanOrEqual(3);
  });

  it('fails the stream instead of ending it when the bytes differ from the inventory, so nothing is stored', async () => {
    const [req] = selectArtefacts(inventory, { paths: ['files/Image/IMG_0001.JPG'] });
    const key = randomKey('extraction-artefact-bad');
    keys.push(key);
    await expect(
      exportArtefacts(source, [{ ...req, sha256: 'f'.repeat(64) }], async (_a, bytes) => {
        await store.put(store.buckets.working, key, bytes);
      }),
    ).rejects.toMatchObject({ code: 'EXTRACTION_EXPORT_HASH_MISMATCH' });
    expect(await store.head(store.buckets.working, key)).toBeUndefined();
  });

  it('stops, without hanging, when the consumer gives up without reading', async () => {
    const [req] = selectArtefacts(inventory, { paths: ['files/Image/IMG_0001.JPG'] });
    await expect(
      exportArtefacts(source, [req], async () => {
        throw new Error('upload refused');
      }),
    ).rejects.toThrow('upload refused');
  });

  it('asks for an index when a name is not unique, and refuses names that are not entries', async () => {
    const zip = rawZip([
      { name: 'dup.txt', data: Buffer.from('one') },
      { name: 'dup.txt', data: Buffer.from('two') },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'dems-export-'));
    try {
      writeFileSync(join(dir, 'dups.zip'), zip);
      const src = await LocalFileByteSource.open(join(dir, 'dups.zip'));
      const sink = async (_a: unknown, b: NodeJS.ReadableStream) => void (await buffer(b));
      await expect(exportArtefacts(src, [{ path: 'dup.txt', sha256: sha256(Buffer.from('two')), size: 3 }], sink)).rejects.toMatchObject({ code: 'EXTRACTION_ENTRY_AMBIGUOUS' });
      const out = await exportArtefacts(src, [{ path: 'dup.txt', index: 1, sha256: sha256(Buffer.from('two')), size: 3 }], sink);
      expect(out).toEqual([{ path: 'dup.txt', index: 1, size: 3, sha256: sha256(Buffer.from('two')), md5: md5(Buffer.from('two')) }]);
      await expect(exportArtefacts(src, [{ path: '../../etc/passwd', sha256: 'a'.repeat(64), size: 1 }], sink)).rejects.toMatchObject({ code: 'EXTRACTION_ENTRY_NOT_FOUND' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Cellebrite UFD: every file=hash line checked against the sibling files', () => {
  let dir: string;
  const dump = randomBytes(300_000);
  const extra = randomBytes(5_000);
  const digest = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dems-ufd-'));
    writeFileSync(join(dir, 'Samsung GSM_SM-G991B.zip'), dump);
    writeFileSync(join(dir, 'extra.bin'), extra);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function ufd(lines: string[]): string {
    return ['\ufeff[Crime Case]', 'Case Identifier=KH-2026-0042', 'Examiner Name=DC Jones', '[DeviceInfo]', 'IMEI1=353918051234567', 'Vendor=Samsung', 'Model=SM-G991B', '[General]', 'AcquisitionTool=UFED 4PC', 'Version=7.62.0.12', 'ExtractionType=FileSystem', ...lines, ''].join('\r\n');
  }

  async function computed(): Promise<Map<string, ComputedDigests>> {
    const m = new Map<string, ComputedDigests>();
    for (const name of ['Samsung GSM_SM-G991B.zip', 'extra.bin']) {
      const b = readFileSync(join(dir, name));
      m.set(name, { sha256: digest('sha256', b), sha1: digest('sha1', b), md5: digest('md5', b) });
    }
    return m;
  }

  it('recognises the UFD by content and verifies it when every listed hash matches', async () => {
    writeFileSync(join(dir, 'good.ufd'), ufd(['[SHA256]', `Samsung GSM_SM-G991B.zip=${digest('sha256', dump).toUpperCase()}`, '[MD5]', `extra.bin=${digest('md5', extra)}`]));
    const src = await LocalFileByteSource.open(join(dir, 'good.ufd'));
    expect((await recogniseContainer(src)).kind).toBe('ufd');
    const v = await verifyUfd(src, await computed());
    expect(v.outcome).toEqual({ status: 'verified', warnings: [], problems: [] });
    expect(v.ufd).toMatchObject({ crimeCase: { caseIdentifier: 'KH-2026-0042', examiner: 'DC Jones' }, device: { imei: ['353918051234567'], vendor: 'Samsung' }, general: { acquisitionTool: 'UFED 4PC', version: '7.62.0.12' } });
    expect(v.check?.checked).toHaveLength(2);
  });

  it('fails naming the file whose hash differs and the listed file that was not uploaded', async () => {
    writeFileSync(join(dir, 'bad.ufd'), ufd(['[SHA1]', `Samsung GSM_SM-G991B.zip=${'0'.repeat(40)}`, '[SHA256]', `extra.bin=${digest('sha256', extra)}`, `Samsung GSM_SM-G991B.z02=${'1'.repeat(64)}`]));
    const v = await verifyUfd(await LocalFileByteSource.open(join(dir, 'bad.ufd')), await computed());
    expect(v.outcome.status).toBe('failed');
    expect(v.outcome.problems.map((p) => [p.code, p.path])).toEqual([
      ['UFD_HASH_MISMATCH', 'Samsung GSM_SM-G991B.zip'],
      ['UFD_FILE_MISSING', 'Samsung GSM_SM-G991B.z02'],
    ]);
  });
});
