import { describe, expect, it } from '@jest/globals';
import type { MediaProgress } from './media.types.js';
import { ProgressParser } from './progress-parser.js';

describe('ProgressParser', () => {
  it('percent from out_time_us against the duration; dup/drop kept; 100 at the end', () => {
    const seen: MediaProgress[] = [];
    const p = new ProgressParser(10, (x) => seen.push(x));
    p.push('frame=25\nout_time_us=N/A\ndup_frames=0\ndrop_frames=0\nprogress=continue\n');
    p.push('frame=125\nout_time_us=5000000\nout_time_ms=5000000\ndup_fr');
    p.push('ames=0\ndrop_frames=0\nprogress=continue\nframe=250\nout_time_us=10000000\ndup_frames=1\ndrop_frames=2\nprogress=end\n');
    expect(seen).toEqual([{ frame: 25 }, { percent: 50, processedSeconds: 5, frame: 125 }, { percent: 100, processedSeconds: 10, frame: 250 }]);
    expect(p.totals).toMatchObject({ frame: 250, dupFrames: 1, dropFrames: 2, ended: true });
  });

  it('never reports 100 before the end, nor more than 100', () => {
    const seen: MediaProgress[] = [];
    const p = new ProgressParser(1, (x) => seen.push(x));
    p.push('out_time_us=5000000\nprogress=continue\n');
    expect(seen[0].percent).toBe(99.9);
  });

  it('without a duration: no percent, still frames and time', () => {
    const seen: MediaProgress[] = [];
    new ProgressParser(undefined, (x) => seen.push(x)).push('frame=3\nout_time_us=120000\nprogress=continue\n');
    expect(seen).toEqual([{ processedSeconds: 0.12, frame: 3 }]);
  });

  it('a throwing callback does not break parsing', () => {
    const p = new ProgressParser(10, () => {
      throw new Error('caller bug');
    });
    expect(() => p.push('frame=1\nout_time_us=1000000\nprogress=continue\nframe=2\nprogress=end\n')).not.toThrow();
    expect(p.totals).toMatchObject({ frame: 2, ended: true });
  });
});
