import type { FrameTimingFacts, TimestampGap } from './media.types.js';

const MAX_LISTED_GAPS = 1000;

/**
 * Folds ffprobe's per-frame lines (`-show_frames -of compact`, one frame at a time, in
 * presentation order) into frame facts without keeping the frames: a 24-hour CCTV file has
 * two million of them. Pure: feed it lines, read `facts()` at the end.
 */
export class FrameTimingAccumulator {
  private frames = 0;
  private packets: number | undefined;
  private interlaced = 0;
  private noTimestamp = 0;
  private first: number | undefined;
  private prev: number | undefined;
  private last: number | undefined;
  private lastDuration: number | undefined;
  private minInterval = Infinity;
  private maxInterval = 0;
  private intervalSum = 0;
  private intervals = 0;
  private readonly gaps: TimestampGap[] = [];
  private gapCount = 0;
  private partial = '';

  constructor(
    private readonly gapThresholdSeconds: number,
    private readonly timing: 'stream' | 'assumed' = 'stream',
  ) {}

  /** Feeds raw stdout text; lines may be split across chunks. */
  push(chunk: string): void {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  /** One compact line: `frame|best_effort_timestamp_time=0.04|pkt_duration_time=0.04|interlaced_frame=0`. */
  line(raw: string): void {
    const line = raw.trim();
    if (line.startsWith('stream|')) {
      const m = /nb_read_packets=(\d+)/.exec(line);
      if (m) this.packets = (this.packets ?? 0) + Number(m[1]);
      return;
    }
    if (!line.startsWith('frame|')) return;
    const fields = new Map<string, string>();
    for (const part of line.split('|').slice(1)) {
      if (part === 'side_data') break; // side data sections follow the frame's own fields
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
    }
    this.frame(
      numberOrUndefined(fields.get('best_effort_timestamp_time') ?? fields.get('pts_time')),
      numberOrUndefined(fields.get('pkt_duration_time') ?? fields.get('duration_time')),
      fields.get('interlaced_frame') === '1',
    );
  }

  frame(pts: number | undefined, duration: number | undefined, interlaced: boolean): void {
    const index = this.frames++;
    if (interlaced) this.interlaced++;
    if (pts === undefined) {
      this.noTimestamp++;
      return;
    }
    if (this.first === undefined) this.first = pts;
    if (this.prev !== undefined) {
      const delta = pts - this.prev;
      if (delta > this.gapThresholdSeconds || delta < 0) {
        this.gapCount++;
        if (this.gaps.length < MAX_LISTED_GAPS) {
          this.gaps.push({
            afterFrame: index - 1,
            fromSeconds: round6(this.prev),
            toSeconds: round6(pts),
            gapSeconds: round6(delta),
            direction: delta < 0 ? 'backward' : 'forward',
          });
        }
      } else if (delta > 0) {
        this.minInterval = Math.min(this.minInterval, delta);
        this.maxInterval = Math.max(this.maxInterval, delta);
        this.intervalSum += delta;
        this.intervals++;
      }
    }
    this.prev = pts;
    this.last = this.last === undefined ? pts : Math.max(this.last, pts);
    if (pts === this.last) this.lastDuration = duration;
  }

  facts(): FrameTimingFacts {
    const hasIntervals = this.intervals > 0;
    // Tolerance: 1 % of the shortest interval plus rounding in ffprobe's 6-decimal output.
    const vfr = hasIntervals && this.maxInterval - this.minInterval > this.minInterval * 0.01 + 2e-6;
    const span =
      this.first !== undefined && this.last !== undefined
        ? this.last - this.first + (this.lastDuration ?? (hasIntervals ? this.intervalSum / this.intervals : 0))
        : undefined;
    return {
      decodedFrames: this.frames,
      ...(this.packets !== undefined ? { packets: this.packets } : {}),
      ...(this.first !== undefined ? { firstPtsSeconds: round6(this.first) } : {}),
      ...(this.last !== undefined ? { lastPtsSeconds: round6(this.last) } : {}),
      ...(span !== undefined ? { spanSeconds: round6(span) } : {}),
      ...(hasIntervals
        ? {
            minFrameIntervalSeconds: round6(this.minInterval),
            maxFrameIntervalSeconds: round6(this.maxInterval),
            meanFrameIntervalSeconds: round6(this.intervalSum / this.intervals),
          }
        : {}),
      variableFrameRate: this.timing === 'stream' && vfr,
      interlacedFrames: this.interlaced,
      framesWithoutTimestamp: this.noTimestamp,
      gapThresholdSeconds: this.gapThresholdSeconds,
      gaps: this.timing === 'stream' ? this.gaps : [],
      gapCount: this.timing === 'stream' ? this.gapCount : 0,
      timing: this.timing,
    };
  }
}

function numberOrUndefined(s: string | undefined): number | undefined {
  if (s === undefined || s === 'N/A' || s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
