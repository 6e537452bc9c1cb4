import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Controller, Delete, Get, Head, Param, Patch, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { WebApi } from '../web-api.service.js';

const API_UPLOADS = '/api/v1/uploads';
/** What a tus client sends and needs back; nothing else crosses the relay (no cookie, no token). */
const REQUEST_HEADERS = ['tus-resumable', 'upload-length', 'upload-metadata', 'upload-offset', 'upload-checksum', 'content-type', 'content-length', 'x-request-id'];
const ANSWER_HEADERS = ['tus-resumable', 'tus-version', 'tus-extension', 'tus-max-size', 'tus-checksum-algorithm', 'upload-offset', 'upload-length', 'upload-expires', 'upload-metadata', 'x-evidence-state', 'retry-after', 'content-type'];

/**
 * The browser's tus endpoint (`/uploads`): each request is passed to the API's `/api/v1/uploads`
 * as the signed-in person, body streamed both ways, so the page needs neither the API's origin
 * (CSP connect-src stays 'self'; the API sends no CORS headers) nor an access token. Writes carry
 * the session's CSRF token in `x-csrf-token`. Offsets, locks and every rule stay the API's: a
 * request cut off by the browser is cut off towards the API too, which keeps what it received.
 */
@Controller()
export class UploadRelayController {
  constructor(private readonly api: WebApi) {}

  @Post('uploads')
  create(@Req() req: Request, @Res() res: Response) {
    return this.relay(req, res, API_UPLOADS);
  }

  @Head('uploads/:id')
  offset(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    return this.relay(req, res, `${API_UPLOADS}/${encodeURIComponent(id)}`);
  }

  @Patch('uploads/:id')
  append(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    return this.relay(req, res, `${API_UPLOADS}/${encodeURIComponent(id)}`);
  }

  @Delete('uploads/:id')
  cancel(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    return this.relay(req, res, `${API_UPLOADS}/${encodeURIComponent(id)}`);
  }

  /** The exhibit's files table alone, for the page's script to refresh their states. */
  @Get('cases/:caseId/exhibits/:exhibitId/files-table')
  async filesTable(@Param('caseId') caseId: string, @Param('exhibitId') exhibitId: string, @Req() req: Request, @Res() res: Response) {
    const path = `/api/v1/cases/${encodeURIComponent(caseId)}/exhibits/${encodeURIComponent(exhibitId)}/files` as const;
    const files = await this.api.as(req).get<unknown[]>(path, { justification: req.session.reasons?.[caseId] });
    res.render('partials/exhibit-files', { files });
  }

  private async relay(req: Request, res: Response, path: string): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of REQUEST_HEADERS) {
      const value = req.header(name);
      if (value !== undefined) headers[name] = value;
    }
    const hasBody = req.method === 'PATCH' || (req.method === 'POST' && Number(req.header('content-length') ?? 0) > 0);
    const cut = new AbortController();
    res.on('close', () => cut.abort());
    let answer: globalThis.Response;
    try {
      answer = await this.api.as(req).relay(req.method, path, headers, hasBody ? (Readable.toWeb(req) as ReadableStream) : undefined, cut.signal);
    } catch {
      if (!res.headersSent && !res.writableEnded) res.status(502).json({ code: 'API_UNAVAILABLE', message: 'The evidence service is not answering; the upload will try again.' });
      return;
    }
    res.status(answer.status);
    for (const name of ANSWER_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) res.setHeader(name, value);
    }
    // The API names the upload by its own URL; the browser knows it under this server's /uploads.
    const location = answer.headers.get('location');
    if (location) res.setHeader('location', `/uploads/${encodeURIComponent(new URL(location).pathname.split('/').pop() ?? '')}`);
    if (!answer.body || req.method === 'HEAD') {
      res.end();
      return;
    }
    Readable.fromWeb(answer.body as WebReadableStream).pipe(res);
  }
}
