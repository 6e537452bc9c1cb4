import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { crc32, deflateRawSync } from 'node:zlib';
import yazl from 'yazl';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

export interface YazlEntry {
  name: string;
  data: Buffer;
  compress?: boolean;
  mode?: number;
  mtime?: Date;
}

/**
 * A ZIP written by yazl 3.3.1 (what a well-behaved exporter writes), ZIP64 on request. yazl deflates
 * each entry asynchronously and slowly (20k small entries: 65 s compressed, 4 s stored), so large
 * fixtures compress only some entries.
 */
export async function yazlZip(entries: YazlEntry[], opts: { forceZip64?: boolean } = {}): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const e of entries) {
    z.addBuffer(e.data, e.name, { compress: e.compress ?? true, mode: e.mode, mtime: e.mtime ?? new Date('2026-11-01T10:00:00Z'), forceZip64Format: opts.forceZip64 ?? false });
  }
  z.end({ forceZip64Format: opts.forceZip64 ?? false, comment: '' });
  return buffer(z.outputStream as Readable);
}

/** Entries written from streams: yazl then puts sizes and CRC in data descriptors after the data. */
export async function yazlStreamedZip(entries: YazlEntry[], opts: { forceZip64?: boolean } = {}): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const e of entries) z.addReadStream(Readable.from([e.data]), e.name, { compress: e.compress ?? true, forceZip64Format: opts.forceZip64 ?? false });
  z.end({ forceZip64Format: opts.forceZip64 ?? false, comment: '' });
  return buffer(z.outputStream as Readable);
}

export interface RawEntry {
  name: string | Buffer;
  data: Buffer;
  method?: 0 | 8;
  /** Raw data as stored, when it must differ from what `method` would make of `data`. */
  stored?: Buffer;
  crc?: number;
  uncompressedSize?: number;
  flags?: number;
  externalAttributes?: number;
  versionMadeBy?: number;
  /** A different name in the local header than in the central directory. */
  localName?: string;
  /** Extra field bytes (central directory and local header alike). */
  extra?: Buffer;
}

/**
 * Writes a ZIP by hand (no library would write the hostile ones): local headers, data, central
 * directory, end record. `prefix` bytes go first (a self-extractor stub) with offsets that count
 * them, as `zip -A` writes; `cdPointsAt` makes every central-directory record point at the local
 * header of entry 0 (the overlapping-entry bomb).
 */
export function rawZip(entries: RawEntry[], opts: { prefix?: Buffer; cdPointsAt?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    pos += b.length;
  };
  if (opts.prefix) push(opts.prefix);
  const cd: Buffer[] = [];
  const offsets: number[] = [];
  for (const e of entries) {
    const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name, 'utf8');
    const localName = e.localName !== undefined ? Buffer.from(e.localName, 'utf8') : name;
    const method = e.method ?? 0;
    const stored = e.stored ?? (method === 8 ? deflateRawSync(e.data) : e.data);
    const crc = e.crc ?? crc32(e.data) >>> 0;
    const size = e.uncompressedSize ?? e.data.length;
    const flags = (e.flags ?? 0) | (Buffer.isBuffer(e.name) ? 0 : 0x800);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(flags, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(0x5000, 10);
    lh.writeUInt16LE(0x5b81, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(stored.length, 18);
    lh.writeUInt32LE(size, 22);
    const extra = e.extra ?? Buffer.alloc(0);
    lh.writeUInt16LE(localName.length, 26);
    lh.writeUInt16LE(extra.length, 28);
    offsets.push(pos);
    push(lh);
    push(localName);
    push(extra);
    push(stored);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(e.versionMadeBy ?? 20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(flags, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt16LE(0x5000, 12);
    c.writeUInt16LE(0x5b81, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(stored.length, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(e.externalAttributes ?? 0, 38);
    cd.push(Buffer.concat([c, name, extra]));
  }
  const cdStart = pos;
  cd.forEach((c, i) => {
    c.writeUInt32LE(opts.cdPointsAt !== undefined ? offsets[opts.cdPointsAt] : offsets[i], 42);
    push(c);
  });
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(pos - cdStart, 12);
  eocd.writeUInt32LE(cdStart, 16);
  push(eocd);
  return Buffer.concat(parts);
}

export const CELLEBRITE_NS = 'http://pa.cellebrite.com/report/2.0';

export interface UfdrFile {
  /** Entry name in the ZIP (forward slashes); the report's Local Path uses backslashes. */
  path: string;
  data: Buffer;
  devicePath: string;
  deleted?: boolean;
  /** The report lists this SHA-256 instead of the real one. */
  listedSha256?: string;
  /** List it in the report but leave it out of the archive. */
  omitFromArchive?: boolean;
  /** Put it in the archive but not in the report. */
  untagged?: boolean;
}

const x = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** A report.xml in the Cellebrite report 2.0 shape (EXTRACTION-NOTES (b) fixture outline). */
export function ufdrReportXml(files: UfdrFile[], extra = ''): string {
  const tagged = files
    .filter((f) => !f.untagged)
    .map(
      (f, i) => `    <file fs="Phone" fsid="fs0" path="${x(f.devicePath)}" size="${f.data.length}" id="tf-${i}" extractionId="0" deleted="${f.deleted ? 'Deleted' : 'Intact'}" embedded="false" isrelated="False">
      <accessInfo>
        <timestamp name="CreationTime" formattedTimestamp="01/11/2026 10:00:00(UTC+0)">2026-11-01T10:00:00.000+00:00</timestamp>
        <timestamp name="ModifyTime">2026-11-02T11:30:00.000+00:00</timestamp>
      </accessInfo>
      <metadata section="File">
        <item name="Local Path"><![CDATA[${f.path.replace(/\//g, '\\')}]]></item>
        <item name="SHA256"><![CDATA[${(f.listedSha256 ?? sha256(f.data)).toUpperCase()}]]></item>
        <item name="MD5"><![CDATA[${md5(f.data)}]]></item>
        <item name="Tags"><![CDATA[Image]]></item>
      </metadata>
      <metadata section="MetaData"><item name="Make"><![CDATA[Samsung]]></item></metadata>
    </file>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<project id="5f3c9a51-1d2e-4f8a-9b7c-0a1b2c3d4e5f" name="KH-4 Samsung SM-G991B" reportVersion="7.62.0.12" licenseID="0000" containsGarbage="False" extractionType="FileSystem" NodeCount="${files.length}" ModelCount="1" xmlns="${CELLEBRITE_NS}">
  <sourceExtractions>
    <extractionInfo id="0" name="File System" isCustomName="False" type="FileSystem" deviceName="SM-G991B" fullName="Samsung Galaxy S21 (SM-G991B)" index="0" IsPartialData="False" />
  </sourceExtractions>
  <caseInformation>
    <field name="Case number" isSystem="True" isRequired="False" fieldType="CaseNumber" multipleLines="False">KH-2026-0042</field>
    <field name="Case name" isSystem="True" isRequired="False" fieldType="CaseName" multipleLines="False">Operation Larch</field>
    <field name="Evidence number" isSystem="True" isRequired="False" fieldType="EvidenceNumber" multipleLines="False">KH/4</field>
    <field name="Examiner name" isSystem="False" isRequired="False" fieldType="None" multipleLines="False">DC Jones</field>
  </caseInformation>
  <metadata section="Additional Fields">
    <item name="UFED_PA_Version"><![CDATA[7.62.0.12]]></item>
  </metadata>
  <metadata section="Extraction Data">
    <item name="ExtractionType" sourceExtraction="0"><![CDATA[FileSystem]]></item>
    <item name="DeviceInfoExtractionStartDateTime" sourceExtraction="0"><![CDATA[30/11/2026 09:12:44(UTC+0)]]></item>
    <item name="DeviceInfoExtractionEndDateTime" sourceExtraction="0"><![CDATA[30/11/2026 10:02:01(UTC+0)]]></item>
  </metadata>
  <metadata section="Device Info">
    <item id="d1" name="DeviceInfoSelectedManufacturer" sourceExtraction="0"><![CDATA[Samsung]]></item>
    <item id="d2" name="DeviceInfoSelectedDeviceName" sourceExtraction="0"><![CDATA[SM-G991B]]></item>
    <item id="d3" name="DeviceInfoOSType" sourceExtraction="0"><![CDATA[Android]]></item>
    <item id="d4" name="DeviceInfoOSVersion" sourceExtraction="0"><![CDATA[13]]></item>
    <item id="d5" name="IMEI" sourceExtraction="0"><![CDATA[353918051234567]]></item>
    <item id="d6" name="ICCID" sourceExtraction="0"><![CDATA[8944110068256270054]]></item>
    <item id="d7" name="IMSI" sourceExtraction="0"><![CDATA[234150000000001]]></item>
    <item id="d8" name="DeviceInfoTimeZone" sourceExtraction="0"><![CDATA[Europe/London]]></item>
  </metadata>
  <taggedFiles>
${tagged}
  </taggedFiles>
  <decodedData>
    <modelType type="Contact">
      <model type="Contact" id="c-1" deleted_state="Intact" decoding_confidence="High" isrelated="False" extractionId="0">
        <field name="Name" type="String"><value type="String"><![CDATA[Alex]]></value></field>
      </model>
    </modelType>
  </decodedData>
${extra}</project>
`;
}

/** A UFDR: report.xml at the root, the files under files/…, written by yazl. */
export async function buildUfdr(files: UfdrFile[], opts: { reportXml?: string; forceZip64?: boolean } = {}): Promise<Buffer> {
  return yazlZip(
    [
      { name: 'report.xml', data: Buffer.from(opts.reportXml ?? ufdrReportXml(files), 'utf8') },
      ...files.filter((f) => !f.omitFromArchive).map((f) => ({ name: f.path, data: f.data })),
    ],
    { forceZip64: opts.forceZip64 },
  );
}
