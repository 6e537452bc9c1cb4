import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ROLES } from '../../../libs/identity/roles.js';
import { apiFormErrors } from '../api-form-errors.js';
import { formErrors } from '../form-errors.js';
import { WebApi } from '../web-api.service.js';

interface NewUserForm {
  username?: string;
  displayName?: string;
  role?: string;
  password?: string;
}

/** What each account action button does, in the API's words and in the page's. */
const ACTIONS = {
  deactivate: 'deactivated: every session and API token of theirs has ended',
  activate: 'reactivated',
  unlock: 'unlocked',
  'end-sessions': 'signed out everywhere: their sessions and API tokens have ended',
} as const;
type Action = keyof typeof ACTIONS;

const FIELDS = ['username', 'displayName', 'role', 'password'] as const;
const enc = encodeURIComponent;

/**
 * Journey 7: administrators manage accounts. Every rule (who may, the password policy, not
 * deactivating yourself) is the API's; this page shows its answers on the form.
 */
@Controller('admin/users')
export class UsersController {
  constructor(@Inject(WebApi) private readonly api: WebApi) {}

  @Get()
  async list(@Query('done') done: string | undefined, @Query('user') username: string | undefined, @Req() req: Request, @Res() res: Response) {
    const outcome = done && done in ACTIONS && username ? `${username} was ${ACTIONS[done as Action]}.` : undefined;
    await this.render(req, res, 200, { outcome });
  }

  @Post()
  async create(@Body() body: NewUserForm, @Req() req: Request, @Res() res: Response) {
    const form = { username: body.username?.trim() ?? '', displayName: body.displayName?.trim() ?? '', role: body.role ?? '' };
    try {
      const user = await this.api.as(req).post<{ username: string }>('/api/v1/users', { body: { ...form, password: body.password ?? '' } });
      return res.redirect(303, `/admin/users?created=${enc(user.username)}`);
    } catch (e) {
      const problems = apiFormErrors(e, FIELDS, { USERNAME_TAKEN: 'username', PASSWORD_TOO_WEAK: 'password', ROLE_NOT_ALLOWED: 'role' });
      // The password is never sent back to the browser.
      await this.render(req, res, 400, { form, errors: formErrors(problems) });
    }
  }

  @Post(':userId/:action')
  async act(@Param('userId') userId: string, @Param('action') action: string, @Req() req: Request, @Res() res: Response) {
    if (!(action in ACTIONS)) return res.status(404).render('pages/error', { title: 'Page not found', message: 'There is no such action.', code: 'NOT_FOUND' });
    const client = this.api.as(req);
    try {
      const answer = await client.post<{ username?: string }>(`/api/v1/users/${enc(userId)}/${action as Action}`, { body: action === 'end-sessions' ? { revokeApiTokens: true } : undefined });
      const username = answer.username ?? (await client.get<{ username: string }>(`/api/v1/users/${enc(userId)}`)).username;
      res.redirect(303, `/admin/users?done=${action}&user=${enc(username)}`);
    } catch (e) {
      await this.render(req, res, 400, { errors: formErrors(apiFormErrors(e, [`user-${userId}`])) });
    }
  }

  private async render(req: Request, res: Response, status: number, model: Record<string, unknown>) {
    const users = await this.api.as(req).get<Record<string, unknown>[]>('/api/v1/users');
    const created = typeof req.query.created === 'string' ? req.query.created : undefined;
    res.status(status).render('pages/admin/users', { users, roles: ROLES, created, form: {}, ...model });
  }
}
