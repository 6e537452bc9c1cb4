import { describe, expect, it } from '@jest/globals';
import { targetSize } from './video-geometry.js';

describe('targetSize: short side ≤ limit, aspect kept, never enlarged, even', () => {
  it.each([
    ['1080p landscape → 720p', 1920, 1080, 720, { width: 1280, height: 720, downscaled: true }],
    ['rotated 1080p (displayed portrait) → 720x1280, not 406x720', 1080, 1920, 720, { width: 720, height: 1280, downscaled: true }],
    ['4K → 720p', 3840, 2160, 720, { width: 1280, height: 720, downscaled: true }],
    ['PAL 4:3 displayed 768x576: short side 576 ≤ 720, kept', 768, 576, 720, { width: 768, height: 576, downscaled: false }],
    ['small CIF kept as is', 352, 288, 720, { width: 352, height: 288, downscaled: false }],
    ['QCIF kept (never upscaled)', 176, 144, 720, { width: 176, height: 144, downscaled: false }],
    ['odd sides lose a pixel, never padded', 175, 143, 720, { width: 174, height: 142, downscaled: false }],
    ['exactly 720p kept', 1280, 720, 720, { width: 1280, height: 720, downscaled: false }],
    ['configurable limit: 1080p → 480', 1920, 1080, 480, { width: 854, height: 480, downscaled: true }],
    ['854x480 FWVGA under 720 kept', 854, 480, 720, { width: 854, height: 480, downscaled: false }],
    ['odd result rounded to even: 1000x1001 → 720', 1001, 1000, 720, { width: 720, height: 720, downscaled: true }],
  ])('%s', (_n, w, h, max, expected) => {
    expect(targetSize(w, h, max)).toEqual(expected);
  });

  it('refuses a video without a size', () => {
    expect(() => targetSize(0, 0, 720)).toThrow(/no size/);
  });
});
