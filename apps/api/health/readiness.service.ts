import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FixityService } from '../../../libs/custody/index.js';
import { QueueService } from '../../../libs/queue/index.js';
import { ObjectStore } from '../../../libs/storage/index.js';

export interface PartStatus {
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
  [extra: string]: unknown;
}

export interface Readiness {
  status: 'ready' | 'not_ready';
  checks: { database: PartStatus; redis: PartStatus; storage: PartStatus };
  /** Integrity alert: stored objects whose last fixity check failed. Not a readiness condition. */
  fixity?: { alert: boolean; changed: number; missing: number; lastRunAt: Date | null };
}

const TIMEOUT_MS = 2500;

/** Checks every dependency in parallel, each within a time limit, and names what failed. */
@Injectable()
export class ReadinessService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(ObjectStore) private readonly store: ObjectStore,
    @Inject(FixityService) private readonly fixity: FixityService,
  ) {}

  async check(): Promise<Readiness> {
    const [database, redis, storage] = await Promise.all([
      probe(() => withTimeout(this.ds.query('SELECT 1'), TIMEOUT_MS)),
      probe(() => this.queues.ping(TIMEOUT_MS)),
      probe(() => this.store.ping(TIMEOUT_MS)),
    ]);
    const caps = this.store.capabilities();
    Object.assign(storage, {
      objectLock: caps?.objectLock ?? false,
      originalsWriteOnce: caps?.objectLock ?? false,
      note: caps?.summary,
    });
    const ok = database.status === 'up' && redis.status === 'up' && storage.status === 'up';
    const fixity = database.status === 'up' ? await withTimeout(this.fixity.alert(), TIMEOUT_MS).catch(() => undefined) : undefined;
    return { status: ok ? 'ready' : 'not_ready', checks: { database, redis, storage }, ...(fixity ? { fixity } : {}) };
  }
}

async function probe(fn: () => Promise<unknown>): Promise<PartStatus> {
  const t0 = performance.now();
  try {
    await fn();
    return { status: 'up', latencyMs: Math.round(performance.now() - t0) };
  } catch (e) {
    return { status: 'down', latencyMs: Math.round(performance.now() - t0), error: (e as Error).message };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}
