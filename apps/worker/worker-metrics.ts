import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { APP_CONFIG, type AppConfig } from '../../libs/config/index.js';
import { FixityService, LedgerService } from '../../libs/custody/index.js';
import { ServiceMetrics } from '../../libs/metrics/index.js';
import { QueueService } from '../../libs/queue/index.js';

/**
 * The worker's metrics also tell the state of the whole deployment, read when Prometheus scrapes:
 * queues (Redis), the ledger and fixity (PostgreSQL), and the disk evidence is staged on. Every
 * worker replica reports the same values; the alert rules take their max.
 */
@Injectable()
export class WorkerMetrics implements OnModuleInit {
  constructor(
    @Inject(ServiceMetrics) private readonly metrics: ServiceMetrics,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(LedgerService) private readonly ledger: LedgerService,
    @Inject(FixityService) private readonly fixity: FixityService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.metrics.readState({
      queues: () => this.queues.states(),
      ledger: async () => {
        const [lag, fixityFailing] = await Promise.all([this.ledger.checkpointLag(), this.fixity.failingObjects()]);
        return { ...lag, fixityFailing };
      },
      disk: async () => {
        const path = this.config.INGEST_STAGING_DIR || tmpdir();
        const s = await statfs(path);
        return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
      },
    });
  }
}
