import { Global, Module } from '@nestjs/common';
import { AccessLogService } from './access-log.service.js';
import { FixityService } from './fixity.service.js';
import { LedgerService } from './ledger.service.js';

@Global()
@Module({ providers: [AccessLogService, LedgerService, FixityService], exports: [AccessLogService, LedgerService, FixityService] })
export class CustodyModule {}
