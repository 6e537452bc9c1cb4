import { describe, expect, it } from '@jest/globals';
import { checkUfdHashes, looksLikeUfd, parseUfdIni } from './ufd-ini.parser.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);
const MD5_C = 'c'.repeat(32);
// As UFED writes it: a BOM and CRLF line ends.
const UFD = [
  '\ufeff[Crime Case]',
  'Case Identifier=KH-2026-0042',
  'Crime Type=Fraud',
  'Device Name / Evidence Number=KH/4',
  'Examiner Name=DC Jones',
  '',
  '[DeviceInfo]',
  'IMEI1=353918051234567',
  'IMEI2=353918051234575',
  'ICCID=8944110068256270054',
  'Model=SM-G991B',
  'OS=Android 13',
  'Vendor=Samsung',
  '',
  '[General]',
  'AcquisitionTool=UFED 4PC',
  'Version=7.62.0.12',
  'ExtractionType=AdvancedLogical',
  'Date=30/11/2026 09:12:44',
  'EndTime=30/11/2026 10:02:01',
  '',
  '[SHA256]',
  `Dump.zip=${SHA_A.toUpperCase()}`,
  `Dump.bin=${SHA_B}`,
  '[MD5]',
  `Dump.zip=${MD5_C}`,
  'Missing.bin=' + 'd'.repeat(32),
  'Empty.bin=',
  '',
].join('\r\n');

describe('UFD INI', () => {
  it('parses the sections and facts of a UFD with BOM and CRLF', () => {
    const u = parseUfdIni(UFD);
    expect(u.crimeCase).toEqual({ caseIdentifier: 'KH-2026-0042', crimeType: 'Fraud', evidenceNumber: 'KH/4', examiner: 'DC Jones' });
    expect(u.device).toEqual({ imei: ['353918051234567', '353918051234575'], iccid: '8944110068256270054', model: 'SM-G991B', os: 'Android 13', vendor: 'Samsung' });
    expect(u.general).toMatchObject({ acquisitionTool: 'UFED 4PC', version: '7.62.0.12', extractionType: 'AdvancedLogical', endTime: '30/11/2026 10:02:01' });
    expect(u.hashes).toHaveLength(5);
    expect(u.hashes[0]).toEqual({ algorithm: 'sha256', file: 'Dump.zip', value: SHA_A });
    expect(looksLikeUfd(UFD)).toBe(true);
  });

  it('names matching, mismatching, missing and malformed entries', () => {
    const computed = new Map([
      ['dump.zip', { sha256: SHA_A, md5: MD5_C }], // case differs from the UFD: still matched
      ['Dump.bin', { sha256: 'e'.repeat(64) }],
    ]);
    const c = checkUfdHashes(parseUfdIni(UFD), computed);
    expect(c.checked.map((x) => `${x.algorithm}:${x.file}`)).toEqual(['sha256:Dump.zip', 'md5:Dump.zip']);
    expect(c.mismatches).toEqual([{ file: 'Dump.bin', algorithm: 'sha256', expected: SHA_B, actual: 'e'.repeat(64) }]);
    expect(c.missing).toEqual([{ file: 'Missing.bin', algorithm: 'md5' }]);
    expect(c.malformed).toEqual([{ file: 'Empty.bin', algorithm: 'md5', value: '' }]);
  });

  it('refuses text that is not a UFD', () => {
    expect(looksLikeUfd('hello world\nthis is not ini')).toBe(false);
    expect(looksLikeUfd('[Unrelated]\na=b')).toBe(false);
    expect(() => parseUfdIni('[Unrelated]\na=b')).toThrow(/none of the UFD sections/);
  });
});
