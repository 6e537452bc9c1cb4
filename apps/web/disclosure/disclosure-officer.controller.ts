import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { BundleView, ScheduleVersionSummary, ScheduleVersionView } from '../../../libs/disclosure/index.js';
import { MG6_FORMS } from '../../../libs/disclosure/mg6-forms.js';
import { ApiError, type Justification } from '../api-client.js';
import { apiFormErrors } from '../api-form-errors.js';
import { REASON_LABELS, reasonProblems } from '../cases/reasons.js';
import { formErrors, type FormError } from '../form-errors.js';
import { WebApi } from '../web-api.service.js';
import { columnsOf, EDITABLE, entriesFromForm, one, scheduleErrors, type Editable, type Form } from './schedule-form.js';

const enc = encodeURIComponent;
const REASONS = Object.entries(REASON_LABELS).map(([value, text]) => ({ value, text }));
const SHARE_FIELDS = ['recipientId', 'days', 'code', 'text'] as const;
const DAY_MS = 86_400_000;

/**
 * Journey 4: a disclosure officer's MG6C/MG6D schedules (each change a new version listing every
 * entry again), bundle requests (the API's rules decide what may go in, and the page follows the
 * build), and shares with CPS lawyers. Sharing and revoking are s.62 disclosures: the person's
 * reason is asked on the form itself and sent with that one call. Reading the case's exhibits
 * uses the case's reason from the session, as every other case page does.
 */
@Controller('cases/:caseId/disclosure')
export class DisclosureOfficerController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get()
  async overview(@Param('caseId') caseId: string, @Req() req: Request, @Res() res: Response) {
    const client = this.api.as(req);
    const reason = req.session.reasons?.[caseId];
    const [kase, versions, bundles] = await Promise.all([
      client.get<Record<string, unknown>>(`/api/v1/cases/${enc(caseId)}`, { justification: reason }),
      client.get<ScheduleVersionSummary[]>(`/api/v1/cases/${enc(caseId)}/disclosure/schedules`, { justification: reason }),
      client.get<BundleView[]>(`/api/v1/cases/${enc(caseId)}/disclosure/bundles`, { justification: reason }),
    ]);
    res.render('pages/disclosure/index', { kase, caseId, schedules: EDITABLE.map((s) => ({ schedule: s, title: MG6_FORMS[s].title, latest: versions.filter((v) => v.schedule === s).at(-1) })), bundles });
  }

  @Get('schedules/:schedule')
  async schedule(@Param('caseId') caseId: string, @Param('schedule') schedule: string, @Query('version') version: string | undefined, @Req() req: Request, @Res() res: Response) {
    res.render('pages/disclosure/schedule', await this.schedulePage(req, caseId, editable(schedule), version));
  }

  /** A new version: every entry of the form (carried items keep their number), less those left off, plus the new one if filled in. */
  @Post('schedules/:schedule')
  async saveSchedule(@Param('caseId') caseId: string, @Param('schedule') schedule: string, @Body() body: Form, @Req() req: Request, @Res() res: Response) {
    const s = editable(schedule);
    const { entries, prefixes } = entriesFromForm(s, body);
    try {
      await this.api.as(req).post(`/api/v1/cases/${enc(caseId)}/disclosure/schedules`, { body: { schedule: s, entries }, justification: req.session.reasons?.[caseId] });
      res.redirect(303, `/cases/${enc(caseId)}/disclosure/schedules/${s}`);
    } catch (e) {
      const errors = formErrors(scheduleErrors(s, e, prefixes));
      // The form again as it was posted, over the same latest version, so each error finds its field.
      res.status(400).render('pages/disclosure/schedule', { ...(await this.schedulePage(req, caseId, s, undefined)), errors, posted: body });
    }
  }

  @Get('bundles/new')
  async newBundle(@Param('caseId') caseId: string, @Req() req: Request, @Res() res: Response) {
    res.render('pages/disclosure/new-bundle', { ...(await this.bundleFormPage(req, caseId)), form: { exhibitIds: [], schedules: [] } });
  }

  @Post('bundles/new')
  async requestBundle(@Param('caseId') caseId: string, @Body() body: Form, @Req() req: Request, @Res() res: Response) {
    const form = {
      exhibitIds: list(body.exhibitIds),
      schedules: list(body.schedules),
      audience: one(body.audience),
      workingCopies: body.workingCopies === 'yes',
      supplementary: body.supplementary === 'yes',
    };
    if (!form.audience) {
      return res.status(400).render('pages/disclosure/new-bundle', { ...(await this.bundleFormPage(req, caseId)), form, errors: formErrors([{ field: 'audience', text: 'Select who the bundle is for' }]) });
    }
    try {
      const bundle = await this.api.as(req).post<{ id: string }>(`/api/v1/cases/${enc(caseId)}/disclosure/bundles`, { body: form, justification: req.session.reasons?.[caseId] });
      res.redirect(303, `/cases/${enc(caseId)}/disclosure/bundles/${enc(bundle.id)}`);
    } catch (e) {
      const problems = apiFormErrors(e, ['exhibitIds', 'schedules', 'audience'], { BUNDLE_AUDIENCE_REFUSED: 'audience' });
      res.status(400).render('pages/disclosure/new-bundle', { ...(await this.bundleFormPage(req, caseId)), form, errors: formErrors(problems) });
    }
  }

  @Get('bundles/:bundleId')
  async bundle(@Param('caseId') caseId: string, @Param('bundleId') bundleId: string, @Req() req: Request, @Res() res: Response) {
    res.render('pages/disclosure/bundle', await this.bundlePage(req, caseId, bundleId, { days: '28' }));
  }

  /** The bundle's state for the page's script, which polls it until the build ends. */
  @Get('bundles/:bundleId/state')
  async state(@Param('caseId') caseId: string, @Param('bundleId') bundleId: string, @Req() req: Request, @Res() res: Response) {
    const b = await this.api.as(req).get<BundleView>(`/api/v1/disclosure/bundles/${enc(bundleId)}`, { justification: req.session.reasons?.[caseId] });
    res.json({ state: b.state, size: b.size, sha256: b.sha256, failure: b.failure });
  }

  @Post('bundles/:bundleId/shares')
  async share(@Param('caseId') caseId: string, @Param('bundleId') bundleId: string, @Body() body: Form, @Req() req: Request, @Res() res: Response) {
    const form = Object.fromEntries(SHARE_FIELDS.map((f) => [f, one(body[f]).trim()]));
    const days = Number(form.days);
    const problems: FormError[] = [];
    if (!/^[0-9a-f-]{36}$/i.test(form.recipientId)) problems.push({ field: 'recipientId', text: 'Enter the CPS lawyer’s user id, like 0f8c2a4e-1b2c-4d5e-8f90-123456789abc' });
    if (!Number.isInteger(days) || days < 1 || days > 365) problems.push({ field: 'days', text: 'Enter a whole number of days from 1 to 365' });
    problems.push(...disclosureReasonProblems(form.code, form.text));
    if (!problems.length) {
      try {
        await this.api.as(req).post(`/api/v1/disclosure/bundles/${enc(bundleId)}/shares`, {
          body: { recipientId: form.recipientId, expiresAt: new Date(Date.now() + days * DAY_MS).toISOString() },
          justification: { code: form.code, text: form.text },
        });
        return res.redirect(303, `/cases/${enc(caseId)}/disclosure/bundles/${enc(bundleId)}`);
      } catch (e) {
        problems.push(...justificationErrors(e, SHARE_FIELDS, { SHARE_INVALID: 'recipientId' }));
      }
    }
    res.status(400).render('pages/disclosure/bundle', { ...(await this.bundlePage(req, caseId, bundleId, form)), errors: formErrors(problems) });
  }

  @Get('bundles/:bundleId/shares/:shareId/revoke')
  async revokeForm(@Param('caseId') caseId: string, @Param('bundleId') bundleId: string, @Param('shareId') shareId: string, @Req() req: Request, @Res() res: Response) {
    res.render('pages/disclosure/revoke', await this.revokePage(req, caseId, bundleId, shareId, {}));
  }

  @Post('bundles/:bundleId/shares/:shareId/revoke')
  async revoke(@Param('caseId') caseId: string, @Param('bundleId') bundleId: string, @Param('shareId') shareId: string, @Body() body: Form, @Req() req: Request, @Res() res: Response) {
    const form = { code: one(body.code).trim(), text: one(body.text).trim() };
    const problems = disclosureReasonProblems(form.code, form.text);
    if (!problems.length) {
      try {
        await this.api.as(req).delete(`/api/v1/disclosure/bundles/${enc(bundleId)}/shares/${enc(shareId)}`, { justification: form as Justification });
        return res.redirect(303, `/cases/${enc(caseId)}/disclosure/bundles/${enc(bundleId)}`);
      } catch (e) {
        problems.push(...justificationErrors(e, ['code', 'text']));
      }
    }
    res.status(400).render('pages/disclosure/revoke', { ...(await this.revokePage(req, caseId, bundleId, shareId, form)), errors: formErrors(problems) });
  }

  private async schedulePage(req: Request, caseId: string, schedule: Editable, version: string | undefined) {
    const client = this.api.as(req);
    const reason = req.session.reasons?.[caseId];
    const path = `/api/v1/cases/${enc(caseId)}/disclosure/schedules` as const;
    const [kase, versions] = await Promise.all([client.get<Record<string, unknown>>(`/api/v1/cases/${enc(caseId)}`, { justification: reason }), client.get<ScheduleVersionSummary[]>(path, { justification: reason })]);
    const mine = versions.filter((v) => v.schedule === schedule);
    const shownNumber = version && /^[1-9]\d{0,8}$/.test(version) ? version : mine.length ? 'latest' : undefined;
    const shown = shownNumber ? await client.get<ScheduleVersionView>(`${path}/${schedule}/${shownNumber}`, { justification: reason }) : undefined;
    const latest = shown && shownNumber === 'latest' ? shown : mine.length ? await client.get<ScheduleVersionView>(`${path}/${schedule}/latest`, { justification: reason }) : undefined;
    return { kase, caseId, schedule, title: MG6_FORMS[schedule].title, columns: columnsOf(schedule), versions: mine.reverse(), shown, draft: latest?.entries ?? [], nextVersion: (latest?.version ?? 0) + 1 };
  }

  private async bundleFormPage(req: Request, caseId: string) {
    const client = this.api.as(req);
    const reason = req.session.reasons?.[caseId];
    const [kase, exhibits] = await Promise.all([
      client.get<Record<string, unknown>>(`/api/v1/cases/${enc(caseId)}`, { justification: reason }),
      client.get<{ id: string; reference: string; description: string }[]>(`/api/v1/cases/${enc(caseId)}/exhibits`, { justification: reason }),
    ]);
    return { kase, caseId, exhibits };
  }

  private async bundlePage(req: Request, caseId: string, bundleId: string, form: Record<string, string>) {
    const client = this.api.as(req);
    const reason = req.session.reasons?.[caseId];
    const [kase, bundle] = await Promise.all([client.get<Record<string, unknown>>(`/api/v1/cases/${enc(caseId)}`, { justification: reason }), client.get<BundleView>(`/api/v1/disclosure/bundles/${enc(bundleId)}`, { justification: reason })]);
    if (bundle.caseId !== caseId) throw new ApiError(404, 'BUNDLE_NOT_FOUND', 'No such bundle on this case');
    return { kase, caseId, bundle, building: bundle.state !== 'ready' && bundle.state !== 'failed', form, reasons: REASONS };
  }

  private async revokePage(req: Request, caseId: string, bundleId: string, shareId: string, form: Record<string, string>) {
    const page = await this.bundlePage(req, caseId, bundleId, form);
    const share = page.bundle.shares?.find((s) => s.id === shareId && !s.revokedAt);
    if (!share) throw new ApiError(404, 'SHARE_NOT_FOUND', 'No such live share on this bundle');
    return { ...page, share };
  }
}

function editable(schedule: string): Editable {
  const s = schedule.toUpperCase();
  if (!(EDITABLE as readonly string[]).includes(s)) throw new ApiError(404, 'SCHEDULE_NOT_FOUND', `Schedules edited here are ${EDITABLE.join(' and ')}`);
  return s as Editable;
}

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The form's own checks of an s.62 reason (reasons.ts), worded for a disclosure rather than a consultation. */
function disclosureReasonProblems(code: string, text: string): FormError[] {
  return reasonProblems(code, text).map((p) => (p.field === 'code' ? { ...p, text: 'Select the reason for this disclosure' } : text ? p : { ...p, text: 'Say why, in your own words' }));
}

/** The API's refusal of a justified call: its judgement of the reason goes on the reason field. */
function justificationErrors(e: unknown, fields: readonly string[], fieldByCode: Record<string, string> = {}): FormError[] {
  return apiFormErrors(e, fields, { JUSTIFICATION_REQUIRED: 'text', JUSTIFICATION_TOO_VAGUE: 'text', ...fieldByCode }).map((p) => ({ ...p, text: p.text.replace(/^X-Justification-\w+ /, 'Your reason ') }));
}
