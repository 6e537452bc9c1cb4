import { pipeline } from 'node:stream/promises';
import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../../libs/core/index.js';
import type { Justification } from '../../../libs/custody/index.js';
import {
  bundleRequestSchema,
  DisclosureBundlesService,
  DisclosureSchedulesService,
  scheduleCsv,
  schedulePdf,
  scheduleVersionSchema,
  shareRequestSchema,
  type ScheduleVersionInput,
} from '../../../libs/disclosure/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { Ctx, CurrentUser, JustificationHeader, JustificationHeaders, Public } from '../auth/request-context.js';
import { ApiZodBody } from '../validation.js';

const scheduleFormat = z.strictObject({ format: z.enum(['json', 'csv', 'pdf']).default('json') });

/** MG6 schedules and bundle requests, per case (officer in the case, disclosure officer). */
@ApiTags('disclosure')
@ApiBearerAuth()
@Controller({ path: 'cases/:caseId/disclosure', version: '1' })
export class CaseDisclosureController {
  constructor(
    @Inject(DisclosureSchedulesService) private readonly schedules: DisclosureSchedulesService,
    @Inject(DisclosureBundlesService) private readonly bundles: DisclosureBundlesService,
  ) {}

  @Post('schedules')
  @ApiOperation({ summary: 'Add a version of the MG6C, MG6D or MG6E (every entry listed again; new items numbered next; a nil MG6D certified)' })
  @ApiZodBody(scheduleVersionSchema)
  create(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Body({ schema: scheduleVersionSchema }) body: ScheduleVersionInput, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.schedules.createVersion(caseId, body, { principal: p, justification: j, context: ctx });
  }

  @Get('schedules')
  @ApiOperation({ summary: "Every version of the case's schedules" })
  list(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.schedules.list(caseId, { principal: p, justification: j, context: ctx });
  }

  @Get('schedules/:schedule/:version')
  @ApiOperation({ summary: 'One schedule version (a number, or latest) as JSON, CSV or PDF (?format=)' })
  async get(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('schedule') schedule: string,
    @Param('version') version: string,
    @Query({ schema: scheduleFormat }) q: z.infer<typeof scheduleFormat>,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const v = version === 'latest' ? 'latest' : /^[1-9]\d{0,8}$/.test(version) ? Number(version) : undefined;
    if (v === undefined) throw new AppError('SCHEDULE_NOT_FOUND', `No version ${version}`, 404);
    const view = await this.schedules.get(caseId, schedule.toUpperCase(), v, { principal: p, justification: j, context: ctx });
    const name = `${view.schedule}-v${view.version}`;
    if (q.format === 'csv') {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="${name}.csv"`);
      res.send(scheduleCsv(view));
      return;
    }
    if (q.format === 'pdf') {
      res.setHeader('Content-Type', 'application/pdf');
      res.setHeader('Content-Disposition', `attachment; filename="${name}.pdf"`);
      res.send(await schedulePdf(view));
      return;
    }
    return view;
  }

  @Post('bundles')
  @HttpCode(202)
  @ApiOperation({ summary: 'Request a bundle of sealed originals (by exhibit or file) and schedules; the worker builds it. MG6D material only in a cps_only bundle' })
  @ApiZodBody(bundleRequestSchema)
  request(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Body({ schema: bundleRequestSchema }) body: z.infer<typeof bundleRequestSchema>, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.bundles.request(caseId, body, { principal: p, justification: j, context: ctx });
  }

  @Get('bundles')
  @ApiOperation({ summary: "The case's bundles, every version, with state and failure reason" })
  bundlesOfCase(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.bundles.listForCase(caseId, { principal: p, justification: j, context: ctx });
  }
}

/** Range: bytes=a-b or bytes=a- (one range); anything else is served whole, as RFC 9110 allows. */
function parseRange(header: string | undefined): { start: number; end?: number } | undefined {
  const m = header ? /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), end: m[2] ? Number(m[2]) : undefined };
}

/** A bundle by id: its managers, and CPS users it is shared with (anyone else: 404). */
@ApiTags('disclosure')
@ApiBearerAuth()
@Controller({ path: 'disclosure', version: '1' })
export class DisclosureBundlesController {
  constructor(@Inject(DisclosureBundlesService) private readonly bundles: DisclosureBundlesService) {}

  @Public()
  @Get('signing-key')
  @ApiOperation({ summary: "The bundle manifest signer (an allowed_signers line for ssh-keygen -Y verify) and the ledger's verifier key, to pin out of band" })
  signingKey() {
    return this.bundles.publicKey();
  }

  @Get('bundles')
  @ApiOperation({ summary: 'Bundles shared with me (live shares only)' })
  mine(@CurrentUser() p: Principal) {
    return this.bundles.sharedWithMe(p);
  }

  @Get('bundles/:bundleId')
  @ApiOperation({ summary: 'One bundle: state, size, SHA-256 (and its shares, for its managers)' })
  view(@CurrentUser() p: Principal, @Param('bundleId') bundleId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.bundles.view(bundleId, { principal: p, justification: j, context: ctx });
  }

  @Post('bundles/:bundleId/shares')
  @ApiOperation({ summary: 'Share a ready bundle with a named CPS user until an expiry (a disclosure: s.62 justification required)' })
  @JustificationHeaders(true)
  @ApiZodBody(shareRequestSchema)
  share(@CurrentUser() p: Principal, @Param('bundleId') bundleId: string, @Body({ schema: shareRequestSchema }) body: z.infer<typeof shareRequestSchema>, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.bundles.share(bundleId, body, { principal: p, justification: j, context: ctx });
  }

  @Delete('bundles/:bundleId/shares/:shareId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a share at once (s.62 justification required: the reason is recorded)' })
  @JustificationHeaders(true)
  async revoke(@CurrentUser() p: Principal, @Param('bundleId') bundleId: string, @Param('shareId') shareId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    await this.bundles.revoke(bundleId, shareId, { principal: p, justification: j, context: ctx });
  }

  @Post('bundles/:bundleId/download-url')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'A short-lived presigned URL for the bundle object alone (S3_PRESIGN_TTL_SECONDS, never beyond the share); any HTTP client downloads and resumes with Range from storage. The disclosure is recorded before the URL is issued',
  })
  @JustificationHeaders(false)
  downloadUrl(@CurrentUser() p: Principal, @Param('bundleId') bundleId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.bundles.downloadUrl(bundleId, { principal: p, justification: j, context: ctx });
  }

  @Get('bundles/:bundleId/download')
  @ApiOperation({ summary: 'The bundle ZIP; resumable with Range (If-Range with the ETag); every download, partial ones included, is an s.62 disclosure entry' })
  @ApiHeader({ name: 'Range', required: false, description: 'bytes=start- or bytes=start-end' })
  async download(
    @CurrentUser() p: Principal,
    @Param('bundleId') bundleId: string,
    @Headers('range') rangeHeader: string | undefined,
    @Headers('if-range') ifRange: string | undefined,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
    @Res() res: Response,
  ) {
    let range = parseRange(rangeHeader);
    const actor = { principal: p, justification: j, context: ctx };
    // The ETag is the bundle's SHA-256: a resume can never splice two different objects.
    if (range && ifRange !== undefined) {
      const v = await this.bundles.view(bundleId, actor);
      if (ifRange !== `"${v.sha256}"`) range = undefined;
    }
    const { got, sha256, size, fileName } = await this.bundles.download(bundleId, range, actor);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', `"${sha256}"`);
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Length', String(got.contentLength));
    if (range) {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${range.start}-${range.start + got.contentLength - 1}/${size}`);
    } else res.status(200);
    await pipeline(got.body, res).catch(() => undefined); // a client that hangs up mid-way is a partial download, already recorded
  }
}
