import { Controller, Get, Header, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Justification } from '../../../libs/custody/index.js';
import { entriesToCsv, ExtractionsService, type EntryQuery } from '../../../libs/evidence/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { Ctx, CurrentUser, JustificationHeader, JustificationHeaders } from '../auth/request-context.js';

const EntryFilters = () => (target: object, key?: string | symbol, desc?: PropertyDescriptor) => {
  ApiQuery({ name: 'q', required: false, description: 'path substring or name prefix (case-insensitive)' })(target, key!, desc!);
  ApiQuery({ name: 'extension', required: false, description: 'file extension, e.g. jpg' })(target, key!, desc!);
  ApiQuery({ name: 'sha256', required: false, description: 'SHA-256 of the entry' })(target, key!, desc!);
  ApiQuery({ name: 'deleted', required: false, enum: ['true', 'false'], description: 'deleted according to the UFDR report' })(target, key!, desc!);
};

/**
 * Device extractions (docs/extraction.md): the extraction sets of an exhibit with their
 * verification state, outcome, facts and hashes, and the searchable inventory of ZIP-based
 * extractions. Every read is an s.62 consultation with a reason.
 */
@ApiTags('extractions')
@ApiBearerAuth()
@Controller({ path: 'cases/:caseId', version: '1' })
export class ExtractionController {
  constructor(@Inject(ExtractionsService) private readonly extractions: ExtractionsService) {}

  @Get('extractions')
  @JustificationHeaders(true)
  @ApiOperation({ summary: 'Every extraction set of the case with its state (received, verifying, verified, verified_with_warnings, failed, not_verifiable)' })
  forCase(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.extractions.forCase(p, caseId, j, ctx);
  }

  @Get('exhibits/:exhibitId/extractions')
  @JustificationHeaders(true)
  @ApiOperation({ summary: "An exhibit's extraction sets: state, outcome code and reason, warnings, header/report facts, stored and calculated hashes, member files, missing segments" })
  forExhibit(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('exhibitId') exhibitId: string,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return this.extractions.forExhibit(p, caseId, exhibitId, j, ctx);
  }

  @Get('extractions/:extractionId/entries')
  @JustificationHeaders(true)
  @EntryFilters()
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiOperation({ summary: "One page of a ZIP-based extraction's inventory (keyset pagination), searchable by path or name, extension, SHA-256 and deleted" })
  entries(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('extractionId') extractionId: string,
    @Query() query: EntryQuery,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return this.extractions.entries(p, caseId, extractionId, pick(query), j, ctx);
  }

  @Get('extractions/:extractionId/entries.csv')
  @JustificationHeaders(true)
  @EntryFilters()
  @Header('content-type', 'text/csv; charset=utf-8')
  @ApiOperation({ summary: 'The inventory (filtered as for /entries) as CSV; cells that a spreadsheet would read as a formula are prefixed with an apostrophe' })
  async entriesCsv(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('extractionId') extractionId: string,
    @Query() query: EntryQuery,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
  ): Promise<string> {
    const { q, extension, sha256, deleted } = pick(query);
    const page = await this.extractions.entries(p, caseId, extractionId, { q, extension, sha256, deleted }, j, ctx, true);
    return entriesToCsv(page.entries);
  }
}

/** Only the known query parameters, each a single string (a repeated parameter is refused by type). */
function pick(query: EntryQuery): EntryQuery {
  const out: EntryQuery = {};
  for (const k of ['q', 'extension', 'sha256', 'deleted', 'limit', 'cursor'] as const) {
    const v = (query as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out[k] = typeof v === 'string' ? v : String(Array.isArray(v) ? v[0] : v);
  }
  return out;
}
