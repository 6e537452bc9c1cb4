import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { APP_CONFIG, parseRateLimit, type AppConfig } from '../../../libs/config/index.js';
import { createRedis } from '../../../libs/queue/index.js';
import { RATE_CLASSES, type RateClass } from './rate-class.js';

const CONFIG_KEYS: Record<RateClass, 'RATE_LIMIT_AUTH' | 'RATE_LIMIT_READ' | 'RATE_LIMIT_WRITE' | 'RATE_LIMIT_UPLOAD' | 'RATE_LIMIT_EXPENSIVE'> = {
  auth: 'RATE_LIMIT_AUTH',
  read: 'RATE_LIMIT_READ',
  write: 'RATE_LIMIT_WRITE',
  upload: 'RATE_LIMIT_UPLOAD',
  expensive: 'RATE_LIMIT_EXPENSIVE',
};

/**
 * Fixed-window counters in Redis (rate-limiter-flexible), one per route class and caller, so every
 * API replica counts against the same limit. While Redis cannot answer, each replica counts in its
 * own memory with the same limits (the library's insurance limiter) rather than refusing all
 * requests or letting everything through.
 */
@Injectable()
export class RateLimiterService implements OnModuleDestroy {
  private readonly redis: Redis;
  private readonly limiters: Record<RateClass, RateLimiterRedis>;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // No offline queue and one try: a request must not wait for Redis to come back.
    this.redis = createRedis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.limiters = Object.fromEntries(
      RATE_CLASSES.map((c) => {
        const { points, durationSeconds: duration } = parseRateLimit(config[CONFIG_KEYS[c]]);
        const keyPrefix = `${config.QUEUE_PREFIX}:rate:${c}`;
        const limiter = new RateLimiterRedis({
          storeClient: this.redis,
          keyPrefix,
          points,
          duration,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
        });
        return [c, limiter];
      }),
    ) as Record<RateClass, RateLimiterRedis>;
  }

  /** Counts one request of `caller` in the class: undefined when allowed, else the seconds to wait. */
  async consume(rateClass: RateClass, caller: string): Promise<{ retryAfterSeconds: number } | undefined> {
    try {
      await this.limiters[rateClass].consume(caller);
      return undefined;
    } catch (e) {
      if (e instanceof RateLimiterRes) return { retryAfterSeconds: Math.max(1, Math.ceil(e.msBeforeNext / 1000)) };
      throw e;
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.redis.disconnect();
  }
}
