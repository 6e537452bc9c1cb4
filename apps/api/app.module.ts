import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ConfigModule, type AppConfig } from '../../libs/config/index.js';
import { loggingModule } from '../../libs/core/index.js';
import { MetricsModule } from '../../libs/metrics/index.js';
import { DatabaseModule } from '../../libs/database/index.js';
import { QueueModule } from '../../libs/queue/index.js';
import { StorageModule } from '../../libs/storage/index.js';
import { CasesModule } from '../../libs/cases/index.js';
import { CustodyModule } from '../../libs/custody/index.js';
import { IdentityModule } from '../../libs/identity/index.js';
import { EvidenceModule } from '../../libs/evidence/index.js';
import { ExhibitFilesController, UploadSealController, UploadsController } from './uploads/uploads.controller.js';
import { TusUploadServer } from './uploads/tus-upload.server.js';
import { AuditController } from './audit/audit.controller.js';
import { AuthController, MeController } from './auth/auth.controller.js';
import { AuthGuard } from './auth/auth.guard.js';
import { RateLimitGuard } from './rate-limit/rate-limit.guard.js';
import { RateLimiterService } from './rate-limit/rate-limiter.service.js';
import { OidcController } from './auth/oidc.controller.js';
import { UsersController } from './auth/users.controller.js';
import { CasesController, ExhibitsController } from './cases/cases.controller.js';
import { canonicalIdPipe, nulRefusalPipe, validationPipe } from './validation.js';
import { CaseEventsController, LedgerController } from './ledger/ledger.controller.js';
import { FixityController } from './fixity/fixity.controller.js';
import { CaseDisclosureController, DisclosureBundlesController } from './disclosure/disclosure.controller.js';
import { DisclosureModule } from '../../libs/disclosure/index.js';
import { AppExceptionFilter } from './app-exception.filter.js';
import { HealthController } from './health/health.controller.js';
import { ReadinessService } from './health/readiness.service.js';
import { SystemController } from './system/system.controller.js';
import { MediaController } from './media/media.controller.js';
import { ExtractionController } from './extraction/extraction.controller.js';
import { ExtractionWorkflowController } from './extraction/extraction-workflow.controller.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), loggingModule('api', config.LOG_LEVEL), MetricsModule.forRoot('api'), DatabaseModule, StorageModule, QueueModule, IdentityModule, CustodyModule, CasesModule, EvidenceModule, DisclosureModule],
      controllers: [HealthController, SystemController, AuthController, OidcController, MeController, UsersController, CasesController, ExhibitsController, AuditController, LedgerController, CaseEventsController, FixityController, UploadsController, UploadSealController, ExhibitFilesController, MediaController, ExtractionController, ExtractionWorkflowController, CaseDisclosureController, DisclosureBundlesController],
      providers: [
        ReadinessService,
        TusUploadServer,
        { provide: APP_FILTER, useClass: AppExceptionFilter },
        { provide: APP_GUARD, useClass: AuthGuard },
        // After AuthGuard (global guards run in this order): limits count per signed-in user.
        RateLimiterService,
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_PIPE, useValue: canonicalIdPipe },
        { provide: APP_PIPE, useValue: nulRefusalPipe },
        { provide: APP_PIPE, useValue: validationPipe },
      ],
    };
  }
}
