import { mkdirSync, writeFileSync } from 'node:fs';
import Table from 'cli-table3';

/** One measured figure: our path and, where there is one, its baseline from the same run. */
export interface Figure {
  figure: string;
  unit: string;
  ours: number;
  baseline?: number;
  /** ours / baseline, or baseline / ours for lower-is-better figures (always "higher is better"). */
  ratio?: number;
  target?: string;
  pass?: boolean;
}

export interface BenchContext {
  args: Map<string, string>;
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** Samples this process's resident set size; `peak()` is the highest seen since start(). */
export class RssSampler {
  private timer?: NodeJS.Timeout;
  private max = 0;

  start(intervalMs = 20): this {
    this.max = process.memoryUsage.rss();
    this.timer = setInterval(() => {
      this.max = Math.max(this.max, process.memoryUsage.rss());
    }, intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): number {
    clearInterval(this.timer);
    this.max = Math.max(this.max, process.memoryUsage.rss());
    return this.max;
  }
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

export function printAndSave(results: { benchmark: string; figures: Figure[] }[], machine: Record<string, unknown>): string {
  const table = new Table({ head: ['benchmark', 'figure', 'ours', 'baseline', 'ratio', 'target', 'ok'], style: { head: [], border: [] } });
  for (const r of results) {
    for (const f of r.figures) {
      table.push([
        r.benchmark,
        f.figure,
        `${fmt(f.ours)} ${f.unit}`,
        f.baseline === undefined ? '' : `${fmt(f.baseline)} ${f.unit}`,
        f.ratio === undefined ? '' : f.ratio.toFixed(3),
        f.target ?? '',
        f.pass === undefined ? '' : f.pass ? 'yes' : 'NO',
      ]);
    }
  }
  console.log(table.toString());
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine, results }, null, 2));
  return file;
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);
}
