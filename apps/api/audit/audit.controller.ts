import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AccessLogService, accessLogQuerySchema, toCsv, type AccessLogQuery } from '../../../libs/custody/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { Ctx, CurrentUser, Roles } from '../auth/request-context.js';

@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller({ path: 'audit', version: '1' })
export class AuditController {
  constructor(@Inject(AccessLogService) private readonly log: AccessLogService) {}

  @Get('events')
  @ApiOperation({ summary: 's.62 log by caseId, userId, operation, period (from/to); format=json|csv; page with afterSeq' })
  async events(@CurrentUser() p: Principal, @Query({ schema: accessLogQuerySchema }) q: AccessLogQuery, @Ctx() ctx: RequestContext, @Res() res: Response) {
    const entries = await this.log.query(p, q, ctx);
    if (q.format === 'csv') {
      res.type('text/csv; charset=utf-8').attachment('access-log.csv').send(toCsv(entries));
      return;
    }
    res.json({ items: entries, nextAfterSeq: entries.length === q.limit ? entries[entries.length - 1].seq : null });
  }
}
