import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { OidcService, type RequestContext } from '../../../libs/identity/index.js';
import { Ctx, Public } from './request-context.js';

/** The raw query string, so repeated or odd parameters reach the checks exactly as sent. */
function rawQuery(req: Request): URLSearchParams {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

@ApiTags('auth')
@Controller({ path: 'auth/oidc', version: '1' })
export class OidcController {
  constructor(@Inject(OidcService) private readonly oidc: OidcService) {}

  @Public()
  @Get('login')
  @ApiOperation({ summary: "Sign in with the force's identity provider (OpenID Connect): redirects there; 404 when not set up" })
  @ApiResponse({ status: 302, description: "Redirect to the identity provider's authorization endpoint" })
  async login(@Res() res: Response) {
    const { authorizationUrl, setCookie } = await this.oidc.start();
    res.setHeader('Cache-Control', 'no-store');
    res.append('Set-Cookie', setCookie);
    res.redirect(302, authorizationUrl);
  }

  @Public()
  @Get('callback')
  @ApiOperation({ summary: 'Where the identity provider sends the browser back: an access token and a refresh token' })
  async callback(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Ctx() ctx: RequestContext) {
    const query = rawQuery(req);
    res.setHeader('Cache-Control', 'no-store');
    // The attempt's cookie is spent whatever the outcome.
    const clear = this.oidc.clearCookie(query.get('state'));
    if (clear) res.append('Set-Cookie', clear);
    return this.oidc.finish(query, req.headers.cookie, ctx.clientAddress);
  }
}
