import { Global, Module } from '@nestjs/common';
import { CaseAccessService } from './case-access.service.js';
import { CasesService } from './cases.service.js';
import { ExhibitsService } from './exhibits.service.js';

@Global()
@Module({ providers: [CaseAccessService, CasesService, ExhibitsService], exports: [CaseAccessService, CasesService, ExhibitsService] })
export class CasesModule {}
