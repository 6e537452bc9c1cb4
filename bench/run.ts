import os from 'node:os';
import { loadConfig } from '../libs/config/index.js';
import { createObjectStore } from '../libs/storage/index.js';
import { printFigures, saveResults, type Benchmark, type BenchResults } from './harness.js';
import { caseList } from './case-list.bench.js';
import { ingestBench } from './ingest.bench.js';
import { ledgerBench } from './ledger.bench.js';
import { storageStream } from './storage-stream.bench.js';
import { disclosureVerify } from './disclosure-verify.bench.js';
import { mediaBench } from './media.bench.js';
import { disclosureBench } from './disclosure.bench.js';
import { extractionInventory } from './extraction-inventory.bench.js';

/**
 * Every benchmark, by name. `npm run bench [-- name… --key value…]` runs the named ones (default
 * all); `--smoke` runs each once with its tiny `smoke` arguments (npm test does), judging no target.
 */
const BENCHMARKS: Benchmark[] = [storageStream, caseList, ledgerBench, ingestBench, disclosureBench, disclosureVerify, extractionInventory, mediaBench];

const names: string[] = [];
const args = new Map<string, string>();
let smoke = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--smoke') smoke = true;
  else if (argv[i].startsWith('--')) args.set(argv[i].slice(2), argv[++i] ?? '');
  else names.push(argv[i]);
}
const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const chosen = names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;

// Every benchmark finds the bench buckets in place, whichever runs first (on a fresh machine the
// storage baseline used to run before anything had created them: NoSuchBucket).
const store = createObjectStore(loadConfig());
await store.ensureBuckets();
store.destroy();

const results: BenchResults = [];
for (const b of chosen) {
  console.log(`\n# ${b.name}: ${b.description}${smoke ? ' (smoke run)' : ''}`);
  // A smoke run takes the benchmark's tiny arguments (any given on the command line win).
  const t0 = Date.now();
  const figures = await b.run({ args: smoke ? new Map([...Object.entries(b.smoke), ...args]) : args, log: (m) => console.log(`  ${m}`) });
  console.log(`  (${b.name} took ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  // Tiny sizes say nothing about the targets: none is judged, and nothing is saved.
  results.push({ benchmark: b.name, figures: smoke ? figures.map(({ target: _target, pass: _pass, ...f }) => f) : figures });
}
printFigures(results);
if (smoke) console.log(`smoke run: ${results.length} benchmark(s) set up and ran; no target judged, nothing saved`);
else {
  const file = saveResults(results, { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version });
  console.log(`results written to ${file}`);
}
const failed = results.flatMap((r) => r.figures).filter((f) => f.pass === false);
if (failed.length) console.log(`targets missed: ${failed.map((f) => f.figure).join('; ')}`);
