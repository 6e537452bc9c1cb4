import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/server';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

/**
 * A tus upload lock shared by every API replica, in Redis. tus takes the lock for each request
 * on an upload (HEAD, PATCH, DELETE, creation-with-upload); with @tus/server's default in-memory
 * locker two replicas could each accept a PATCH for the same upload at once, and both would
 * append parts to it. Written here because @tus/server ships only the in-memory locker (a Redis
 * one is an open pull request upstream); the rules follow tus's MemoryLocker:
 *
 * - A lock is a key holding a random token, set only if absent, with a time to live that the
 *   holder renews while its request runs. A holder that dies (SIGKILL, lost host) frees it when
 *   the time to live runs out; only the token's owner can renew or delete it.
 * - A request that finds the upload locked asks the holder to let go, on a pub/sub channel every
 *   replica listens to: the holder's tus request is cancelled (tus then keeps what reached
 *   storage), which is how a client that resumes after a dead connection gets in at once rather
 *   than waiting for the old request to time out.
 * - A holder whose lock was taken from it (its renewal finds another token) cancels its request too.
 * - Waiting gives up after `acquireTimeoutMs` with tus's lock time-out error.
 */
export interface RedisUploadLockerOptions {
  /** Key and channel prefix (the deployment's QUEUE_PREFIX), so environments sharing a Redis stay apart. */
  prefix: string;
  /** Time to live of a lock key; renewed every third of it. */
  ttlMs?: number;
  /** How long a request waits for a lock before it fails. Must exceed ttlMs (a dead holder's lock must expire first). */
  acquireTimeoutMs?: number;
}

/** Deletes the key only if it holds our token. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
/** Extends the key's time to live only if it holds our token. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

const ASK_AGAIN_MS = 1000;

export class RedisUploadLocker implements Locker {
  readonly ttlMs: number;
  readonly acquireTimeoutMs: number;
  private readonly channel: string;
  /** Locks held by this process: upload id → what to call when another request wants it. */
  private readonly held = new Map<string, RequestRelease>();
  private readonly ready: Promise<unknown>;

  /**
   * @param redis commands
   * @param subscriber a connection of its own (a subscribed connection can do nothing else)
   */
  constructor(
    readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly options: RedisUploadLockerOptions,
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
    if (this.acquireTimeoutMs <= this.ttlMs) throw new Error('acquireTimeoutMs must exceed ttlMs');
    this.channel = `${options.prefix}:tus-lock-release`;
    this.subscriber.on('message', (channel: string, id: string) => {
      if (channel !== this.channel) return;
      const release = this.held.get(id);
      if (release) void Promise.resolve(release()).catch(() => undefined);
    });
    this.ready = this.subscriber.subscribe(this.channel).catch(() => undefined);
  }

  /** Resolves once release requests reach this process. */
  whenReady(): Promise<unknown> {
    return this.ready;
  }

  /** Closes both connections (locks this process still holds expire on their own). */
  async close(): Promise<void> {
    this.held.clear();
    await Promise.all([this.subscriber.quit().catch(() => this.subscriber.disconnect()), this.redis.quit().catch(() => this.redis.disconnect())]);
  }

  newLock(id: string): Lock {
    return new RedisUploadLock(this, id);
  }

  key(id: string): string {
    return `${this.options.prefix}:tus-lock:${id}`;
  }

  askToRelease(id: string): Promise<unknown> {
    return this.redis.publish(this.channel, id);
  }

  hold(id: string, release: RequestRelease): void {
    this.held.set(id, release);
  }

  drop(id: string, release: RequestRelease): void {
    if (this.held.get(id) === release) this.held.delete(id);
  }

  static readonly RELEASE = RELEASE;
  static readonly RENEW = RENEW;
}

class RedisUploadLock implements Lock {
  private readonly token = randomUUID();
  private renewal?: NodeJS.Timeout;
  private release?: RequestRelease;

  constructor(
    private readonly locker: RedisUploadLocker,
    private readonly id: string,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const { redis } = this.locker;
    const key = this.locker.key(this.id);
    const deadline = Date.now() + this.locker.acquireTimeoutMs;
    let asked = 0;
    let pause = 20;
    for (;;) {
      if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      if ((await redis.set(key, this.token, 'PX', this.locker.ttlMs, 'NX')) === 'OK') break;
      if (Date.now() >= deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      if (Date.now() - asked >= ASK_AGAIN_MS) {
        asked = Date.now();
        await this.locker.askToRelease(this.id);
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 200);
    }
    this.release = requestRelease;
    this.locker.hold(this.id, requestRelease);
    this.renewal = setInterval(() => {
      redis.eval(RedisUploadLocker.RENEW, 1, key, this.token, String(this.locker.ttlMs)).then(
        (renewed) => {
          // Taken over (it expired while this process stalled): stop writing at once.
          if (renewed !== 1 && this.renewal) void Promise.resolve(requestRelease()).catch(() => undefined);
        },
        () => undefined, // Redis unreachable for a moment: the next renewal tries again.
      );
    }, Math.floor(this.locker.ttlMs / 3));
    this.renewal.unref();
  }

  async unlock(): Promise<void> {
    clearInterval(this.renewal);
    this.renewal = undefined;
    if (this.release) this.locker.drop(this.id, this.release);
    this.release = undefined;
    await this.locker.redis.eval(RedisUploadLocker.RELEASE, 1, this.locker.key(this.id), this.token);
  }
}
