import { Global, Module } from '@nestjs/common';
import { MediaModule } from '../media/index.js';
import { EvidenceFilesService } from './evidence-files.service.js';
import { WorkingCopiesService } from './working-copies.service.js';
import { ExtractionsService } from './extractions.service.js';

@Global()
@Module({ imports: [MediaModule], providers: [EvidenceFilesService, WorkingCopiesService, ExtractionsService], exports: [EvidenceFilesService, WorkingCopiesService, ExtractionsService] })
export class EvidenceModule {}
