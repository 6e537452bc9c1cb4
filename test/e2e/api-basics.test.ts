import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { createApi } from '../../apps/api/bootstrap.js';
import { createDataSource, runMigrations } from '../../libs/database/index.js';
import { CLI, cliOptions, TcpRelay, testConfig } from '../support/test-env.js';

const run = promisify(execFile);

/** Waits until /health/ready answers `status`, or fails with the last answer. */
async function readyStatus(base: string, want: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last: { status: number; body: Record<string, unknown> } | undefined;
  while (Date.now() < deadline) {
    const res = await fetch(`${base}/health/ready`);
    last = { status: res.status, body: (await res.json()) as Record<string, unknown> };
    if (last.status === want) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`health/ready stayed ${last?.status}: ${JSON.stringify(last?.body)}`);
}

describe('API basics (real PostgreSQL, Redis and S3 behind a relay)', () => {
  let app: INestApplication;
  let base: string;
  const s3 = new URL(testConfig().S3_ENDPOINT ?? 'http://127.0.0.1:8080');
  const relay = new TcpRelay(s3.hostname, Number(s3.port || 80));

  beforeAll(async () => {
    const ds = createDataSource(testConfig());
    await ds.initialize();
    await runMigrations(ds);
    await ds.destroy();
    const port = await relay.open();
    app = await createApi(testConfig({ S3_ENDPOINT: `http://127.0.0.1:${port}`, API_BODY_LIMIT: '10kb' }), { shutdownHooks: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    await relay.close();
  });

  it('is live and ready, and says whether originals are write-once', async () => {
    expect(await (await fetch(`${base}/health/live`)).json()).toEqual({ status: 'ok' });
    const { body } = await readyStatus(base, 200);
    const checks = body.checks as Record<string, Record<string, unknown>>;
    expect(checks.database.status).toBe('up');
    expect(checks.redis.status).toBe('up');
    expect(checks.storage.status).toBe('up');
    expect(typeof checks.storage.originalsWriteOnce).toBe('boolean');
  });

  it('turns 503 naming storage when S3 goes away, and 200 when it returns', async () => {
    await relay.close();
    const down = await readyStatus(base, 503);
    expect(down.body.code).toBe('NOT_READY');
    expect((down.body.details as { failing: string[] }).failing).toEqual(['storage']);
    expect(String(down.body.message)).toMatch(/^Not ready: storage/);

    await relay.open();
    const up = await readyStatus(base, 200);
    expect(up.body.status).toBe('ready');
  });

  it('serves versioned routes under /api/v1 and the OpenAPI document', async () => {
    const sys = await fetch(`${base}/api/v1/system`);
    expect(sys.status).toBe(200);
    expect(await sys.json()).toMatchObject({ service: 'evidence-service', version: '0.1.0' });

    const doc = (await (await fetch(`${base}/api/docs-json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/api/v1/system']));
    const ui = await fetch(`${base}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('answers errors in one JSON shape with stable codes', async () => {
    const missing = await fetch(`${base}/api/v1/no-such-thing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ code: 'NOT_FOUND', message: 'Cannot GET /api/v1/no-such-thing' });

    const big = await fetch(`${base}/api/v1/system`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(20_000) }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('sets security headers and gives every request an id of its own, whatever the caller sent', async () => {
    const res = await fetch(`${base}/health/live`, { headers: { 'x-request-id': 'case-42.req-1' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();

    const bad = await fetch(`${base}/health/live`, { headers: { 'x-request-id': 'no spaces <allowed>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lets the CLI read readiness (dems health --json)', async () => {
    const { stdout } = await run('node', [CLI, 'health', '--json'], cliOptions({ DEMS_API_URL: base }));
    expect(JSON.parse(stdout).status).toBe('ready');
  });
});
