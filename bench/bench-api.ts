import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './harness.js';
import { freePort } from './ingest.bench.js';

const API_MAIN = fileURLToPath(new URL('../apps/api/main.js', import.meta.url));
const WEB_MAIN = fileURLToPath(new URL('../apps/web/main.js', import.meta.url));

/** A compiled entry point in a process of its own on a random port, once `readyPath` answers; stop() ends it. */
async function startChild(main: string, env: Record<string, string>, port: number, readyPath: string, what: string): Promise<{ base: string; stop(): void }> {
  const child = spawn(process.execPath, [main], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  const stop = () => void child.kill('SIGTERM');
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (let i = 0; ; i++) {
    // A child that stopped (a bad setting, the port taken meanwhile) fails at once: whatever else answers on the port is not it.
    if (exited !== undefined) throw new Error(`${what} exited (${exited}) before it was ready`);
    if (i > 100) {
      stop();
      throw new Error(`${what} did not start`);
    }
    if (await fetch(base + readyPath).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { base, stop };
}

/** The API in a process of its own on a random port, ready; stop() ends it. */
export async function startBenchApi(): Promise<{ base: string; stop(): void }> {
  const port = await freePort();
  return startChild(API_MAIN, { API_PORT: String(port), LOG_LEVEL: 'warn' }, port, '/health/ready', 'API');
}

/** The web application in a process of its own, in front of the API at apiBase; stop() ends it. */
export async function startBenchWeb(apiBase: string): Promise<{ base: string; stop(): void }> {
  const port = await freePort();
  const env = { WEB_PORT: String(port), WEB_API_URL: apiBase, WEB_SESSION_SECRET: randomBytes(32).toString('base64url'), LOG_LEVEL: 'silent' };
  return startChild(WEB_MAIN, env, port, '/health/live', 'the web application');
}

/** Signs in through the web application's form (with its CSRF token); returns the session cookie. */
export async function signInToWeb(base: string, username: string, password: string): Promise<string> {
  const form = await fetch(`${base}/sign-in`);
  const cookie = (form.headers.get('set-cookie') ?? '').split(';')[0];
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const body = new URLSearchParams({ _csrf: csrf, username, password, returnTo: '/cases' });
  const res = await fetch(`${base}/sign-in`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
  if (res.status !== 303) throw new Error(`web sign-in answered ${res.status}`);
  return (res.headers.get('set-cookie') ?? '').split(';')[0];
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
