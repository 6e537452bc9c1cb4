import { Global, Inject, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError, DependencyUnavailableError } from '../core/index.js';
import { APP_GROUP_ROLE, connectsWithLeastPrivilege } from './app-login-role.js';
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
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * API and worker refuse to start on a database with pending migrations and, in production,
   * as a role the database's guards do not bind (the owner or a superuser).
   */
  async onModuleInit(): Promise<void> {
    try {
      await assertSchemaCurrent(this.ds);
      if (this.config.NODE_ENV === 'production' && !(await connectsWithLeastPrivilege(this.ds))) {
        throw new AppError(
          'DATABASE_ROLE_TOO_POWERFUL',
          `DATABASE_URL must connect as a login role in ${APP_GROUP_ROLE} that neither owns the tables nor is a superuser (\`dems admin migrate\` with DATABASE_OWNER_URL creates it)`,
          500,
        );
      }
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
