import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * The built API as it runs in production (its own process, JSON logs on stdout): the log line
 * that closes a request names its request id (as sent back in X-Request-Id), the signed-in user
 * and, on a case's routes, the case.
 */
describe('structured request logs (built API in its own process, real PostgreSQL, Redis, S3)', () => {
  const h = new ApiHarness();
  let api: ChildProcess;
  let base: string;
  let oic: TestUser;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    await h.start();
    oic = await h.user('logged', 'investigator');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // The child gets the test run's environment (database, Redis, S3, secrets) with its own port and log level.
    api = spawn('sh', ['-c', `API_HOST=127.0.0.1 API_PORT=${port} LOG_LEVEL=info exec node ${resolve('dist/apps/api/main.js')}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    api.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const complete = buffered.split('\n');
      buffered = complete.pop()!;
      for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    for (let up = false; !up; ) {
      up = await fetch(`${base}/health/live`).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 200));
      expect(api.exitCode).toBeNull();
    }
  });

  afterAll(async () => {
    if (api && api.exitCode === null) {
      const exited = new Promise((r) => api.once('exit', r));
      api.kill('SIGTERM');
      await exited;
    }
    await h.stop();
  });

  const closing = async (requestId: string) => {
    for (;;) {
      const line = lines.find((l) => (l.req as { id?: string } | undefined)?.id === requestId && l.res !== undefined);
      if (line) return line;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('names the request, the user and the case on the line that closes a request', async () => {
    const auth = { authorization: `Bearer ${oic.token}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/api/v1/cases`, { method: 'POST', headers: auth, body: JSON.stringify({ urn: freshUrn(), title: 'Logged case' }) });
    expect(created.status).toBe(201);
    const caseId = ((await created.json()) as { id: string }).id;
    const onCase = await fetch(`${base}/api/v1/cases/${caseId}/exhibits`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ reference: 'LG/1', sourceType: 'cctv', description: 'export', producer: 'L G' }),
    });
    expect(onCase.status).toBe(201);

    const first = await closing(created.headers.get('x-request-id')!);
    expect(first).toMatchObject({ service: 'api', userId: oic.id, res: { statusCode: 201 } });
    expect(first.caseId).toBeUndefined();
    const second = await closing(onCase.headers.get('x-request-id')!);
    expect(second).toMatchObject({ service: 'api', userId: oic.id, caseId, res: { statusCode: 201 } });
    // Each request's fields stay its own.
    expect(first.req).not.toEqual(second.req);
  });

  it('names no user on a request nobody signed in to', async () => {
    const res = await fetch(`${base}/api/v1/cases`);
    expect(res.status).toBe(401);
    const line = await closing(res.headers.get('x-request-id')!);
    expect(line.userId).toBeUndefined();
    expect(line).toMatchObject({ res: { statusCode: 401 } });
  });
});
