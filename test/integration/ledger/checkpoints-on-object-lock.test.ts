import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../../../libs/config/index.js';
import { LedgerService } from '../../../libs/custody/index.js';
import { createObjectStore, type S3ObjectStore } from '../../../libs/storage/index.js';
import { ApiHarness, freshUrn, type TestUser } from '../../support/api-harness.js';
import { createScratchDatabase, motoOverrides } from '../../support/test-env.js';

const TARGETS: [string, Partial<AppConfig> | undefined][] = [
  ['Swift, no Object Lock', {}],
  ['moto, with Object Lock', motoOverrides()],
];

/**
 * Checkpoints are published once per size, whoever asks at the same moment, and are write-once
 * exactly where the store can make them so.
 */
describe.each(TARGETS.filter(([, o]) => o !== undefined))('checkpoints on %s', (target, overrides) => {
  const h = new ApiHarness();
  let store: S3ObjectStore;
  let ledger: LedgerService;
  let oic: TestUser;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    await h.start({ ...overrides, DATABASE_URL: scratch.url });
    store = createObjectStore(h.config);
    await store.ensureBuckets();
    ledger = h.app.get(LedgerService);
    oic = await h.user('cp', 'investigator');
  });
  afterAll(async () => {
    store?.destroy();
    await h.stop();
    await scratch?.drop();
  });

  it('a scheduled and a manual publication racing sign one checkpoint and write its object once', async () => {
    for (let i = 0; i < 3; i++) await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: `Case ${i}` } });
    const size = await ledger.size();
    const published = await Promise.all(Array.from({ length: 6 }, () => ledger.publishCheckpoint()));
    expect(new Set(published.map((p) => p?.treeSize))).toEqual(new Set([size]));
    const rows = await h.ds.query(`SELECT object_key FROM ledger_checkpoints WHERE tree_size = $1`, [size]);
    expect(rows).toHaveLength(1);
    const versions = await store.versions(store.buckets.originals, rows[0].object_key);
    expect(versions.filter((v) => !v.deleteMarker)).toHaveLength(1);
    const lock = (await store.head(store.buckets.originals, rows[0].object_key))?.lock;
    if (target.startsWith('moto')) {
      expect(lock?.mode).toBe('COMPLIANCE');
      expect(lock!.retainUntil!.getTime()).toBeGreaterThan(Date.now() + (h.config.LEDGER_CHECKPOINT_RETENTION_DAYS - 1) * 86_400_000);
    } else {
      expect(lock).toBeUndefined();
    }
  });
});
