/**
 * Pieces every ffmpeg/ffprobe command shares, kept pure so each builder's argv can be tested
 * without running anything. Builders write `{input}`, `{output}` and `{tmp}` where paths go; the
 * repository substitutes them when it spawns, and the provenance keeps the placeholders.
 */

export const INPUT = '{input}';
export const OUTPUT = '{output}';
export const TMP = '{tmp}';

/** A spawnable command before its paths are filled in. */
export interface CommandSpec {
  tool: 'ffmpeg' | 'ffprobe' | 'heif-convert';
  args: string[];
  /** Extra environment (court copies set TZ so drawtext's localtime follows the recorder's zone). */
  env?: Record<string, string>;
}

/** Where the input comes from and how ffmpeg must read it. */
export interface InputSpec {
  /** An http(s) URL (a presigned S3 GET) rather than a local file. */
  url: boolean;
  /** Force a demuxer (-f): raw h264/hevc elementary streams, Dahua dhav. */
  forceFormat?: string;
  /** For raw elementary streams: the frame rate every frame is stamped with (ffmpeg only). */
  assumedFrameRate?: string;
}

/**
 * Reading options. Local files: only the file protocol, so a crafted playlist or concat file
 * cannot make ffmpeg open other files or addresses. URLs: HTTP(S) only; `-seekable 1` lets the
 * demuxer use range requests to reach a trailing moov; `-reconnect*` ride out dropped
 * connections; `-rw_timeout` (µs) turns a stalled socket into an error instead of a hang.
 */
export function inputArgs(input: InputSpec, tool: 'ffmpeg' | 'ffprobe'): string[] {
  const args = input.url
    ? [
        '-protocol_whitelist', 'http,https,tls,tcp',
        '-seekable', '1',
        '-reconnect', '1',
        '-reconnect_on_network_error', '1',
        '-reconnect_on_http_error', '5xx',
        '-reconnect_delay_max', '30',
        '-rw_timeout', '30000000',
      ]
    : ['-protocol_whitelist', 'file'];
  if (input.forceFormat) args.push('-f', input.forceFormat);
  // `-r` before `-i` stamps every frame of a timing-less stream at the assumed rate (the raw
  // demuxer's -framerate is ignored when the SPS carries VUI timing; verified on 5.1).
  if (tool === 'ffmpeg' && input.assumedFrameRate) args.push('-r', input.assumedFrameRate);
  args.push('-i', INPUT);
  return args;
}

/** Start of every ffmpeg run: never read stdin; level-tagged, unfolded log lines (decode errors are counted). */
export const FFMPEG_PREAMBLE = ['-nostdin', '-hide_banner', '-loglevel', 'repeat+level+warning'];

/** Key=value progress on stdout instead of the stats line on stderr. */
export const FFMPEG_PROGRESS = ['-nostats', '-progress', 'pipe:1'];

/**
 * swscale flags for every scaler, ours and the ones ffmpeg inserts for pixel-format conversion:
 * `bitexact` + `accurate_rnd` keep swscale off its SIMD paths that round differently from the C
 * code, so the same command gives the same pixels on another CPU.
 */
export const SWS_FLAGS = 'lanczos+accurate_rnd+bitexact';
export const SWS = ['-sws_flags', SWS_FLAGS];

/** No encoder or muxer version strings, no inherited tags: the same input and command give the same bytes. */
export const BITEXACT_VIDEO = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact'];

/* ------------------------------------------------------------ filter-graph escaping */

/** drawtext expansion level: a literal text with `\` and `%` escaped. */
export function escapeDrawtextLiteral(text: string): string {
  return text.replace(/[\\%]/g, (c) => `\\${c}`);
}

/** Filter option level: `\`, `'` and `:` escaped (the value of key=value inside one filter). */
export function escapeFilterOption(value: string): string {
  return value.replace(/[\\':]/g, (c) => `\\${c}`);
}

/** Filter-graph level: `\`, `'`, `[`, `]`, `,` and `;` escaped (one filter inside the chain). */
export function escapeFilterGraph(filter: string): string {
  return filter.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

/** One filter of a chain, its option values escaped at both levels. */
export function filter(name: string, options: [string, string | number][] = []): string {
  if (options.length === 0) return name;
  const body = options.map(([k, v]) => `${k}=${escapeFilterOption(String(v))}`).join(':');
  return escapeFilterGraph(`${name}=${body}`);
}
