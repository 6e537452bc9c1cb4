import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  CountingByteSource,
  inspectZip,
  LocalFileByteSource,
  ObjectStoreByteSource,
  recogniseContainer,
  type ByteSource,
  type InventoryEntry,
  type UfdrTaggedFile,
  type ZipInspectionOptions,
} from '../../../libs/extraction/index.js';
import { createObjectStore, type S3ObjectStore } from '../../../libs/storage/index.js';
import { randomKey, testConfig } from '../../support/test-env.js';
import { buildUfdr, rawZip, sha256, ufdrReportXml, yazlStreamedZip, yazlZip, type UfdrFile } from './zip-fixtures.js';

const MiB = 1024 * 1024;

/** A photo-sized random file (incompressible, like JPEG data). */
const blob = (n: number) => randomBytes(n);

function ufdrFiles(): UfdrFile[] {
  return [
    { path: 'files/Image/IMG_0001.JPG', data: blob(300_000), devicePath: '/Root/DCIM/Camera/IMG_0001.JPG' },
    { path: 'files/Image/IMG_0002.JPG', data: blob(120_000), devicePath: '/Root/DCIM/Camera/IMG_0002.JPG' },
    // Deleted on the device, recovered by the extraction.
    { path: 'files/Image/IMG_0003.JPG', data: blob(50_000), devicePath: 'Root/DCIM/.trash/IMG_0003.JPG', deleted: true },
    { path: 'files/Text/notes.txt', data: Buffer.from('meet at 9\n'.repeat(2000)), devicePath: '/Root/Documents/notes.txt' },
    // In the archive, not tagged in the report.
    { path: 'files/Other/cache.bin', data: blob(10_000), devicePath: '/Root/cache.bin', untagged: true },
  ];
}

async function inspect(source: ByteSource, opts: ZipInspectionOptions = {}) {
  const entries: InventoryEntry[] = [];
  const batches: number[] = [];
  const tagged: UfdrTaggedFile[] = [];
  const result = await inspectZip(source, {
    batchSize: 3,
    ...opts,
    onEntries: (b) => {
      batches.push(b.length);
      entries.push(...b);
    },
    onTaggedFiles: (b) => {
      tagged.push(...b);
    },
  });
  return { result, entries, batches, tagged, byPath: new Map(entries.map((e) => [e.path, e])) };
}

describe('ZIP-based extractions (UFDR, GrayKey, exports) inspected in place', () => {
  let store: S3ObjectStore;
  let work: string;
  const keys: string[] = [];

  beforeAll(async () => {
    store = createObjectStore(testConfig({ S3_PART_SIZE_MB: 5 }));
    await store.ensureBuckets();
    work = mkdtempSync(join(tmpdir(), 'dems-zip-'));
  });
  afterAll(async () => {
    for (const k of keys) await store.delete(store.buckets.originals, k);
    store.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  async function inS3(data: Buffer): Promise<CountingByteSource> {
    const key = randomKey('extraction-zip');
    keys.push(key);
    await store.put(store.buckets.originals, key, data);
    return new CountingByteSource(await ObjectStoreByteSource.open(store, store.buckets.originals, key));
  }

  async function local(name: string, data: Buffer): Promise<LocalFileByteSource> {
    const p = join(work, name);
    writeFileSync(p, data);
    return LocalFileByteSource.open(p);
  }

  describe('UFDR in S3, read with range requests', () => {
    it('recognises it by its report.xml, reads the report as a stream and verifies every listed hash', async () => {
      const files = ufdrFiles();
      const zip = await buildUfdr(files);
      const source = await inS3(zip);
      expect((await recogniseContainer(source)).kind).toBe('ufdr');

      const before = source.requests;
      const { result, entries, batches, tagged, byPath } = await inspect(source);
      expect(result.kind).toBe('ufdr');
      expect(result.outcome).toEqual({ status: 'verified', warnings: [], problems: [] });
      expect(result.report).toMatchObject({
        caseNumber: 'KH-2026-0042',
        caseName: 'Operation Larch',
        evidenceNumber: 'KH/4',
        examiner: 'DC Jones',
        extraction: { type: 'FileSystem', startTime: '30/11/2026 09:12:44(UTC+0)', endTime: '30/11/2026 10:02:01(UTC+0)', tool: 'Cellebrite UFED Physical Analyzer', toolVersion: '7.62.0.12' },
        device: { vendor: 'Samsung', model: 'SM-G991B', os: 'Android', osVersion: '13', imei: ['353918051234567'], iccid: ['8944110068256270054'], imsi: ['234150000000001'] },
        taggedFileCount: 4,
        deletedTaggedFileCount: 1,
      });
      expect(result.reportCheck).toMatchObject({ listedWithHash: 4, matched: 4, mismatched: [], missing: [] });
      expect(tagged.map((t) => t.entryPath)).toEqual(files.filter((f) => !f.untagged).map((f) => f.path));

      // Every entry, with its own SHA-256, CRC checked, and the report's flags where it lists one.
      expect(entries).toHaveLength(files.length + 1);
      for (const f of files) expect(byPath.get(f.path)).toMatchObject({ sha256: sha256(f.data), crcOk: true, status: 'ok', size: f.data.length });
      expect(byPath.get('files/Image/IMG_0003.JPG')).toMatchObject({ tagged: true, deleted: true, devicePath: 'Root/DCIM/.trash/IMG_0003.JPG' });
      expect(byPath.get('files/Image/IMG_0001.JPG')).toMatchObject({ tagged: true, deleted: false, modifiedAt: expect.stringMatching(/^2026-11-01T/) });
      expect(byPath.get('files/Other/cache.bin')?.tagged).toBeUndefined();
      expect(byPath.get('report.xml')?.status).toBe('ok');
      // Handed over in batches, never all at once.
      expect(Math.max(...batches)).toBeLessThanOrEqual(3);

      // A handful of range requests (end records and directory, report, one forward pass), and
      // no byte asked for more than about twice (the report entry is read twice): no full download.
      expect(source.requests - before).toBeLessThanOrEqual(6);
      expect(source.bytesRequested).toBeLessThan(zip.length * 2 + 2 * MiB);
      expect(result.rangeRequests).toBe(source.requests);
    });

    it('fails a UFDR whose report lists a wrong hash, naming the file, and one whose listed file is missing', async () => {
      const files = ufdrFiles();
      files[1].listedSha256 = 'c'.repeat(64);
      files.push({ path: 'files/Image/IMG_0009.JPG', data: blob(1000), devicePath: '/Root/DCIM/IMG_0009.JPG', omitFromArchive: true });
      const { result, byPath } = await inspect(await inS3(await buildUfdr(files)));
      expect(result.outcome.status).toBe('failed');
      expect(result.outcome.code).toBe('UFDR_HASH_MISMATCH');
      expect(result.outcome.problems).toEqual([
        expect.objectContaining({ code: 'UFDR_HASH_MISMATCH', path: 'files/Image/IMG_0002.JPG', message: expect.stringContaining(`the report lists SHA256 ${'c'.repeat(64)}`) }),
        expect.objectContaining({ code: 'UFDR_LISTED_FILE_MISSING', path: 'files/Image/IMG_0009.JPG' }),
      ]);
      expect(result.reportCheck).toMatchObject({ matched: 3, missing: ['files/Image/IMG_0009.JPG'] });
      expect(result.reportCheck?.mismatched).toEqual([{ path: 'files/Image/IMG_0002.JPG', algorithm: 'sha256', expected: 'c'.repeat(64), actual: sha256(files[1].data) }]);
      expect(byPath.get('files/Image/IMG_0002.JPG')?.flags).toContain('report_hash_mismatch');
    });

    it('refuses a report.xml with an XXE or billion-laughs DOCTYPE as a failed UFDR, never expanding it', async () => {
      const files = ufdrFiles().slice(0, 2);
      const xxe = ufdrReportXml(files).replace('<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0"?><!DOCTYPE project [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>').replace('DC Jones', '&xxe;');
      const { result } = await inspect(await local('xxe.ufdr', await buildUfdr(files, { reportXml: xxe })));
      expect(result.kind).toBe('ufdr');
      expect(result.outcome).toMatchObject({ status: 'failed', code: 'UFDR_REPORT_DTD_REFUSED' });
      expect(JSON.stringify(result)).not.toContain('root:');
      const lol = ufdrReportXml(files).replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0"?><!DOCTYPE project [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>',
      ).replace('DC Jones', '&h;');
      const second = await inspect(await local('lol.ufdr', await buildUfdr(files, { reportXml: lol })));
      expect(second.result.outcome).toMatchObject({ status: 'failed', code: 'UFDR_REPORT_DTD_REFUSED' });
    });

    it('fails a UFDR whose report.xml data is corrupt, without hanging', async () => {
      const files = ufdrFiles();
      // A report of a few MB (many tagged files) so the damage lands mid-stream.
      const many = Array.from({ length: 3000 }, (_, i) => ({ path: `files/Image/${i}.jpg`, data: Buffer.from(String(i)), devicePath: `/Root/${i}.jpg`, omitFromArchive: true }));
      const zip = await buildUfdr([...files, ...many]);
      expect(zip.subarray(30, 40).toString()).toBe('report.xml');
      for (let i = 0; i < 64; i++) zip[40 + 20_000 + i] ^= 0x5a;
      const { result } = await inspect(await local('corrupt-report.ufdr', zip));
      expect(result.kind).toBe('ufdr');
      expect(result.outcome.status).toBe('failed');
      expect(['UFDR_REPORT_UNREADABLE', 'UFDR_REPORT_MALFORMED', 'UFDR_REPORT_ENCODING_REFUSED']).toContain(result.outcome.code);
      // The entry's own CRC check fails it as well.
      expect(result.outcome.problems.map((p) => p.path)).toContain('report.xml');
    });

    it('treats a ZIP with a report.xml of another kind as a generic ZIP export', async () => {
      const zip = await yazlZip([
        { name: 'report.xml', data: Buffer.from('<?xml version="1.0"?><report xmlns="urn:graykey"><device/></report>') },
        { name: 'private/var/mobile/Library/SMS/sms.db', data: blob(4096) },
      ]);
      const source = await local('graykey.zip', zip);
      expect((await recogniseContainer(source)).kind).toBe('zip');
      const { result } = await inspect(source);
      expect(result).toMatchObject({ kind: 'zip', outcome: { status: 'verified' } });
      expect(result.report).toBeUndefined();
    });
  });

  it('inventories a ZIP64 export of 20,000 entries from S3 in a few range requests, in batches', async () => {
    const n = 20_000;
    const entries = Array.from({ length: n }, (_, i) => ({ name: `private/var/mobile/Media/DCIM/${String(i).padStart(5, '0')}.HEIC`, data: Buffer.from(`photo ${i} `.repeat(8)), compress: i % 1000 === 0 }));
    const zip = await yazlZip(entries, { forceZip64: true });
    const source = await inS3(zip);
    let seen = 0;
    let largest = 0;
    const result = await inspectZip(source, {
      batchSize: 1000,
      onEntries: (b) => {
        seen += b.length;
        largest = Math.max(largest, b.length);
        for (const e of b) if (e.status !== 'ok' || e.crcOk !== true || !e.sha256) throw new Error(`entry ${e.path} not verified`);
      },
    });
    expect(result).toMatchObject({ kind: 'zip', entryCount: n, outcome: { status: 'verified' } });
    expect(result.totals).toMatchObject({ entries: n, ok: n, failed: 0 });
    expect(seen).toBe(n);
    expect(largest).toBe(1000);
    // Directory through 1 MiB blocks, data through one forward stream.
    expect(source.requests).toBeLessThanOrEqual(8);
  });

  it.each([false, true])('reads entries whose sizes follow in data descriptors (ZIP64 descriptors: %s) without seeing hidden data', async (zip64) => {
    const data = [Buffer.from('streamed '.repeat(5000)), randomBytes(70_000), Buffer.from('')];
    const zip = await yazlStreamedZip(
      data.map((d, i) => ({ name: `s${i}`, data: d, compress: i !== 1 })),
      { forceZip64: zip64 },
    );
    expect(zip.readUInt16LE(6) & 0x8).toBe(0x8);
    const { result, entries } = await inspect(await local(`descriptors-${zip64}.zip`, zip));
    expect(result.outcome).toEqual({ status: 'verified', warnings: [], problems: [] });
    expect(entries.map((e) => e.sha256)).toEqual(data.map((d) => sha256(d)));
  });

  describe('hostile archives end in a flag or a failed outcome, never a crash, a hang or a write', () => {
    it('flags traversal, absolute and odd names, hashes their bytes, and writes nothing anywhere', async () => {
      const tag = randomBytes(4).toString('hex');
      // Hostile entry names on purpose.
      const names = [`../../../../../../../../tmp/dems-evil-${tag}`, `/tmp/dems-abs-${tag}`, `..\\..\\dems-win-${tag}`, `ok/../../x-${tag}`, `C:/Windows/x-${tag}`, 'a/./b//c', 'clean/name.txt']; // standalone-repository: allow
      const zip = rawZip(names.map((name) => ({ name, data: Buffer.from(`payload for ${name}`) })));
      const { result, entries } = await inspect(await local('traversal.zip', zip));
      expect(result.outcome.status).toBe('verified_with_warnings');
      expect(result.outcome.warnings.map((w) => w.code).sort()).toEqual(['ZIP_ABSOLUTE_PATH', 'ZIP_PATH_TRAVERSAL', 'ZIP_UNSAFE_NAME']);
      expect(entries.map((e) => [e.path, e.flags.sort()])).toEqual([
        [names[0], ['path_traversal']],
        [names[1], ['absolute_path']],
        [names[2], ['path_traversal']],
        [names[3], ['path_traversal']],
        [names[4], ['absolute_path']],
        [names[5], ['unsafe_name']],
        [names[6], []],
      ]);
      expect(entries.every((e) => e.status === 'ok' && e.sha256 === sha256(Buffer.from(`payload for ${e.path}`)))).toBe(true);
      for (const p of [`/tmp/dems-evil-${tag}`, `/tmp/dems-abs-${tag}`, join(work, '..', `dems-win-${tag}`), `/x-${tag}`]) expect(existsSync(p)).toBe(false);
    });

    it('flags a symbolic link and keeps its target as data only', async () => {
      const zip = await yazlZip([
        { name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777, compress: false },
        { name: 'file.txt', data: Buffer.from('x') },
      ]);
      const { result, byPath } = await inspect(await local('symlink.zip', zip));
      expect(result.outcome.warnings.map((w) => w.code)).toEqual(['ZIP_SYMLINK']);
      expect(byPath.get('link')).toMatchObject({ flags: ['symlink'], status: 'ok', sha256: sha256(Buffer.from('/etc/passwd')) });
    });

    it('flags encrypted entries as not verifiable, without a password and without failing the rest', async () => {
      const zip = rawZip([
        { name: 'secret.db', data: randomBytes(200), flags: 0x1, stored: randomBytes(212), uncompressedSize: 200 },
        { name: 'open.txt', data: Buffer.from('hello') },
      ]);
      const { result, byPath } = await inspect(await local('encrypted.zip', zip));
      expect(result.outcome.status).toBe('verified_with_warnings');
      expect(result.outcome.warnings.map((w) => w.code)).toEqual(['ZIP_ENCRYPTED']);
      expect(byPath.get('secret.db')).toMatchObject({ flags: ['encrypted'], status: 'not_checked', crcOk: null });
      expect(byPath.get('secret.db')?.sha256).toBeUndefined();
      expect(byPath.get('open.txt')).toMatchObject({ status: 'ok', crcOk: true });
    });

    it('fails a truncated archive and one with bytes cut from the middle, refusing to rebase offsets', async () => {
      const zip = await yazlZip(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}.bin`, data: blob(20_000), compress: false })));
      const tail = await inspect(await local('tail.zip', zip.subarray(0, zip.length - 100)));
      expect(tail.result.outcome).toMatchObject({ status: 'failed', code: 'ZIP_TRUNCATED' });
      const cut = Buffer.concat([zip.subarray(0, 300_000), zip.subarray(310_000)]);
      const middle = await inspect(await local('middle.zip', cut));
      expect(middle.result.outcome).toMatchObject({ status: 'failed', code: 'ZIP_CENTRAL_DIRECTORY_MISPLACED' });
      expect(middle.entries).toEqual([]);
    });

    it('fails an entry whose bytes do not match its CRC-32, naming it', async () => {
      const data = Buffer.from('the original bytes');
      const zip = rawZip([{ name: 'chat.db', data, crc: 0x12345678 }, { name: 'ok.txt', data: Buffer.from('fine') }]);
      const { result, byPath } = await inspect(await local('crc.zip', zip));
      expect(result.outcome).toMatchObject({ status: 'failed', code: 'ZIP_ENTRY_CRC_MISMATCH' });
      expect(result.outcome.problems[0]).toMatchObject({ path: 'chat.db', message: expect.stringContaining('12345678') });
      expect(byPath.get('chat.db')).toMatchObject({ status: 'crc_mismatch', crcOk: false, flags: ['crc_mismatch'] });
      expect(byPath.get('ok.txt')?.status).toBe('ok');
    });

    it('flags every copy of a duplicated name: exact, by case and by Unicode form', async () => {
      const zip = rawZip([
        { name: 'DCIM/photo.jpg', data: Buffer.from('1') },
        { name: 'DCIM/photo.jpg', data: Buffer.from('2') },
        { name: 'dcim/PHOTO.JPG', data: Buffer.from('3') },
        { name: 'Café.txt', data: Buffer.from('4') },
        { name: 'Cafe\u0301.txt', data: Buffer.from('5') },
        { name: 'unique.txt', data: Buffer.from('6') },
      ]);
      const { result, entries } = await inspect(await local('dups.zip', zip));
      expect(result.outcome.warnings.map((w) => w.code)).toEqual(['ZIP_DUPLICATE_NAME']);
      expect(entries.map((e) => e.flags.includes('duplicate_name'))).toEqual([true, true, true, true, true, false]);
      expect(new Set(entries.map((e) => e.sha256)).size).toBe(6);
    });

    it('flags a high-ratio entry for review, and refuses to inflate when the declared total is over the limit', async () => {
      const zeros = Buffer.alloc(50 * MiB);
      const zip = rawZip([{ name: 'zeros.img', data: zeros, method: 8 }]);
      const source = await local('ratio.zip', zip);
      const reviewed = await inspect(source);
      expect(reviewed.result.outcome.status).toBe('verified_with_warnings');
      expect(reviewed.result.outcome.warnings.map((w) => w.code)).toEqual(['ZIP_BOMB_SUSPECTED_ENTRY']);
      expect(reviewed.entries[0]).toMatchObject({ status: 'ok', flags: ['bomb_suspected'], sha256: sha256(zeros) });

      const limited = await inspect(source, { limits: { maxTotalUncompressedBytes: 10 * MiB } });
      expect(limited.result.outcome).toMatchObject({ status: 'failed', code: 'ZIP_BOMB_SUSPECTED' });
      expect(limited.result.totals.inflatedBytes).toBe(0);
      expect(limited.entries[0].status).toBe('not_checked');
      expect(limited.entries[0].sha256).toBeUndefined();
    });

    it('stops inflating an entry that produces more than it declares', async () => {
      const zip = rawZip([{ name: 'liar.bin', data: Buffer.alloc(16 * MiB), method: 8, uncompressedSize: 1000 }]);
      const { result, byPath } = await inspect(await local('liar.zip', zip), { limits: { maxEntryRatio: 1e9 } });
      expect(result.outcome).toMatchObject({ status: 'failed', code: 'ZIP_ENTRY_SIZE_MISMATCH' });
      expect(byPath.get('liar.bin')?.status).toBe('size_mismatch');
      expect(byPath.get('liar.bin')?.sha256).toBeUndefined();
      expect(byPath.get('liar.bin')?.flags).toEqual(expect.arrayContaining(['size_mismatch', 'bomb_suspected']));
      // At most the declared size plus the one inflate chunk that crossed it.
      expect(result.totals.inflatedBytes).toBeLessThanOrEqual(1000 + 64 * 1024);
    });

    it('refuses overlapping entries (one kernel behind many records) before inflating anything', async () => {
      const kernel = Buffer.alloc(8 * MiB);
      const zip = rawZip(
        Array.from({ length: 100 }, (_, i) => ({ name: `copy-${i}.bin`, data: kernel, method: 8 as const })),
        { cdPointsAt: 0 },
      );
      const { result } = await inspect(await local('overlap.zip', zip));
      expect(result.outcome).toMatchObject({ status: 'failed', code: 'ZIP_OVERLAPPING_ENTRIES' });
      expect(result.totals.inflatedBytes).toBe(0);
    });

    it('warns when the local header names a different file than the central directory', async () => {
      const zip = rawZip([{ name: 'innocent.txt', localName: 'evil.exe', data: Buffer.from('x') }]);
      const { result, entries } = await inspect(await local('mismatch.zip', zip));
      expect(result.outcome.warnings.map((w) => w.code)).toEqual(['ZIP_LOCAL_HEADER_MISMATCH']);
      expect(entries[0].flags).toEqual(['local_header_mismatch']);
    });

    it('decodes legacy CP437 names and flags a Unicode path field that renames an entry', async () => {
      const raw = Buffer.from('report.txt', 'latin1');
      const renamed = Buffer.from('../../outside.txt', 'utf8');
      const up = Buffer.alloc(9 + renamed.length);
      up.writeUInt16LE(0x7075, 0);
      up.writeUInt16LE(5 + renamed.length, 2);
      up[4] = 1;
      up.writeUInt32LE(crc32(raw) >>> 0, 5);
      renamed.copy(up, 9);
      const zip = rawZip([
        { name: raw, extra: up, data: Buffer.from('x') },
        { name: Buffer.from([0x81, 0x62, 0x65, 0x72, 0x2e, 0x74, 0x78, 0x74]), data: Buffer.from('y') },
      ]);
      const { result, entries } = await inspect(await local('unicode.zip', zip));
      expect(entries.map((e) => [e.path, e.flags.sort()])).toEqual([
        ['../../outside.txt', ['path_traversal', 'unicode_path_override']],
        ['über.txt', []],
      ]);
      expect(result.outcome.warnings.map((w) => w.code).sort()).toEqual(['ZIP_PATH_TRAVERSAL', 'ZIP_UNICODE_PATH_OVERRIDE']);
    });

    it('warns about bytes prepended before the first entry (a self-extractor stub)', async () => {
      const zip = rawZip([{ name: 'a.txt', data: Buffer.from('a') }], { prefix: Buffer.from('MZ this is a stub'.padEnd(4096, '\0')) });
      const { result, entries } = await inspect(await local('sfx.zip', zip));
      expect(result.outcome.warnings.map((w) => w.code)).toEqual(['ZIP_PREPENDED_DATA']);
      expect(entries[0].status).toBe('ok');
    });

    it('fails garbage and a lying central directory as unreadable, and stops at a time limit', async () => {
      const garbage = await local('garbage.zip', Buffer.concat([Buffer.from('PK\x03\x04'), randomBytes(5000)]));
      expect((await inspect(garbage)).result.outcome).toMatchObject({ status: 'failed', code: 'ZIP_TRUNCATED' });
      const big = await local('slow.zip', await yazlZip(Array.from({ length: 2000 }, (_, i) => ({ name: `${i}`, data: blob(2000), compress: false }))));
      await expect(inspectZip(big, { timeLimitMs: 1 })).rejects.toMatchObject({ code: 'EXTRACTION_TOOL_TIMEOUT' });
    });
  });

  it('recognises XRY, AXIOM and unknown files as opaque', async () => {
    const xry = await recogniseContainer(await local('phone.xry', Buffer.concat([Buffer.from('XRY\0'), randomBytes(2000)])));
    expect(xry.kind).toBe('opaque');
    expect(xry.description).toMatch(/opaque: not verified/);
    const sqlite = await recogniseContainer(await local('Case.mfdb', Buffer.concat([Buffer.from('SQLite format 3\0'), randomBytes(2000)])));
    expect(sqlite.kind).toBe('opaque');
  });
});
