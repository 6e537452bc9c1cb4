import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../../libs/core/index.js';
import type { Justification } from '../../../libs/custody/index.js';
import { CourtCopiesService, courtCopyRequestSchema, WorkingCopiesService, type CourtCopyRequest } from '../../../libs/evidence/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import type { ByteRange } from '../../../libs/storage/index.js';
import { Ctx, CurrentUser, JustificationHeader, JustificationHeaders } from '../auth/request-context.js';
import { ApiZodBody } from '../validation.js';

/** One `bytes=start-end` range (or `bytes=start-`, `bytes=-suffix`); anything else is served whole. */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined | 'unsatisfiable' {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * Working copies: media state and derivatives of sealed originals, playback with HTTP Range, and
 * retries. Every read of evidence (the list or the bytes) is an s.62 consultation with a reason.
 */
@ApiTags('media')
@ApiBearerAuth()
@Controller({ path: 'cases/:caseId', version: '1' })
export class MediaController {
  constructor(
    @Inject(WorkingCopiesService) private readonly workingCopies: WorkingCopiesService,
    @Inject(CourtCopiesService) private readonly courtCopies: CourtCopiesService,
  ) {}

  @Get('media')
  @JustificationHeaders(true)
  @ApiOperation({ summary: "Every sealed file of the case with its media state (pending, processing, ready, partial, not_media, needs_specialist_tool, failed), progress and working copies" })
  forCase(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.workingCopies.forCase(p, caseId, j, ctx);
  }

  @Get('exhibits/:exhibitId/media')
  @JustificationHeaders(true)
  @ApiOperation({ summary: "An exhibit's files with their probe facts, media state and working copies (each with its SHA-256, recipe and reference)" })
  forExhibit(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('exhibitId') exhibitId: string,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return this.workingCopies.forExhibit(p, caseId, exhibitId, j, ctx);
  }

  @Post('files/:fileId/media/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Try the working copies of a file again (failed, needs a specialist tool, or partial); for those who may add evidence to the case' })
  retry(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('fileId') fileId: string, @Ctx() ctx: RequestContext) {
    return this.workingCopies.retry(p, caseId, fileId, ctx);
  }

  @Post('files/:fileId/media/court-copies')
  @ApiZodBody(courtCopyRequestSchema)
  @ApiOperation({
    summary:
      "Ask for a court copy of a sealed video: the working copy with the exhibit reference and each frame's real-world time burnt in, from the recorder's reading at the first frame and the exhibit's clock offset and time zone. 202 when queued, 200 when the same caption was asked for before; follow it in the media views",
  })
  async requestCourtCopy(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('fileId') fileId: string,
    @Body({ schema: courtCopyRequestSchema }) body: CourtCopyRequest,
    @Ctx() ctx: RequestContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { created, view } = await this.courtCopies.request(p, caseId, fileId, body, ctx);
    res.status(created || view.state === 'pending' ? 202 : 200);
    return view;
  }

  @Get('derivatives/:derivativeId')
  @JustificationHeaders(true)
  @ApiOperation({ summary: 'A working copy\'s full record: hashes, master, and the provenance (tool versions, exact commands) that dems media reproduce runs again; an s.62 consultation' })
  derivative(@CurrentUser() p: Principal, @Param('caseId') caseId: string, @Param('derivativeId') derivativeId: string, @JustificationHeader() j: Justification | undefined, @Ctx() ctx: RequestContext) {
    return this.workingCopies.record(p, caseId, derivativeId, j, ctx);
  }

  @Get('exhibits/:exhibitId/files/:fileId/derivatives/:derivativeId/content')
  @JustificationHeaders(true)
  @ApiHeader({ name: 'Range', required: false, description: 'bytes=start-end: a part of the file (206), for seeking in a player' })
  @ApiOperation({ summary: 'The bytes of a working copy, seekable (HTTP Range, 206); each request is an s.62 consultation naming the range' })
  async content(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('exhibitId') exhibitId: string,
    @Param('fileId') fileId: string,
    @Param('derivativeId') derivativeId: string,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const ids = { caseId, exhibitId, fileId, derivativeId };
    const rangeHeader = req.header('range');
    const got = await this.workingCopies.open(p, ids, (size) => parseRange(rangeHeader, size), j, ctx);
    if ('unsatisfiable' in got) {
      res.status(416).set({ 'Content-Range': `bytes */${got.size}`, 'Content-Type': 'application/json' });
      res.send(JSON.stringify({ code: 'RANGE_NOT_SATISFIABLE', message: `The range ${rangeHeader} is outside the file (${got.size} bytes)` }));
      return;
    }
    const range = got.range;
    res.status(range ? 206 : 200).set({
      'Content-Type': got.mime,
      'Content-Length': String(got.contentLength),
      'Accept-Ranges': 'bytes',
      ETag: `"${got.sha256}"`,
      'X-Derivative-Reference': got.reference,
      ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${got.totalSize}` } : {}),
    });
    try {
      await pipeline(got.body, res);
    } catch (e) {
      // The player went away mid-response (seeking does this): nothing to answer any more.
      if (!res.headersSent) throw new AppError('PLAYBACK_FAILED', (e as Error).message, 502);
    }
  }
}
