import { inputArgs, type CommandSpec, type InputSpec } from './ffmpeg-args.js';

/**
 * Container and streams as JSON. JSON keeps nested side data (the display matrix) that
 * fluent-ffmpeg's flat key=value parser loses; `-show_error` turns a failure into `{error}`. Pure.
 */
export function buildProbeCommand(input: InputSpec, countFrames = false): CommandSpec {
  return {
    tool: 'ffprobe',
    args: [
      '-hide_banner',
      '-loglevel', 'error',
      ...inputArgs(input, 'ffprobe'),
      // Checking our own outputs: decode every stream and report nb_read_frames, in the same run.
      ...(countFrames ? ['-count_frames'] : []),
      '-of', 'json', '-show_error', '-show_format', '-show_streams', '-show_chapters',
    ],
  };
}

/**
 * Decodes every frame of one video stream and prints each frame's time (presentation order),
 * its duration and interlace flag, plus the packet count: the decoded frame count, gaps and
 * variable frame rate come from this one pass (packets and `nb_frames` are not frames: a
 * damaged clip had 200 packets and 198 frames). Warnings are kept on stderr so corrupt frames
 * can be counted. Pure.
 */
export function buildFrameScanCommand(input: InputSpec, streamIndex: number): CommandSpec {
  return {
    tool: 'ffprobe',
    args: [
      '-hide_banner',
      '-loglevel', 'repeat+level+warning',
      ...inputArgs(input, 'ffprobe'),
      '-select_streams', String(streamIndex),
      '-count_packets',
      '-show_frames',
      '-show_entries', 'frame=best_effort_timestamp_time,pkt_duration_time,interlaced_frame:stream=nb_read_packets',
      '-of', 'compact=nk=0',
    ],
  };
}
