import { Global, Module } from '@nestjs/common';
import { MediaModule } from '../media/index.js';
import { EvidenceFilesService } from './evidence-files.service.js';
import { WorkingCopiesService } from './working-copies.service.js';
import { CourtCopiesService } from './court-copies.service.js';
import { ExtractionsService } from './extractions.service.js';
import { ExtractionWorkflowService } from './extraction-workflow.service.js';
import { ExtractionExportsService } from './extraction-exports.service.js';

@Global()
@Module({ imports: [MediaModule], providers: [EvidenceFilesService, WorkingCopiesService, CourtCopiesService, ExtractionsService, ExtractionWorkflowService, ExtractionExportsService], exports: [EvidenceFilesService, WorkingCopiesService, CourtCopiesService, ExtractionsService, ExtractionWorkflowService, ExtractionExportsService] })
export class EvidenceModule {}
