import type { WaveformPeaks } from './media.types.js';

/**
 * Min/max peaks of 16-bit mono PCM, folded as the bytes stream past: memory stays O(buckets)
 * whatever the length. Pure.
 *
 * With the expected sample count (from the probe) every bucket but the last holds exactly
 * `samplesPerBucket` samples and there are exactly `buckets` of them. When the estimate is
 * wrong or absent, buckets are merged pairwise whenever they pass 2 × `buckets`, and the result
 * is resampled to `buckets` at the end (`exact: false`).
 */
export class PeakAccumulator {
  private mins: number[] = [];
  private maxs: number[] = [];
  private spp: number;
  private inBucket = 0;
  private curMin = 0;
  private curMax = 0;
  private total = 0;
  private carry: number | undefined; // a lone byte split across chunks
  private merged = false;

  constructor(
    private readonly buckets: number,
    private readonly sampleRate: number,
    expectedSamples?: number,
  ) {
    if (!(buckets >= 1)) throw new Error('buckets must be at least 1');
    this.spp = expectedSamples && expectedSamples > 0 ? Math.max(1, Math.ceil(expectedSamples / buckets)) : Math.max(1, Math.round(sampleRate / 100));
  }

  /** Feeds little-endian signed 16-bit samples. */
  push(chunk: Uint8Array): void {
    let i = 0;
    if (this.carry !== undefined && chunk.length > 0) {
      this.sample(toInt16(this.carry | (chunk[0] << 8)));
      this.carry = undefined;
      i = 1;
    }
    for (; i + 1 < chunk.length; i += 2) this.sample(toInt16(chunk[i] | (chunk[i + 1] << 8)));
    if (i < chunk.length) this.carry = chunk[i];
  }

  sample(v: number): void {
    if (this.inBucket === 0) {
      this.curMin = v;
      this.curMax = v;
    } else {
      if (v < this.curMin) this.curMin = v;
      if (v > this.curMax) this.curMax = v;
    }
    this.total++;
    if (++this.inBucket === this.spp) this.close();
  }

  private close(): void {
    this.mins.push(this.curMin);
    this.maxs.push(this.curMax);
    this.inBucket = 0;
    if (this.mins.length >= 2 * this.buckets) this.halve();
  }

  private halve(): void {
    const mins: number[] = [];
    const maxs: number[] = [];
    for (let i = 0; i < this.mins.length; i += 2) {
      mins.push(Math.min(this.mins[i], this.mins[i + 1] ?? this.mins[i]));
      maxs.push(Math.max(this.maxs[i], this.maxs[i + 1] ?? this.maxs[i]));
    }
    this.mins = mins;
    this.maxs = maxs;
    this.spp *= 2;
    this.merged = true;
  }

  result(): WaveformPeaks {
    if (this.inBucket > 0) {
      // The last, partial bucket (not counted against the pairwise merge).
      this.mins.push(this.curMin);
      this.maxs.push(this.curMax);
      this.inBucket = 0;
    }
    let mins = this.mins;
    let maxs = this.maxs;
    const exact = !this.merged && mins.length === this.buckets;
    if (!exact && mins.length > 0) {
      // Resample to exactly `buckets`: each output takes the extremes of the inputs it covers.
      const outMin: number[] = [];
      const outMax: number[] = [];
      for (let b = 0; b < this.buckets; b++) {
        const from = Math.floor((b * mins.length) / this.buckets);
        const to = Math.max(from + 1, Math.floor(((b + 1) * mins.length) / this.buckets));
        let lo = Infinity;
        let hi = -Infinity;
        for (let k = from; k < Math.min(to, mins.length); k++) {
          lo = Math.min(lo, mins[k]);
          hi = Math.max(hi, maxs[k]);
        }
        outMin.push(lo === Infinity ? 0 : lo);
        outMax.push(hi === -Infinity ? 0 : hi);
      }
      mins = outMin;
      maxs = outMax;
    }
    const peaks: number[] = [];
    for (let k = 0; k < mins.length; k++) peaks.push(norm(mins[k]), norm(maxs[k]));
    return {
      version: 1,
      buckets: mins.length,
      sampleRate: this.sampleRate,
      channels: 1,
      totalSamples: this.total,
      durationSeconds: this.sampleRate > 0 ? Math.round((this.total / this.sampleRate) * 1e6) / 1e6 : 0,
      samplesPerBucket: exact ? this.spp : mins.length ? Math.round((this.total / mins.length) * 1000) / 1000 : 0,
      exact,
      peaks,
    };
  }
}

const toInt16 = (u: number) => (u & 0x8000 ? u - 0x10000 : u);
/** −32768…32767 → −1…1, four decimals (enough for a screen, small JSON). */
const norm = (v: number) => Math.round((v / 32768) * 10000) / 10000;

/**
 * Draws peaks into a greyscale raster (one byte per pixel, 255 background, 0 ink) that sharp
 * encodes as PNG. Pure.
 */
export function rasterizePeaks(peaks: WaveformPeaks, width: number, height: number): Uint8Array {
  const img = new Uint8Array(width * height).fill(255);
  const mid = (height - 1) / 2;
  const n = peaks.buckets;
  for (let x = 0; x < width && n > 0; x++) {
    const from = Math.floor((x * n) / width);
    const to = Math.max(from + 1, Math.floor(((x + 1) * n) / width));
    let lo = 1;
    let hi = -1;
    for (let b = from; b < Math.min(to, n); b++) {
      lo = Math.min(lo, peaks.peaks[2 * b]);
      hi = Math.max(hi, peaks.peaks[2 * b + 1]);
    }
    if (hi < lo) continue;
    const yTop = Math.max(0, Math.floor(mid - hi * mid));
    const yBottom = Math.min(height - 1, Math.ceil(mid - lo * mid));
    for (let y = yTop; y <= yBottom; y++) img[y * width + x] = 0;
  }
  // The zero line, so silence is visible.
  const zy = Math.round(mid);
  for (let x = 0; x < width; x++) if (img[zy * width + x] === 255) img[zy * width + x] = 160;
  return img;
}
