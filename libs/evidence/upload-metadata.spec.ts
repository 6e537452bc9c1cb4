import { describe, expect, it } from '@jest/globals';
import { AppError } from '../core/index.js';
import { parseUploadMetadata } from './upload-metadata.js';

const CASE = '6f1c2d3e-4b5a-4c6d-8e7f-901234567890';
const EXHIBIT = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f01234567';
const ok = { caseId: CASE, exhibitId: EXHIBIT, filename: 'ch03.dav' };

function refusal(meta: Record<string, string | null>): string {
  try {
    parseUploadMetadata(meta);
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('INVALID_UPLOAD_METADATA');
    return (e as AppError).message;
  }
  throw new Error('accepted');
}

describe('tus Upload-Metadata', () => {
  it('accepts a declaration and normalises declared hashes to lower case', () => {
    expect(parseUploadMetadata({ ...ok, filetype: 'video/mp4', sha256: 'A'.repeat(64), md5: 'B'.repeat(32) })).toEqual({
      caseId: CASE,
      exhibitId: EXHIBIT,
      exhibitRef: null,
      filename: 'ch03.dav',
      declaredType: 'video/mp4',
      declaredHashes: [
        { algorithm: 'sha256', value: 'a'.repeat(64) },
        { algorithm: 'md5', value: 'b'.repeat(32) },
      ],
      declaredEmpty: false,
    });
  });

  it('names the exhibit by id or by reference, never both or neither', () => {
    expect(parseUploadMetadata({ caseId: CASE, exhibitRef: 'JS/1', filename: 'x' })).toMatchObject({ exhibitId: null, exhibitRef: 'JS/1' });
    expect(refusal({ caseId: CASE, filename: 'x' })).toMatch(/exactly one of exhibitId .* or exhibitRef/);
    expect(refusal({ ...ok, exhibitRef: 'JS/1' })).toMatch(/exactly one/);
    expect(refusal({ ...ok, exhibitId: 'JS/1' })).toMatch(/exhibitId must be an exhibit id/);
  });

  it('keeps a relative path from a directory upload but refuses traversal, absolute paths and control characters', () => {
    expect(parseUploadMetadata({ ...ok, filename: 'export/cam 1/0001.dav' }).filename).toBe('export/cam 1/0001.dav');
    for (const filename of ['../x', 'a/../../x', '/etc/passwd', 'C:\\x', 'a//b', './x', 'a\u0000b', 'a\nb', '']) {
      expect(refusal({ ...ok, filename })).toMatch(/filename/);
    }
    expect(refusal({ ...ok, filename: 'x'.repeat(1025) })).toMatch(/longer than 1024/);
  });

  it('refuses names that display as something else: bidi overrides, terminal escapes, C1 controls', () => {
    expect(refusal({ ...ok, filename: 'invoice\u202efdp.exe' })).toMatch(/filename must not contain bidirectional formatting characters \(U\+202E/);
    for (const filename of ['cam\u2066 1.dav', 'red\u001b[31m.dav', 'bell\u0007.dav', 'csi\u009b31m.dav', 'del\u007f.dav', 'half\ud800.dav']) {
      expect(refusal({ ...ok, filename })).toMatch(/^filename must/);
    }
    // Right-to-left scripts are names like any other.
    expect(parseUploadMetadata({ ...ok, filename: 'تسجيل-الكاميرا.mp4' }).filename).toBe('تسجيل-الكاميرا.mp4');
  });

  it('refuses malformed hashes, unknown keys, a bad case id and a bad empty flag', () => {
    expect(refusal({ ...ok, sha256: 'abc' })).toMatch(/sha256 must be 64 hexadecimal/);
    expect(refusal({ ...ok, sha1: 'z'.repeat(40) })).toMatch(/sha1 must be 40/);
    expect(refusal({ ...ok, colour: 'red' })).toMatch(/Unknown Upload-Metadata key\(s\): colour/);
    expect(refusal({ ...ok, caseId: 'nope' })).toMatch(/caseId/);
    expect(refusal({ ...ok, empty: 'yes' })).toMatch(/empty must be true or false/);
    expect(refusal({ ...ok, filetype: 'not a type' })).toMatch(/filetype/);
    expect(parseUploadMetadata({ ...ok, empty: 'true' }).declaredEmpty).toBe(true);
  });
});
