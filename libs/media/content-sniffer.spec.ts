import { describe, expect, it } from '@jest/globals';
import { decideDetection, sniffMagic } from './content-sniffer.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

function ts(packetSize: number, offset: number): Buffer {
  const b = Buffer.alloc(packetSize * 3 + offset);
  for (let i = 0; i < 3; i++) b[offset + i * packetSize] = 0x47;
  return b;
}

describe('sniffMagic: content, not names', () => {
  it.each([
    ['MP4 (isom)', bytes([0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0]), 'video', 'video/mp4', 'mp4'],
    ['QuickTime', bytes([0, 0, 0, 0x14], 'ftypqt  '), 'video', 'video/quicktime', 'quicktime'],
    ['old QuickTime (moov first)', bytes([0, 0, 0, 8], 'moov'), 'video', 'video/quicktime', 'quicktime'],
    ['M4A', bytes([0, 0, 0, 0x20], 'ftypM4A '), 'audio', 'audio/mp4', 'mp4'],
    ['iPhone HEIC', bytes([0, 0, 0, 0x18], 'ftypheic'), 'image', 'image/heic', 'heic'],
    ['HEIF mif1', bytes([0, 0, 0, 0x18], 'ftypmif1'), 'image', 'image/heic', 'heic'],
    ['Matroska', bytes([0x1a, 0x45, 0xdf, 0xa3], 'B\x86\x81\x01B\xf7\x81\x01B\x82\x88matroska'), 'video', 'video/x-matroska', 'matroska'],
    ['WebM', bytes([0x1a, 0x45, 0xdf, 0xa3], 'B\x82\x84webm'), 'video', 'video/webm', 'webm'],
    ['AVI', bytes('RIFF', [1, 2, 3, 4], 'AVI LIST'), 'video', 'video/x-msvideo', 'avi'],
    ['WAV', bytes('RIFF', [1, 2, 3, 4], 'WAVEfmt '), 'audio', 'audio/wav', 'wav'],
    ['WebP', bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '), 'image', 'image/webp', 'webp'],
    ['Dahua DAV', bytes('DHAV', [0xfd, 0, 0, 0]), 'video', 'video/x-dhav', 'dhav'],
    ['MPEG-TS', ts(188, 0), 'video', 'video/mp2t', 'mpegts'],
    ['M2TS (192-byte packets)', ts(192, 4), 'video', 'video/mp2t', 'mpegts'],
    ['MPEG-PS', bytes([0, 0, 1, 0xba, 0x44]), 'video', 'video/mpeg', 'mpegps'],
    ['raw H.264 (SPS first)', bytes([0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e]), 'video', 'video/h264', 'h264'],
    ['raw H.264 (AUD, 3-byte start code)', bytes([0, 0, 1, 0x09, 0xf0]), 'video', 'video/h264', 'h264'],
    ['raw H.265 (VPS first)', bytes([0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01]), 'video', 'video/h265', 'hevc'],
    ['AMR-NB', bytes('#!AMR\n', [0x3c]), 'audio', 'audio/amr', 'amr'],
    ['AMR-WB', bytes('#!AMR-WB\n', [0x3c]), 'audio', 'audio/amr-wb', 'amr-wb'],
    ['MP3 with ID3', bytes('ID3', [4, 0]), 'audio', 'audio/mpeg', 'mp3'],
    ['FLAC', bytes('fLaC'), 'audio', 'audio/flac', 'flac'],
    ['JPEG', bytes([0xff, 0xd8, 0xff, 0xe1]), 'image', 'image/jpeg', 'jpeg'],
    ['PNG', bytes([0x89], 'PNG\r\n\x1a\n'), 'image', 'image/png', 'png'],
    ['TIFF', bytes('II*\0'), 'image', 'image/tiff', 'tiff'],
    ['PDF', bytes('%PDF-1.7'), 'other', 'application/pdf', 'pdf'],
    ['E01', bytes('EVF\x09\x0d\x0a\xff\x00'), 'other', 'application/x-ewf', 'ewf'],
  ])('%s', (_name, head, kind, mime, format) => {
    expect(sniffMagic(head)).toMatchObject({ kind, mime, format });
  });

  it('forces the demuxer for raw streams and DAV (probing them is a guess)', () => {
    expect(sniffMagic(bytes([0, 0, 0, 1, 0x67]))?.forceDemuxer).toBe('h264');
    expect(sniffMagic(bytes([0, 0, 0, 1, 0x40, 0x01]))?.forceDemuxer).toBe('hevc');
    expect(sniffMagic(bytes('DHAV'))?.forceDemuxer).toBe('dhav');
  });

  it('knows nothing of empty files, random bytes or text', () => {
    expect(sniffMagic(Buffer.alloc(0))).toBeUndefined();
    expect(sniffMagic(Buffer.from('hello, this is a statement'))).toBeUndefined();
    expect(sniffMagic(Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0, 1]))).toBeUndefined();
  });
});

describe('decideDetection: streams decide for containers', () => {
  const mp4 = sniffMagic(bytes([0, 0, 0, 0x20], 'ftypisom'));
  it('an MP4 with only audio is audio/mp4', () => {
    expect(decideDetection(mp4, { videoStreams: 0, audioStreams: 1, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' }, '')).toMatchObject({ kind: 'audio', mime: 'audio/mp4', method: 'magic+ffprobe' });
  });
  it('an MP4 with video is video/mp4', () => {
    expect(decideDetection(mp4, { videoStreams: 1, audioStreams: 1 }, '')).toMatchObject({ kind: 'video', mime: 'video/mp4' });
  });
  it('unknown bytes that ffprobe reads get a MIME type from the format', () => {
    expect(decideDetection(undefined, { videoStreams: 1, audioStreams: 0, formatName: 'mpegts' }, '')).toMatchObject({ kind: 'video', mime: 'video/mp2t', method: 'ffprobe' });
  });
  it('unknown bytes that nothing reads are other/octet-stream', () => {
    expect(decideDetection(undefined, undefined, '')).toMatchObject({ kind: 'other', mime: 'application/octet-stream' });
  });
  it('a raw stream keeps its elementary-stream marker', () => {
    expect(decideDetection(sniffMagic(bytes([0, 0, 0, 1, 0x67])), { videoStreams: 1, audioStreams: 0 }, '')).toMatchObject({ kind: 'video', elementaryStream: 'h264' });
  });
});
