import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../libs/config/index.js';
import { EvidenceFilesService, ExtractionExportsService, ExtractionsService, WorkingCopiesService } from '../../../libs/evidence/index.js';
import { HandlesJob, QueueService, type JobHandler, type JobResults } from '../../../libs/queue/index.js';

type Name = 'ingest.expire-uploads';

/**
 * Every INGEST_EXPIRY_CHECK_MINUTES: abandoned uploads lose their parts in storage and are marked
 * expired, and completed files whose seal job (or sealed files whose media or extraction job) never got queued
 * are queued again, and so are extraction exports whose job never got queued.
 */
@Injectable()
@HandlesJob('ingest.expire-uploads')
export class UploadExpiryJob implements JobHandler<Name>, OnApplicationBootstrap {
  private readonly logger = new Logger('UploadExpiry');

  constructor(
    @Inject(EvidenceFilesService) private readonly files: EvidenceFilesService,
    @Inject(WorkingCopiesService) private readonly workingCopies: WorkingCopiesService,
    @Inject(ExtractionsService) private readonly extractions: ExtractionsService,
    @Inject(ExtractionExportsService) private readonly exports: ExtractionExportsService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.queues.schedule('ingest.expire-uploads', this.config.INGEST_EXPIRY_CHECK_MINUTES * 60_000, {});
    this.logger.log(`abandoned uploads are removed after ${this.config.INGEST_UPLOAD_EXPIRY_HOURS} h idle (checked every ${this.config.INGEST_EXPIRY_CHECK_MINUTES} min)`);
  }

  async handle(): Promise<JobResults[Name]> {
    const { expired, recovered } = await this.files.expireIdle();
    const requeued = (await this.files.requeueStalledSeals()) + (await this.workingCopies.requeueStalled()) + (await this.extractions.requeueStalled()) + (await this.exports.requeueStalled());
    return { expired, recovered, requeued };
  }
}
