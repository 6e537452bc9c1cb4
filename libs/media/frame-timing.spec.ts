import { describe, expect, it } from '@jest/globals';
import { FrameTimingAccumulator } from './frame-timing.js';

const line = (pts: number | 'N/A', dur = 0.04, interlaced = 0) =>
  `frame|best_effort_timestamp_time=${typeof pts === 'number' ? pts.toFixed(6) : pts}|pkt_duration_time=${dur.toFixed(6)}|interlaced_frame=${interlaced}\n`;

describe('FrameTimingAccumulator', () => {
  it('constant rate: count, span, not VFR, no gaps', () => {
    const acc = new FrameTimingAccumulator(1);
    for (let i = 0; i < 100; i++) acc.push(line(i * 0.04));
    acc.push('stream|nb_read_packets=100\n');
    acc.end();
    expect(acc.facts()).toMatchObject({ decodedFrames: 100, packets: 100, firstPtsSeconds: 0, lastPtsSeconds: 3.96, spanSeconds: 4, variableFrameRate: false, gaps: [], gapCount: 0 });
  });

  it('variable rate is recognised; ffprobe\'s 6-decimal rounding of 30000/1001 is not', () => {
    const vfr = new FrameTimingAccumulator(1);
    [0, 0.033, 0.066, 0.15, 0.2, 0.3].forEach((t) => vfr.push(line(t)));
    expect(vfr.facts().variableFrameRate).toBe(true);
    const ntsc = new FrameTimingAccumulator(1);
    for (let i = 0; i < 300; i++) ntsc.push(line(Math.round(((i * 1001) / 30000) * 1e6) / 1e6, 1001 / 30000));
    expect(ntsc.facts().variableFrameRate).toBe(false);
  });

  it('lists forward gaps above the threshold and backward jumps, with positions', () => {
    const acc = new FrameTimingAccumulator(1);
    [0, 0.04, 0.08, 5.08, 5.12, 2.0, 2.04].forEach((t) => acc.push(line(t)));
    const f = acc.facts();
    expect(f.gapCount).toBe(2);
    expect(f.gaps).toEqual([
      { afterFrame: 2, fromSeconds: 0.08, toSeconds: 5.08, gapSeconds: 5, direction: 'forward' },
      { afterFrame: 4, fromSeconds: 5.12, toSeconds: 2, gapSeconds: -3.12, direction: 'backward' },
    ]);
    expect(f.variableFrameRate).toBe(false); // gaps are not frame intervals
  });

  it('the threshold is configurable', () => {
    const acc = new FrameTimingAccumulator(0.1);
    [0, 0.04, 0.3].forEach((t) => acc.push(line(t)));
    expect(acc.facts().gaps).toHaveLength(1);
  });

  it('lines split across chunks, side data after the fields, interlaced flags', () => {
    const acc = new FrameTimingAccumulator(1);
    const text =
      'frame|best_effort_timestamp_time=0.000000|pkt_duration_time=0.040000|interlaced_frame=1|side_data|side_data_type=H.26[45] User Data Unregistered SEI message\n\n' +
      line(0.04, 0.04, 1) +
      line(0.08);
    for (let i = 0; i < text.length; i += 7) acc.push(text.slice(i, i + 7));
    acc.end();
    expect(acc.facts()).toMatchObject({ decodedFrames: 3, interlacedFrames: 2, lastPtsSeconds: 0.08 });
  });

  it('raw streams: frames without timestamps are counted, timing marked assumed, no gaps claimed', () => {
    const acc = new FrameTimingAccumulator(1, 'assumed');
    for (let i = 0; i < 6; i++) acc.push(line('N/A'));
    acc.push('stream|nb_read_packets=6\n');
    expect(acc.facts()).toMatchObject({ decodedFrames: 6, framesWithoutTimestamp: 6, timing: 'assumed', variableFrameRate: false, gaps: [] });
  });
});
