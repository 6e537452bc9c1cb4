import { afterAll, describe, expect, it } from '@jest/globals';
import { ERRORS } from '@tus/server';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { RedisUploadLocker, type RedisUploadLockerOptions } from '../../../apps/api/uploads/redis-upload-locker.js';
import { createRedis } from '../../../libs/queue/index.js';
import { testConfig } from '../../support/test-env.js';

/**
 * The tus upload lock shared by API replicas, against the real Redis. Each "replica" is a locker
 * with connections of its own, as in two API processes.
 */
describe('RedisUploadLocker: one request at a time per upload, across API replicas (real Redis)', () => {
  const config = testConfig();
  const prefix = `dems-test-locker-${randomUUID().slice(0, 8)}`;
  const lockers: RedisUploadLocker[] = [];
  let admin: Redis | undefined;

  const replica = async (options: Partial<RedisUploadLockerOptions> = {}) => {
    const l = new RedisUploadLocker(createRedis(config.REDIS_URL), createRedis(config.REDIS_URL), { prefix, ...options });
    await l.whenReady();
    lockers.push(l);
    return l;
  };
  const redis = () => (admin ??= createRedis(config.REDIS_URL));
  const never = () => new AbortController().signal;

  afterAll(async () => {
    await Promise.all(lockers.map((l) => l.close()));
    await admin?.quit();
  });

  it('makes a second request on another replica ask the holder to let go, then take the lock', async () => {
    const [a, b] = [await replica(), await replica()];
    const id = randomUUID();
    const order: string[] = [];
    const first = a.newLock(id);
    // The holder's request lets go when asked, as tus's PATCH handler does (it cancels the request).
    await first.lock(never(), async () => {
      order.push('asked');
      await first.unlock();
      order.push('released');
    });
    expect(await redis().get(a.key(id))).toEqual(expect.any(String));
    const second = b.newLock(id);
    await second.lock(never(), () => undefined);
    order.push('second holds');
    expect(order).toEqual(['asked', 'released', 'second holds']);
    await second.unlock();
    expect(await redis().exists(a.key(id))).toBe(0);
  });

  it('frees the lock of a holder that died once its time to live runs out', async () => {
    const [a, b] = [await replica({ ttlMs: 400, acquireTimeoutMs: 5000 }), await replica({ ttlMs: 400, acquireTimeoutMs: 5000 })];
    const id = randomUUID();
    await a.newLock(id).lock(never(), () => undefined);
    const held = await redis().get(a.key(id));
    // The process dies: its connections go, nobody renews or answers release requests.
    await a.close();
    const second = b.newLock(id);
    await second.lock(never(), () => undefined);
    const now = await redis().get(b.key(id));
    expect(now).not.toBe(held);
    await second.unlock();
  });

  it('keeps a busy holder’s lock alive past its time to live, and a waiter times out with tus’s lock error', async () => {
    const [a, b] = [await replica({ ttlMs: 300, acquireTimeoutMs: 1500 }), await replica({ ttlMs: 300, acquireTimeoutMs: 1500 })];
    const id = randomUUID();
    let asked = 0;
    const first = a.newLock(id);
    await first.lock(never(), () => {
      asked++; // a request that does not let go
    });
    const err = await b
      .newLock(id)
      .lock(never(), () => undefined)
      .catch((e: unknown) => e);
    expect(err).toBe(ERRORS.ERR_LOCK_TIMEOUT);
    expect(asked).toBeGreaterThan(0);
    await first.unlock();
  });

  it('stops a holder whose lock was taken over, and never deletes another holder’s lock', async () => {
    const a = await replica({ ttlMs: 300, acquireTimeoutMs: 1000 });
    const id = randomUUID();
    const lock = a.newLock(id);
    let stopped!: () => void;
    const stoppedP = new Promise<void>((r) => (stopped = r));
    await lock.lock(never(), () => stopped());
    await redis().set(a.key(id), 'someone-else', 'PX', 10_000);
    await stoppedP; // the next renewal saw another token
    await lock.unlock();
    expect(await redis().get(a.key(id))).toBe('someone-else');
    await redis().del(a.key(id));
  });

  it('gives up waiting when the waiting request goes away', async () => {
    const [a, b] = [await replica(), await replica()];
    const id = randomUUID();
    const first = a.newLock(id);
    await first.lock(never(), () => undefined);
    const gone = new AbortController();
    const waiting = b
      .newLock(id)
      .lock(gone.signal, () => undefined)
      .catch((e: unknown) => e);
    setTimeout(() => gone.abort(), 100);
    expect(await waiting).toBe(ERRORS.ERR_LOCK_TIMEOUT);
    await first.unlock();
  });
});
