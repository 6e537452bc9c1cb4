import { SaxesParser, type SaxesTagNS } from 'saxes';
import { normaliseReportPath } from './zip-entry-names.js';

/**
 * Streaming reader of a Cellebrite UFDR `report.xml` (report 2.0 schema: `project` root in
 * http://pa.cellebrite.com/report/2.0; `sourceExtractions`, `caseInformation`, `metadata
 * section=…` with `item name=…`, `taggedFiles/file` with `accessInfo` and a `metadata
 * section="File"` holding Local Path / MD5 / SHA256, `decodedData`). Shapes follow the public
 * readers cited in EXTRACTION-NOTES (b): ufdr-rs, UFEDLib, IPED.
 *
 * Reports run to gigabytes, and they are attacker-reachable input (anyone can craft a "UFDR"):
 *  - nothing is built in memory but the facts below; tagged files go out one by one to a callback;
 *  - a DOCTYPE is refused outright, so no DTD, internal entity (billion laughs) or external entity
 *    (XXE) is ever read or expanded; saxes itself never fetches anything;
 *  - bytes must be UTF-8 (fatal decoder), any other declared encoding is refused;
 *  - XML-1.0-illegal character references (&#x1; …), which real UFED reports contain, become
 *    U+FFFD and are counted instead of failing the whole report (IPED strips them the same way);
 *  - no single text run, name or attribute list may grow past a cap, because saxes would hand a
 *    200 MB text node over as one string (V8 strings stop near 512 MiB).
 */

export const CELLEBRITE_REPORT_NS = 'http://pa.cellebrite.com/report/2.0';

export interface UfdrReportLimits {
  /** Longest value kept for one item/field/attribute (longer ones are cut and marked). */
  maxValueChars: number;
  /** Longest text run, name or attribute value the XML parser may buffer. */
  maxBufferedChars: number;
  /** Most attributes on one element. */
  maxAttributes: number;
  /** Most metadata items and case fields kept (they are small; this bounds a hostile report). */
  maxMetadataItems: number;
}

export const DEFAULT_UFDR_REPORT_LIMITS: UfdrReportLimits = {
  maxValueChars: 64 * 1024,
  maxBufferedChars: 16 * 1024 * 1024,
  maxAttributes: 256,
  maxMetadataItems: 20_000,
};

export class UfdrReportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UfdrReportError';
  }
}

export interface UfdrTaggedFile {
  id?: string;
  /** File system the file came from (the `fs` attribute). */
  fs?: string;
  /** Path on the device (`path` attribute; UFED sometimes omits the leading slash). */
  devicePath?: string;
  name?: string;
  size?: number;
  deleted: boolean;
  /** The raw `deleted` attribute (Intact, Deleted, …). */
  deletedState?: string;
  extractionId?: string;
  embedded?: boolean;
  /** The Local Path item as written (backslash separated). */
  localPath?: string;
  /** Local Path normalised to the ZIP entry name it should match (`files/Image/x.jpg`). */
  entryPath?: string;
  md5?: string;
  sha256?: string;
  tags?: string;
  timestamps: { name: string; value: string }[];
}

export interface UfdrReportFacts {
  project: { id?: string; name?: string; reportVersion?: string; extractionType?: string; containsGarbage?: string };
  sourceExtractions: { id?: string; name?: string; type?: string; deviceName?: string; fullName?: string; isPartialData?: string }[];
  /** Every case field, raw; `fieldType` is the stable key (names are localised). */
  caseInformation: { name?: string; fieldType?: string; value: string }[];
  /** Items of every metadata section directly under project, in order (names repeat: a list, not a map). */
  metadata: { section: string; name: string; value: string; group?: string; sourceExtraction?: string }[];
  extraction: { type?: string; startTime?: string; endTime?: string; tool?: string; toolVersion?: string };
  device: { vendor?: string; model?: string; os?: string; osVersion?: string; imei: string[]; iccid: string[]; imsi: string[]; msisdn: string[] };
  caseNumber?: string;
  caseName?: string;
  evidenceNumber?: string;
  examiner?: string;
  taggedFileCount: number;
  deletedTaggedFileCount: number;
  /** Illegal character references replaced by U+FFFD. */
  replacedCharacterReferences: number;
  /** Values cut at maxValueChars. */
  truncatedValues: number;
}

export interface UfdrParseOptions {
  onTaggedFile?: (file: UfdrTaggedFile) => void;
  limits?: Partial<UfdrReportLimits>;
}

/** Feed it the report's bytes in order with write(), then end(). Throws UfdrReportError. */
export class UfdrReportParser {
  private readonly limits: UfdrReportLimits;
  private readonly sax: SaxesParser<{ xmlns: true; position: true }>;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private carry = '';
  private sawStart = false;
  private readonly stack: string[] = [];
  private rootChecked = false;
  private capture?: { chars: string[]; length: number; truncated: boolean; done: (value: string) => void };
  private file?: UfdrTaggedFile;
  private section?: string;
  private fileSection?: string;
  private readonly facts: UfdrReportFacts = {
    project: {},
    sourceExtractions: [],
    caseInformation: [],
    metadata: [],
    extraction: {},
    device: { imei: [], iccid: [], imsi: [], msisdn: [] },
    taggedFileCount: 0,
    deletedTaggedFileCount: 0,
    replacedCharacterReferences: 0,
    truncatedValues: 0,
  };

  constructor(private readonly options: UfdrParseOptions = {}) {
    this.limits = { ...DEFAULT_UFDR_REPORT_LIMITS, ...options.limits };
    this.sax = new SaxesParser({ xmlns: true, position: true });
    this.sax.on('doctype', () => {
      throw new UfdrReportError('UFDR_REPORT_DTD_REFUSED', 'report.xml declares a DOCTYPE; DTDs and entities are refused (they enable entity-expansion and external-entity attacks)');
    });
    this.sax.on('error', (e) => {
      throw new UfdrReportError('UFDR_REPORT_MALFORMED', `report.xml is not well-formed XML: ${e.message}`);
    });
    this.sax.on('xmldecl', (d) => {
      if (d.encoding && !/^utf-?8$/i.test(d.encoding)) {
        throw new UfdrReportError('UFDR_REPORT_ENCODING_REFUSED', `report.xml declares encoding "${d.encoding}"; only UTF-8 is accepted`);
      }
    });
    this.sax.on('opentag', (t) => this.open(t as SaxesTagNS));
    this.sax.on('closetag', () => this.close());
    this.sax.on('text', (t) => this.text(t));
    this.sax.on('cdata', (t) => this.text(t));
  }

  write(chunk: Buffer): void {
    let s: string;
    try {
      s = this.decoder.decode(chunk, { stream: true });
    } catch {
      throw new UfdrReportError('UFDR_REPORT_ENCODING_REFUSED', 'report.xml is not valid UTF-8');
    }
    this.feed(s, false);
  }

  end(): UfdrReportFacts {
    let s: string;
    try {
      s = this.decoder.decode();
    } catch {
      throw new UfdrReportError('UFDR_REPORT_ENCODING_REFUSED', 'report.xml is not valid UTF-8 (it ends inside a character)');
    }
    this.feed(s, true);
    this.sax.close();
    if (!this.rootChecked) throw new UfdrReportError('UFDR_NOT_A_REPORT', 'report.xml has no root element');
    return this.facts;
  }

  /** The root element has been seen and is a Cellebrite report (for recognition by peeking). */
  get isCellebriteReport(): boolean {
    return this.rootChecked;
  }

  private feed(s: string, final: boolean): void {
    let text = this.carry + s;
    this.carry = '';
    if (!final) {
      // A character reference may be split across chunks: hold back a trailing "&#…" fragment.
      const amp = text.lastIndexOf('&');
      if (amp !== -1 && text.length - amp < 16 && text.indexOf(';', amp) === -1) {
        this.carry = text.slice(amp);
        text = text.slice(0, amp);
      }
    }
    if (!this.sawStart && text.length > 0) this.sawStart = true;
    text = text.replace(/&#(x[0-9a-fA-F]{1,8}|[0-9]{1,10});/g, (ref, v: string) => {
      const cp = v[0] === 'x' ? parseInt(v.slice(1), 16) : parseInt(v, 10);
      if (cp < 0x20 && cp !== 0x9 && cp !== 0xa && cp !== 0xd) {
        this.facts.replacedCharacterReferences++;
        return '\ufffd';
      }
      return ref;
    });
    // Small slices, so the buffers saxes keeps can be checked before they grow past the cap.
    const SLICE = 64 * 1024;
    for (let i = 0; i < text.length; i += SLICE) {
      this.sax.write(text.slice(i, i + SLICE));
      this.checkBuffers();
    }
  }

  private checkBuffers(): void {
    // saxes 6.0.0 internals (pinned): the strings and attribute list it accumulates before an event.
    const inner = this.sax as unknown as { text: string; name: string; piTarget: string; entity: string; attribList: unknown[] };
    const longest = Math.max(inner.text.length, inner.name.length, inner.piTarget.length, inner.entity.length);
    if (longest > this.limits.maxBufferedChars) {
      throw new UfdrReportError('UFDR_REPORT_LIMIT', `report.xml has a text run, name or attribute longer than ${this.limits.maxBufferedChars} characters`);
    }
    if (inner.attribList.length > this.limits.maxAttributes) {
      throw new UfdrReportError('UFDR_REPORT_LIMIT', `report.xml has an element with more than ${this.limits.maxAttributes} attributes`);
    }
  }

  private attr(t: SaxesTagNS, name: string): string | undefined {
    const a = t.attributes[name];
    if (!a) return undefined;
    return this.cut(a.value);
  }

  private cut(v: string): string {
    if (v.length <= this.limits.maxValueChars) return v;
    this.facts.truncatedValues++;
    return v.slice(0, this.limits.maxValueChars);
  }

  private open(t: SaxesTagNS): void {
    const local = t.local;
    const depth = this.stack.length;
    this.stack.push(local);
    if (!this.rootChecked) {
      if (local !== 'project' || t.uri !== CELLEBRITE_REPORT_NS) {
        throw new UfdrReportError('UFDR_NOT_A_REPORT', `report.xml's root is "${t.name}"${t.uri ? ` in ${t.uri}` : ''}, not "project" in ${CELLEBRITE_REPORT_NS}`);
      }
      this.rootChecked = true;
      const p = this.facts.project;
      p.id = this.attr(t, 'id');
      p.name = this.attr(t, 'name');
      p.reportVersion = this.attr(t, 'reportVersion');
      p.extractionType = this.attr(t, 'extractionType');
      p.containsGarbage = this.attr(t, 'containsGarbage');
      return;
    }
    const parent = this.stack[depth - 1];
    const top = this.stack[1];
    // Children are read by local name (EXTRACTION-NOTES (d)); decodedData is skipped whole.
    if (top === 'decodedData') return;
    if (depth === 2 && parent === 'sourceExtractions' && local === 'extractionInfo') {
      this.facts.sourceExtractions.push({
        id: this.attr(t, 'id'),
        name: this.attr(t, 'name'),
        type: this.attr(t, 'type'),
        deviceName: this.attr(t, 'deviceName'),
        fullName: this.attr(t, 'fullName'),
        isPartialData: this.attr(t, 'IsPartialData'),
      });
      return;
    }
    if (depth === 2 && parent === 'caseInformation' && local === 'field') {
      const name = this.attr(t, 'name');
      const fieldType = this.attr(t, 'fieldType');
      this.startCapture((value) => this.keepCaseField(name, fieldType, value));
      return;
    }
    if (depth === 1 && local === 'metadata') {
      this.section = this.attr(t, 'section') ?? '';
      return;
    }
    if (depth === 2 && parent === 'metadata' && local === 'item') {
      const section = this.section ?? '';
      const name = this.attr(t, 'name') ?? '';
      const group = this.attr(t, 'group');
      const sourceExtraction = this.attr(t, 'sourceExtraction');
      const fromAttr = this.attr(t, 'value');
      this.startCapture((value) => this.keepMetadata({ section, name, value: value || fromAttr || '', group, sourceExtraction }));
      return;
    }
    if (depth === 2 && parent === 'taggedFiles' && local === 'file') {
      const deletedState = this.attr(t, 'deleted');
      const size = this.attr(t, 'size');
      this.file = {
        id: this.attr(t, 'id'),
        fs: this.attr(t, 'fs'),
        devicePath: this.attr(t, 'path'),
        name: this.attr(t, 'name'),
        size: size !== undefined && /^\d+$/.test(size) ? Number(size) : undefined,
        deleted: deletedState?.toLowerCase() === 'deleted',
        deletedState,
        extractionId: this.attr(t, 'extractionId'),
        embedded: this.attr(t, 'embedded')?.toLowerCase() === 'true' ? true : undefined,
        timestamps: [],
      };
      return;
    }
    if (this.file && top === 'taggedFiles') {
      if (parent === 'accessInfo' && local === 'timestamp') {
        const name = this.attr(t, 'name') ?? '';
        this.startCapture((value) => this.file?.timestamps.push({ name, value }));
      } else if (parent === 'file' && local === 'metadata') {
        this.fileSection = (this.attr(t, 'section') ?? '').toLowerCase();
      } else if (parent === 'metadata' && local === 'item' && this.fileSection === 'file') {
        const name = (this.attr(t, 'name') ?? '').toLowerCase();
        const fromAttr = this.attr(t, 'value');
        this.startCapture((raw) => this.keepFileItem(name, (raw || fromAttr || '').trim()));
      }
    }
  }

  private close(): void {
    const local = this.stack.pop();
    const depth = this.stack.length;
    if (this.capture && depth === this.captureDepth) {
      const c = this.capture;
      this.capture = undefined;
      c.done(c.chars.join(''));
    }
    if (depth === 1 && local === 'metadata') this.section = undefined;
    if (this.file && depth === 3 && local === 'metadata') this.fileSection = undefined;
    if (this.file && depth === 2 && local === 'file') {
      const f = this.file;
      this.file = undefined;
      this.facts.taggedFileCount++;
      if (f.deleted) this.facts.deletedTaggedFileCount++;
      this.options.onTaggedFile?.(f);
    }
  }

  private captureDepth = -1;

  private startCapture(done: (value: string) => void): void {
    this.captureDepth = this.stack.length - 1;
    this.capture = { chars: [], length: 0, truncated: false, done };
  }

  private text(t: string): void {
    const c = this.capture;
    if (!c || c.truncated) return;
    const room = this.limits.maxValueChars - c.length;
    if (t.length > room) {
      c.chars.push(t.slice(0, room));
      c.length += room;
      c.truncated = true;
      this.facts.truncatedValues++;
      return;
    }
    c.chars.push(t);
    c.length += t.length;
  }

  private keepCaseField(name: string | undefined, fieldType: string | undefined, raw: string): void {
    const value = raw.trim();
    if (this.facts.caseInformation.length < this.limits.maxMetadataItems) this.facts.caseInformation.push({ name, fieldType, value });
    const key = (fieldType ?? '').toLowerCase();
    const label = (name ?? '').toLowerCase();
    if (key === 'casenumber' || (!this.facts.caseNumber && /case (number|no|id)/.test(label))) this.facts.caseNumber ??= value;
    if (key === 'casename') this.facts.caseName ??= value;
    if (key === 'evidencenumber' || (!this.facts.evidenceNumber && /evidence/.test(label))) this.facts.evidenceNumber ??= value;
    // The examiner field had fieldType "None" in a real sample, so its (English) label is tried too.
    if (key === 'examinername' || /examiner/.test(label)) this.facts.examiner ??= value;
  }

  private keepMetadata(item: { section: string; name: string; value: string; group?: string; sourceExtraction?: string }): void {
    item.value = item.value.trim();
    if (this.facts.metadata.length < this.limits.maxMetadataItems) this.facts.metadata.push(item);
    applyKnownItem(this.facts, item.name, item.value);
  }

  private keepFileItem(name: string, value: string): void {
    const f = this.file;
    if (!f || !value) return;
    if (name === 'local path') {
      f.localPath = value;
      f.entryPath = normaliseReportPath(value);
    } else if (name === 'sha256') f.sha256 = value.toLowerCase();
    else if (name === 'md5') f.md5 = value.toLowerCase();
    else if (name === 'tags') f.tags = value;
  }
}

/**
 * Item names seen in UFED reports for the facts an examiner expects on the record. The IMEI item
 * name is not confirmed in public sources, so IMEI/ICCID/IMSI/MSISDN match by pattern; everything
 * is also kept raw in `metadata`.
 */
function applyKnownItem(facts: UfdrReportFacts, name: string, value: string): void {
  if (!value) return;
  const n = name.toLowerCase();
  const d = facts.device;
  const x = facts.extraction;
  if (/imei/.test(n)) pushOnce(d.imei, value);
  else if (/iccid/.test(n)) pushOnce(d.iccid, value);
  else if (/imsi/.test(n)) pushOnce(d.imsi, value);
  else if (/msisdn/.test(n)) pushOnce(d.msisdn, value);
  else if (['deviceinfoselectedmanufacturer', 'deviceinfodetectedmanufacturer', 'vendor', 'manufacturer'].includes(n)) d.vendor ??= value;
  else if (['deviceinfoselecteddevicename', 'deviceinfodetectedmodel', 'deviceinfomodelnumber', 'model', 'devicemodel'].includes(n)) d.model ??= value;
  else if (['deviceinfoostype', 'os', 'operatingsystem', 'operating system'].includes(n)) d.os ??= value;
  else if (['deviceinfoosversion', 'osversion', 'os version'].includes(n)) d.osVersion ??= value;
  else if (['extractiontype', 'deviceinfoextractiontype', 'extraction type'].includes(n)) x.type ??= value;
  else if (['deviceinfoextractionstartdatetime', 'extractionstartdatetime', 'start time', 'extraction start'].includes(n)) x.startTime ??= value;
  else if (['deviceinfoextractionenddatetime', 'extractionenddatetime', 'end time', 'extraction end'].includes(n)) x.endTime ??= value;
  else if (['deviceinfounitversion', 'ufedversion', 'acquisitiontoolversion', 'ufed_pa_version', 'version'].includes(n)) {
    x.toolVersion ??= value;
    x.tool ??= n === 'ufed_pa_version' ? 'Cellebrite UFED Physical Analyzer' : 'Cellebrite UFED';
  } else if (['acquisitiontool', 'extractiontool', 'tool', 'deviceinfoacquisitiontool'].includes(n)) x.tool = value;
}

function pushOnce(list: string[], v: string): void {
  if (!list.includes(v) && list.length < 64) list.push(v);
}

/** Parses a whole report from a byte stream. */
export async function parseUfdrReport(chunks: AsyncIterable<Buffer>, options: UfdrParseOptions = {}): Promise<UfdrReportFacts> {
  const parser = new UfdrReportParser(options);
  for await (const c of chunks) parser.write(c);
  const facts = parser.end();
  if (!facts.extraction.type && facts.project.extractionType) facts.extraction.type = facts.project.extractionType;
  return facts;
}
