import 'reflect-metadata';
import { RequestMethod, VersioningType, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { NextFunction, Request, Response } from 'express';
import { apiDocsEnabled, type AppConfig } from '../../libs/config/index.js';
import { initOrClose } from '../../libs/core/index.js';
import { ServiceMetrics } from '../../libs/metrics/index.js';
import { AppModule } from './app.module.js';
import { buildApiDocument } from './openapi.js';
import { httpMetrics } from './http-metrics.middleware.js';

/** Builds the HTTP application (not yet listening): used by main.ts and by the e2e tests. */
export async function createApi(config: AppConfig, options: { shutdownHooks?: boolean } = {}): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
    bodyParser: false,
    // Report start-up failures (database down, pending migrations) to the caller, not abort().
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.use(httpMetrics(app.get(ServiceMetrics)));
  if (config.TRUST_PROXY) app.set('trust proxy', true);
  app.disable('x-powered-by');
  const docs = apiDocsEnabled(config);
  app.use(
    helmet({
      // The Swagger UI needs its inline bootstrap script (only where it is served); everything
      // else keeps helmet's defaults. Over plain HTTP (development) asking browsers to upgrade
      // would break every asset load.
      contentSecurityPolicy: {
        directives: {
          'script-src': docs ? ["'self'", "'unsafe-inline'"] : ["'self'"],
          'upgrade-insecure-requests': config.PUBLIC_URL.startsWith('https:') ? [] : null,
        },
      },
      strictTransportSecurity: config.PUBLIC_URL.startsWith('https:'),
    }),
  );
  // Every answer is about evidence, people or the service's state, and must not be kept by a
  // browser or a shared cache (OWASP ASVS 8.2.1): no-store on all of them, errors, uploads and
  // health included (a cached health answer would only mislead a probe).
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Request bodies are small JSON documents; evidence bytes arrive by tus, never in a JSON body.
  app.useBodyParser('json', { limit: config.API_BODY_LIMIT });
  app.useBodyParser('urlencoded', { limit: config.API_BODY_LIMIT, extended: false });
  app.setGlobalPrefix('api', { exclude: [{ path: 'health/*path', method: RequestMethod.ALL }] });
  app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });
  if (options.shutdownHooks !== false) app.enableShutdownHooks(['SIGTERM', 'SIGINT']);

  if (docs) setupApiDocs(app, config);
  await initOrClose(app);
  return app;
}

/** The OpenAPI UI and document (API_DOCS_ENABLED; off in production unless turned on). */
function setupApiDocs(app: INestApplication, config: AppConfig): void {
  SwaggerModule.setup('api/docs', app, buildApiDocument(app, config), { jsonDocumentUrl: 'api/docs-json', useGlobalPrefix: false });
}

export async function startApi(config: AppConfig): Promise<INestApplication> {
  const app = await createApi(config);
  await app.listen(config.API_PORT, config.API_HOST);
  if (!process.execArgv.includes('--no-memory-reducer')) {
    // Measured by the ingest benchmark: after an idle spell, V8's memory reducer leaves the heap
    // with no headroom and the next multi-GB upload spends most of its CPU in GC.
    app.get(Logger).warn('the API was started without `node --no-memory-reducer`: large uploads after an idle spell will be slower (docs/benchmarks.md, "Ingest performance"; docker/Dockerfile has the flags)');
  }
  return app;
}
