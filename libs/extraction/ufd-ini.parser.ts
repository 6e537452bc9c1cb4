/**
 * Cellebrite UFD files: an INI text beside the dump files of an extraction, with sections such as
 * [Crime Case], [DeviceInfo], [General] and hash sections [SHA256] / [SHA1] / [MD5] of
 * `file=hash` lines naming the sibling files (EXTRACTION-NOTES (b)). Written by Windows tools: a
 * BOM and CRLF line ends are normal. Pure: the caller reads the bytes and computes the hashes.
 */

export type UfdHashAlgorithm = 'sha256' | 'sha1' | 'md5';

export interface UfdIni {
  sections: { name: string; entries: { key: string; value: string }[] }[];
  crimeCase: { caseIdentifier?: string; crimeType?: string; department?: string; evidenceNumber?: string; examiner?: string; location?: string };
  device: { vendor?: string; model?: string; os?: string; imei: string[]; iccid?: string; serialNumber?: string };
  general: {
    acquisitionTool?: string;
    version?: string;
    extractionType?: string;
    connectionType?: string;
    date?: string;
    endTime?: string;
    guid?: string;
    unitId?: string;
    machineName?: string;
  };
  hashes: { algorithm: UfdHashAlgorithm; file: string; value: string }[];
  /** Lines that are neither a section, a key=value pair, a comment nor blank. */
  unparsedLines: number;
}

const HASH_SECTIONS: Record<string, UfdHashAlgorithm> = { sha256: 'sha256', sha1: 'sha1', md5: 'md5' };
const HEX_LENGTH: Record<UfdHashAlgorithm, number> = { sha256: 64, sha1: 40, md5: 32 };
const KNOWN_SECTIONS = ['crime case', 'deviceinfo', 'general', 'sha256', 'sha1', 'md5', 'dumps', 'extraction'];

export class UfdIniError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** True when the text looks like a UFD: INI structure with at least one of its known sections. */
export function looksLikeUfd(text: string): boolean {
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/).slice(0, 400);
  let known = 0;
  let bad = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      if (KNOWN_SECTIONS.includes(s[1].trim().toLowerCase())) known++;
    } else if (!line.includes('=')) bad++;
  }
  return known > 0 && bad === 0;
}

export function parseUfdIni(text: string): UfdIni {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000]/.test(text)) throw new UfdIniError('UFD_NOT_TEXT', 'The UFD file contains NUL bytes: it is not an INI text');
  const out: UfdIni = { sections: [], crimeCase: {}, device: { imei: [] }, general: {}, hashes: [], unparsedLines: 0 };
  let current: UfdIni['sections'][number] | undefined;
  for (const raw of text.replace(/^\ufeff/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      current = { name: s[1].trim(), entries: [] };
      out.sections.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || !current) {
      out.unparsedLines++;
      continue;
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    current.entries.push({ key, value });
    apply(out, current.name.toLowerCase(), key, value);
  }
  if (!out.sections.some((s) => KNOWN_SECTIONS.includes(s.name.toLowerCase()))) {
    throw new UfdIniError('UFD_NOT_RECOGNISED', 'The file has none of the UFD sections ([Crime Case], [DeviceInfo], [General], [SHA256], [SHA1], [MD5])');
  }
  return out;
}

function apply(out: UfdIni, section: string, key: string, value: string): void {
  const k = key.toLowerCase();
  const algorithm = HASH_SECTIONS[section];
  if (algorithm) {
    out.hashes.push({ algorithm, file: key, value: value.toLowerCase() });
    return;
  }
  if (section === 'crime case') {
    const c = out.crimeCase;
    if (k === 'case identifier') c.caseIdentifier = value;
    else if (k === 'crime type') c.crimeType = value;
    else if (k === 'department') c.department = value;
    else if (k === 'device name / evidence number' || k === 'evidence number') c.evidenceNumber = value;
    else if (k === 'examiner name') c.examiner = value;
    else if (k === 'location') c.location = value;
  } else if (section === 'deviceinfo') {
    const d = out.device;
    if (k === 'imei' || k === 'imei1' || k === 'imei2') {
      if (value && !d.imei.includes(value)) d.imei.push(value);
    } else if (k === 'iccid') d.iccid = value;
    else if (k === 'model') d.model = value;
    else if (k === 'os') d.os = value;
    else if (k === 'vendor') d.vendor = value;
    else if (k === 'serialnumber') d.serialNumber = value;
  } else if (section === 'general') {
    const g = out.general;
    const map: Record<string, keyof UfdIni['general']> = {
      acquisitiontool: 'acquisitionTool',
      version: 'version',
      extractiontype: 'extractionType',
      connectiontype: 'connectionType',
      date: 'date',
      endtime: 'endTime',
      guid: 'guid',
      unitid: 'unitId',
      machinename: 'machineName',
    };
    if (map[k]) g[map[k]] = value;
  }
}

export interface ComputedDigests {
  sha256?: string;
  sha1?: string;
  md5?: string;
}

export interface UfdHashCheck {
  checked: { file: string; algorithm: UfdHashAlgorithm; matchedFile: string }[];
  missing: { file: string; algorithm: UfdHashAlgorithm }[];
  mismatches: { file: string; algorithm: UfdHashAlgorithm; expected: string; actual: string }[];
  /** Listed values that are not a hash of that algorithm (e.g. empty): checked as nothing. */
  malformed: { file: string; algorithm: UfdHashAlgorithm; value: string }[];
  /** Files we have but whose digest of that algorithm was not given to us. */
  notComputed: { file: string; algorithm: UfdHashAlgorithm }[];
}

/**
 * Checks every `file=hash` line against the digests the service computed of the sibling files.
 * Names match exactly first, then ignoring case (UFDs come from Windows, where the upload may
 * have changed the case); a listed name is never used as a path.
 */
export function checkUfdHashes(ufd: UfdIni, computed: ReadonlyMap<string, ComputedDigests>): UfdHashCheck {
  const byLower = new Map<string, string>();
  for (const name of computed.keys()) if (!byLower.has(name.toLowerCase())) byLower.set(name.toLowerCase(), name);
  const out: UfdHashCheck = { checked: [], missing: [], mismatches: [], malformed: [], notComputed: [] };
  for (const h of ufd.hashes) {
    if (!new RegExp(`^[0-9a-f]{${HEX_LENGTH[h.algorithm]}}$`).test(h.value)) {
      out.malformed.push({ file: h.file, algorithm: h.algorithm, value: h.value });
      continue;
    }
    const base = h.file.split(/[/\\]/).pop() ?? h.file;
    const name = computed.has(h.file) ? h.file : computed.has(base) ? base : byLower.get(h.file.toLowerCase()) ?? byLower.get(base.toLowerCase());
    if (name === undefined) {
      out.missing.push({ file: h.file, algorithm: h.algorithm });
      continue;
    }
    const actual = computed.get(name)?.[h.algorithm];
    if (!actual) {
      out.notComputed.push({ file: h.file, algorithm: h.algorithm });
      continue;
    }
    if (actual.toLowerCase() !== h.value) out.mismatches.push({ file: h.file, algorithm: h.algorithm, expected: h.value, actual: actual.toLowerCase() });
    else out.checked.push({ file: h.file, algorithm: h.algorithm, matchedFile: name });
  }
  return out;
}
