import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { startWorker } from '../../../apps/worker/bootstrap.js';
import { FixityService } from '../../../libs/custody/index.js';
import { QueueService } from '../../../libs/queue/index.js';
import { ObjectStore } from '../../../libs/storage/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../../support/api-harness.js';
import { randomKey } from '../../support/test-env.js';

describe('fixity: stored objects re-hashed against their recorded SHA-256', () => {
  const h = new ApiHarness();
  let fixity: FixityService;
  let store: ObjectStore;
  let oic: TestUser;
  let auditor: TestUser;
  let caseId: string;
  let key: string;
  const original = randomBytes(256 * 1024);

  beforeAll(async () => {
    // Two scheduled runs per period: each run checks half of the objects.
    await h.start({ QUEUE_PREFIX: `dems-test-fx-${randomBytes(3).toString('hex')}`, FIXITY_PERIOD_DAYS: 1, FIXITY_RUN_INTERVAL_MINUTES: 720 });
    fixity = h.app.get(FixityService);
    store = h.app.get(ObjectStore);
    oic = await h.user('oic', 'investigator');
    auditor = await h.user('auditor', 'auditor');
    caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Fixity case' } })).body.id as string;
    key = randomKey('fixity-original');
    const put = await store.put(store.buckets.originals, key, original);
    await fixity.register(h.ds, { bucket: put.bucket, key, kind: 'original', caseId, size: put.size, sha256: put.sha256 });
  });
  afterAll(() => h.stop());

  const resultFor = async (runId: string) => {
    const report = (await h.call('GET', `/api/v1/fixity/runs/${runId}`, { token: auditor.token })).body as { results: { key: string; outcome: string; observedSha256: string | null }[] };
    return report.results.find((r) => r.key === key)!;
  };

  it('reports an untouched original as ok, with a custody event', async () => {
    const run = await fixity.run('case', caseId);
    expect(run).toMatchObject({ status: 'completed', checked: 1, ok: 1, changed: 0, missing: 0 });
    expect((await resultFor(run.id)).outcome).toBe('ok');
    const events = await h.ds.query(`SELECT outcome, details FROM custody_events WHERE type = 'fixity.checked' AND case_id = $1`, [caseId]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'success', details: { runId: run.id, result: 'ok' } });
  });

  it('reports one flipped byte in S3 as changed, logs it as a failure and raises the health alert', async () => {
    const bytes = await buffer((await store.get(store.buckets.originals, key)).body);
    bytes[1000] ^= 0x01;
    await store.put(store.buckets.originals, key, bytes); // tampering behind the service's back
    const run = await fixity.run('case', caseId);
    expect(run).toMatchObject({ checked: 1, changed: 1, ok: 0 });
    const result = await resultFor(run.id);
    expect(result.outcome).toBe('changed');
    expect(result.observedSha256).toMatch(/^[0-9a-f]{64}$/);
    const [event] = await h.ds.query(`SELECT outcome, details FROM custody_events WHERE type = 'fixity.checked' AND case_id = $1 ORDER BY leaf_index DESC LIMIT 1`, [caseId]);
    expect(event).toMatchObject({ outcome: 'failed', details: { result: 'changed' } });
    const ready = (await h.call('GET', '/health/ready')).body as { fixity: { alert: boolean; changed: number } };
    expect(ready.fixity.alert).toBe(true);
    expect(ready.fixity.changed).toBeGreaterThanOrEqual(1);
  });

  it('reports a deleted object as missing', async () => {
    await store.delete(store.buckets.originals, key);
    const run = await fixity.run('case', caseId);
    expect(run).toMatchObject({ checked: 1, missing: 1 });
    expect((await resultFor(run.id)).outcome).toBe('missing');
  });

  it('checks every object within the period, a rotating share per scheduled run', async () => {
    for (let i = 0; i < 5; i++) {
      const k = randomKey('fixity-share');
      const put = await store.put(store.buckets.working, k, randomBytes(1000));
      await fixity.register(h.ds, { bucket: put.bucket, key: k, kind: 'derivative', caseId, size: put.size, sha256: put.sha256 });
    }
    const total = (await h.ds.query(`SELECT count(*)::int AS n FROM stored_objects`))[0].n;
    const since = new Date();
    const checkedSince = async (t: Date) => (await h.ds.query(`SELECT count(*)::int AS n FROM stored_objects WHERE last_fixity_at >= $1`, [t]))[0].n as number;
    // A period of one day with a run every 720 minutes: two scheduled runs make one period.
    const first = await fixity.run('scheduled');
    // A share, not everything at once.
    expect(first.checked).toBeGreaterThan(0);
    expect(first.checked).toBeLessThan(total);
    const afterFirst = new Date();
    const second = await fixity.run('scheduled');
    // Together the period's runs reach every object; the second starts with those the first left.
    const unchecked = await h.ds.query(`SELECT count(*)::int AS n FROM stored_objects WHERE last_fixity_at IS NULL OR last_fixity_at < $1`, [since]);
    expect(unchecked[0].n).toBe(0);
    expect(await checkedSince(afterFirst)).toBe(second.checked);
    expect(second.checked).toBeGreaterThanOrEqual(total - first.checked);
  });

  it('runs for a case on demand through the API and the worker', async () => {
    let worker: INestApplicationContext | undefined;
    try {
      worker = await startWorker(h.config, { shutdownHooks: false });
      const res = await h.call('POST', `/api/v1/cases/${caseId}/fixity`, { token: oic.token, headers: JUSTIFY });
      expect(res.status).toBe(202);
      const queues = h.app.get(QueueService);
      let job;
      for (let i = 0; i < 200; i++) {
        job = await queues.getJob('integrity', res.body.jobId as string);
        if (job && ['completed', 'failed'].includes(job.state)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(job?.state).toBe('completed');
      const runs = (await h.call('GET', '/api/v1/fixity/runs', { token: auditor.token })).body as unknown as { id: string; trigger: string; caseId: string; checked: number }[];
      const run = runs.find((r) => r.id === (job!.result as { runId: string }).runId);
      expect(run).toMatchObject({ trigger: 'case', caseId, checked: 6 });
    } finally {
      await worker?.close();
    }
  });
});
