import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import type { AppConfig } from '../../libs/config/index.js';
import { initOrClose } from '../../libs/core/index.js';
import { WorkerModule } from './worker.module.js';

/** The worker is a Nest application context: BullMQ processors, no HTTP server. */
export async function startWorker(config: AppConfig, options: { shutdownHooks?: boolean } = {}) {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  if (options.shutdownHooks !== false) app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return initOrClose(app);
}
