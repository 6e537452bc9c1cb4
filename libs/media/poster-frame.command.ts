import { FFMPEG_PREAMBLE, OUTPUT, SWS, SWS_FLAGS, filter, inputArgs, type CommandSpec } from './ffmpeg-args.js';
import { targetSize } from './video-geometry.js';
import type { VideoSource } from './video-working-copy.command.js';

export interface PosterPlan {
  source: VideoSource;
  /** Stream time of the wanted frame; the first frame at or after it is taken. */
  atSeconds: number;
  maxShortSide: number;
  /**
   * `input` (default): `-ss` before `-i`, the demuxer seeks near the time. `decode`: `-ss` after
   * `-i`, every frame from the start is decoded and those before the time dropped — slower, but
   * right where seeking lands on no decodable frame (MPEG-TS with one key frame in ten seconds
   * or more: the decoder then has no reference pictures and gives nothing).
   */
  seek?: 'input' | 'decode';
}

/**
 * One frame as a lossless PNG (sharp makes the JPEG: one image encoder for the service).
 * `-ss` before `-i` seeks to the first frame at or after the time (accurate seek, the ffmpeg
 * default when transcoding); the time is chosen by the caller or the recipe, never by a
 * "best thumbnail" heuristic, so the record says exactly which moment is shown. Pure.
 */
export function buildPosterFrameCommand(plan: PosterPlan): CommandSpec & { width: number; height: number } {
  const size = targetSize(plan.source.video.displayWidth, plan.source.video.displayHeight, plan.maxShortSide);
  if (!(plan.atSeconds >= 0)) throw new Error(`atSeconds must be 0 or more (got ${plan.atSeconds})`);
  const input = inputArgs(plan.source.input, 'ffmpeg');
  const seek = plan.atSeconds > 0 ? ['-ss', plan.atSeconds.toFixed(6)] : [];
  const decodeSeek = plan.seek === 'decode';
  return {
    tool: 'ffmpeg',
    args: [
      ...FFMPEG_PREAMBLE,
      ...(decodeSeek ? [] : seek),
      ...input,
      ...(decodeSeek ? seek : []),
      '-map', `0:${plan.source.video.index}`,
      ...SWS,
      '-vf', [
        ...(plan.source.video.interlaced ? [filter('bwdif', [['mode', 'send_frame'], ['parity', 'auto'], ['deint', 'interlaced']])] : []),
        filter('scale', [['w', size.width], ['h', size.height], ['flags', SWS_FLAGS]]),
        filter('setsar', [['sar', '1']]),
      ].join(','),
      '-frames:v', '1',
      '-update', '1',
      '-fflags', '+bitexact',
      '-flags:v', '+bitexact',
      '-map_metadata', '-1',
      '-c:v', 'png',
      '-f', 'image2',
      OUTPUT,
    ],
    width: size.width,
    height: size.height,
  };
}
