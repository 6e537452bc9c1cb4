import { Global, Module } from '@nestjs/common';
import { AccessLogService } from './access-log.service.js';
import { LedgerService } from './ledger.service.js';

@Global()
@Module({ providers: [AccessLogService, LedgerService], exports: [AccessLogService, LedgerService] })
export class CustodyModule {}
