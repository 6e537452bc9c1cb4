import { Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ROLES, UsersService } from '../../../libs/identity/index.js';
import { ApiZodBody } from '../validation.js';
import { Roles } from './request-context.js';

const createUserSchema = z.strictObject({
  username: z.string().regex(/^[a-z][a-z0-9._-]{2,63}$/, { message: 'must be 3-64 lower-case letters, digits, . _ - starting with a letter' }),
  displayName: z.string().trim().min(1).max(200),
  role: z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` }),
  password: z.string().min(12, { message: 'must be at least 12 characters' }).max(1024),
});

@ApiTags('users')
@ApiBearerAuth()
@Roles('administrator')
@Controller({ path: 'users', version: '1' })
export class UsersController {
  constructor(@Inject(UsersService) private readonly users: UsersService) {}

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
}
