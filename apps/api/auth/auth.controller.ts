import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { assertPasswordAcceptable, AuthService, PASSWORD_MAX_LENGTH, UsersService, type Principal } from '../../../libs/identity/index.js';
import { AppError, safeText } from '../../../libs/core/index.js';
import { ApiZodBody } from '../validation.js';
import { Ctx, CurrentUser, Public } from './request-context.js';
import type { RequestContext } from '../../../libs/identity/index.js';

const loginSchema = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
const refreshSchema = z.strictObject({ refreshToken: z.string().min(1).max(200) });
const apiTokenSchema = z.strictObject({
  name: safeText(100),
  // Tokens always expire: AUTH_API_TOKEN_DEFAULT_DAYS unless asked for.
  expiresInDays: z.number().int().min(1).max(366).optional(),
});
const passwordChangeSchema = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});

@ApiTags('auth')
@Controller({ path: 'auth', version: '1' })
export class AuthController {
  constructor(@Inject(AuthService) private readonly auth: AuthService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with username and password: a short-lived access token and a refresh token' })
  @ApiZodBody(loginSchema)
  login(@Body({ schema: loginSchema }) body: z.infer<typeof loginSchema>, @Ctx() ctx: RequestContext) {
    return this.auth.login(body.username, body.password, ctx.clientAddress);
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({ summary: 'Exchange a refresh token for a new pair (the old one stops working)' })
  @ApiZodBody(refreshSchema)
  refresh(@Body({ schema: refreshSchema }) body: z.infer<typeof refreshSchema>) {
    return this.auth.refresh(body.refreshToken);
  }

  @Public()
  @Post('logout')
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: ends the session of this refresh token (its access tokens stop working at once)' })
  @ApiZodBody(refreshSchema)
  async logout(@Body({ schema: refreshSchema }) body: z.infer<typeof refreshSchema>) {
    await this.auth.logout(body.refreshToken);
  }
}

@ApiTags('me')
@ApiBearerAuth()
@Controller({ path: 'me', version: '1' })
export class MeController {
  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(UsersService) private readonly users: UsersService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Who am I' })
  me(@CurrentUser() p: Principal) {
    return this.users.get(p.userId);
  }

  @Post('tokens')
  @ApiOperation({ summary: 'Create a personal API token (for the CLI) from an interactive sign-in; it always expires and is shown once' })
  @ApiZodBody(apiTokenSchema)
  createToken(@CurrentUser() p: Principal, @Body({ schema: apiTokenSchema }) body: z.infer<typeof apiTokenSchema>) {
    return this.auth.createApiToken(p, body.name, body.expiresInDays);
  }

  @Get('tokens')
  @ApiOperation({ summary: 'My personal API tokens (never the secrets)' })
  listTokens(@CurrentUser() p: Principal) {
    return this.auth.listApiTokens(p.userId);
  }

  @Get('sessions')
  @ApiOperation({ summary: 'My sign-in sessions, open ones first (the current one is marked)' })
  sessions(@CurrentUser() p: Principal) {
    return this.auth.listSessions(p.userId, p.sessionId);
  }

  @Delete('sessions/:sessionId')
  @HttpCode(204)
  @ApiOperation({ summary: 'End one of my sessions (e.g. a browser left signed in elsewhere): its tokens stop working at once' })
  async endSession(@CurrentUser() p: Principal, @Param('sessionId') sessionId: string) {
    if (!(await this.auth.endSession(p.userId, sessionId, 'ended_by_user'))) throw new AppError('SESSION_NOT_FOUND', 'No such open session', 404);
  }

  @Post('password')
  @HttpCode(200)
  @ApiOperation({ summary: 'Change my password; every other session and every API token of mine ends' })
  @ApiZodBody(passwordChangeSchema)
  changePassword(@CurrentUser() p: Principal, @Body({ schema: passwordChangeSchema }) body: z.infer<typeof passwordChangeSchema>) {
    return this.auth.changePassword(p, body.currentPassword, body.newPassword, assertPasswordAcceptable);
  }

  @Delete('tokens/:tokenId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke one of my API tokens' })
  async revokeToken(@CurrentUser() p: Principal, @Param('tokenId') id: string) {
    await this.auth.revokeApiToken(p.userId, id);
  }
}
