import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AuthService, UsersService, type Principal } from '../../../libs/identity/index.js';
import { ApiZodBody } from '../validation.js';
import { Ctx, CurrentUser, Public } from './request-context.js';
import type { RequestContext } from '../../../libs/identity/index.js';

const loginSchema = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
const refreshSchema = z.strictObject({ refreshToken: z.string().min(1).max(200) });
const apiTokenSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  expiresInDays: z.number().int().min(1).max(366).optional(),
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
  @ApiOperation({ summary: 'Revoke a refresh token' })
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
  @ApiOperation({ summary: 'Create a personal API token (for the CLI); it is shown once' })
  @ApiZodBody(apiTokenSchema)
  createToken(@CurrentUser() p: Principal, @Body({ schema: apiTokenSchema }) body: z.infer<typeof apiTokenSchema>) {
    return this.auth.createApiToken(p.userId, body.name, body.expiresInDays);
  }

  @Get('tokens')
  @ApiOperation({ summary: 'My personal API tokens (never the secrets)' })
  listTokens(@CurrentUser() p: Principal) {
    return this.auth.listApiTokens(p.userId);
  }

  @Delete('tokens/:tokenId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke one of my API tokens' })
  async revokeToken(@CurrentUser() p: Principal, @Param('tokenId') id: string) {
    await this.auth.revokeApiToken(p.userId, id);
  }
}
