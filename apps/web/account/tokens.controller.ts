import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { apiFormErrors } from '../api-form-errors.js';
import { formErrors } from '../form-errors.js';
import { WebApi } from '../web-api.service.js';

interface TokenView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The expiries offered, in days; the API allows 1 to 366. */
const EXPIRIES = [7, 30, 90, 366];
const enc = encodeURIComponent;

/**
 * Journey 7: the signed-in person's own API tokens (for the CLI). The secret is shown once, on
 * the page that answers its creation, and is never stored by the web server.
 */
@Controller('account/tokens')
export class TokensController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get()
  async list(@Req() req: Request, @Res() res: Response) {
    await this.render(req, res, 200, { revoked: req.query.revoked === '1' });
  }

  @Post()
  async create(@Body() body: { name?: string; expiresInDays?: string }, @Req() req: Request, @Res() res: Response) {
    const form = { name: body.name?.trim() ?? '', expiresInDays: body.expiresInDays ?? '' };
    const days = Number(form.expiresInDays);
    try {
      const created = await this.api.as(req).post<TokenView & { token: string }>('/api/v1/me/tokens', {
        body: { name: form.name, expiresInDays: EXPIRIES.includes(days) ? days : undefined },
      });
      // Rendered, not redirected (pages are no-store): the only time the secret is shown.
      await this.render(req, res, 201, { created });
    } catch (e) {
      await this.render(req, res, 400, { form, errors: formErrors(apiFormErrors(e, ['name', 'expiresInDays'])) });
    }
  }

  @Post(':tokenId/revoke')
  async revoke(@Param('tokenId') tokenId: string, @Req() req: Request, @Res() res: Response) {
    try {
      await this.api.as(req).delete(`/api/v1/me/tokens/${enc(tokenId)}`);
      res.redirect(303, '/account/tokens?revoked=1');
    } catch (e) {
      await this.render(req, res, 400, { errors: formErrors(apiFormErrors(e, [`token-${tokenId}`])) });
    }
  }

  private async render(req: Request, res: Response, status: number, model: Record<string, unknown>) {
    const tokens = await this.api.as(req).get<TokenView[]>('/api/v1/me/tokens');
    res.status(status).render('pages/account/tokens', { tokens, expiries: EXPIRIES, form: { expiresInDays: '30' }, ...model });
  }
}
