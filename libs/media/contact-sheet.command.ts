import { FFMPEG_PREAMBLE, SWS, SWS_FLAGS, TMP, escapeDrawtextLiteral, filter, inputArgs, type CommandSpec } from './ffmpeg-args.js';
import { CAPTION_FONT_FILE, CONTACT_SHEET } from './media-recipes.js';
import type { VideoSource } from './video-working-copy.command.js';

export interface ContactSheetPlan {
  source: VideoSource;
  /** One thumbnail per interval of stream time (the first frame at or after each multiple). */
  intervalSeconds: number;
  thumbWidth?: number;
  maxThumbnails?: number;
  fontFile?: string;
}

export interface ContactSheetCommand extends CommandSpec {
  thumbWidth: number;
  thumbHeight: number;
  /** Where the thumbnails land, numbered from 1 (`{tmp}` is the call's scratch folder). */
  framePattern: string;
  maxThumbnails: number;
}

/**
 * Thumbnails at a fixed interval, each labelled with its stream time; sharp tiles them. A frame
 * is taken when floor(t / interval) moves on, so the grid is fixed (no drift) and correct on
 * variable frame rate; an interval with no frame (a recording gap) gives no thumbnail, and the
 * labels show the real times. A 3-frame clip still yields a sheet. Pure.
 */
export function buildContactSheetCommand(plan: ContactSheetPlan): ContactSheetCommand {
  if (!(plan.intervalSeconds > 0)) throw new Error(`intervalSeconds must be more than 0 (got ${plan.intervalSeconds})`);
  const thumbWidth = Math.max(16, Math.floor((plan.thumbWidth ?? CONTACT_SHEET.thumbWidth) / 2) * 2);
  const { displayWidth, displayHeight } = plan.source.video;
  const thumbHeight = Math.max(2, Math.round((thumbWidth * displayHeight) / displayWidth / 2) * 2);
  const maxThumbnails = plan.maxThumbnails ?? CONTACT_SHEET.maxThumbnails;
  const i = String(plan.intervalSeconds);
  // +1e-6 of an interval: t = 0.6 divided by 0.2 is 2.9999999999999996 in doubles, which would
  // push the frame at exactly 0.6 s into the previous interval (seen: 0.64 picked instead).
  const slot = (v: string) => `floor(${v}/${i}+0.000001)`;
  const select = `isnan(prev_selected_t)+gt(${slot('t')},${slot('prev_selected_t')})`;
  const fontSize = Math.max(9, Math.round(thumbHeight / 10));
  const framePattern = `${TMP}/thumb-%05d.png`;
  return {
    tool: 'ffmpeg',
    args: [
      ...FFMPEG_PREAMBLE,
      ...inputArgs(plan.source.input, 'ffmpeg'),
      '-map', `0:${plan.source.video.index}`,
      ...SWS,
      '-vf', [
        filter('select', [['expr', select]]),
        ...(plan.source.video.interlaced ? [filter('bwdif', [['mode', 'send_frame'], ['parity', 'auto'], ['deint', 'interlaced']])] : []),
        filter('scale', [['w', thumbWidth], ['h', thumbHeight], ['flags', SWS_FLAGS]]),
        filter('setsar', [['sar', '1']]),
        filter('drawtext', [
          ['fontfile', plan.fontFile ?? CAPTION_FONT_FILE],
          ['fontsize', fontSize],
          ['fontcolor', 'white'],
          ['box', 1],
          ['boxcolor', 'black@0.6'],
          ['x', 3],
          ['y', 3],
          ['text', `${escapeDrawtextLiteral('')}%{pts:hms}`],
        ]),
      ].join(','),
      '-fps_mode', 'passthrough',
      '-frames:v', String(maxThumbnails),
      '-fflags', '+bitexact',
      '-flags:v', '+bitexact',
      '-map_metadata', '-1',
      '-c:v', 'png',
      '-f', 'image2',
      framePattern,
    ],
    thumbWidth,
    thumbHeight,
    framePattern,
    maxThumbnails,
  };
}
