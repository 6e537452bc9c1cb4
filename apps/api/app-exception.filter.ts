import { Catch, HttpException, HttpStatus, Inject, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { AppError } from '../../libs/core/index.js';
import { AccessLogService } from '../../libs/custody/index.js';
import { refusedRequest } from './audit/refused-requests.js';
import type { AuthedRequest } from './auth/request-context.js';

export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Stable codes for the HTTP errors Nest and Express raise themselves. */
const HTTP_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * The one place errors become HTTP answers, always `{ code, message, details? }`. A refused
 * attempt is recorded in the s.62 log before the answer (the request's own transaction has
 * rolled back by then, so the record needs one of its own; guards' refusals come here too).
 */
@Catch()
export class AppExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(@Inject(AccessLogService) private readonly accessLog: AccessLogService) {}

  async catch(exception: unknown, host: ArgumentsHost): Promise<void> {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.toBody(exception);
    if (status >= 500) this.logger.error({ err: exception }, body.message);
    const refused = refusedRequest(exception, host.switchToHttp().getRequest<AuthedRequest>());
    if (refused) {
      // The caller's answer does not depend on it: a record that cannot be written is logged as an error.
      await this.accessLog.recordRefusal(refused).catch((err: unknown) => this.logger.error({ err, refused: { code: refused.code, route: refused.route } }, 'refused request not recorded'));
    }
    if (!res.headersSent) res.status(status).json(body);
  }

  private toBody(e: unknown): { status: number; body: ErrorBody } {
    if (e instanceof AppError) {
      return { status: e.status, body: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } };
    }
    // Express's body parser fails with a type; Nest hands it on wrapped in an HttpException.
    const parser = e instanceof HttpException ? (e.cause as { type?: unknown } | undefined) : undefined;
    if (parser?.type === 'entity.parse.failed') {
      return { status: 400, body: { code: 'MALFORMED_JSON', message: 'The request body is not valid JSON' } };
    }
    if (e instanceof HttpException) {
      const status = e.getStatus();
      const r = e.getResponse();
      const message = typeof r === 'string' ? r : Array.isArray((r as { message?: unknown }).message)
        ? ((r as { message: string[] }).message).join('; ')
        : String((r as { message?: unknown }).message ?? e.message);
      return { status, body: { code: HTTP_CODES[status] ?? `HTTP_${status}`, message } };
    }
    // body-parser errors carry a status and a type (entity.too.large, entity.parse.failed).
    const bp = e as { status?: number; type?: string; message?: string };
    if (typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500 && typeof bp.type === 'string') {
      const code = bp.type === 'entity.too.large' ? 'PAYLOAD_TOO_LARGE' : bp.type === 'entity.parse.failed' ? 'MALFORMED_JSON' : HTTP_CODES[bp.status] ?? `HTTP_${bp.status}`;
      const message = bp.type === 'entity.too.large' ? 'The request body is larger than this endpoint accepts' : bp.type === 'entity.parse.failed' ? 'The request body is not valid JSON' : bp.message ?? 'Bad request';
      return { status: bp.status, body: { code, message } };
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: { code: 'INTERNAL_ERROR', message: 'An unexpected error occurred; it has been logged' } };
  }
}
