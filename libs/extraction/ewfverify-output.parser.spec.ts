import { describe, expect, it } from '@jest/globals';
import { parseEwfverifyOutput, parseEwfverifyProgress } from './ewfverify-output.parser.js';

// Shapes recorded from ewfverify 20140813 -d sha1,sha256 (EXTRACTION-NOTES (a) and this machine).
const HEAD = 'ewfverify 20140813\n\nVerify started at: Nov 30, 2026 03:03:09\nThis could take a while.\n\nVerify completed at: Nov 30, 2026 03:03:09\n\n';
const OK = `${HEAD}Read: 5.0 MiB (5242880 bytes) in 0 second(s).

MD5 hash stored in file:\t\t3ddeef91eff483fd16252dad4efd7d5b
MD5 hash calculated over data:\t\t3ddeef91eff483fd16252dad4efd7d5b
SHA1 hash stored in file:\t\tde1f444231cad9ea8d42e23b49361eea2f3af55d
SHA1 hash calculated over data:\t\tde1f444231cad9ea8d42e23b49361eea2f3af55d
SHA256 hash stored in file:\t\tN/A
SHA256 hash calculated over data:\t564d107ac257edfc58e72b1e275e119a27ffb78281fb291a2f7f7c04853a3666

ewfverify: SUCCESS
`;
const DAMAGED = `${HEAD}Read: 5.0 MiB (5242880 bytes) in 0 second(s).

Sector validation errors:
\ttotal number: 1
\tat sector(s): 4352 - 4415 (number: 64) in segment file(s): /tmp/x/image.E02

MD5 hash stored in file:\t\t3ddeef91eff483fd16252dad4efd7d5b
MD5 hash calculated over data:\t\tf8a8c6e077e56113575b9d7658ac3119
SHA256 hash stored in file:\t\tN/A
SHA256 hash calculated over data:\t801b8f70889305e1c52fe696f90e506055b527eee1a2d5f57dc4228e54e4d650

ewfverify: FAILURE
`;

describe('parseEwfverifyOutput', () => {
  it('reads a SUCCESS with matching stored and calculated hashes', () => {
    const r = parseEwfverifyOutput(OK, '', 0);
    expect(r.verdict).toBe('success');
    expect(r.bytesRead).toBe(5242880);
    expect(r.hashes).toEqual([
      { algorithm: 'md5', stored: '3ddeef91eff483fd16252dad4efd7d5b', calculated: '3ddeef91eff483fd16252dad4efd7d5b', matches: true },
      { algorithm: 'sha1', stored: 'de1f444231cad9ea8d42e23b49361eea2f3af55d', calculated: 'de1f444231cad9ea8d42e23b49361eea2f3af55d', matches: true },
      { algorithm: 'sha256', stored: undefined, calculated: '564d107ac257edfc58e72b1e275e119a27ffb78281fb291a2f7f7c04853a3666' },
    ]);
  });

  it('reads sector validation errors and the hash mismatch of a damaged segment', () => {
    const r = parseEwfverifyOutput(DAMAGED, 'Unable to verify input.\n', 1);
    expect(r.verdict).toBe('failure');
    expect(r.sectorErrors).toEqual([{ firstSector: 4352, lastSector: 4415, count: 64, segmentFiles: ['/tmp/x/image.E02'] }]);
    expect(r.hashes[0]).toMatchObject({ algorithm: 'md5', matches: false });
    expect(r.errorLines).toEqual(['Unable to verify input.']);
  });

  it('treats rc 1 without a verdict line as a set that could not be opened, with libewf\'s reason', () => {
    const r = parseEwfverifyOutput('ewfverify 20140813\n\n', 'Unable to open EWF image file(s).\nlibmfdata_file_list_get_file_by_index: missing file.\n', 1);
    expect(r.verdict).toBe('unopened');
    expect(r.errorLines).toContain('libmfdata_file_list_get_file_by_index: missing file.');
  });

  it('does not take a verdict from a process killed by a signal, and ignores non-hex hash text', () => {
    const r = parseEwfverifyOutput(OK.replace('3ddeef91eff483fd16252dad4efd7d5b', 'N/A'), '', null);
    expect(r.verdict).toBe('unopened');
    expect(r.hashes[0].stored).toBeUndefined();
  });

  it('reads progress from Status blocks', () => {
    expect(parseEwfverifyProgress('Status: at 12%.\n   verified 1 MiB\nStatus: at 85%.\n')).toBe(85);
    expect(parseEwfverifyProgress('nothing')).toBeUndefined();
  });
});
