import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Justification } from '../../../libs/custody/index.js';
import {
  ExtractionExportsService,
  ExtractionWorkflowService,
  exportSchema,
  noteSchema,
  reportSchema,
  strategySchema,
  transitionSchema,
  type ExportRequest,
  type NoteInput,
  type ReportInput,
  type StrategyRecord,
  type TransitionInput,
} from '../../../libs/evidence/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { Ctx, CurrentUser, JustificationHeader, JustificationHeaders } from '../auth/request-context.js';
import { ApiZodBody } from '../validation.js';

/**
 * The analyst's work on a device extraction (docs/extraction.md, "Analyst workflow"): examination
 * state, notes, the digital strategy record, reports, and exports of selected inventory entries
 * as a derived exhibit. Changes need the right to update exhibits (exports: to create them);
 * every read is an s.62 consultation with a reason.
 */
@ApiTags('extractions')
@ApiBearerAuth()
@Controller({ path: 'cases/:caseId/extractions/:extractionId', version: '1' })
export class ExtractionWorkflowController {
  constructor(
    @Inject(ExtractionWorkflowService) private readonly workflow: ExtractionWorkflowService,
    @Inject(ExtractionExportsService) private readonly exports: ExtractionExportsService,
  ) {}

  @Get('workflow')
  @JustificationHeaders(true)
  @ApiOperation({ summary: 'Examination status (verification state until examination begins), every transition, the current strategy record and the attached reports' })
  get(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.workflow.workflow(p, caseId, id, j, ctx);
  }

  @Post('transitions')
  @HttpCode(200)
  @ApiZodBody(transitionSchema)
  @ApiOperation({
    summary:
      'Moves the examination on: in_examination (once verified; a reason when verification failed or was not possible, or to reopen), examined (a report attached first), not_examined (with the reason). A custody event',
  })
  transition(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @Body({ schema: transitionSchema }) body: TransitionInput, @Ctx() ctx: RequestContext) {
    return this.workflow.transition(p, caseId, id, body, ctx);
  }

  @Get('notes')
  @JustificationHeaders(true)
  @ApiOperation({ summary: "The analyst notes, oldest first, each with its author, time and SHA-256" })
  notes(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.workflow.notes(p, caseId, id, j, ctx);
  }

  @Post('notes')
  @ApiZodBody(noteSchema)
  @ApiOperation({ summary: 'Adds a note (append-only: notes are never edited or removed); the custody event carries its SHA-256' })
  addNote(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @Body({ schema: noteSchema }) body: NoteInput, @Ctx() ctx: RequestContext) {
    return this.workflow.addNote(p, caseId, id, body, ctx);
  }

  @Get('strategy')
  @JustificationHeaders(true)
  @ApiOperation({ summary: 'Every version of the digital strategy record, newest first' })
  strategies(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.workflow.strategies(p, caseId, id, j, ctx);
  }

  @Post('strategy')
  @ApiZodBody(strategySchema)
  @ApiOperation({
    summary:
      'Records a new version of the digital strategy: investigative questions, attribution, scope (full, targeted, none with the reason), data categories, date ranges, search terms, volume, proportionality, tools and versions',
  })
  recordStrategy(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @Body({ schema: strategySchema }) body: StrategyRecord, @Ctx() ctx: RequestContext) {
    return this.workflow.recordStrategy(p, caseId, id, body, ctx);
  }

  @Post('reports')
  @ApiZodBody(reportSchema)
  @ApiOperation({ summary: "Attaches a report: a sealed file uploaded to a sub-exhibit of the extraction's exhibit (e.g. KH/4/2)" })
  attachReport(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @Body({ schema: reportSchema }) body: ReportInput, @Ctx() ctx: RequestContext) {
    return this.workflow.attachReport(p, caseId, id, body, ctx);
  }

  @Post('exports')
  @HttpCode(202)
  @ApiZodBody(exportSchema)
  @ApiOperation({
    summary:
      'Exports inventory entries (by path, index or SHA-256) of a verified ZIP-based extraction as a new sub-exhibit: each file streamed out of the unchanged original, checked against the inventory and sealed by the worker; the provenance manifest is recorded',
  })
  requestExport(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @Body({ schema: exportSchema }) body: ExportRequest, @Ctx() ctx: RequestContext) {
    return this.exports.request(p, caseId, id, body, ctx);
  }

  @Get('exports')
  @JustificationHeaders(true)
  @ApiOperation({ summary: "The extraction's exports with their state, items and provenance" })
  listExports(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('extractionId') id: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.exports.list(p, caseId, id, j, ctx);
  }

  @Get('exports/:exportId')
  @JustificationHeaders(true)
  @ApiOperation({ summary: 'One export: state, items (source path, index, inventoried and sealed SHA-256, file), the provenance manifest and whether it still verifies' })
  getExport(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('extractionId') id: string,
    @Param('exportId') exportId: string,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return this.exports.get(p, caseId, id, exportId, j, ctx);
  }
}
