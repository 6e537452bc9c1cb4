import type { DerivativeKind } from './media.types.js';

/**
 * One version per derivative kind. Any change to a builder that can change output bytes (a flag,
 * a default, a filter) must bump its version, so the new output is recorded as a new derivative
 * rather than silently replacing one made by the old recipe. docs/media.md lists each recipe.
 */
export const RECIPE_VERSIONS: Readonly<Record<DerivativeKind, string>> = Object.freeze({
  probe: 'probe/1',
  'video-working-copy': 'video-working-copy/h264-aac-mp4/1',
  'court-copy': 'court-copy/h264-aac-mp4-caption/1',
  'poster-frame': 'poster-frame/jpeg/1',
  'contact-sheet': 'contact-sheet/jpeg/1',
  'audio-working-copy': 'audio-working-copy/aac-m4a/1',
  waveform: 'waveform/peaks-json-png/1',
  'image-preview': 'image-preview/jpeg/1',
});

/** The x264 settings of the working copy. Part of the recipe: changing one needs a new version. */
export const X264 = Object.freeze({
  preset: 'medium',
  crf: '20',
  profile: 'high',
  /**
   * Pinned, because x264's output bytes depend on its thread count (measured: 1, 2, 4 and
   * "auto" threads give four different files; each is identical run to run). 4 is independent
   * of the machine's cores, so a copy made on a 2-core worker repeats on a 64-core laptop.
   */
  threads: 4,
});

export const DEFAULT_MAX_SHORT_SIDE = 720;
export const DEFAULT_ASSUMED_FRAME_RATE = '25';
export const DEFAULT_GAP_THRESHOLD_SECONDS = 1;

/** The font burnt into captions and contact-sheet labels (Debian fonts-dejavu-core), by file so no font lookup varies. */
export const CAPTION_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

/**
 * AAC bit rate: 64 kbit/s per channel, but never above what ffmpeg's AAC encoder can spend at the
 * sample rate (6144 bits per 1024-sample frame per channel: 48 kbit/s at 8 kHz), so telephony
 * audio is not "clamped" with a warning and the recorded value is the real one.
 */
export function aacBitRate(sampleRate: number, channels: number): number {
  const perChannel = Math.min(64_000, Math.floor((6144 * sampleRate) / 1024));
  return perChannel * Math.max(1, Math.min(channels, 8));
}

/** Image preview and thumbnail: longest side, JPEG quality. */
export const IMAGE_PREVIEW = Object.freeze({ maxSide: 1600, quality: 85 });
export const IMAGE_THUMBNAIL = Object.freeze({ maxSide: 320, quality: 80 });
/** sharp's own default pixel limit (0x3FFF²), stated so it is in the recipe: a decompression-bomb guard. */
export const MAX_INPUT_PIXELS = 268_402_689;

export const WAVEFORM = Object.freeze({ buckets: 1000, pngWidth: 1000, pngHeight: 200 });
export const CONTACT_SHEET = Object.freeze({ columns: 5, thumbWidth: 240, maxThumbnails: 100, quality: 80 });
export const POSTER = Object.freeze({ quality: 85 });
