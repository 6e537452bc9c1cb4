import { Module, type DynamicModule, type OnApplicationShutdown, Inject } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Redis } from 'ioredis';
import type { WebConfig } from '../../libs/config/index.js';
import { TokensController } from './account/tokens.controller.js';
import { AdminController } from './admin/admin.controller.js';
import { UsersController } from './admin/users.controller.js';
import { AuditController } from './audit/audit.controller.js';
import { CaseFormsController } from './cases/case-forms.controller.js';
import { CasesController } from './cases/cases.controller.js';
import { CustodyCheckController } from './custody/custody-check.controller.js';
import { DisclosureOfficerController } from './disclosure/disclosure-officer.controller.js';
import { SharedBundlesController } from './disclosure/shared-bundles.controller.js';
import { ExtractionsController } from './extractions/extractions.controller.js';
import { HealthController } from './health.controller.js';
import { SignedInGuard } from './signed-in.guard.js';
import { SignInController } from './sign-in/sign-in.controller.js';
import { UploadRelayController } from './uploads/upload-relay.controller.js';
import { WebApi, WEB_CONFIG } from './web-api.service.js';

export const WEB_REDIS = Symbol('WEB_REDIS');

@Module({})
export class WebModule implements OnApplicationShutdown {
  constructor(@Inject(WEB_REDIS) private readonly redis: Redis) {}

  static forRoot(config: WebConfig): DynamicModule {
    return {
      module: WebModule,
      controllers: [HealthController, SignInController, CaseFormsController, CasesController, CustodyCheckController, AdminController, UsersController, TokensController, AuditController, SharedBundlesController, ExtractionsController, UploadRelayController, DisclosureOfficerController],
      providers: [
        { provide: WEB_CONFIG, useValue: config },
        { provide: WEB_REDIS, useFactory: () => new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2 }) },
        { provide: APP_GUARD, useClass: SignedInGuard },
        WebApi,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
