import { Module } from '@nestjs/common';
import { MediaService } from './media.service.js';

/**
 * Provides MediaService with its defaults (tools on PATH, 120 s + 4 s per media second per tool
 * run). A worker that needs other settings provides MediaService itself with a factory.
 */
@Module({
  providers: [{ provide: MediaService, useFactory: () => new MediaService() }],
  exports: [MediaService],
})
export class MediaModule {}
