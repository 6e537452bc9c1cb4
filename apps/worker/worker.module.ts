import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, type AppConfig } from '../../libs/config/index.js';
import { loggingModule } from '../../libs/core/index.js';
import { MetricsModule } from '../../libs/metrics/index.js';
import { DatabaseModule } from '../../libs/database/index.js';
import { JobWorkerModule, QueueModule } from '../../libs/queue/index.js';
import { StorageModule } from '../../libs/storage/index.js';
import { CustodyModule } from '../../libs/custody/index.js';
import { CasesModule } from '../../libs/cases/index.js';
import { EvidenceModule } from '../../libs/evidence/index.js';
import { EvidenceSealJob } from './jobs/evidence-seal.job.js';
import { UploadExpiryJob } from './jobs/upload-expiry.job.js';
import { FixityRunJob } from './jobs/fixity-run.job.js';
import { LedgerCheckpointJob } from './jobs/ledger-checkpoint.job.js';
import { MediaProcessJob } from './jobs/media-process.job.js';
import { MediaCourtCopyJob } from './jobs/media-court-copy.job.js';
import { ExtractionVerifyJob } from './jobs/extraction-verify.job.js';
import { ExtractionExportJob } from './jobs/extraction-export.job.js';
import { DisclosureBundleJob } from './jobs/disclosure-bundle.job.js';
import { DisclosureModule } from '../../libs/disclosure/index.js';
import { WorkerMetrics } from './worker-metrics.js';

@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule('worker', config.LOG_LEVEL),
        MetricsModule.forRoot('worker'),
        DatabaseModule,
        StorageModule,
        QueueModule,
        JobWorkerModule,
        CustodyModule,
        CasesModule,
        EvidenceModule,
        DisclosureModule,
      ],
      providers: [WorkerMetrics, LedgerCheckpointJob, FixityRunJob, EvidenceSealJob, UploadExpiryJob, MediaProcessJob, MediaCourtCopyJob, ExtractionVerifyJob, ExtractionExportJob, DisclosureBundleJob],
    };
  }
}
