import type { EwfHeaderFacts } from './extraction.types.js';

/**
 * Parses `ewfinfo -d iso8601` text output (ewf-tools 20140813): section headings at column 0,
 * then `TAB key: TABs value` lines. The dfxml output is never used: it does not escape header
 * values, so a crafted Notes field can plant a fake <hashdigest> ahead of the real one
 * (EXTRACTION-NOTES (a)). Header values cannot contain newlines (ewfacquire cuts them), so a line
 * is always one field, and a value is taken verbatim, whatever characters it holds.
 */
export function parseEwfinfoOutput(stdout: string): EwfHeaderFacts {
  const facts: EwfHeaderFacts = { fields: [] };
  let section = '';
  for (const line of stdout.split(/\r?\n/)) {
    if (!line.trim()) continue;
    if (!line.startsWith('\t')) {
      if (!/^ewfinfo\b/.test(line)) section = line.trim();
      continue;
    }
    const m = /^\t([^:\t]+):\t*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1].trim();
    const value = m[2];
    facts.fields.push({ section, key, value });
    apply(facts, section, key, value);
  }
  return facts;
}

function apply(f: EwfHeaderFacts, section: string, key: string, value: string): void {
  const v = value.trim();
  if (section === 'Digest hash information') {
    if (key === 'MD5' && /^[0-9a-f]{32}$/i.test(v)) f.storedMd5 = v.toLowerCase();
    if (key === 'SHA1' && /^[0-9a-f]{40}$/i.test(v)) f.storedSha1 = v.toLowerCase();
    return;
  }
  switch (key) {
    case 'Case number':
      f.caseNumber = v;
      break;
    case 'Evidence number':
      f.evidenceNumber = v;
      break;
    case 'Description':
      f.description = v;
      break;
    case 'Examiner name':
      f.examiner = v;
      break;
    case 'Notes':
      f.notes = v;
      break;
    case 'Acquisition date':
      f.acquisitionDate = v;
      break;
    case 'System date':
      f.systemDate = v;
      break;
    case 'Operating system used':
      f.operatingSystem = v;
      break;
    case 'Software version used':
      f.acquisitionSoftwareVersion = v;
      break;
    case 'Model':
      f.model = v;
      break;
    case 'Serial number':
      f.serialNumber = v;
      break;
    case 'File format':
      f.fileFormat = v;
      break;
    case 'Sectors per chunk':
      f.sectorsPerChunk = int(v);
      break;
    case 'Compression method':
      f.compressionMethod = v;
      break;
    case 'Set identifier':
      f.setIdentifier = v.toLowerCase();
      break;
    case 'Media type':
      f.mediaType = v;
      break;
    case 'Is physical':
      f.isPhysical = v === 'yes' ? true : v === 'no' ? false : undefined;
      break;
    case 'Bytes per sector':
      f.bytesPerSector = int(v);
      break;
    case 'Number of sectors':
      f.numberOfSectors = int(v);
      break;
    case 'Media size': {
      // "4.0 MiB (4194304 bytes)": the exact number is the one in brackets.
      const m = /\((\d+) bytes\)/.exec(v);
      f.mediaSizeBytes = m ? Number(m[1]) : int(v);
      break;
    }
  }
}

function int(v: string): number | undefined {
  return /^\d+$/.test(v) ? Number(v) : undefined;
}
