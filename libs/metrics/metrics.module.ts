import { Global, Module, type DynamicModule } from '@nestjs/common';
import { MetricsEndpoint } from './metrics-endpoint.js';
import { ServiceMetrics, type ServiceRole } from './service-metrics.js';

/** The process's metrics registry (for every module to count into) and its /metrics listener. */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(role: ServiceRole): DynamicModule {
    return {
      module: MetricsModule,
      providers: [{ provide: ServiceMetrics, useValue: new ServiceMetrics(role) }, MetricsEndpoint],
      exports: [ServiceMetrics, MetricsEndpoint],
    };
  }
}
