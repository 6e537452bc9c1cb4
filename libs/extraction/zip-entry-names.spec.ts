import { describe, expect, it } from '@jest/globals';
import { decodeCp437, duplicateKey, nameFlags, normaliseReportPath } from './zip-entry-names.js';

describe('ZIP entry name rules', () => {
  it.each([
    ['../../x', ['path_traversal']],
    ['/etc/x', ['absolute_path']],
    ['..\\..\\x', ['path_traversal']],
    ['ok/../../x', ['path_traversal']],
    ['C:/x', ['absolute_path']],
    ['\\\\server\\share\\x', ['absolute_path', 'unsafe_name']],
    ['a/./b//c', ['unsafe_name']],
    ['a\u0000b', ['unsafe_name']],
    ['files/Image/IMG_1.JPG', []],
    ['files/Image/', []],
    ['..foo/bar..', []],
  ])('%j is flagged %j', (name, flags) => {
    expect(nameFlags(name).sort()).toEqual([...flags].sort());
  });

  it('treats case-only and NFC/NFD differences as the same name', () => {
    expect(duplicateKey('Photos/Café.jpg')).toBe(duplicateKey('photos/Cafe\u0301.JPG'));
    expect(duplicateKey('a.txt')).not.toBe(duplicateKey('b.txt'));
  });

  it('normalises UFDR Local Paths as IPED does', () => {
    expect(normaliseReportPath('files\\Image\\ IMG_1.JPG')).toBe('files/Image/IMG_1.JPG');
    expect(normaliseReportPath('\\files\\x')).toBe('files/x');
  });

  it('decodes CP437 names', () => {
    expect(decodeCp437(Buffer.from([0x81, 0x62, 0x65, 0x72]))).toBe('über');
  });
});
