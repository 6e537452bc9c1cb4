import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { BlockCache } from './block-cache.js';
import { deferredStream, type ByteSource } from './byte-source.js';
import type { EntryFlag, ExtractionFinding } from './extraction.types.js';
import { decodeCp437, duplicateKey, nameFlags } from './zip-entry-names.js';

/** Limits checked on the central directory before a single entry's data is read. */
export interface ZipLimits {
  /** Entries in one archive. */
  maxEntries: number;
  /** Bytes of central directory (guards memory: its records are kept compactly while the data pass runs). */
  maxCentralDirectoryBytes: number;
  /** Sum of declared uncompressed sizes, absolute. */
  maxTotalUncompressedBytes: number;
  /** Sum of declared uncompressed sizes over the archive size. DEFLATE tops out near 1032:1, so this also catches forged sizes. */
  maxTotalRatio: number;
  /** One entry's declared uncompressed size; larger entries are listed, flagged and not inflated. */
  maxEntryUncompressedBytes: number;
  /** An entry whose uncompressed/compressed ratio is above this is flagged `bomb_suspected` for review. */
  maxEntryRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 2_000_000,
  maxCentralDirectoryBytes: 512 * 1024 * 1024,
  maxTotalUncompressedBytes: 16 * 1024 ** 4,
  maxTotalRatio: 1100,
  maxEntryUncompressedBytes: 4 * 1024 ** 4,
  maxEntryRatio: 1000,
};

/** What the service keeps of one central-directory record while it works (compact, no yauzl objects). */
export interface ZipCdEntry {
  index: number;
  name: string;
  nameRaw: Buffer;
  generalPurposeFlags: number;
  compressionMethod: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  isDirectory: boolean;
  modifiedAt?: string;
  flags: EntryFlag[];
  /** The entry was written with ZIP64 sizes (its data descriptor, if any, has 8-byte sizes). */
  zip64: boolean;
}

export interface ZipTail {
  eocdOffset: number;
  cdOffset: number;
  cdSize: number;
  entryCount: number;
  /** Where the ZIP64 end-of-central-directory record starts, when there is one. */
  zip64RecordOffset?: number;
}

export interface ZipDirectory {
  tail: ZipTail;
  entries: ZipCdEntry[];
  /** Archive-level findings (prepended data, limits, structure). */
  warnings: ExtractionFinding[];
  problems: ExtractionFinding[];
  /** Sum of declared uncompressed sizes of entries the data pass will inflate. */
  declaredUncompressedBytes: number;
}

export class ZipStructureError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;

/** Quick test used by recognition: is there an end-of-central-directory record at the tail? */
export async function findTail(cache: BlockCache, size: number): Promise<ZipTail | undefined> {
  if (size < 22) return undefined;
  const window = Math.min(size, 22 + 0xffff + 20);
  const buf = await cache.read(size - window, window);
  for (let i = buf.length - 22; i >= 0; i--) {
    if (buf.readUInt32LE(i) !== EOCD_SIG) continue;
    const commentLength = buf.readUInt16LE(i + 20);
    // yauzl's own rule: the comment must run exactly to the end of the file.
    if (i + 22 + commentLength !== buf.length) continue;
    const eocdOffset = size - window + i;
    const tail: ZipTail = {
      eocdOffset,
      entryCount: buf.readUInt16LE(i + 10),
      cdSize: buf.readUInt32LE(i + 12),
      cdOffset: buf.readUInt32LE(i + 16),
    };
    if (i >= 20 && buf.readUInt32LE(i - 20) === ZIP64_LOCATOR_SIG) {
      const recordOffset = Number(buf.readBigUInt64LE(i - 20 + 8));
      const rec = await cache.read(recordOffset, 56);
      if (rec.length === 56 && rec.readUInt32LE(0) === ZIP64_EOCD_SIG) {
        tail.zip64RecordOffset = recordOffset;
        tail.entryCount = Number(rec.readBigUInt64LE(32));
        tail.cdSize = Number(rec.readBigUInt64LE(40));
        tail.cdOffset = Number(rec.readBigUInt64LE(48));
      }
    }
    return tail;
  }
  return undefined;
}

/** yauzl's reader interface over a ByteSource: small reads from the block cache, streams by range. */
class SourceReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly source: ByteSource,
    private readonly cache: BlockCache,
  ) {
    super();
  }
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    this.cache.read(position, length).then(
      (b) => {
        b.copy(buffer, offset);
        callback(b.length === length ? null : new Error(`unexpected EOF: ${length} bytes wanted at ${position}, ${b.length} there`));
      },
      (e: Error) => callback(e),
    );
  }
  override _readStreamForRange(start: number, end: number) {
    return deferredStream(() => this.source.stream(start, end));
  }
  override close(callback: (err: Error | null) => void): void {
    callback(null);
  }
}

function fromReader(reader: yauzl.RandomAccessReader, size: number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.fromRandomAccessReader(
      reader,
      size,
      // Raw names (one hostile name must not abort the listing); sizes checked by us, per entry.
      { lazyEntries: true, decodeStrings: false, validateEntrySizes: false, autoClose: false },
      (err, zip) => (err ? reject(err) : resolve(zip)),
    ),
  );
}

/**
 * Reads the end records and every central-directory record, applies the name rules and the
 * limits, and returns compact entries. Structural damage (no end record, a central directory that
 * does not end where the end record starts, overlapping entries) throws ZipStructureError, which
 * the caller turns into a failed outcome.
 */
export async function readZipDirectory(source: ByteSource, limits: ZipLimits, cache = new BlockCache(source)): Promise<ZipDirectory> {
  const tail = await findTail(cache, source.size);
  if (!tail) {
    throw new ZipStructureError('ZIP_TRUNCATED', 'No end-of-central-directory record: the archive is truncated or is not a ZIP');
  }
  const cdEnd = tail.zip64RecordOffset ?? tail.eocdOffset;
  // Some tools rebase offsets silently when bytes were cut or prepended; we refuse to guess.
  if (tail.cdOffset + tail.cdSize !== cdEnd) {
    throw new ZipStructureError(
      'ZIP_CENTRAL_DIRECTORY_MISPLACED',
      `The central directory should end at byte ${cdEnd} but its record says ${tail.cdOffset} + ${tail.cdSize}: bytes were cut from or added to the archive`,
    );
  }
  if (tail.entryCount > limits.maxEntries) {
    throw new ZipStructureError('ZIP_TOO_MANY_ENTRIES', `The archive declares ${tail.entryCount} entries; the limit is ${limits.maxEntries}`);
  }
  if (tail.cdSize > limits.maxCentralDirectoryBytes) {
    throw new ZipStructureError('ZIP_CENTRAL_DIRECTORY_TOO_LARGE', `The central directory is ${tail.cdSize} bytes; the limit is ${limits.maxCentralDirectoryBytes}`);
  }

  let zip: yauzl.ZipFile;
  try {
    zip = await fromReader(new SourceReader(source, cache), source.size);
  } catch (e) {
    throw new ZipStructureError('ZIP_UNREADABLE', `The ZIP structure cannot be read: ${(e as Error).message}`);
  }
  const entries: ZipCdEntry[] = [];
  let cdBytes = 0;
  try {
    for await (const e of zip.eachEntry()) {
      const nameRaw = Buffer.from(e.fileNameRaw as unknown as Buffer);
      cdBytes += 46 + e.fileNameLength + e.extraFieldLength + e.fileCommentLength;
      const { name, overridden } = decodeName(e.generalPurposeBitFlag, nameRaw, e.extraFields);
      const flags: EntryFlag[] = nameFlags(name);
      if (overridden) flags.push('unicode_path_override');
      const unixMode = e.externalFileAttributes >>> 16;
      // S_IFLNK, recorded by Unix zip tools: the data is the link target, kept as data only.
      if (e.versionMadeBy >> 8 === 3 && (unixMode & 0o170000) === 0o120000) flags.push('symlink');
      if (e.generalPurposeBitFlag & 0x1 || e.compressionMethod === 99) flags.push('encrypted');
      else if (e.compressionMethod !== 0 && e.compressionMethod !== 8) flags.push('unsupported_method');
      entries.push({
        index: entries.length,
        name,
        nameRaw,
        generalPurposeFlags: e.generalPurposeBitFlag,
        compressionMethod: e.compressionMethod,
        crc32: e.crc32 >>> 0,
        compressedSize: e.compressedSize,
        uncompressedSize: e.uncompressedSize,
        localHeaderOffset: e.relativeOffsetOfLocalHeader,
        isDirectory: name.endsWith('/') && e.uncompressedSize === 0,
        modifiedAt: modifiedAt(e),
        flags,
        zip64: e.extraFields.some((f) => f.id === 0x0001),
      });
    }
  } catch (e) {
    throw new ZipStructureError('ZIP_TRUNCATED', `The central directory is damaged after ${entries.length} of ${tail.entryCount} entries: ${(e as Error).message}`);
  } finally {
    zip.close();
  }
  if (cdBytes !== tail.cdSize) {
    throw new ZipStructureError('ZIP_CENTRAL_DIRECTORY_MISPLACED', `The central directory holds ${cdBytes} bytes of records but declares ${tail.cdSize}`);
  }

  const warnings: ExtractionFinding[] = [];
  const problems: ExtractionFinding[] = [];
  markDuplicates(entries);
  checkSpans(entries, tail, problems);
  const first = entries.reduce((m, e) => Math.min(m, e.localHeaderOffset), tail.cdOffset);
  if (first > 0) {
    warnings.push({ code: 'ZIP_PREPENDED_DATA', message: `${first} bytes come before the first entry (a self-extractor stub or hidden data); they are not part of any entry`, details: { bytes: first } });
  }

  let declared = 0;
  for (const e of entries) {
    const ratio = e.compressedSize > 0 ? e.uncompressedSize / e.compressedSize : e.uncompressedSize > 0 ? Infinity : 0;
    if (e.uncompressedSize > limits.maxEntryUncompressedBytes) {
      e.flags.push('over_limit', 'bomb_suspected');
    } else {
      if (ratio > limits.maxEntryRatio) e.flags.push('bomb_suspected');
      if (!e.flags.includes('encrypted') && !e.flags.includes('unsupported_method')) declared += e.uncompressedSize;
    }
  }
  if (declared > limits.maxTotalUncompressedBytes || declared > limits.maxTotalRatio * Math.max(source.size, 1)) {
    problems.push({
      code: 'ZIP_BOMB_SUSPECTED',
      message: `The entries declare ${declared} bytes uncompressed from a ${source.size}-byte archive, over the limits (${limits.maxTotalUncompressedBytes} bytes, ratio ${limits.maxTotalRatio}:1); nothing was inflated`,
      details: { declaredUncompressedBytes: declared, archiveBytes: source.size },
    });
  }
  return { tail, entries, warnings, problems, declaredUncompressedBytes: declared };
}

function decodeName(flags: number, raw: Buffer, extraFields: { id: number; data: Buffer }[]): { name: string; overridden: boolean } {
  if (flags & 0x800) return { name: raw.toString('utf8'), overridden: false };
  const legacy = decodeCp437(raw);
  // Info-ZIP Unicode Path (0x7075): version 1, CRC-32 of the raw name, UTF-8 name. Used only when
  // its CRC matches the raw name, as the specification says; recorded because it changes the name.
  const up = extraFields.find((f) => f.id === 0x7075);
  if (up && up.data.length >= 5 && up.data[0] === 1 && up.data.readUInt32LE(1) === crc32(raw) >>> 0) {
    const name = up.data.subarray(5).toString('utf8');
    return { name, overridden: name !== legacy };
  }
  return { name: legacy, overridden: false };
}

function modifiedAt(e: yauzl.Entry): string | undefined {
  // Extended timestamp (0x5455): Unix seconds, UTC.
  const ut = e.extraFields.find((f) => f.id === 0x5455);
  if (ut && ut.data.length >= 5 && ut.data[0] & 1) return new Date(ut.data.readInt32LE(1) * 1000).toISOString();
  if (e.lastModFileDate === 0) return undefined;
  // DOS time has no zone: it is the packing machine's local time, so it is given without one.
  const d = e.lastModFileDate;
  const t = e.lastModFileTime;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${(d >> 9) + 1980}-${pad((d >> 5) & 15)}-${pad(d & 31)}T${pad(t >> 11)}:${pad((t >> 5) & 63)}:${pad((t & 31) * 2)}`;
}

function markDuplicates(entries: ZipCdEntry[]): void {
  const seen = new Map<string, number>();
  for (const e of entries) {
    const k = duplicateKey(e.name);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  for (const e of entries) if ((seen.get(duplicateKey(e.name)) ?? 0) > 1) e.flags.push('duplicate_name');
}

/**
 * Every entry's bytes (at least its 30-byte local header and its compressed data) must lie
 * before the next entry's local header and before the central directory. Overlap is how the
 * "better zip bomb" reuses one kernel for thousands of entries (Fifield), or how a forged archive
 * shows two tools different files: refused before any data is read.
 */
function checkSpans(entries: ZipCdEntry[], tail: ZipTail, problems: ExtractionFinding[]): void {
  const order = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < order.length; i++) {
    const e = order[i];
    const minEnd = e.localHeaderOffset + 30 + e.compressedSize;
    const limit = i + 1 < order.length ? order[i + 1].localHeaderOffset : tail.cdOffset;
    if (minEnd > limit) {
      problems.push({
        code: 'ZIP_OVERLAPPING_ENTRIES',
        message: `Entry "${e.name}" runs into ${i + 1 < order.length ? `entry "${order[i + 1].name}"` : 'the central directory'}: entries overlap (a zip bomb or a forged archive); nothing was inflated`,
        path: e.name,
      });
      return;
    }
  }
}
