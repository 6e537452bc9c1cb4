import { Global, Module } from '@nestjs/common';
import { AccessTokenService } from './access-token.service.js';
import { AuthService } from './auth.service.js';
import { UsersService } from './users.service.js';

@Global()
@Module({ providers: [AccessTokenService, AuthService, UsersService], exports: [AuthService, UsersService] })
export class IdentityModule {}
