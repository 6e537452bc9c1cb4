import {
  BITEXACT_VIDEO,
  FFMPEG_PREAMBLE,
  SWS,
  SWS_FLAGS,
  FFMPEG_PROGRESS,
  OUTPUT,
  filter,
  inputArgs,
  type CommandSpec,
  type InputSpec,
} from './ffmpeg-args.js';
import { X264, aacBitRate } from './media-recipes.js';
import { targetSize } from './video-geometry.js';

/** What the builder needs to know about the source, all from the probe. */
export interface VideoSource {
  input: InputSpec;
  video: {
    index: number;
    displayWidth: number;
    displayHeight: number;
    rotation: 0 | 90 | 180 | 270;
    /** Field order says interlaced, or the decoder flagged interlaced frames. */
    interlaced: boolean;
    hdr: boolean;
  };
  /** The first audio stream, when there is one. */
  audio?: { index: number; sampleRate: number; channels: number };
}

export interface VideoWorkingCopyPlan {
  source: VideoSource;
  maxShortSide: number;
  /** Filters appended after scaling (the court copy's caption), already escaped. */
  overlayFilters?: string[];
  env?: Record<string, string>;
}

export interface VideoCommand extends CommandSpec {
  width: number;
  height: number;
  deinterlace: boolean;
  toneMap: boolean;
  filterChain: string;
  audioBitRate?: number;
}

/**
 * PQ/HLG → SDR BT.709 (zimg, verified on Debian's 5.1; the frame count does not change), so an
 * HDR phone clip does not come out washed-out on an ordinary screen.
 */
const TONE_MAP = [
  'zscale=t=linear:npl=100',
  'format=gbrpf32le',
  'zscale=p=bt709',
  'tonemap=tonemap=hable:desat=0',
  'zscale=t=bt709:m=bt709:r=tv',
];

/**
 * The video working copy: H.264 (x264, CRF) + AAC in MP4 with the index first. Frame-faithful:
 * `-fps_mode passthrough` (no frame dropped or duplicated; the 5.1 name of `-vsync 0`) and
 * `-enc_time_base:v -1` (the encoder keeps the source time base, so irregular timestamps survive
 * exactly). Never `-r`, `fps=`, `-vsync cfr`, `-shortest`, `-ss`/`-t` on the output. Pure.
 */
export function buildVideoWorkingCopyCommand(plan: VideoWorkingCopyPlan): VideoCommand {
  const { source } = plan;
  const size = targetSize(source.video.displayWidth, source.video.displayHeight, plan.maxShortSide);
  const chain: string[] = [];
  // send_frame: one frame out per frame in (bwdif's default send_field doubles the count);
  // deint=interlaced: only frames flagged interlaced are touched.
  if (source.video.interlaced) chain.push(filter('bwdif', [['mode', 'send_frame'], ['parity', 'auto'], ['deint', 'interlaced']]));
  // Literal filters: nothing in them needs escaping.
  if (source.video.hdr) chain.push(...TONE_MAP);
  chain.push(filter('scale', [['w', size.width], ['h', size.height], ['flags', SWS_FLAGS]]));
  chain.push(filter('setsar', [['sar', '1']]));
  chain.push(filter('format', [['pix_fmts', 'yuv420p']]));
  chain.push(...(plan.overlayFilters ?? []));
  const filterChain = chain.join(',');

  const args = [
    ...FFMPEG_PREAMBLE,
    ...FFMPEG_PROGRESS,
    ...inputArgs(source.input, 'ffmpeg'),
    '-map', `0:${source.video.index}`,
  ];
  if (source.audio) args.push('-map', `0:${source.audio.index}`);
  args.push(
    ...SWS,
    '-vf', filterChain,
    '-c:v', 'libx264',
    '-preset', X264.preset,
    '-crf', X264.crf,
    '-profile:v', X264.profile,
    '-threads', String(X264.threads),
    '-fps_mode', 'passthrough',
    '-enc_time_base:v', '-1',
  );
  let audioBitRate: number | undefined;
  if (source.audio) {
    audioBitRate = aacBitRate(source.audio.sampleRate, source.audio.channels);
    args.push('-c:a', 'aac', '-b:a', String(audioBitRate));
  }
  args.push(
    // Sparse or late streams must not abort the mux (ffmpeg trac #6375).
    '-max_muxing_queue_size', '4096',
    '-map_metadata', '-1',
    '-map_chapters', '-1',
    ...BITEXACT_VIDEO,
    '-movflags', '+faststart',
    '-f', 'mp4',
    OUTPUT,
  );
  return {
    tool: 'ffmpeg',
    args,
    ...(plan.env ? { env: plan.env } : {}),
    width: size.width,
    height: size.height,
    deinterlace: source.video.interlaced,
    toneMap: source.video.hdr,
    filterChain,
    ...(audioBitRate ? { audioBitRate } : {}),
  };
}
