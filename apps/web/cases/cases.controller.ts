import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError, type Justification } from '../api-client.js';
import { formErrors } from '../form-errors.js';
import { safeReturnTo } from '../html-exception.filter.js';
import { WebApi } from '../web-api.service.js';
import { custodyTimeline, type CaseEvent } from './custody-timeline.js';
import { REASON_LABELS, reasonProblems } from './reasons.js';

const PAGE_SIZE = 25;
const STATUSES = ['open', 'under_investigation', 'charged', 'awaiting_trial', 'concluded', 'closed'];
/** Paging trail entries kept per session (each is one page's cursor). */
const TRAIL_LIMIT = 200;

interface CaseListQuery {
  q?: string;
  status?: string;
  urn?: string;
  sort?: string;
  order?: string;
  cursor?: string;
}

interface CaseSummary {
  id: string;
  urnDisplay: string;
  title: string;
  status: string;
  classification: string;
  createdAt: string;
  updatedAt: string;
}

const enc = encodeURIComponent;

@Controller('cases')
export class CasesController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  /** My cases: the API's list (it decides which cases are mine), its filters and its forward cursor. */
  @Get()
  async list(@Query() query: CaseListQuery, @Req() req: Request, @Res() res: Response) {
    const filters = {
      q: str(query.q),
      status: STATUSES.includes(str(query.status)) ? str(query.status) : '',
      urn: str(query.urn),
      sort: ['createdAt', 'updatedAt', 'urn', 'title'].includes(str(query.sort)) ? str(query.sort) : 'updatedAt',
      order: str(query.order) === 'asc' ? 'asc' : 'desc',
    };
    const cursor = str(query.cursor);
    const page = await this.api.as(req).get<{ items: CaseSummary[]; nextCursor: string | null; total: number }>('/api/v1/cases', {
      query: { ...filters, limit: PAGE_SIZE, cursor: cursor || undefined },
    });
    const base = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== ''));
    const link = (c: string) => {
      const p = new URLSearchParams(base);
      if (c) p.set('cursor', c);
      return `/cases?${p.toString()}`;
    };
    // The API's cursors only go forward: remember which page led to the next one, for "Previous".
    const trail = (req.session.previousCursor ??= {});
    if (page.nextCursor) {
      trail[page.nextCursor] = cursor;
      const keys = Object.keys(trail);
      for (const k of keys.slice(0, Math.max(0, keys.length - TRAIL_LIMIT))) delete trail[k];
    }
    res.render('pages/cases/index', {
      filters,
      statuses: STATUSES,
      cases: page.items,
      total: page.total,
      next: page.nextCursor ? link(page.nextCursor) : undefined,
      previous: cursor ? link(trail[cursor] ?? '') : undefined,
    });
  }

  @Get(':caseId')
  async show(@Param('caseId') caseId: string, @Req() req: Request, @Res() res: Response) {
    const client = this.api.as(req);
    const reason = req.session.reasons?.[caseId];
    const found = await client.get<Record<string, unknown> & { id: string }>(`/api/v1/cases/${enc(caseId)}`, { justification: reason });
    const exhibits = reason ? await client.get<Record<string, unknown>[]>(`/api/v1/cases/${enc(caseId)}/exhibits`, { justification: reason }) : undefined;
    res.render('pages/cases/show', { kase: found, exhibits, reason: reason && { ...reason, label: REASON_LABELS[reason.code as keyof typeof REASON_LABELS] } });
  }

  /** The s.62 reason: asked before any evidence is shown; the API records it with every read. */
  @Get(':caseId/reason')
  reasonForm(@Param('caseId') caseId: string, @Query('returnTo') returnTo: string | undefined, @Res() res: Response) {
    this.renderReason(res, 200, { caseId, returnTo: safeReturnTo(returnTo, `/cases/${enc(caseId)}`) });
  }

  @Post(':caseId/reason')
  async giveReason(@Param('caseId') caseId: string, @Body() body: { code?: string; text?: string; returnTo?: string }, @Req() req: Request, @Res() res: Response) {
    const returnTo = safeReturnTo(body.returnTo, `/cases/${enc(caseId)}`);
    const model = { caseId, returnTo, code: body.code, text: body.text };
    const problems = reasonProblems(body.code, body.text);
    if (problems.length) return this.renderReason(res, 400, { ...model, errors: formErrors(problems) });
    const reason: Justification = { code: body.code!, text: body.text!.trim() };
    try {
      // The API judges the reason (and records this opening of the case with it).
      await this.api.as(req).get(`/api/v1/cases/${enc(caseId)}`, { justification: reason });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 400) throw e;
      return this.renderReason(res, 400, { ...model, errors: formErrors([{ field: 'text', text: e.message.replace(/^X-Justification-\w+ /, 'Your reason ') }]) });
    }
    req.session.reasons = { ...req.session.reasons, [caseId]: reason };
    res.redirect(303, returnTo);
  }

  @Get(':caseId/exhibits/:exhibitId')
  async exhibit(@Param('caseId') caseId: string, @Param('exhibitId') exhibitId: string, @Req() req: Request, @Res() res: Response) {
    const reason = this.reasonFor(req, caseId);
    const client = this.api.as(req);
    const path = `/api/v1/cases/${enc(caseId)}` as const;
    const [kase, exhibit, files, events] = await Promise.all([
      client.get<Record<string, unknown>>(path, { justification: reason }),
      client.get<Record<string, unknown> & { id: string }>(`${path}/exhibits/${enc(exhibitId)}`, { justification: reason }),
      client.get<(Record<string, unknown> & { id: string })[]>(`${path}/exhibits/${enc(exhibitId)}/files`, { justification: reason }),
      client.get<CaseEvent[]>(`${path}/events`, { justification: reason }),
    ]);
    const ids = new Set([exhibit.id, ...files.map((f) => f.id)]);
    res.render('pages/cases/exhibit', { kase, exhibit, files, timeline: custodyTimeline(events, ids, caseId) });
  }

  /** The case's custody events, each with a link to check it in the browser. */
  @Get(':caseId/events')
  async events(@Param('caseId') caseId: string, @Req() req: Request, @Res() res: Response) {
    const reason = req.session.reasons?.[caseId];
    const client = this.api.as(req);
    const path = `/api/v1/cases/${enc(caseId)}` as const;
    const [kase, events] = await Promise.all([client.get<Record<string, unknown>>(path, { justification: reason }), client.get<CaseEvent[]>(`${path}/events`, { justification: reason })]);
    res.render('pages/cases/events', { kase, timeline: custodyTimeline(events, undefined, caseId) });
  }

  /** Consulting evidence needs a reason: none given yet for this case sends the person to give one. */
  private reasonFor(req: Request, caseId: string): Justification {
    const reason = req.session.reasons?.[caseId];
    if (!reason) throw new ApiError(400, 'JUSTIFICATION_REQUIRED', 'Say why you need to see this evidence');
    return reason;
  }

  private renderReason(res: Response, status: number, model: Record<string, unknown>) {
    res.status(status).render('pages/cases/reason', { ...model, reasons: Object.entries(REASON_LABELS).map(([value, text]) => ({ value, text })) });
  }
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}
