import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AccountsService, PASSWORD_MAX_LENGTH, ROLES, UsersService, type Principal, type RequestContext } from '../../../libs/identity/index.js';
import { safeText } from '../../../libs/core/index.js';
import { ApiZodBody } from '../validation.js';
import { Ctx, CurrentUser, Roles } from './request-context.js';

const createUserSchema = z.strictObject({
  username: z.string().regex(/^[a-z][a-z0-9._-]{2,63}$/, { message: 'must be 3-64 lower-case letters, digits, . _ - starting with a letter' }),
  displayName: safeText(200),
  role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
  // Length, the common-password deny-list and the username rule are checked by the service.
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
});
const endSessionsSchema = z.strictObject({ revokeApiTokens: z.boolean().default(true) }).default({ revokeApiTokens: true });

@ApiTags('users')
@ApiBearerAuth()
@Roles('administrator')
@Controller({ path: 'users', version: '1' })
export class UsersController {
  constructor(
    @Inject(UsersService) private readonly users: UsersService,
    @Inject(AccountsService) private readonly accounts: AccountsService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an account (administrators)' })
  @ApiZodBody(createUserSchema)
  create(@Body({ schema: createUserSchema }) body: z.infer<typeof createUserSchema>) {
    return this.users.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List accounts (administrators)' })
  list() {
    return this.users.list();
  }

  @Get(':userId')
  @ApiOperation({ summary: 'One account (administrators)' })
  get(@Param('userId') id: string) {
    return this.users.get(id);
  }

  @Post(':userId/deactivate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deactivate an account: every session and API token ends at once (administrators)' })
  deactivate(@CurrentUser() p: Principal, @Param('userId') id: string, @Ctx() ctx: RequestContext) {
    return this.accounts.deactivate(p, id, ctx);
  }

  @Post(':userId/activate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reactivate an account (administrators)' })
  activate(@CurrentUser() p: Principal, @Param('userId') id: string, @Ctx() ctx: RequestContext) {
    return this.accounts.activate(p, id, ctx);
  }

  @Post(':userId/unlock')
  @HttpCode(200)
  @ApiOperation({ summary: 'Unlock an account locked by failed sign-ins (administrators)' })
  unlock(@CurrentUser() p: Principal, @Param('userId') id: string, @Ctx() ctx: RequestContext) {
    return this.accounts.unlock(p, id, ctx);
  }

  @Post(':userId/end-sessions')
  @HttpCode(200)
  @ApiOperation({ summary: "End all of a user's sessions, and by default revoke their API tokens (administrators)" })
  @ApiZodBody(endSessionsSchema)
  endSessions(@CurrentUser() p: Principal, @Param('userId') id: string, @Body({ schema: endSessionsSchema }) body: z.infer<typeof endSessionsSchema>, @Ctx() ctx: RequestContext) {
    return this.accounts.endSessions(p, id, body.revokeApiTokens, ctx);
  }
}
