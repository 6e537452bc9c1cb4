import { Body, Controller, Get, Inject, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { WebConfig } from '../../../libs/config/index.js';
import { ApiError } from '../api-client.js';
import { safeReturnTo } from '../html-exception.filter.js';
import { Public } from '../signed-in.guard.js';
import { WebApi, WEB_CONFIG } from '../web-api.service.js';
import { SESSION_COOKIE, type SignedInUser } from '../web-session.js';
import { formErrors, type FormError } from '../form-errors.js';

interface SignInForm {
  username?: string;
  password?: string;
  returnTo?: string;
}

@Controller()
export class SignInController {
  constructor(
    @Inject(WebApi) private readonly api: WebApi,
    @Inject(WEB_CONFIG) private readonly config: WebConfig,
  ) {}

  @Public()
  @Get()
  home(@Res() res: Response) {
    res.redirect(303, '/cases');
  }

  @Public()
  @Get('sign-in')
  form(@Query('returnTo') returnTo: string | undefined, @Query('signedOut') signedOut: string | undefined, @Res() res: Response) {
    this.render(res, 200, { returnTo: safeReturnTo(returnTo, '/cases'), signedOut: signedOut === '1' });
  }

  @Public()
  @Post('sign-in')
  async signIn(@Body() body: SignInForm, @Req() req: Request, @Res() res: Response) {
    const username = (body.username ?? '').trim();
    const password = body.password ?? '';
    const returnTo = safeReturnTo(body.returnTo, '/cases');
    const missing: FormError[] = [];
    if (!username) missing.push({ field: 'username', text: 'Enter your username' });
    if (!password) missing.push({ field: 'password', text: 'Enter your password' });
    if (missing.length) return this.render(res, 400, { username, returnTo, errors: formErrors(missing) });
    const client = this.api.as(req);
    let user: SignedInUser;
    let tokens: { accessToken: string; refreshToken: string };
    try {
      tokens = await client.post('/api/v1/auth/login', { body: { username, password }, anonymous: true });
      user = await client.get('/api/v1/me', { token: tokens.accessToken, anonymous: true });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return this.render(res, e.status === 401 ? 401 : 400, { username, returnTo, errors: formErrors([{ field: 'username', text: e.message }]) });
    }
    // A new session id at sign-in (no fixation), and with it a new CSRF token.
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
    req.session.auth = { ...tokens, user: { id: user.id, username: user.username, displayName: user.displayName, role: user.role } };
    res.redirect(303, returnTo);
  }

  @Post('sign-out')
  async signOut(@Req() req: Request, @Res() res: Response) {
    const auth = req.session.auth;
    // Ends the API session too, so its tokens stop working at once.
    if (auth) await this.api.as(req).post('/api/v1/auth/logout', { body: { refreshToken: auth.refreshToken } }).catch(() => undefined);
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/sign-in?signedOut=1');
  }

  private render(res: Response, status: number, model: Record<string, unknown>) {
    res.status(status).render('pages/sign-in', { ...model, oidcUrl: this.config.WEB_OIDC_SIGN_IN_URL });
  }
}
