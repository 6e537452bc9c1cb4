import { BlockCache } from './block-cache.js';
import type { ByteSource } from './byte-source.js';
import {
  EWF1_SIGNATURE,
  EWF2_SIGNATURE,
  LEF1_SIGNATURE,
  LEF2_SIGNATURE,
  parseSectionDescriptor,
  parseSegmentHeader,
  parseTableEntryCount,
  parseVolumeBody,
  SECTION_DESCRIPTOR_SIZE,
  SEGMENT_HEADER_SIZE,
} from './ewf-segment.parser.js';
import type { EwfSegmentFacts, Recognition } from './extraction.types.js';
import { looksLikeUfd } from './ufd-ini.parser.js';
import { UfdrReportError, UfdrReportParser } from './ufdr-report.parser.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, ZipStructureError, findTail, type ZipCdEntry } from './zip-central-directory.js';
import { ByteCursor } from './byte-cursor.js';
import { createInflateRaw } from 'node:zlib';

export const EX01_NOT_VERIFIABLE = 'not verifiable here: Ex01 (libewf on Debian 12 cannot read EWF2)';
const MAX_SECTIONS = 100_000;

/**
 * Decides what a stored file is from its bytes: the EWF signature and segment header, the ZIP end
 * record (and, for a UFDR, the root element of report.xml), UFD INI structure. File names are
 * never consulted. Reads a handful of small ranges; never the whole file.
 */
export async function recogniseContainer(source: ByteSource): Promise<Recognition> {
  const size = source.size;
  if (size === 0) return { kind: 'empty', size, description: 'The file is empty (0 bytes): it holds no extraction' };
  const cache = new BlockCache(source, 64 * 1024, 16);
  const head = await cache.read(0, 512);
  const sig = head.subarray(0, 8);
  if (sig.equals(EWF1_SIGNATURE)) {
    const ewf = await readEwfSegmentFacts(source, cache);
    if (ewf) {
      return { kind: 'ewf', size, ewf, description: `EnCase (EWF-E01) segment ${ewf.segmentNumber}, chain ends in "${ewf.ends}"` };
    }
    return { kind: 'opaque', size, description: 'EWF signature but no readable segment header' };
  }
  if (sig.equals(EWF2_SIGNATURE)) {
    return { kind: 'ewf2', size, notVerifiableReason: EX01_NOT_VERIFIABLE, description: 'EnCase 7 Ex01 (EWF2) image segment' };
  }
  if (sig.equals(LEF1_SIGNATURE) || sig.equals(LEF2_SIGNATURE)) {
    return { kind: 'opaque', size, description: 'EnCase logical evidence file (L01/Lx01): stored and hashed, not verified here' };
  }
  const startsLikeZip = head.length >= 4 && head.readUInt32LE(0) === 0x04034b50;
  const tail = await findTail(new BlockCache(source, 128 * 1024, 2), size).catch(() => undefined);
  if (startsLikeZip || tail) return recogniseZip(source, size);
  const text = decodeText(await cache.read(0, 64 * 1024));
  if (text !== undefined && looksLikeUfd(text)) {
    return { kind: 'ufd', size, description: 'Cellebrite UFD (INI with extraction sections and hash lists)' };
  }
  return { kind: 'opaque', size, description: 'Not a format this service can verify (XRY, AXIOM or unknown): stored and hashed, "opaque: not verified"' };
}

function decodeText(b: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b.length === 64 * 1024 ? b.subarray(0, lastNewline(b)) : b);
  } catch {
    return undefined;
  }
}

function lastNewline(b: Buffer): number {
  const i = b.lastIndexOf(0x0a);
  return i === -1 ? b.length : i + 1;
}

async function recogniseZip(source: ByteSource, size: number): Promise<Recognition> {
  let entries: ZipCdEntry[];
  try {
    entries = (await readZipDirectory(source, DEFAULT_ZIP_LIMITS)).entries;
  } catch (e) {
    if (e instanceof ZipStructureError) {
      // Still a ZIP to the person who uploaded it: inspection will fail it with this reason.
      return { kind: 'zip', size, description: `ZIP archive whose structure cannot be read (${e.message})` };
    }
    throw e;
  }
  const report = findReportEntry(entries);
  if (report && (await isCellebriteReport(source, report))) {
    return { kind: 'ufdr', size, reportEntry: report.name, description: `Cellebrite UFDR (ZIP with ${report.name} in the report 2.0 namespace), ${entries.length} entries` };
  }
  return { kind: 'zip', size, description: `ZIP export (${entries.length} entries)${report ? '; its report.xml is not a Cellebrite report' : ''}` };
}

/** report.xml at the root (IPED also accepts Report.xml); exactly one, or the first of several. */
export function findReportEntry(entries: ZipCdEntry[]): ZipCdEntry | undefined {
  return entries.find((e) => e.name.toLowerCase() === 'report.xml' && !e.flags.includes('encrypted') && !e.flags.includes('unsupported_method'));
}

/** Reads the first few KiB of report.xml, only until the root element has opened. */
async function isCellebriteReport(source: ByteSource, entry: ZipCdEntry): Promise<boolean> {
  const cursor = new ByteCursor(source, source.size);
  try {
    await cursor.seek(entry.localHeaderOffset);
    const fixed = await cursor.read(30);
    if (fixed.readUInt32LE(0) !== 0x04034b50) return false;
    await cursor.skip(fixed.readUInt16LE(26) + fixed.readUInt16LE(28));
    const parser = new UfdrReportParser();
    const want = Math.min(entry.compressedSize, 64 * 1024);
    const raw = await cursor.read(want);
    const bytes = entry.compressionMethod === 8 ? await inflatePrefix(raw, 256 * 1024) : raw;
    try {
      parser.write(bytes.subarray(0, 256 * 1024));
    } catch (e) {
      if (e instanceof UfdrReportError) return false;
      throw e;
    }
    return parser.isCellebriteReport;
  } finally {
    cursor.close();
  }
}

/** Inflates the start of a deflate stream, stopping after `limit` bytes (the rest is not needed). */
function inflatePrefix(raw: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const z = createInflateRaw();
    const out: Buffer[] = [];
    let n = 0;
    const done = () => resolve(Buffer.concat(out));
    z.on('data', (c: Buffer) => {
      out.push(c);
      n += c.length;
      if (n >= limit) {
        z.destroy();
        done();
      }
    });
    z.on('error', done);
    z.on('end', done);
    z.end(raw);
  });
}

/**
 * Walks a segment's section chain: segment number, the set identifier and geometry from the volume
 * (E01) or data (E02…) section, chunk count from its tables, and whether the chain ends in `done`
 * (last segment) or `next`. A chain that points past the end of the file means the segment was cut.
 */
export async function readEwfSegmentFacts(source: ByteSource, cache = new BlockCache(source, 64 * 1024, 16)): Promise<EwfSegmentFacts | undefined> {
  const header = parseSegmentHeader(await cache.read(0, SEGMENT_HEADER_SIZE));
  if (!header) return undefined;
  const facts: EwfSegmentFacts = {
    segmentNumber: header.segmentNumber,
    setIdentifier: '',
    setIdentifierIsZero: true,
    chunksInSegment: 0,
    ends: 'truncated',
    sections: [],
  };
  let offset = SEGMENT_HEADER_SIZE;
  for (let i = 0; i < MAX_SECTIONS; i++) {
    if (offset + SECTION_DESCRIPTOR_SIZE > source.size) break;
    const d = parseSectionDescriptor(await cache.read(offset, SECTION_DESCRIPTOR_SIZE), offset);
    if (!d) break;
    facts.sections.push(d.type);
    if (d.type === 'next' || d.type === 'done') {
      facts.ends = d.type;
      break;
    }
    if ((d.type === 'volume' || d.type === 'disk' || d.type === 'data') && facts.setIdentifier === '') {
      const v = parseVolumeBody(await cache.read(offset + SECTION_DESCRIPTOR_SIZE, Math.min(Math.max(d.size - SECTION_DESCRIPTOR_SIZE, 0), 1052)));
      if (v) Object.assign(facts, v);
    }
    if (d.type === 'table') facts.chunksInSegment += parseTableEntryCount(await cache.read(offset + SECTION_DESCRIPTOR_SIZE, 4)) ?? 0;
    // Each section must move forward and stay inside the file, or the segment is cut or forged.
    if (d.next <= offset || d.next > source.size) break;
    offset = d.next;
  }
  return facts;
}
