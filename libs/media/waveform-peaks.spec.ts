import { describe, expect, it } from '@jest/globals';
import { PeakAccumulator, rasterizePeaks } from './waveform-peaks.js';

function pcm(samples: number[]): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => b.writeInt16LE(s, i * 2));
  return b;
}
const sine = (n: number, amp: number, period = 80) => Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * i) / period)));

describe('PeakAccumulator', () => {
  it('a known sine gives ±amplitude in every bucket, exactly N buckets of equal size', () => {
    const acc = new PeakAccumulator(100, 8000, 8000);
    acc.push(pcm(sine(8000, 16384)));
    const r = acc.result();
    expect(r).toMatchObject({ buckets: 100, totalSamples: 8000, samplesPerBucket: 80, exact: true, durationSeconds: 1 });
    for (let b = 0; b < 100; b++) {
      expect(r.peaks[2 * b]).toBeCloseTo(-0.5, 3);
      expect(r.peaks[2 * b + 1]).toBeCloseTo(0.5, 3);
    }
  });

  it('silence gives zeros', () => {
    const acc = new PeakAccumulator(10, 8000, 1000);
    acc.push(Buffer.alloc(2000));
    expect(acc.result().peaks.every((v) => v === 0)).toBe(true);
  });

  it('bytes split at odd offsets are joined correctly', () => {
    const whole = pcm([1000, -2000, 3000, -32768, 32767, 5]);
    const acc = new PeakAccumulator(1, 8000, 6);
    for (const part of [whole.subarray(0, 1), whole.subarray(1, 4), whole.subarray(4, 9), whole.subarray(9)]) acc.push(part);
    expect(acc.result().peaks).toEqual([-1, 1]); // 32767/32768 at four decimals
  });

  it('a wrong or missing estimate still gives exactly N buckets (merged, marked inexact), memory bounded', () => {
    for (const expected of [undefined, 100, 1_000_000]) {
      const acc = new PeakAccumulator(50, 8000, expected);
      const data = sine(40_000, 8000);
      data[20_000] = 32767; // one spike, which must survive the merging
      acc.push(pcm(data));
      const r = acc.result();
      expect(r.buckets).toBe(50);
      expect(r.peaks).toHaveLength(100);
      expect(r.totalSamples).toBe(40_000);
      expect(Math.max(...r.peaks)).toBeCloseTo(1, 3);
    }
  });

  it('a shorter stream than expected yields fewer, honest buckets', () => {
    const acc = new PeakAccumulator(10, 8000, 1000);
    acc.push(pcm(sine(500, 100)));
    const r = acc.result();
    expect(r.buckets).toBe(10);
    expect(r.exact).toBe(false);
  });
});

describe('rasterizePeaks', () => {
  it('draws full-scale peaks top to bottom and silence as the centre line', () => {
    const loud = { version: 1 as const, buckets: 2, sampleRate: 8000, channels: 1 as const, totalSamples: 2, durationSeconds: 0, samplesPerBucket: 1, exact: true, peaks: [-1, 1, 0, 0] };
    const img = rasterizePeaks(loud, 2, 11);
    const column = (x: number) => Array.from({ length: 11 }, (_, y) => img[y * 2 + x]);
    expect(column(0).every((v) => v === 0)).toBe(true);
    expect(column(1).filter((v) => v === 0)).toHaveLength(1); // the zero sample itself, on the centre line
    expect(column(1)[5]).toBe(0);
  });
});
