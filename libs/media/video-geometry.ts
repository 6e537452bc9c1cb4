/**
 * Output size of a video derivative. Pure. Works on the *displayed* size (non-square pixels made
 * square, rotation applied), because ffmpeg rotates before the filters run: a naive
 * `scale=-2:720` on a rotated 1920x1080 gives 406x720 instead of 720x1280 (immich#9252).
 */
export interface TargetSize {
  width: number;
  height: number;
  /** The source was larger than the limit and is made smaller. */
  downscaled: boolean;
}

const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/**
 * Fits the short side within `maxShortSide` (720 for "720p": the height of a landscape picture,
 * the width of a portrait one), keeping the aspect ratio, never enlarging, even dimensions
 * (4:2:0 needs them; an odd side loses one pixel, it is never padded).
 */
export function targetSize(displayWidth: number, displayHeight: number, maxShortSide: number): TargetSize {
  if (!(displayWidth > 0 && displayHeight > 0)) throw new Error(`video has no size (${displayWidth}x${displayHeight})`);
  if (!(maxShortSide >= 2)) throw new Error(`maxShortSide must be at least 2 (got ${maxShortSide})`);
  const short = Math.min(displayWidth, displayHeight);
  if (short <= maxShortSide) return { width: even(displayWidth), height: even(displayHeight), downscaled: false };
  const f = maxShortSide / short;
  // The short side lands exactly on the limit; the long side is rounded to the nearest even.
  const w = displayWidth === short ? maxShortSide : Math.round((displayWidth * f) / 2) * 2;
  const h = displayHeight === short ? maxShortSide : Math.round((displayHeight * f) / 2) * 2;
  return { width: even(w), height: even(h), downscaled: true };
}
