import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Benchmark, Figure } from './harness.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const CHILD = fileURLToPath(new URL('./storage-stream.child.js', import.meta.url));

interface PathRun {
  path: string;
  put: number;
  get: number;
  peakRssBytes: number;
}

/**
 * A streamed put and get through our storage adapter (which also SHA-256-hashes every byte and
 * re-checks the stored size) against the plain SDK (lib-storage Upload / GetObject) with the
 * same part size and concurrency, on the same server, in the same run. Each path runs in a
 * process of its own (so peak RSS is that path's alone), rounds alternate the order, and each
 * figure is the median of the rounds.
 */
export const storageStream: Benchmark = {
  name: 'storage-stream',
  description: 'streamed put and get (default 1 GiB): our S3 adapter vs the plain SDK',
  smoke: { 'size-mb': '4', rounds: '1' },
  async run(ctx) {
    const bytes = Number(ctx.args.get('size-mb') ?? 1024) * MiB;
    const rounds = Number(ctx.args.get('rounds') ?? 3);
    const runs: Record<'ours' | 'baseline', PathRun[]> = { ours: [], baseline: [] };
    for (let i = 0; i < rounds; i++) {
      const order: ('ours' | 'baseline')[] = i % 2 ? ['ours', 'baseline'] : ['baseline', 'ours'];
      for (const path of order) {
        const { stdout } = await run(process.execPath, [CHILD, path, String(bytes), `bench/storage-stream/${path}-${Date.now()}`], {
          maxBuffer: 1 << 20,
        });
        const r = JSON.parse(stdout.trim().split('\n').pop()!) as PathRun;
        runs[path].push(r);
        ctx.log(`${path}: put ${(bytes / r.put / 1e6).toFixed(1)} MB/s, get ${(bytes / r.get / 1e6).toFixed(1)} MB/s, peak RSS ${(r.peakRssBytes / 1e6).toFixed(0)} MB`);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const mbps = (path: 'ours' | 'baseline', op: 'put' | 'get') => median(runs[path].map((r) => bytes / r[op] / 1e6));
    const figure = (op: 'put' | 'get'): Figure => {
      const ours = mbps('ours', op);
      const baseline = mbps('baseline', op);
      return { figure: `${op} throughput (${bytes / MiB} MiB)`, unit: 'MB/s', ours, baseline, ratio: ours / baseline, target: 'ratio >= 0.95', pass: ours / baseline >= 0.95 };
    };
    const rss = (path: 'ours' | 'baseline') => Math.max(...runs[path].map((r) => r.peakRssBytes)) / 1e6;
    return [
      figure('put'),
      figure('get'),
      { figure: 'peak RSS of the process', unit: 'MB', ours: rss('ours'), baseline: rss('baseline'), target: 'ours <= 200 MB', pass: rss('ours') <= 200 },
    ];
  },
};
