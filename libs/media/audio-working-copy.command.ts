import { FFMPEG_PREAMBLE, FFMPEG_PROGRESS, OUTPUT, inputArgs, type CommandSpec, type InputSpec } from './ffmpeg-args.js';
import { aacBitRate } from './media-recipes.js';

export interface AudioSource {
  input: InputSpec;
  audio: { index: number; sampleRate: number; channels: number };
}

/**
 * The audio working copy: AAC-LC in .m4a (`-f ipod`, the MP4 muxer's M4A flavour), index
 * first, source sample rate and channels kept (no resampling of telephony audio), no inherited
 * tags, bit-exact. Pure.
 */
export function buildAudioWorkingCopyCommand(source: AudioSource): CommandSpec & { bitRate: number } {
  const bitRate = aacBitRate(source.audio.sampleRate, source.audio.channels);
  return {
    tool: 'ffmpeg',
    args: [
      ...FFMPEG_PREAMBLE,
      ...FFMPEG_PROGRESS,
      ...inputArgs(source.input, 'ffmpeg'),
      '-map', `0:${source.audio.index}`,
      '-vn',
      '-c:a', 'aac',
      '-b:a', String(bitRate),
      '-map_metadata', '-1',
      '-map_chapters', '-1',
      '-fflags', '+bitexact',
      '-flags:a', '+bitexact',
      '-movflags', '+faststart',
      '-f', 'ipod',
      OUTPUT,
    ],
    bitRate,
  };
}

/**
 * Decoded PCM on stdout (mono 16-bit little-endian at the source rate), streamed into the peak
 * buckets: the file is never held in memory. No `-ar`: resampling low-passes and shrinks peaks.
 * Also how the original's decoded length is measured. Pure.
 */
export function buildPcmDecodeCommand(source: AudioSource): CommandSpec {
  return {
    tool: 'ffmpeg',
    args: [
      ...FFMPEG_PREAMBLE,
      ...inputArgs(source.input, 'ffmpeg'),
      '-map', `0:${source.audio.index}`,
      '-vn',
      '-ac', '1',
      '-c:a', 'pcm_s16le',
      '-f', 's16le',
      'pipe:1',
    ],
  };
}
