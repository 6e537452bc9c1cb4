import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../libs/config/index.js';
import { FixityService } from '../../../libs/custody/index.js';
import { ServiceMetrics } from '../../../libs/metrics/index.js';
import { HandlesJob, QueueService, type JobContext, type JobHandler, type JobPayloads, type JobResults } from '../../../libs/queue/index.js';

type Name = 'integrity.fixity-run';

/** Re-hashes stored objects: a rotating share every FIXITY_RUN_INTERVAL_MINUTES, or one case on demand. */
@Injectable()
@HandlesJob('integrity.fixity-run')
export class FixityRunJob implements JobHandler<Name>, OnApplicationBootstrap {
  private readonly logger = new Logger('FixityRun');

  constructor(
    @Inject(FixityService) private readonly fixity: FixityService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ServiceMetrics) private readonly metrics: ServiceMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.queues.schedule('integrity.fixity-run', this.config.FIXITY_RUN_INTERVAL_MINUTES * 60_000, { trigger: 'scheduled' });
    this.logger.log(`scheduled fixity run every ${this.config.FIXITY_RUN_INTERVAL_MINUTES} min (every object within ${this.config.FIXITY_PERIOD_DAYS} days)`);
  }

  async handle(payload: JobPayloads[Name], ctx: JobContext): Promise<JobResults[Name]> {
    const run = await this.fixity.run(payload.trigger, payload.caseId, ctx.signal, payload.runId);
    const failed = { changed: run.changed, missing: run.missing, error: run.errors };
    this.metrics.fixityChecks.inc({ outcome: 'ok' }, run.checked - run.changed - run.missing - run.errors);
    for (const [outcome, n] of Object.entries(failed)) this.metrics.fixityChecks.inc({ outcome }, n);
    await ctx.progress(100);
    return { runId: run.id, checked: run.checked, changed: run.changed, missing: run.missing, errors: run.errors };
  }
}
