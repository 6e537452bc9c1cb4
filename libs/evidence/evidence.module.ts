import { Global, Module } from '@nestjs/common';
import { MediaModule } from '../media/index.js';
import { EvidenceFilesService } from './evidence-files.service.js';
import { WorkingCopiesService } from './working-copies.service.js';

@Global()
@Module({ imports: [MediaModule], providers: [EvidenceFilesService, WorkingCopiesService], exports: [EvidenceFilesService, WorkingCopiesService] })
export class EvidenceModule {}
