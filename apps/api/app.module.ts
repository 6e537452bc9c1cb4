import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ConfigModule, type AppConfig } from '../../libs/config/index.js';
import { loggingModule } from '../../libs/core/index.js';
import { DatabaseModule } from '../../libs/database/index.js';
import { QueueModule } from '../../libs/queue/index.js';
import { StorageModule } from '../../libs/storage/index.js';
import { AppExceptionFilter } from './app-exception.filter.js';
import { HealthController } from './health/health.controller.js';
import { ReadinessService } from './health/readiness.service.js';
import { SystemController } from './system/system.controller.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), loggingModule('api', config.LOG_LEVEL), DatabaseModule, StorageModule, QueueModule],
      controllers: [HealthController, SystemController],
      providers: [ReadinessService, { provide: APP_FILTER, useClass: AppExceptionFilter }],
    };
  }
}
