import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError } from './api-client.js';
import { SignInRequired } from './signed-in.guard.js';

/** The API's answers that mean "say why first": the page asking for the s.62 reason follows. */
const REASON_CODES = new Set(['ACCESS_REASON_REQUIRED', 'JUSTIFICATION_REQUIRED']);

const API_ERROR_TITLES: Record<number, string> = { 403: 'You cannot see this page', 404: 'Page not found' };

/** Same-site paths only, so a crafted link cannot send someone elsewhere after sign-in. */
export function safeReturnTo(value: unknown, fallback: string): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : fallback;
}

/**
 * Every failure becomes a page in the GOV.UK pattern (never a stack trace or a blank page):
 * signed out → sign in; the API wants an s.62 reason → the reason page; an API refusal → its
 * message; anything unexpected → a generic problem page, with the details only in the log.
 */
@Catch()
export class HtmlExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('web');

  catch(e: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const back = req.method === 'GET' ? req.originalUrl : safeReturnTo(req.body?.returnTo, '/cases');
    if (e instanceof SignInRequired || (e instanceof ApiError && e.status === 401)) {
      if (req.session) delete req.session.auth;
      res.redirect(303, `/sign-in?returnTo=${encodeURIComponent(back)}`);
      return;
    }
    const caseId = req.params?.caseId;
    if (e instanceof ApiError && REASON_CODES.has(e.code) && typeof caseId === 'string') {
      res.redirect(303, `/cases/${encodeURIComponent(caseId)}/reason?returnTo=${encodeURIComponent(back)}`);
      return;
    }
    if (e instanceof ApiError) {
      this.page(res, e.status >= 500 ? 502 : e.status, API_ERROR_TITLES[e.status] ?? (e.status >= 500 ? 'Sorry, there is a problem with the service' : 'There is a problem'), e.message, e.code);
      return;
    }
    if (e instanceof HttpException && e.getStatus() < 500) {
      this.page(res, e.getStatus(), e.getStatus() === 404 ? 'Page not found' : 'There is a problem', 'Check the address and try again.', `HTTP_${e.getStatus()}`);
      return;
    }
    this.logger.error({ err: e instanceof Error ? { message: e.message, stack: e.stack } : e, path: req.path }, 'page failed');
    this.page(res, 500, 'Sorry, there is a problem with the service', 'Try again later.', 'INTERNAL_ERROR');
  }

  private page(res: Response, status: number, title: string, message: string, code: string): void {
    if (res.headersSent) return;
    res.status(status).render('pages/error', { title, message, code });
  }
}
