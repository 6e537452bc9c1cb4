import { Body, Controller, Get, Param, Post, Query, Req, Res, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError, type Justification } from '../api-client.js';
import { REASON_LABELS, reasonProblems } from '../cases/reasons.js';
import { formErrors } from '../form-errors.js';
import { WebApi } from '../web-api.service.js';
import { apiQuery, auditSearch, searchParams, searchProblems } from './audit-search.js';

declare module 'express-session' {
  interface SessionData {
    /** The auditor's s.62 reason for reading the access log, sent with every query of it in this session. */
    auditReason: Justification;
  }
}

const PAGE_SIZE = 25;
/** The API's largest page, so one export holds up to this many entries (the page says so). */
const EXPORT_LIMIT = 10_000;
const EVENTS = '/api/v1/audit/events';
const SUBJECT = 'the access log';

/**
 * Journey 6: the s.62 access log, searched by case, user and period, paged with the API's
 * afterSeq, and exported as CSV or JSON through this server (the browser never holds the API
 * token). Only auditors may read it: that is the API's rule, and its refusal is shown as it is.
 */
@Controller('audit')
export class AuditController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get()
  async search(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    const reason = req.session.auditReason;
    if (!reason) return res.redirect(303, '/audit/reason');
    const search = auditSearch(query);
    const model = { search, reason: { ...reason, label: REASON_LABELS[reason.code as keyof typeof REASON_LABELS] } };
    const problems = searchProblems(search);
    if (problems.length) return res.status(400).render('pages/audit/index', { ...model, errors: formErrors(problems) });
    const afterSeq = typeof query.afterSeq === 'string' && /^\d{1,15}$/.test(query.afterSeq) ? query.afterSeq : undefined;
    const page = await this.api.as(req).get<{ items: Record<string, unknown>[]; nextAfterSeq: number | null }>(EVENTS, {
      query: { ...apiQuery(search), afterSeq, limit: PAGE_SIZE },
      justification: reason,
    });
    res.render('pages/audit/index', {
      ...model,
      entries: page.items,
      first: afterSeq ? `/audit?${searchParams(search)}` : undefined,
      next: page.nextAfterSeq === null ? undefined : `/audit?${searchParams(search, { afterSeq: String(page.nextAfterSeq) })}`,
      exportLimit: EXPORT_LIMIT,
      exports: { csv: `/audit/export/csv?${searchParams(search)}`, json: `/audit/export/json?${searchParams(search)}` },
    });
  }

  /** The export, made by the API (and logged there as a consultation) and passed on byte for byte. */
  @Get('export/:format')
  async export(@Param('format') format: string, @Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response) {
    const reason = req.session.auditReason;
    if (!reason) return res.redirect(303, '/audit/reason');
    const search = auditSearch(query);
    if (!['csv', 'json'].includes(format) || searchProblems(search).length) return res.redirect(303, `/audit?${searchParams(search)}`);
    const file = await this.api.as(req).file(EVENTS, { query: { ...apiQuery(search), format, limit: EXPORT_LIMIT }, justification: reason });
    res.type(file.contentType).attachment(`access-log.${format}`).send(file.body);
  }

  @Get('reason')
  reasonForm(@Res() res: Response) {
    renderReason(res, 200, {});
  }

  /** The auditor's reason, judged by the API on a first read of the log (which it records). */
  @Post('reason')
  async giveReason(@Body() body: { code?: string; text?: string }, @Req() req: Request, @Res() res: Response) {
    const model = { code: body.code, text: body.text };
    const problems = reasonProblems(body.code, body.text, SUBJECT);
    if (problems.length) return renderReason(res, 400, { ...model, errors: formErrors(problems) });
    const reason: Justification = { code: body.code!, text: body.text!.trim() };
    try {
      await this.api.as(req).get(EVENTS, { query: { limit: 1 }, justification: reason });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 400) throw e;
      return renderReason(res, 400, { ...model, errors: formErrors([{ field: 'text', text: e.message.replace(/^X-Justification-\w+ /, 'Your reason ') }]) });
    }
    req.session.auditReason = reason;
    res.redirect(303, '/audit');
  }
}

function renderReason(res: Response, status: number, model: Record<string, unknown>) {
  res.status(status).render('pages/audit/reason', { ...model, reasons: Object.entries(REASON_LABELS).map(([value, text]) => ({ value, text })) });
}
