import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROUTE_CLASSES } from '../../apps/api/rate-limit/rate-class.js';
import { FixityService } from '../../libs/custody/index.js';
import { EvidenceFilesService } from '../../libs/evidence/index.js';
import { createRedis } from '../../libs/queue/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { CLI, cliOptions } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

/**
 * Rate limits (counted in Redis, shared by API replicas) and who may start expensive work. Each
 * block runs on a Redis prefix of its own, so counts from other suites never mix with its own.
 */
const prefix = () => `dems-rate-${randomBytes(4).toString('hex')}`;

const retryAfter = (res: { headers: Headers }) => Number(res.headers.get('retry-after'));

describe('the sign-in limit is per client address and shared by every API replica', () => {
  const a = new ApiHarness();
  const b = new ApiHarness();

  beforeAll(async () => {
    const shared = { QUEUE_PREFIX: prefix(), RATE_LIMIT_AUTH: '6/1h' };
    await a.start(shared);
    await b.start(shared);
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });

  it('answers a burst past the limit, spread over two instances, with 429 RATE_LIMITED and Retry-After', async () => {
    const answers = [];
    for (let i = 0; i < 12; i++) {
      const api = i % 2 === 0 ? a : b;
      const res = await api.call('POST', '/api/v1/auth/login', { body: { username: `nobody-${i}-${randomBytes(3).toString('hex')}`, password: 'wrong password' } });
      answers.push({ instance: api === a ? 'a' : 'b', res });
    }
    // Six attempts in all were evaluated (each instance alone would have allowed six), then both refused.
    expect(answers.slice(0, 6).map((x) => x.res.status)).toEqual([401, 401, 401, 401, 401, 401]);
    const refused = answers.slice(6);
    expect(refused.map((x) => x.res.status)).toEqual([429, 429, 429, 429, 429, 429]);
    expect(new Set(refused.map((x) => x.instance))).toEqual(new Set(['a', 'b']));
    for (const { res } of refused) {
      expect(res.body).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/try again in \d+ s/) });
      expect(retryAfter(res)).toBeGreaterThanOrEqual(1);
      expect(retryAfter(res)).toBeLessThanOrEqual(3600);
    }
  });

  it('refuses even the right password from that address (the limit comes on top of the account lockout)', async () => {
    const res = await a.call('POST', '/api/v1/auth/login', { body: { username: 'admin', password: 'whatever it is' } });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('RATE_LIMITED');
  });
});

describe('limits per user and per route class', () => {
  const h = new ApiHarness();
  let userA: TestUser;
  let userB: TestUser;

  beforeAll(async () => {
    await h.start({ QUEUE_PREFIX: prefix(), RATE_LIMIT_READ: '5/1h', RATE_LIMIT_WRITE: '3/1h', RATE_LIMIT_UPLOAD: '1/1h' });
    userA = await h.user('rate-a', 'investigator');
    userB = await h.user('rate-b', 'investigator');
  });
  afterAll(() => h.stop());

  it("does not limit user B for user A's burst", async () => {
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await h.call('GET', '/api/v1/me', { token: userA.token })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const b = await h.call('GET', '/api/v1/me', { token: userB.token });
    expect(b.status).toBe(200);
    expect(b.body.username).toBe(userB.username);
  });

  it('counts writes apart from reads: user A, out of reads, can still write until the write limit', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await h.call('POST', '/api/v1/cases', { token: userA.token, body: { urn: freshUrn(), title: `Rate case ${i}` } })).status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect((await h.call('GET', '/api/v1/me', { token: userA.token })).status).toBe(429);
  });

  it('counts the start of an upload, not each of its chunks: a file sent in 12 PATCHes arrives whole', async () => {
    const uploader = await h.user('rate-c', 'investigator');
    const c = await h.call('POST', '/api/v1/cases', { token: uploader.token, body: { urn: freshUrn(), title: 'Chunked upload' } });
    const x = await h.call('POST', `/api/v1/cases/${c.body.id}/exhibits`, {
      token: uploader.token,
      body: { reference: 'RL/1', sourceType: 'cctv', description: 'Chunked export', producer: 'R Limit' },
    });
    expect([c.status, x.status]).toEqual([201, 201]);
    const bytes = randomBytes(12 * 64 * 1024);
    const metadata = { caseId: c.body.id as string, exhibitId: x.body.id as string, filename: 'chunked.bin' };
    const up = await tusUpload(`${h.base}/api/v1/uploads`, uploader.token, bytes, { metadata, chunkSize: 64 * 1024 });
    expect(up.error).toBeUndefined();
    const state = await h.call('GET', `/api/v1/uploads/${uploadIdOf(up.url)}`, { token: uploader.token });
    expect(state.body).toMatchObject({ state: 'verifying', size: bytes.length, progress: { bytesReceived: bytes.length } });
    // Sealed here (no worker runs in this file): the stored bytes hash to what was sent.
    const sealed = await h.app.get(EvidenceFilesService).seal(uploadIdOf(up.url), undefined);
    expect(sealed.state).toBe('sealed');
    expect(sealed.hashes.find((x) => x.algorithm === 'sha256')?.value).toBe(createHash('sha256').update(bytes).digest('hex'));
    // A second upload is over the limit of one new upload an hour.
    const again = await tusUpload(`${h.base}/api/v1/uploads`, uploader.token, bytes, { metadata: { ...metadata, filename: 'again.bin' } });
    expect(again.error).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  });

  it('classes only routes the API serves (the table cannot drift from the controllers)', async () => {
    const doc = await h.call('GET', '/api/docs-json');
    expect(doc.status).toBe(200);
    const paths = doc.body.paths as Record<string, Record<string, unknown>>;
    for (const key of Object.keys(ROUTE_CLASSES)) {
      const [method, route] = key.split(' ');
      const openApi = route.replace(/:(\w+)/g, '{$1}');
      expect({ key, served: Boolean(paths[openApi]?.[method.toLowerCase()]) }).toEqual({ key, served: true });
    }
  });
});

describe('case fixity runs: who may start one, who asked, one at a time', () => {
  const h = new ApiHarness();
  let oic: TestUser;
  let investigator: TestUser;
  let reviewer: TestUser;
  let supervisor: TestUser;
  let auditor: TestUser;
  let caseId: string;

  beforeAll(async () => {
    // A prefix of its own: no worker listens there, so a requested run stays queued.
    await h.start({ QUEUE_PREFIX: prefix() });
    oic = await h.user('fx-oic', 'investigator');
    investigator = await h.user('fx-inv', 'investigator');
    reviewer = await h.user('fx-rev', 'supervisor');
    supervisor = await h.user('fx-sup', 'supervisor');
    auditor = await h.user('fx-aud', 'auditor');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Fixity limits' } });
    expect(c.status).toBe(201);
    caseId = c.body.id as string;
    for (const [u, caseRole] of [[investigator, 'investigator'], [reviewer, 'reviewer']] as const) {
      expect((await h.call('PUT', `/api/v1/cases/${caseId}/members/${u.id}`, { token: oic.token, body: { caseRole } })).status).toBe(200);
    }
  });
  afterAll(() => h.stop());

  const runs = () => h.ds.query(`SELECT id, status, requested_by FROM fixity_runs WHERE case_id = $1 ORDER BY started_at`, [caseId]) as Promise<{ id: string; status: string; requested_by: string | null }[]>;

  it('refuses a reviewer of the case and a supervisor reading with a reason (403), and starts nothing', async () => {
    const rev = await h.call('POST', `/api/v1/cases/${caseId}/fixity`, { token: reviewer.token, headers: JUSTIFY });
    expect(rev.status).toBe(403);
    expect(rev.body.code).toBe('CASE_PERMISSION_DENIED');
    const sup = await h.call('POST', `/api/v1/cases/${caseId}/fixity`, { token: supervisor.token, headers: JUSTIFY });
    expect(sup.status).toBe(403);
    expect(sup.body.code).toBe('CASE_PERMISSION_DENIED');
    expect(await runs()).toEqual([]);
  });

  it('records who asked, in the run and in a custody event, and refuses a second run of the case while the first is pending', async () => {
    const first = await h.call('POST', `/api/v1/cases/${caseId}/fixity`, { token: oic.token });
    expect(first.status).toBe(202);
    const runId = first.body.runId as string;
    expect(await runs()).toEqual([{ id: runId, status: 'queued', requested_by: oic.id }]);
    const [event] = await h.ds.query(`SELECT actor_id, object_type, object_id FROM custody_events WHERE type = 'fixity.requested' AND case_id = $1`, [caseId]);
    expect(event).toEqual({ actor_id: oic.id, object_type: 'fixity_run', object_id: runId });

    const second = await h.call('POST', `/api/v1/cases/${caseId}/fixity`, { token: investigator.token });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'FIXITY_RUN_IN_PROGRESS', details: { runId } });
    expect(await runs()).toHaveLength(1);

    // The worker's part (run here in-process): the requested run is the one that runs and completes.
    const done = await h.app.get(FixityService).run('case', caseId, undefined, runId);
    expect(done).toMatchObject({ id: runId, status: 'completed', requestedBy: oic.id });
    const listed = (await h.call('GET', '/api/v1/fixity/runs', { token: auditor.token })).body as unknown as { id: string; requestedBy: string }[];
    expect(listed.find((r) => r.id === runId)?.requestedBy).toBe(oic.id);

    // Once it has ended, the case can be checked again.
    const third = await h.call('POST', `/api/v1/cases/${caseId}/fixity`, { token: investigator.token });
    expect(third.status).toBe(202);
    expect((await runs()).map((r) => [r.status, r.requested_by])).toEqual([['completed', oic.id], ['queued', investigator.id]]);

    // A run whose job Redis no longer has would block the case for ever: once it is a minute
    // old it is failed and the request goes through. A younger one is never taken for lost.
    const lost = (await runs())[1].id;
    const redis = createRedis(h.config.REDIS_URL);
    try {
      await redis.del(`${h.config.QUEUE_PREFIX}:integrity:fixity-run-${lost}`);
    } finally {
      await redis.quit();
    }
    expect((await h.call('POST', `/api/v1/cases/${caseId}/fixity`, { token: oic.token })).status).toBe(409);
    await h.owner.query(`UPDATE fixity_runs SET started_at = started_at - interval '2 minutes' WHERE id = $1`, [lost]);
    const fourth = await h.call('POST', `/api/v1/cases/${caseId}/fixity`, { token: oic.token });
    expect(fourth.status).toBe(202);
    const after = await runs();
    expect(after.find((r) => r.id === lost)?.status).toBe('failed');
    expect(after.filter((r) => r.id !== lost).map((r) => r.status).sort()).toEqual(['completed', 'queued']);
  });
});

describe('the CLI waits out a short rate limit instead of failing', () => {
  const h = new ApiHarness();

  beforeAll(() => h.start({ QUEUE_PREFIX: prefix(), RATE_LIMIT_READ: '2/10s' }));
  afterAll(() => h.stop());

  it('retries after Retry-After and succeeds, saying why it waited', async () => {
    const user = await h.user('rate-cli', 'investigator');
    // The user's two reads of this window are spent; the CLI's read is the third.
    for (let i = 0; i < 2; i++) expect((await h.call('GET', '/api/v1/me', { token: user.token })).status).toBe(200);
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: user.token, DEMS_CONFIG_DIR: await mkdtemp(join(tmpdir(), 'dems-rate-')) };
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, 'cases', 'list', '--json'], cliOptions(env));
    expect(stderr).toMatch(/rate limit was reached; waiting \d+ s/);
    expect(JSON.parse(stdout)).toMatchObject({ items: [] });
  });
});
