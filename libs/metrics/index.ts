export { ServiceMetrics, type LedgerState, type QueueState, type ServiceRole, type StateReaders } from './service-metrics.js';
export { MetricsEndpoint } from './metrics-endpoint.js';
export { MetricsModule } from './metrics.module.js';
