import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../libs/config/index.js';
import { LedgerService } from '../../../libs/custody/index.js';
import { HandlesJob, QueueService, type JobHandler, type JobResults } from '../../../libs/queue/index.js';

type Name = 'ledger.publish-checkpoint';

/**
 * Signs a checkpoint every LEDGER_CHECKPOINT_EVERY_EVENTS events or LEDGER_CHECKPOINT_INTERVAL_SECONDS,
 * whichever comes first. The job runs often (every few seconds) and decides; BullMQ's scheduler
 * makes one run at a time across all worker replicas.
 */
@Injectable()
@HandlesJob('ledger.publish-checkpoint')
export class LedgerCheckpointJob implements JobHandler<Name>, OnApplicationBootstrap {
  private readonly logger = new Logger('LedgerCheckpoint');

  constructor(
    @Inject(LedgerService) private readonly ledger: LedgerService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const every = Math.min(5_000, this.config.LEDGER_CHECKPOINT_INTERVAL_SECONDS * 1000);
    await this.queues.schedule('ledger.publish-checkpoint', every, {});
    this.logger.log(`checking for a checkpoint every ${every} ms`);
  }

  async handle(): Promise<JobResults[Name]> {
    const size = await this.ledger.size();
    const latest = await this.ledger.latest();
    const grown = size - (latest?.treeSize ?? 0);
    const age = latest ? (Date.now() - latest.createdAt.getTime()) / 1000 : Infinity;
    if (grown > 0 && (grown >= this.config.LEDGER_CHECKPOINT_EVERY_EVENTS || age >= this.config.LEDGER_CHECKPOINT_INTERVAL_SECONDS)) {
      const cp = await this.ledger.publishCheckpoint();
      return { treeSize: cp?.treeSize ?? size, published: true };
    }
    return { treeSize: latest?.treeSize ?? 0, published: false };
  }
}
