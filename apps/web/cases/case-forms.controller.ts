import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { SOURCE_TYPES } from '../../../libs/cases/case.schemas.js';
import { apiFormErrors } from '../api-form-errors.js';
import { formErrors } from '../form-errors.js';
import { WebApi } from '../web-api.service.js';

type Form = Record<string, string | undefined>;

const CASE_FIELDS = ['urn', 'title', 'operationName', 'offenceSummary'] as const;
const EXHIBIT_FIELDS = ['reference', 'sourceType', 'description', 'producer', 'seizedBy', 'seizedFrom'] as const;
const enc = encodeURIComponent;

/**
 * Journey 2 (part): an investigator opens a case and declares its exhibits. The URN and
 * reference rules are the API's (libs/cases/urn.ts, exhibit-reference.ts): the forms describe
 * them in their hints and show the API's refusals on the fields they concern.
 * Registered before CasesController so that /cases/new is not taken for a case id.
 */
@Controller('cases')
export class CaseFormsController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get('new')
  newCase(@Res() res: Response) {
    res.render('pages/cases/new', { form: {} });
  }

  @Post('new')
  async createCase(@Body() body: Form, @Req() req: Request, @Res() res: Response) {
    const form = pick(body, CASE_FIELDS);
    try {
      const created = await this.api.as(req).post<{ id: string }>('/api/v1/cases', { body: withoutBlanks(form) });
      res.redirect(303, `/cases/${enc(created.id)}`);
    } catch (e) {
      const problems = apiFormErrors(e, CASE_FIELDS, { INVALID_URN: 'urn', URN_UNAVAILABLE: 'urn' });
      res.status(400).render('pages/cases/new', { form, errors: formErrors(problems) });
    }
  }

  @Get(':caseId/declare-exhibit')
  async exhibitForm(@Param('caseId') caseId: string, @Req() req: Request, @Res() res: Response) {
    await this.renderExhibit(req, res, 200, caseId, { form: {} });
  }

  @Post(':caseId/declare-exhibit')
  async declareExhibit(@Param('caseId') caseId: string, @Body() body: Form, @Req() req: Request, @Res() res: Response) {
    const form = pick(body, EXHIBIT_FIELDS);
    try {
      const exhibit = await this.api.as(req).post<{ id: string }>(`/api/v1/cases/${enc(caseId)}/exhibits`, { body: withoutBlanks(form) });
      res.redirect(303, `/cases/${enc(caseId)}/exhibits/${enc(exhibit.id)}`);
    } catch (e) {
      const problems = apiFormErrors(e, EXHIBIT_FIELDS, { INVALID_EXHIBIT_REFERENCE: 'reference', EXHIBIT_REFERENCE_TAKEN: 'reference', PARENT_EXHIBIT_NOT_FOUND: 'reference' });
      await this.renderExhibit(req, res, 400, caseId, { form, errors: formErrors(problems) });
    }
  }

  private async renderExhibit(req: Request, res: Response, status: number, caseId: string, model: Record<string, unknown>) {
    const kase = await this.api.as(req).get<Record<string, unknown>>(`/api/v1/cases/${enc(caseId)}`, { justification: req.session.reasons?.[caseId] });
    res.status(status).render('pages/cases/declare-exhibit', { kase, sourceTypes: SOURCE_TYPES, ...model });
  }
}

/** The form's own fields, trimmed: nothing else of the posted body reaches the API. */
function pick(body: Form, fields: readonly string[]): Form {
  return Object.fromEntries(fields.map((f) => [f, typeof body[f] === 'string' ? body[f].trim() : '']));
}

/** Optional fields left empty are not sent (the API would judge an empty string). */
function withoutBlanks(form: Form): Form {
  return Object.fromEntries(Object.entries(form).filter(([, v]) => v !== ''));
}
