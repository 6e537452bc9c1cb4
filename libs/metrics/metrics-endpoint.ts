import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { ServiceMetrics } from './service-metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Serves GET /metrics on METRICS_HOST:METRICS_PORT, a listener of its own so the public API port
 * never answers it; with METRICS_TOKEN set, only to `Authorization: Bearer <token>`. Written by
 * hand: prom-client has no server, and Nest's would put the route on the public port.
 */
@Injectable()
export class MetricsEndpoint implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server?: Server;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ServiceMetrics) private readonly metrics: ServiceMetrics,
  ) {}

  /** Where it listens (undefined when METRICS_PORT is unset). */
  address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { METRICS_PORT: port, METRICS_HOST: host } = this.config;
    if (port === undefined) return;
    const server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const at = this.address()!;
    this.logger.log(`metrics at http://${host}:${at.port}/metrics${this.config.METRICS_TOKEN ? ' (bearer token required)' : ''}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections());
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify({ code, message }));
    };
    if (new URL(req.url ?? '/', 'http://metrics').pathname !== '/metrics') return send(404, 'NOT_FOUND', 'Only /metrics is served here');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'METHOD_NOT_ALLOWED', 'Use GET /metrics', { allow: 'GET, HEAD' });
    if (!this.authorized(req.headers.authorization)) {
      return send(401, 'METRICS_UNAUTHORIZED', 'Send Authorization: Bearer <METRICS_TOKEN>', { 'www-authenticate': 'Bearer realm="metrics"' });
    }
    try {
      const body = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      this.logger.error({ err: (e as Error).message }, 'metrics could not be collected');
      send(500, 'INTERNAL_ERROR', 'The metrics could not be collected; it has been logged');
    }
  }

  private authorized(header: string | undefined): boolean {
    const token = this.config.METRICS_TOKEN;
    if (!token) return true;
    const given = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    // Compared as digests: equal lengths, and no timing hint about the token's length or bytes.
    return given !== undefined && timingSafeEqual(digest(given), digest(token));
  }
}
