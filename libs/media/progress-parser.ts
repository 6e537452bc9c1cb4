import type { MediaProgress } from './media.types.js';

export interface ProgressTotals {
  frame?: number;
  outTimeSeconds?: number;
  dupFrames: number;
  dropFrames: number;
  ended: boolean;
}

/**
 * Reads ffmpeg's `-progress pipe:1` key=value blocks (each ends with `progress=continue` or
 * `progress=end`) and reports percent against the known duration. Pure: feed text, get updates.
 */
export class ProgressParser {
  private partial = '';
  private block = new Map<string, string>();
  readonly totals: ProgressTotals = { dupFrames: 0, dropFrames: 0, ended: false };

  constructor(
    private readonly durationSeconds: number | undefined,
    private readonly onProgress?: (p: MediaProgress) => void,
  ) {}

  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim();
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1);
      this.block.set(key, value);
      if (key === 'progress') this.flush(value === 'end');
    }
  }

  private flush(end: boolean): void {
    const b = this.block;
    const frame = Number(b.get('frame'));
    // out_time_us (and the misnamed out_time_ms, also µs) are N/A before the first packet.
    const us = Number(b.get('out_time_us') ?? b.get('out_time_ms'));
    if (Number.isFinite(frame)) this.totals.frame = frame;
    if (Number.isFinite(us) && us >= 0) this.totals.outTimeSeconds = us / 1e6;
    const dup = Number(b.get('dup_frames'));
    const drop = Number(b.get('drop_frames'));
    if (Number.isFinite(dup)) this.totals.dupFrames = dup;
    if (Number.isFinite(drop)) this.totals.dropFrames = drop;
    if (end) this.totals.ended = true;
    this.block = new Map();
    if (!this.onProgress) return;
    const t = this.totals.outTimeSeconds;
    let percent: number | undefined;
    if (end) percent = 100;
    else if (t !== undefined && this.durationSeconds && this.durationSeconds > 0) {
      percent = Math.max(0, Math.min(99.9, Math.round((t / this.durationSeconds) * 1000) / 10));
    }
    try {
      this.onProgress({
        ...(percent !== undefined ? { percent } : {}),
        ...(t !== undefined ? { processedSeconds: t } : {}),
        ...(this.totals.frame !== undefined ? { frame: this.totals.frame } : {}),
      });
    } catch {
      // A caller's progress callback must not break the run (it is called from a stream handler).
    }
  }
}
