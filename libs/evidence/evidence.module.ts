import { Global, Module } from '@nestjs/common';
import { EvidenceFilesService } from './evidence-files.service.js';

@Global()
@Module({ providers: [EvidenceFilesService], exports: [EvidenceFilesService] })
export class EvidenceModule {}
