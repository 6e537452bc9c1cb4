import { describe, expect, it } from '@jest/globals';
import { formatGuid, parseSectionDescriptor, parseSegmentHeader, segmentExtension } from './ewf-segment.parser.js';

describe('EWF segment structures', () => {
  it('names segments as ewfacquire does: E01…E99, then EAA, EAB … EZZ, FAA', () => {
    expect([1, 2, 9, 99, 100, 101, 125, 126, 775, 776].map((n) => segmentExtension(n))).toEqual([
      'E01', 'E02', 'E09', 'E99', 'EAA', 'EAB', 'EAZ', 'EBA', 'EZZ', 'FAA',
    ]);
  });

  it('reads the segment number from the segment file header, not from a name', () => {
    const h = Buffer.from([0x45, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00, 0x01, 0x6d, 0x00, 0x00, 0x00]);
    expect(parseSegmentHeader(h)).toEqual({ segmentNumber: 109 });
    expect(parseSegmentHeader(Buffer.from('EVF2\r\n\x81\x00\x01\x01\x00\x00\x00', 'latin1'))).toBeUndefined();
    expect(parseSegmentHeader(Buffer.alloc(0))).toBeUndefined();
  });

  it('reads section descriptors and refuses garbage types', () => {
    const d = Buffer.alloc(76);
    d.write('volume', 0, 'latin1');
    d.writeBigUInt64LE(1901n, 16);
    d.writeBigUInt64LE(1128n, 24);
    expect(parseSectionDescriptor(d, 773)).toEqual({ type: 'volume', offset: 773, next: 1901, size: 1128 });
    expect(parseSectionDescriptor(Buffer.alloc(76, 0xff), 0)).toBeUndefined();
  });

  it('prints the set identifier the way ewfinfo does', () => {
    // image.E01's volume section bytes 64-79, and ewfinfo's "Set identifier" for it.
    expect(formatGuid(Buffer.from('ee04f2874f384c24b9762bd622c6b20e', 'hex'))).toBe('87f204ee-384f-244c-b976-2bd622c6b20e');
  });
});
