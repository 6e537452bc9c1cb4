/**
 * Pure readers of the EWF (EnCase 1-6, "E01") segment structures the service checks itself before
 * it trusts ewfverify with a set: the 13-byte segment file header, the 76-byte section descriptors
 * and the volume/data and table section bodies. Layout: libewf's "Expert Witness Compression
 * Format" documentation; offsets checked against ewfacquire 20140813 output and the fixtures.
 */

export const EWF1_SIGNATURE = Buffer.from([0x45, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00]); // "EVF\t\r\n\xff\0"
export const EWF2_SIGNATURE = Buffer.from([0x45, 0x56, 0x46, 0x32, 0x0d, 0x0a, 0x81, 0x00]); // "EVF2\r\n\x81\0" (Ex01)
export const LEF1_SIGNATURE = Buffer.from([0x4c, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00]); // "LVF…" (L01 logical evidence)
export const LEF2_SIGNATURE = Buffer.from([0x4c, 0x56, 0x46, 0x32, 0x0d, 0x0a, 0x81, 0x00]); // Lx01

export const SEGMENT_HEADER_SIZE = 13;
export const SECTION_DESCRIPTOR_SIZE = 76;

export interface SegmentHeader {
  segmentNumber: number;
}

/** The segment file header: signature, 0x01, segment number (u16 LE at byte 9), 0x0000. */
export function parseSegmentHeader(head: Buffer): SegmentHeader | undefined {
  if (head.length < SEGMENT_HEADER_SIZE || !head.subarray(0, 8).equals(EWF1_SIGNATURE)) return undefined;
  return { segmentNumber: head.readUInt16LE(9) };
}

export interface SectionDescriptor {
  type: string;
  /** Where the descriptor starts in the segment. */
  offset: number;
  /** Offset of the next descriptor (a `next`/`done` section points at itself). */
  next: number;
  /** Descriptor plus body. */
  size: number;
}

export function parseSectionDescriptor(buf: Buffer, offset: number): SectionDescriptor | undefined {
  if (buf.length < SECTION_DESCRIPTOR_SIZE) return undefined;
  const rawType = buf.subarray(0, 16);
  const nul = rawType.indexOf(0);
  const type = rawType.subarray(0, nul === -1 ? 16 : nul).toString('latin1');
  if (!/^[a-z0-9]{1,16}$/.test(type)) return undefined;
  const next = Number(buf.readBigUInt64LE(16));
  const size = Number(buf.readBigUInt64LE(24));
  return { type, offset, next, size };
}

export interface VolumeFacts {
  chunkCount: number;
  sectorsPerChunk: number;
  bytesPerSector: number;
  sectorCount: number;
  /** As ewfinfo prints "Set identifier": the first three GUID fields little-endian. */
  setIdentifier: string;
  setIdentifierIsZero: boolean;
}

/** Body of an EnCase `volume` / `data` section (1052 bytes; the GUID at +64). */
export function parseVolumeBody(body: Buffer): VolumeFacts | undefined {
  if (body.length < 80) return undefined;
  const guid = body.subarray(64, 80);
  return {
    chunkCount: body.readUInt32LE(4),
    sectorsPerChunk: body.readUInt32LE(8),
    bytesPerSector: body.readUInt32LE(12),
    sectorCount: Number(body.readBigUInt64LE(16)),
    setIdentifier: formatGuid(guid),
    setIdentifierIsZero: guid.every((b) => b === 0),
  };
}

/** Number of chunk entries a `table` section body announces (u32 LE at +0). */
export function parseTableEntryCount(body: Buffer): number | undefined {
  return body.length >= 4 ? body.readUInt32LE(0) : undefined;
}

export function formatGuid(b: Buffer): string {
  const hex = (x: Buffer) => x.toString('hex');
  const le = (x: Buffer) => hex(Buffer.from(x).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}

/** The file extension ewfacquire gives segment n: E01…E99, then EAA…EZZ, FAA… (checked to .EAA at 100). */
export function segmentExtension(n: number, first = 'E'): string {
  if (!Number.isInteger(n) || n < 1) throw new Error(`segment number ${n} is not valid`);
  if (n < 100) return `${first}${String(n).padStart(2, '0')}`;
  const k = n - 100;
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const lead = first.charCodeAt(0) - 65 + Math.floor(k / (26 * 26));
  if (lead > 25) throw new Error(`segment number ${n} has no EWF extension`);
  return `${letters[lead]}${letters[Math.floor(k / 26) % 26]}${letters[k % 26]}`;
}
