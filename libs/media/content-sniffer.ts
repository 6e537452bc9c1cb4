import type { ContentDetection, ElementaryStreamCodec, MediaKind } from './media.types.js';

/** How many leading bytes the sniffer wants (two MPEG-TS packets and a bit). */
export const SNIFF_BYTES = 4096;

export interface MagicMatch {
  kind: MediaKind;
  mime: string;
  format: string;
  elementaryStream?: ElementaryStreamCodec;
  /** The container may hold audio only or video: ffprobe's streams decide the kind. */
  kindFromStreams: boolean;
  /** An ffmpeg demuxer to force (-f) because probing such data is a guess. */
  forceDemuxer?: string;
}

const ascii = (b: Uint8Array, at: number, s: string) =>
  b.length >= at + s.length && [...s].every((c, i) => b[at + i] === c.charCodeAt(0));

const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1', 'avif', 'avis']);

/** Annex-B start code at `at` (00 00 01 or 00 00 00 01); returns the NAL header offset. */
function annexBStart(b: Uint8Array, at = 0): number | undefined {
  if (b[at] === 0 && b[at + 1] === 0 && b[at + 2] === 1) return at + 3;
  if (b[at] === 0 && b[at + 1] === 0 && b[at + 2] === 0 && b[at + 3] === 1) return at + 4;
  return undefined;
}

/** Raw H.264 or H.265 elementary stream: a start code, then a NAL type that opens a stream. */
function elementaryStream(b: Uint8Array): ElementaryStreamCodec | undefined {
  const h = annexBStart(b);
  if (h === undefined || b.length < h + 1) return undefined;
  const x = b[h];
  if (x & 0x80) return undefined; // forbidden_zero_bit
  // HEVC: 6-bit type in bits 1..6, layer id 0 and temporal id 1 (second byte 0x01): VPS, SPS, PPS, AUD, SEI.
  const hevcType = (x >> 1) & 0x3f;
  if (b.length > h + 1 && b[h + 1] === 0x01 && [32, 33, 34, 35, 39].includes(hevcType)) return 'hevc';
  // H.264: 5-bit type: SPS, PPS, AUD, SEI, or a slice (some DVRs start straight with an IDR).
  const avcType = x & 0x1f;
  if ([7, 8, 9, 6, 5].includes(avcType)) return 'h264';
  return undefined;
}

/**
 * Recognises a file from its first bytes. Pure: the caller reads the bytes (SNIFF_BYTES is
 * plenty). Returns undefined when no signature matches; ffprobe then gets the last word.
 */
export function sniffMagic(b: Uint8Array): MagicMatch | undefined {
  const m = (kind: MediaKind, mime: string, format: string, extra: Partial<MagicMatch> = {}): MagicMatch => ({
    kind,
    mime,
    format,
    kindFromStreams: false,
    ...extra,
  });
  if (b.length === 0) return undefined;
  // ISO base media (MP4, MOV, 3GP, M4A, HEIC): a box size then 'ftyp'.
  if (ascii(b, 4, 'ftyp')) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (HEIF_BRANDS.has(brand)) {
      return brand.startsWith('avi') ? m('image', 'image/avif', 'avif') : m('image', 'image/heic', 'heic');
    }
    if (brand === 'qt  ') return m('video', 'video/quicktime', 'quicktime', { kindFromStreams: true });
    if (brand === 'M4A ' || brand === 'M4B ') return m('audio', 'audio/mp4', 'mp4', { kindFromStreams: true });
    if (brand.startsWith('3g')) return m('video', 'video/3gpp', '3gp', { kindFromStreams: true });
    return m('video', 'video/mp4', 'mp4', { kindFromStreams: true });
  }
  // Old QuickTime files start straight with a top-level atom.
  if (['moov', 'mdat', 'wide', 'free', 'skip', 'pnot'].some((a) => ascii(b, 4, a))) {
    return m('video', 'video/quicktime', 'quicktime', { kindFromStreams: true });
  }
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
    const head = Buffer.from(b.subarray(0, 64)).toString('latin1');
    return head.includes('webm')
      ? m('video', 'video/webm', 'webm', { kindFromStreams: true })
      : m('video', 'video/x-matroska', 'matroska', { kindFromStreams: true });
  }
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'AVI ')) return m('video', 'video/x-msvideo', 'avi', { kindFromStreams: true });
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE')) return m('audio', 'audio/wav', 'wav');
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return m('image', 'image/webp', 'webp');
  if (ascii(b, 0, 'DHAV')) return m('video', 'video/x-dhav', 'dhav', { forceDemuxer: 'dhav', kindFromStreams: true });
  // MPEG-TS: sync byte every 188 bytes (M2TS: every 192, after a 4-byte time code).
  if (b[0] === 0x47 && b.length > 376 && b[188] === 0x47 && b[376] === 0x47) {
    return m('video', 'video/mp2t', 'mpegts', { kindFromStreams: true });
  }
  if (b[4] === 0x47 && b.length > 388 && b[196] === 0x47 && b[388] === 0x47) {
    return m('video', 'video/mp2t', 'mpegts', { kindFromStreams: true });
  }
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0xba) return m('video', 'video/mpeg', 'mpegps', { kindFromStreams: true });
  if (ascii(b, 0, 'FLV')) return m('video', 'video/x-flv', 'flv', { kindFromStreams: true });
  if ([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11].every((v, i) => b[i] === v)) {
    return m('video', 'video/x-ms-asf', 'asf', { kindFromStreams: true });
  }
  const es = elementaryStream(b);
  if (es === 'h264') return m('video', 'video/h264', 'h264', { elementaryStream: 'h264', forceDemuxer: 'h264' });
  if (es === 'hevc') return m('video', 'video/h265', 'hevc', { elementaryStream: 'hevc', forceDemuxer: 'hevc' });
  if (ascii(b, 0, '#!AMR-WB\n')) return m('audio', 'audio/amr-wb', 'amr-wb');
  if (ascii(b, 0, '#!AMR\n')) return m('audio', 'audio/amr', 'amr');
  if (ascii(b, 0, 'fLaC')) return m('audio', 'audio/flac', 'flac');
  if (ascii(b, 0, 'OggS')) return m('audio', 'audio/ogg', 'ogg', { kindFromStreams: true });
  if (ascii(b, 0, 'ID3') || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0 && (b[1] & 0x06) !== 0)) {
    return m('audio', 'audio/mpeg', 'mp3');
  }
  if (ascii(b, 0, 'FORM') && (ascii(b, 8, 'AIFF') || ascii(b, 8, 'AIFC'))) return m('audio', 'audio/aiff', 'aiff');
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return m('image', 'image/jpeg', 'jpeg');
  if ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((v, i) => b[i] === v)) return m('image', 'image/png', 'png');
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return m('image', 'image/gif', 'gif');
  if (ascii(b, 0, 'II*\0') || ascii(b, 0, 'MM\0*')) return m('image', 'image/tiff', 'tiff');
  if (ascii(b, 0, 'BM') && b.length > 14) return m('image', 'image/bmp', 'bmp');
  if (ascii(b, 0, '%PDF-')) return m('other', 'application/pdf', 'pdf');
  if (ascii(b, 0, 'PK\x03\x04')) return m('other', 'application/zip', 'zip');
  if (ascii(b, 0, 'EVF\x09\x0d\x0a\xff\x00')) return m('other', 'application/x-ewf', 'ewf');
  return undefined;
}

/** The streams ffprobe saw, reduced to what the kind decision needs. */
export interface StreamSummary {
  formatName?: string;
  videoStreams: number;
  audioStreams: number;
}

const FFPROBE_FORMAT_MIME: [RegExp, string, string][] = [
  [/^mov,mp4/, 'video/mp4', 'mp4'],
  [/matroska/, 'video/x-matroska', 'matroska'],
  [/^mpegts$/, 'video/mp2t', 'mpegts'],
  [/^mpeg$/, 'video/mpeg', 'mpegps'],
  [/^avi$/, 'video/x-msvideo', 'avi'],
  [/^dhav$/, 'video/x-dhav', 'dhav'],
  [/^wav$/, 'audio/wav', 'wav'],
  [/^amr$/, 'audio/amr', 'amr'],
  [/^mp3$/, 'audio/mpeg', 'mp3'],
  [/^ogg$/, 'audio/ogg', 'ogg'],
  [/^flac$/, 'audio/flac', 'flac'],
];

/**
 * Decides the kind from the magic match and ffprobe's streams: a container is video when it has
 * a real video stream (cover art excluded by the caller), audio when it has only audio.
 */
export function decideDetection(magic: MagicMatch | undefined, streams: StreamSummary | undefined, magicHex: string): ContentDetection {
  if (magic && !magic.kindFromStreams) {
    if (magic.kind === 'image' || magic.kind === 'other' || !streams) {
      return { kind: magic.kind, mime: magic.mime, format: magic.format, method: 'magic', magicHex, ...(magic.elementaryStream ? { elementaryStream: magic.elementaryStream } : {}) };
    }
    return {
      kind: magic.kind,
      mime: magic.mime,
      format: magic.format,
      method: 'magic+ffprobe',
      magicHex,
      ...(magic.elementaryStream ? { elementaryStream: magic.elementaryStream } : {}),
    };
  }
  if (streams && (streams.videoStreams > 0 || streams.audioStreams > 0)) {
    const kind: MediaKind = streams.videoStreams > 0 ? 'video' : 'audio';
    let mime = magic?.mime;
    let format = magic?.format;
    if (!mime) {
      const hit = FFPROBE_FORMAT_MIME.find(([re]) => re.test(streams.formatName ?? ''));
      mime = hit?.[1] ?? (kind === 'video' ? 'video/octet-stream' : 'audio/octet-stream');
      format = hit?.[2] ?? streams.formatName ?? 'unknown';
    }
    if (kind === 'audio' && mime.startsWith('video/')) {
      // An MP4/Matroska/… holding audio only: say so in the MIME type.
      mime = mime === 'video/mp4' || mime === 'video/quicktime' || mime === 'video/3gpp' ? 'audio/mp4' : mime.replace('video/', 'audio/');
    }
    return { kind, mime, format: format ?? 'unknown', method: magic ? 'magic+ffprobe' : 'ffprobe', magicHex };
  }
  if (magic) return { kind: magic.kind, mime: magic.mime, format: magic.format, method: 'magic', magicHex };
  return { kind: 'other', mime: 'application/octet-stream', format: 'unknown', method: streams ? 'ffprobe' : 'magic', magicHex };
}
