import { Controller, Delete, Get, Head, HttpCode, Inject, Options, Param, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiHeader, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { EvidenceFilesService, type EvidenceFileView } from '../../../libs/evidence/index.js';
import type { Justification } from '../../../libs/custody/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { Ctx, CurrentUser, JustificationHeader, Public } from '../auth/request-context.js';
import { TusUploadServer } from './tus-upload.server.js';

const TUS_HEADERS = () => (target: object, key?: string | symbol, desc?: PropertyDescriptor) => {
  ApiHeader({ name: 'Tus-Resumable', required: true, description: '1.0.0' })(target, key!, desc!);
};
/** The tus handlers read the id from the URL themselves; the document still names it. */
const UPLOAD_ID = () => ApiParam({ name: 'uploadId', description: 'the upload id from the creation answer\'s Location', schema: { type: 'string' } });

/**
 * Resumable uploads (tus 1.0) into an exhibit. Creation: POST with Upload-Length and
 * Upload-Metadata (caseId, exhibitId or exhibitRef, filename; optional filetype, sha256, sha1, md5, empty).
 * The upload URL is /api/v1/uploads/<id>; GET on it is the uploader's view of state and progress
 * (tus's own GET would serve the bytes, which is never allowed here).
 */
@ApiTags('uploads')
@ApiBearerAuth()
@Controller({ path: 'uploads', version: '1' })
export class UploadsController {
  constructor(
    @Inject(TusUploadServer) private readonly tus: TusUploadServer,
    @Inject(EvidenceFilesService) private readonly files: EvidenceFilesService,
  ) {}

  @Post()
  @TUS_HEADERS()
  @ApiHeader({ name: 'Upload-Length', required: true, description: 'file size in bytes' })
  @ApiHeader({ name: 'Upload-Metadata', required: true, description: 'tus metadata: caseId, exhibitId or exhibitRef (JS/1), filename (base64 values); optional filetype, sha256, sha1, md5, empty' })
  @ApiOperation({ summary: 'Start a resumable upload (tus creation, creation-with-upload) into an exhibit you may add evidence to' })
  create(@CurrentUser() p: Principal, @Ctx() ctx: RequestContext, @Req() req: Request, @Res() res: Response) {
    return this.tus.handle({ principal: p, context: ctx }, req, res);
  }

  @Head(':uploadId')
  @TUS_HEADERS()
  @UPLOAD_ID()
  @ApiOperation({ summary: 'Offset of an upload (tus HEAD): resume from Upload-Offset' })
  head(@CurrentUser() p: Principal, @Ctx() ctx: RequestContext, @Req() req: Request, @Res() res: Response) {
    return this.tus.handle({ principal: p, context: ctx }, req, res);
  }

  @Patch(':uploadId')
  @TUS_HEADERS()
  @UPLOAD_ID()
  @ApiOperation({ summary: 'Send bytes from Upload-Offset (tus PATCH, Content-Type application/offset+octet-stream)' })
  patch(@CurrentUser() p: Principal, @Ctx() ctx: RequestContext, @Req() req: Request, @Res() res: Response) {
    return this.tus.handle({ principal: p, context: ctx }, req, res);
  }

  @Delete(':uploadId')
  @TUS_HEADERS()
  @UPLOAD_ID()
  @ApiOperation({ summary: 'Cancel an unfinished upload (tus termination): its stored parts are removed. Completed uploads cannot be removed' })
  terminate(@CurrentUser() p: Principal, @Ctx() ctx: RequestContext, @Req() req: Request, @Res() res: Response) {
    return this.tus.handle({ principal: p, context: ctx }, req, res);
  }

  @Options()
  @Public()
  @ApiExcludeEndpoint()
  discover(@Req() req: Request, @Res() res: Response) {
    return this.tus.discover(req, res);
  }

  @Options(':uploadId')
  @Public()
  @ApiExcludeEndpoint()
  discoverOne(@Req() req: Request, @Res() res: Response) {
    return this.tus.discover(req, res);
  }

  @Get(':uploadId')
  @ApiOperation({ summary: "The uploader's view of an upload: state (uploading, verifying, sealed, quarantined, expired, cancelled), progress, hashes, duplicates" })
  status(@CurrentUser() p: Principal, @Param('uploadId') id: string): Promise<EvidenceFileView> {
    // A read is a read: no storage calls, no events. An upload whose every byte is stored but
    // whose completion was never recorded (the API stopped in between) is found by the worker's
    // periodic sweep, which moves it on to its seal.
    return this.files.forUploader(p, id);
  }
}

@ApiTags('uploads')
@ApiBearerAuth()
@Controller({ path: 'uploads', version: '1' })
export class UploadSealController {
  constructor(@Inject(EvidenceFilesService) private readonly files: EvidenceFilesService) {}

  @Post(':uploadId/seal')
  @HttpCode(202)
  @ApiOperation({ summary: 'Retry a failed seal (state seal_failed): the stored bytes are read back and checked again (uploader or administrator)' })
  retrySeal(@CurrentUser() p: Principal, @Param('uploadId') id: string, @Ctx() ctx: RequestContext): Promise<EvidenceFileView> {
    return this.files.retrySeal(p, id, ctx);
  }
}

@ApiTags('exhibits')
@ApiBearerAuth()
@Controller({ path: 'cases/:caseId/exhibits/:exhibitId/files', version: '1' })
export class ExhibitFilesController {
  constructor(@Inject(EvidenceFilesService) private readonly files: EvidenceFilesService) {}

  @Get()
  @ApiHeader({ name: 'X-Justification-Code', required: true, description: 's.62 reason code' })
  @ApiHeader({ name: 'X-Justification-Text', required: true, description: 's.62 reason, 5-500 characters' })
  @ApiOperation({ summary: 'Files of an exhibit with state, hashes, declared-hash results, quarantine reasons and duplicates (a justification is required)' })
  list(
    @CurrentUser() p: Principal,
    @Param('caseId') caseId: string,
    @Param('exhibitId') exhibitId: string,
    @JustificationHeader() j: Justification | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return this.files.listForExhibit(p, caseId, exhibitId, j, ctx);
  }
}
