import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiError, type ApiClient, type Justification } from '../api-client.js';
import { apiFormErrors } from '../api-form-errors.js';
import { formErrors, type FormError } from '../form-errors.js';
import { formFromStrategy, STRATEGY_FIELDS, strategyFromForm, type StrategyForm, type StrategyRecord } from './strategy-form.js';
import { WebApi } from '../web-api.service.js';

const PAGE_SIZE = 100;
const enc = encodeURIComponent;

interface Extraction {
  id: string;
  exhibitId: string;
  kind: string;
  state: string;
  status: string;
  outcome: { code: string | null; reason: string | null };
  facts: Record<string, unknown>;
  entryCount: number;
}

interface Workflow {
  status: string;
  examinationState: string;
  strategy: { version: number; record: StrategyRecord } | null;
}

interface InventoryQuery {
  q?: string;
  extension?: string;
  deleted?: string;
  cursor?: string;
  /** The cursors of the pages before this one, comma-separated. */
  trail?: string;
}

/**
 * Journey 3, the forensic analyst: an extraction's verification result, its inventory (searched and
 * paged with the API's cursor), exports of selected entries as a derived exhibit, the digital
 * strategy record, examination state, notes and reports. Every read is an s.62 consultation with
 * the reason given for the case; every rule is the API's.
 */
@Controller('cases/:caseId/extractions')
export class ExtractionsController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get()
  async list(@Param('caseId') caseId: string, @Req() req: Request, @Res() res: Response) {
    const { client, reason, path } = this.context(req, caseId);
    const [kase, extractions, exhibits] = await Promise.all([
      client.get<Record<string, unknown>>(path, { justification: reason }),
      client.get<Extraction[]>(`${path}/extractions`, { justification: reason }),
      client.get<{ id: string; reference: string }[]>(`${path}/exhibits`, { justification: reason }),
    ]);
    const references = new Map(exhibits.map((e) => [e.id, e.reference]));
    res.render('pages/extractions/index', { kase, extractions: extractions.map((x) => ({ ...x, exhibitReference: references.get(x.exhibitId) })) });
  }

  @Get(':extractionId')
  async show(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Req() req: Request, @Res() res: Response) {
    await this.renderShow(req, res, caseId, id);
  }

  @Post(':extractionId/transitions')
  async transition(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Body() body: { to?: string; reason?: string }, @Req() req: Request, @Res() res: Response) {
    const send = { to: body.to ?? '', reason: body.reason?.trim() || undefined };
    await this.change(req, res, caseId, id, 'transitions', send, ['to', 'reason'], { TRANSITION_REASON_REQUIRED: 'reason' }, { transition: body });
  }

  @Post(':extractionId/notes')
  async addNote(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Body() body: { text?: string }, @Req() req: Request, @Res() res: Response) {
    await this.change(req, res, caseId, id, 'notes', { text: body.text ?? '' }, ['text'], {}, { note: body });
  }

  @Post(':extractionId/reports')
  async attachReport(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Body() body: { fileId?: string; title?: string }, @Req() req: Request, @Res() res: Response) {
    const send = { fileId: body.fileId?.trim() ?? '', title: body.title?.trim() ?? '' };
    await this.change(req, res, caseId, id, 'reports', send, ['fileId', 'title'], {}, { report: body });
  }

  /** One page of the inventory, forward with the API's cursor; entries can be chosen for an export. */
  @Get(':extractionId/entries')
  async entries(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Query() query: InventoryQuery, @Req() req: Request, @Res() res: Response) {
    await this.renderEntries(req, res, caseId, id, query);
  }

  @Post(':extractionId/exports')
  async requestExport(
    @Param('caseId') caseId: string,
    @Param('extractionId') id: string,
    @Body() body: { indexes?: string | string[]; reference?: string; description?: string } & InventoryQuery,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const { client, path } = this.context(req, caseId);
    const indexes = [body.indexes ?? []].flat().map(Number);
    let problems: FormError[];
    if (!indexes.length) problems = [{ field: 'entries', text: 'Select at least one entry to export' }];
    else {
      try {
        const started = await client.post<{ id: string }>(`${path}/extractions/${enc(id)}/exports`, {
          body: { indexes, reference: body.reference?.trim() || undefined, description: body.description?.trim() || undefined },
        });
        return res.redirect(303, `/cases/${enc(caseId)}/extractions/${enc(id)}/exports/${enc(started.id)}`);
      } catch (e) {
        problems = apiFormErrors(e, ['entries', 'reference', 'description'], { EXPORT_REFERENCE_NOT_DERIVED: 'reference', EXHIBIT_REFERENCE_TAKEN: 'reference' });
      }
    }
    res.status(400);
    await this.renderEntries(req, res, caseId, id, body, { errors: formErrors(problems), exportForm: body });
  }

  @Get(':extractionId/exports/:exportId')
  async exportPage(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Param('exportId') exportId: string, @Req() req: Request, @Res() res: Response) {
    const { client, reason, path } = this.context(req, caseId);
    const [kase, found] = await Promise.all([
      client.get<Record<string, unknown>>(path, { justification: reason }),
      client.get<Record<string, unknown>>(`${path}/extractions/${enc(id)}/exports/${enc(exportId)}`, { justification: reason }),
    ]);
    res.render('pages/extractions/export', { kase, extractionId: id, exp: found });
  }

  /** The export's progress for the page's script, which polls it until the export settles. */
  @Get(':extractionId/exports/:exportId/progress')
  async exportProgress(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Param('exportId') exportId: string, @Req() req: Request, @Res() res: Response) {
    const { client, reason, path } = this.context(req, caseId);
    const found = await client.get<{ state: string; provenanceVerified: boolean; items: { fileState: string | null }[] }>(`${path}/extractions/${enc(id)}/exports/${enc(exportId)}`, {
      justification: reason,
    });
    res.json({ state: found.state, provenanceVerified: found.provenanceVerified, sealed: found.items.filter((i) => i.fileState === 'sealed').length, total: found.items.length });
  }

  @Get(':extractionId/strategy')
  async strategy(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Req() req: Request, @Res() res: Response) {
    await this.renderStrategy(req, res, caseId, id);
  }

  /** Records the form as the strategy's next version (the API never changes a version). */
  @Post(':extractionId/strategy')
  async recordStrategy(@Param('caseId') caseId: string, @Param('extractionId') id: string, @Body() body: StrategyForm, @Req() req: Request, @Res() res: Response) {
    const { client, path } = this.context(req, caseId);
    try {
      await client.post(`${path}/extractions/${enc(id)}/strategy`, { body: strategyFromForm(body) });
      return res.redirect(303, `/cases/${enc(caseId)}/extractions/${enc(id)}/strategy`);
    } catch (e) {
      const problems = apiFormErrors(e, STRATEGY_FIELDS);
      res.status(400);
      await this.renderStrategy(req, res, caseId, id, { errors: formErrors(problems), form: body });
    }
  }

  private context(req: Request, caseId: string): { client: ApiClient; reason: Justification; path: `/api/v1/cases/${string}` } {
    const reason = req.session.reasons?.[caseId];
    if (!reason) throw new ApiError(400, 'JUSTIFICATION_REQUIRED', 'Say why you need to see this evidence');
    return { client: this.api.as(req), reason, path: `/api/v1/cases/${enc(caseId)}` as const };
  }

  /** The extraction as its case's list gives it (the API has no single-extraction read), or its 404. */
  private async extraction(client: ApiClient, path: `/api/v1/cases/${string}`, reason: Justification, id: string): Promise<Extraction> {
    const found = (await client.get<Extraction[]>(`${path}/extractions`, { justification: reason })).find((x) => x.id === id);
    if (!found) throw new ApiError(404, 'EXTRACTION_NOT_FOUND', 'There is no such extraction in this case');
    return found;
  }

  /** A change (transition, note, report) sent to the API; back to the extraction's page, or its refusal shown on the form. */
  private async change(req: Request, res: Response, caseId: string, id: string, route: 'transitions' | 'notes' | 'reports', body: unknown, fields: string[], byCode: Record<string, string>, form: Record<string, unknown>) {
    const { client, path } = this.context(req, caseId);
    try {
      await client.post(`${path}/extractions/${enc(id)}/${route}`, { body });
      return res.redirect(303, `/cases/${enc(caseId)}/extractions/${enc(id)}#${route}`);
    } catch (e) {
      const problems = apiFormErrors(e, fields, byCode).map((p) => ({ ...p, field: `${route}-${p.field}` }));
      res.status(400);
      await this.renderShow(req, res, caseId, id, { errors: formErrors(problems), ...form });
    }
  }

  private async renderShow(req: Request, res: Response, caseId: string, id: string, extra: Record<string, unknown> = {}) {
    const { client, reason, path } = this.context(req, caseId);
    const base = `${path}/extractions/${enc(id)}` as const;
    const [kase, extraction, workflow, notes, exports] = await Promise.all([
      client.get<Record<string, unknown>>(path, { justification: reason }),
      this.extraction(client, path, reason, id),
      client.get<Workflow>(`${base}/workflow`, { justification: reason }),
      client.get<unknown[]>(`${base}/notes`, { justification: reason }),
      client.get<unknown[]>(`${base}/exports`, { justification: reason }),
    ]);
    const exhibit = await client.get<{ reference: string }>(`${path}/exhibits/${enc(extraction.exhibitId)}`, { justification: reason });
    res.render('pages/extractions/show', { kase, extraction, exhibit, workflow, notes, exports, facts: factRows(extraction.facts), ...extra });
  }

  private async renderEntries(req: Request, res: Response, caseId: string, id: string, query: InventoryQuery, extra: Record<string, unknown> = {}) {
    const { client, reason, path } = this.context(req, caseId);
    const filters = { q: str(query.q), extension: str(query.extension).replace(/^\./, ''), deleted: ['true', 'false'].includes(str(query.deleted)) ? str(query.deleted) : '' };
    const cursor = str(query.cursor);
    const [kase, extraction, page] = await Promise.all([
      client.get<Record<string, unknown>>(path, { justification: reason }),
      this.extraction(client, path, reason, id),
      client.get<{ entries: unknown[]; nextCursor: string | null }>(`${path}/extractions/${enc(id)}/entries`, {
        justification: reason,
        query: { ...filters, limit: PAGE_SIZE, cursor: cursor || undefined },
      }),
    ]);
    // The API's cursors only go forward: the link carries the cursors of the pages before, for "Previous page".
    const trail = str(query.trail).split(',').filter((c) => /^-?\d+$/.test(c));
    const link = (c: string | undefined, before: string[]) => {
      const p = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== ''));
      if (c) p.set('cursor', c);
      if (before.length) p.set('trail', before.join(','));
      return `/cases/${enc(caseId)}/extractions/${enc(id)}/entries?${p.toString()}`;
    };
    res.render('pages/extractions/entries', {
      kase,
      extraction,
      filters,
      entries: page.entries,
      next: page.nextCursor ? link(page.nextCursor, cursor ? [...trail, cursor] : []) : undefined,
      previous: cursor ? link(trail.at(-1), trail.slice(0, -1)) : undefined,
      ...extra,
    });
  }

  private async renderStrategy(req: Request, res: Response, caseId: string, id: string, extra: { errors?: unknown; form?: StrategyForm } = {}) {
    const { client, reason, path } = this.context(req, caseId);
    const [kase, extraction, versions] = await Promise.all([
      client.get<Record<string, unknown>>(path, { justification: reason }),
      this.extraction(client, path, reason, id),
      client.get<{ version: number; record: StrategyRecord; sha256: string; author: { username: string }; createdAt: string }[]>(`${path}/extractions/${enc(id)}/strategy`, { justification: reason }),
    ]);
    const form = extra.form ?? (versions[0] ? formFromStrategy(versions[0].record) : { scope: 'targeted' });
    res.render('pages/extractions/strategy', { kase, extraction, versions, ...extra, form });
  }
}

/** The acquisition's facts (E01 header, UFDR report) as label and text, the raw lines left out. */
function factRows(facts: Record<string, unknown>, prefix = ''): { key: string; value: string }[] {
  return Object.entries(facts ?? {}).flatMap(([k, v]) => {
    if (v === null || v === undefined || v === '' || k === 'rawLines' || k === 'raw') return [];
    if (Array.isArray(v)) return v.length && v.every((x) => typeof x !== 'object') ? [{ key: prefix + k, value: v.join(', ') }] : [];
    if (typeof v === 'object') return factRows(v as Record<string, unknown>, `${prefix}${k} · `);
    return [{ key: prefix + k, value: String(v) }];
  });
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}
