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
  /**
   * The arguments of a smoke run (`--smoke`, run by npm test): tiny sizes, one round, a second of
   * load, so that a benchmark that cannot set itself up fails the suite without measuring anything.
   */
  smoke: Record<string, string>;
  run(ctx: BenchContext): Promise<Figure[]>;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

export type BenchResults = { benchmark: string; figures: Figure[] }[];

export function printFigures(results: BenchResults): void {
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
}

/** Writes the run's figures under bench/results/; returns the file's path. */
export function saveResults(results: BenchResults, machine: Record<string, unknown>): string {
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine, results }, null, 2));
  return file;
}

function fmt(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);
}
