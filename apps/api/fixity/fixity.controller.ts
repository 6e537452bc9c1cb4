import { Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CaseAccessService } from '../../../libs/cases/index.js';
import { AppError } from '../../../libs/core/index.js';
import { FixityService, type Justification } from '../../../libs/custody/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { QueueService } from '../../../libs/queue/index.js';
import { Ctx, CurrentUser, JustificationHeader, Roles } from '../auth/request-context.js';

@ApiTags('fixity')
@ApiBearerAuth()
@Controller({ version: '1' })
export class FixityController {
  constructor(
    @Inject(FixityService) private readonly fixity: FixityService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
  ) {}

  @Post('cases/:caseId/fixity')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Re-hash every stored object of a case now (a background job; its report appears under /fixity/runs). Members who answer for the evidence (not reviewers); one run per case at a time (409 FIXITY_RUN_IN_PROGRESS)',
  })
  async runForCase(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    await this.access.resolve(p, caseId, 'case.fixity', { justification: j, context: ctx });
    const runId = await this.requestRun(p, caseId, ctx);
    try {
      const jobId = await this.queues.enqueue('integrity.fixity-run', { trigger: 'case', caseId, runId }, { jobId: `fixity-run-${runId}` });
      return { runId, jobId, queue: 'integrity' };
    } catch (e) {
      await this.fixity.abandonRun(runId);
      throw e;
    }
  }

  /**
   * One run per case at a time, but a run whose job no longer exists (Redis lost it) or ended
   * without the run being closed would block the case for ever: such a run, once it is a minute
   * old (so a run whose job is being queued this moment is never taken for one), is failed and
   * the request made once more.
   */
  private async requestRun(p: Principal, caseId: string, ctx: RequestContext): Promise<string> {
    try {
      return await this.fixity.requestCaseRun(p, caseId, ctx);
    } catch (e) {
      const activeId = e instanceof AppError && e.code === 'FIXITY_RUN_IN_PROGRESS' ? e.details?.runId : undefined;
      if (typeof activeId !== 'string') throw e;
      const job = await this.queues.getJob('integrity', `fixity-run-${activeId}`);
      if (job && job.state !== 'completed' && job.state !== 'failed') throw e;
      if (!(await this.fixity.failStaleRun(activeId, 60))) throw e;
      return this.fixity.requestCaseRun(p, caseId, ctx);
    }
  }

  @Get('fixity/runs')
  @Roles('auditor', 'administrator')
  @ApiOperation({ summary: 'Recent fixity runs with their counts (auditors, administrators)' })
  runs() {
    return this.fixity.listRuns();
  }

  @Get('fixity/runs/:runId')
  @Roles('auditor', 'administrator')
  @ApiOperation({ summary: "A fixity run's report: every object checked and its result" })
  report(@Param('runId') runId: string) {
    return this.fixity.report(runId);
  }
}
