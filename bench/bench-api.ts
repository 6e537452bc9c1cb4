import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './harness.js';

const API_MAIN = fileURLToPath(new URL('../apps/api/main.js', import.meta.url));

/** The API in a process of its own on a random port, ready; stop() ends it. */
export async function startBenchApi(): Promise<{ base: string; stop(): void }> {
  const port = 39000 + Math.floor(Math.random() * 1000);
  const api = spawn(process.execPath, [API_MAIN], { env: { ...process.env, API_PORT: String(port), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const stop = () => void api.kill('SIGTERM');
  for (let i = 0; ; i++) {
    if (i > 100) {
      stop();
      throw new Error('API did not start');
    }
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { base, stop };
}

export async function signIn(base: string, username: string, password: string): Promise<string> {
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  return ((await login.json()) as { accessToken: string }).accessToken;
}

/** autocannon against one path; any non-2xx answer or error fails the benchmark. */
export async function loadPath(ctx: BenchContext, url: string, options: { connections: number; seconds: number; headers: Record<string, string> }): Promise<autocannon.Result> {
  const r = await autocannon({ url, connections: options.connections, duration: options.seconds, headers: options.headers });
  const { pathname, search } = new URL(url);
  const path = pathname + search;
  if (r.non2xx || r.errors) throw new Error(`${path}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  ctx.log(`${path}: ${r.requests.total} requests, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${r.requests.average} req/s`);
  return r;
}
