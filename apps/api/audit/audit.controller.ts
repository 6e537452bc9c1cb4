import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { requireJustification } from '../../../libs/cases/index.js';
import { AccessLogService, accessLogQuerySchema, toCsv, type AccessLogQuery, type Justification } from '../../../libs/custody/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { Ctx, CurrentUser, JustificationHeader, JustificationHeaders, Roles } from '../auth/request-context.js';

@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller({ path: 'audit', version: '1' })
export class AuditController {
  constructor(@Inject(AccessLogService) private readonly log: AccessLogService) {}

  @Get('events')
  @ApiOperation({ summary: 's.62 log by caseId, userId, operation, requestId, outcome, period (from/to); format=json|csv; page with afterSeq; needs a justification' })
  @JustificationHeaders(true)
  async events(
    @CurrentUser() p: Principal,
    @Query({ schema: accessLogQuerySchema }) q: AccessLogQuery,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
    @Res() res: Response,
  ) {
    // Reading the log is a consultation like any other: the auditor says why, and it is recorded.
    requireJustification(j);
    const entries = await this.log.query(p, q, j, ctx);
    if (q.format === 'csv') {
      res.type('text/csv; charset=utf-8').attachment('access-log.csv').send(toCsv(entries));
      return;
    }
    res.json({ items: entries, nextAfterSeq: entries.length === q.limit ? entries[entries.length - 1].seq : null });
  }
}
