import type {
  AudioStreamFacts,
  AvFacts,
  ContainerFacts,
  GpsFacts,
  VideoStreamFacts,
} from './media.types.js';

/** The parts of ffprobe's JSON (-show_format -show_streams -show_error) this parser reads. */
interface RawStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  codec_long_name?: string;
  profile?: string;
  pix_fmt?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  display_aspect_ratio?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  time_base?: string;
  field_order?: string;
  duration?: string;
  nb_frames?: string;
  bit_rate?: string;
  color_transfer?: string;
  color_primaries?: string;
  color_space?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  sample_fmt?: string;
  bits_per_sample?: number;
  bits_per_raw_sample?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}
interface RawProbe {
  streams?: RawStream[];
  format?: {
    format_name?: string;
    format_long_name?: string;
    duration?: string;
    start_time?: string;
    bit_rate?: string;
    size?: string;
    probe_score?: number;
    tags?: Record<string, string>;
  };
  error?: { code?: number; string?: string };
}

const num = (s: string | number | undefined): number | undefined => {
  if (s === undefined || s === null || s === 'N/A' || s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
};

/** A rational as text, '0/0' kept as given (PeerTube#6403: never divide by it). */
export function rationalValue(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [a, b] = r.split(/[/:]/).map(Number);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0 || a === 0) return undefined;
  return a / b;
}

/**
 * Clockwise rotation a player applies. ffprobe 5.1 prints the display matrix angle
 * counter-clockwise (verified: a 90 there turns the picture's top-left corner to bottom-left);
 * the legacy `rotate` tag is clockwise.
 */
export function displayRotation(stream: Pick<RawStream, 'side_data_list' | 'tags'>): 0 | 90 | 180 | 270 {
  const matrix = stream.side_data_list?.find((d) => d.side_data_type === 'Display Matrix' && typeof d.rotation === 'number');
  let clockwise: number | undefined;
  if (matrix) clockwise = -(matrix.rotation as number);
  else if (stream.tags?.rotate !== undefined) clockwise = Number(stream.tags.rotate);
  if (clockwise === undefined || !Number.isFinite(clockwise)) return 0;
  const r = (((Math.round(clockwise / 90) * 90) % 360) + 360) % 360;
  return r as 0 | 90 | 180 | 270;
}

/** ISO 6709 (`+51.5074-000.1278+012.5/`), as QuickTime/MP4 location tags hold it. */
export function parseIso6709(raw: string): GpsFacts | undefined {
  const m = /^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?(?:CRS[^/]*)?\/?$/.exec(raw.trim());
  if (!m) return undefined;
  const latitude = Number(m[1]);
  const longitude = Number(m[2]);
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  return { latitude, longitude, ...(m[3] ? { altitudeMetres: Number(m[3]) } : {}), source: 'iso6709-tag', raw };
}

const INTERLACED_FIELD_ORDERS = new Set(['tt', 'bb', 'tb', 'bt']);

function sarOf(s: RawStream): string {
  const sar = s.sample_aspect_ratio;
  if (!sar || sar === '0:1' || sar === 'N/A') return '1:1';
  return sar;
}

function videoFacts(s: RawStream): VideoStreamFacts {
  const width = s.width ?? 0;
  const height = s.height ?? 0;
  const sar = sarOf(s);
  const [sn, sd] = sar.split(':').map(Number);
  const rotation = displayRotation(s);
  // Non-square pixels made square (width scaled, height kept), then rotated.
  const squareWidth = sn > 0 && sd > 0 ? Math.round((width * sn) / sd) : width;
  const swap = rotation === 90 || rotation === 270;
  const transfer = s.color_transfer;
  return {
    index: s.index ?? 0,
    codec: s.codec_name ?? 'unknown',
    ...(s.codec_long_name ? { codecLongName: s.codec_long_name } : {}),
    ...(s.profile ? { profile: s.profile } : {}),
    ...(s.pix_fmt ? { pixelFormat: s.pix_fmt } : {}),
    width,
    height,
    sampleAspectRatio: sar,
    ...(s.display_aspect_ratio && s.display_aspect_ratio !== '0:1' ? { displayAspectRatio: s.display_aspect_ratio } : {}),
    rotation,
    displayWidth: swap ? height : squareWidth,
    displayHeight: swap ? squareWidth : height,
    ...(s.r_frame_rate ? { rFrameRate: s.r_frame_rate } : {}),
    ...(s.avg_frame_rate ? { avgFrameRate: s.avg_frame_rate } : {}),
    ...(s.time_base ? { timeBase: s.time_base } : {}),
    ...(s.field_order ? { fieldOrder: s.field_order } : {}),
    interlaced: INTERLACED_FIELD_ORDERS.has(s.field_order ?? ''),
    ...(num(s.duration) !== undefined ? { durationSeconds: num(s.duration) } : {}),
    ...(num(s.nb_frames) !== undefined ? { declaredFrames: num(s.nb_frames) } : {}),
    ...(num(s.bit_rate) !== undefined ? { bitRate: num(s.bit_rate) } : {}),
    ...(transfer ? { colorTransfer: transfer } : {}),
    ...(s.color_primaries ? { colorPrimaries: s.color_primaries } : {}),
    ...(s.color_space ? { colorSpace: s.color_space } : {}),
    hdr: transfer === 'smpte2084' || transfer === 'arib-std-b67',
    attachedPicture: s.disposition?.attached_pic === 1,
  };
}

function audioFacts(s: RawStream): AudioStreamFacts {
  return {
    index: s.index ?? 0,
    codec: s.codec_name ?? 'unknown',
    ...(s.codec_long_name ? { codecLongName: s.codec_long_name } : {}),
    ...(s.profile ? { profile: s.profile } : {}),
    sampleRate: num(s.sample_rate) ?? 0,
    channels: s.channels ?? 0,
    ...(s.channel_layout ? { channelLayout: s.channel_layout } : {}),
    ...(s.sample_fmt ? { sampleFormat: s.sample_fmt } : {}),
    ...(s.bits_per_sample ? { bitsPerSample: s.bits_per_sample } : num(s.bits_per_raw_sample) ? { bitsPerSample: num(s.bits_per_raw_sample) } : {}),
    ...(num(s.duration) !== undefined ? { durationSeconds: num(s.duration) } : {}),
    ...(num(s.bit_rate) !== undefined ? { bitRate: num(s.bit_rate) } : {}),
  };
}

/** ffprobe reported an error object instead of streams. */
export function probeError(raw: unknown): string | undefined {
  const e = (raw as RawProbe | undefined)?.error;
  return e ? (e.string ?? `error ${e.code}`) : undefined;
}

/**
 * ffprobe's JSON → typed facts. Pure. Cover art (attached_pic) is listed but not counted as a
 * video stream, so an MP3 with a picture stays audio.
 */
export function parseFfprobe(raw: unknown): AvFacts {
  const p = (raw ?? {}) as RawProbe;
  const streams = p.streams ?? [];
  const fmt = p.format ?? {};
  const container: ContainerFacts = {
    formatName: fmt.format_name ?? 'unknown',
    ...(fmt.format_long_name ? { formatLongName: fmt.format_long_name } : {}),
    ...(num(fmt.duration) !== undefined ? { durationSeconds: num(fmt.duration) } : {}),
    ...(num(fmt.start_time) !== undefined ? { startTimeSeconds: num(fmt.start_time) } : {}),
    ...(num(fmt.bit_rate) !== undefined ? { bitRate: num(fmt.bit_rate) } : {}),
    ...(num(fmt.size) !== undefined ? { sizeBytes: num(fmt.size) } : {}),
    ...(fmt.probe_score !== undefined ? { probeScore: fmt.probe_score } : {}),
    tags: { ...(fmt.tags ?? {}) },
  };
  const video = streams.filter((s) => s.codec_type === 'video').map(videoFacts).filter((v) => !v.attachedPicture);
  const audio = streams.filter((s) => s.codec_type === 'audio').map(audioFacts);
  const otherStreams = streams
    .filter((s) => !(s.codec_type === 'audio' || (s.codec_type === 'video' && s.disposition?.attached_pic !== 1)))
    .map((s) => ({ index: s.index ?? 0, type: s.codec_type ?? 'unknown', ...(s.codec_name ? { codec: s.codec_name } : {}) }));

  const allTags = [fmt.tags ?? {}, ...streams.map((s) => s.tags ?? {})];
  const creationTime = allTags.map((t) => t.creation_time ?? t['com.apple.quicktime.creationdate']).find(Boolean);
  const locationRaw = allTags
    .map((t) => t['com.apple.quicktime.location.ISO6709'] ?? t.location ?? t['location-eng'])
    .find(Boolean);
  const gps = locationRaw ? parseIso6709(locationRaw) : undefined;
  const durations = [container.durationSeconds, ...video.map((v) => v.durationSeconds), ...audio.map((a) => a.durationSeconds)].filter(
    (d): d is number => d !== undefined,
  );
  const durationSeconds = container.durationSeconds ?? (durations.length ? Math.max(...durations) : undefined);
  return {
    container,
    video,
    audio,
    otherStreams,
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    ...(creationTime ? { creationTime } : {}),
    ...(gps ? { gps } : {}),
  };
}
