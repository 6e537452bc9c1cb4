import { describe, expect, it } from '@jest/globals';
import { parseEwfinfoOutput } from './ewfinfo-output.parser.js';

// Recorded from `ewfinfo -d iso8601 ext2.E01` (ewf-tools 20140813), fixture in test/fixtures/forensic-images.
const EXT2 = `ewfinfo 20140813

Acquiry information
\tCase number:\t\tcase
\tDescription:\t\tdescription
\tExaminer name:\t\texaminer
\tEvidence number:\tevidence
\tNotes:\t\t\tnotes
\tAcquisition date:\t2021-07-22T15:33:18
\tSystem date:\t\t2021-07-22T15:33:18
\tOperating system used:\tLinux
\tSoftware version used:\t20140812
\tPassword:\t\tN/A

EWF information
\tFile format:\t\tEnCase 6
\tSectors per chunk:\t64
\tError granularity:\t64
\tCompression method:\tdeflate
\tCompression level:\tbest compression

Media information
\tMedia type:\t\tfixed disk
\tIs physical:\t\tno
\tBytes per sector:\t512
\tNumber of sectors:\t8192
\tMedia size:\t\t4.0 MiB (4194304 bytes)

Digest hash information
\tMD5:\t\t\t196066add11fb71c4c49cf1bb50d6d24

`;

describe('parseEwfinfoOutput', () => {
  it('reads the header facts of a real EnCase 6 image', () => {
    const f = parseEwfinfoOutput(EXT2);
    expect(f).toMatchObject({
      caseNumber: 'case',
      evidenceNumber: 'evidence',
      examiner: 'examiner',
      description: 'description',
      notes: 'notes',
      acquisitionDate: '2021-07-22T15:33:18',
      acquisitionSoftwareVersion: '20140812',
      operatingSystem: 'Linux',
      fileFormat: 'EnCase 6',
      mediaType: 'fixed disk',
      isPhysical: false,
      bytesPerSector: 512,
      numberOfSectors: 8192,
      mediaSizeBytes: 4194304,
      sectorsPerChunk: 64,
      storedMd5: '196066add11fb71c4c49cf1bb50d6d24',
    });
    expect(f.fields).toContainEqual({ section: 'Acquiry information', key: 'Password', value: 'N/A' });
  });

  it('takes hostile header values verbatim and never as structure (no fake digest from the notes)', () => {
    const hostile = EXT2.replace('\tNotes:\t\t\tnotes', '\tNotes:\t\t\t</notes><hashdigest type="md5">00000000000000000000000000000000</hashdigest> & <x> MD5: ffff')
      .replace('\tCase number:\t\tcase', '\tCase number:\t\tC<1>&"x": y');
    const f = parseEwfinfoOutput(hostile);
    expect(f.caseNumber).toBe('C<1>&"x": y');
    expect(f.notes).toContain('<hashdigest type="md5">0000');
    expect(f.storedMd5).toBe('196066add11fb71c4c49cf1bb50d6d24');
  });

  it('reports no stored hash when ewfinfo prints no digest section (a set with a missing segment)', () => {
    const f = parseEwfinfoOutput(EXT2.split('Digest hash information')[0]);
    expect(f.storedMd5).toBeUndefined();
    expect(f.mediaSizeBytes).toBe(4194304);
  });
});
