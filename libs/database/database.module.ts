import { Global, Inject, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { DependencyUnavailableError } from '../core/index.js';
import { ServiceMetrics } from '../metrics/index.js';
import { assertSchemaCurrent, createDataSource } from './data-source.js';

@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [APP_CONFIG, ServiceMetrics],
      useFactory: async (config: AppConfig, metrics: ServiceMetrics) => {
        const ds = createDataSource(config, () => metrics.databaseErrors.inc());
        try {
          await ds.initialize();
        } catch (e) {
          throw new DependencyUnavailableError('database', `cannot connect (${(e as Error).message})`);
        }
        return ds;
      },
    },
  ],
  exports: [DataSource],
})
export class DatabaseModule implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  /** API and worker refuse to start on a database with pending migrations. */
  async onModuleInit(): Promise<void> {
    try {
      await assertSchemaCurrent(this.ds);
    } catch (e) {
      // Nest gives no handle to close a context whose start failed: release the pool here.
      await this.ds.destroy();
      throw e;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
