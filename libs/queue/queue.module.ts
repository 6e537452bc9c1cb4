import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { JobWorkerHost } from './job-worker.host.js';
import { QueueService } from './queue.service.js';

/** Producer side: enqueue jobs and read their state (API, CLI admin, worker). */
@Global()
@Module({ providers: [QueueService], exports: [QueueService] })
export class QueueModule {}

/** Consumer side: only the worker imports this. */
@Module({ imports: [DiscoveryModule], providers: [JobWorkerHost] })
export class JobWorkerModule {}
