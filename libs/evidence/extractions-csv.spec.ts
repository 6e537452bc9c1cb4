import { describe, expect, it } from '@jest/globals';
import { entriesToCsv, type ExtractionEntryView } from './extractions.service.js';

const entry = (over: Partial<ExtractionEntryView>): ExtractionEntryView => ({
  index: 0,
  path: 'files/a.txt',
  name: 'a.txt',
  extension: 'txt',
  isDirectory: false,
  size: 3,
  compressedSize: 3,
  modifiedAt: null,
  sha256: null,
  md5: null,
  crcOk: true,
  deleted: null,
  tagged: null,
  flags: [],
  status: 'ok',
  ...over,
});

describe('entriesToCsv', () => {
  it('writes RFC 4180 rows with a header', () => {
    const csv = entriesToCsv([entry({ path: 'files/a, "b".txt', name: 'a, "b".txt', flags: ['duplicate_name', 'unsafe_name'] })]);
    const [head, row, end] = csv.split('\r\n');
    expect(head).toBe('index,path,name,extension,isDirectory,size,compressedSize,modifiedAt,sha256,md5,crcOk,deleted,tagged,flags,status');
    expect(row).toBe('0,"files/a, ""b"".txt","a, ""b"".txt",txt,false,3,3,,,,true,,,duplicate_name unsafe_name,ok');
    expect(end).toBe('');
  });

  it.each(['=HYPERLINK("http://x")', '+1', '-1+2', '@SUM(A1)', '\tx'])('defuses a name a spreadsheet would run as a formula: %j', (name) => {
    const row = entriesToCsv([entry({ path: `files/${name}`, name })]).split('\r\n')[1];
    const cells = row.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, ''));
    const nameCell = cells[2].startsWith('"') ? cells[2].slice(1, -1).replace(/""/g, '"') : cells[2];
    expect(nameCell).toBe(`'${name}`);
    expect(cells[1]).not.toMatch(/^"?'/); // the path starts with files/: left as it is
  });
});
