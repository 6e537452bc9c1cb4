import { Global, Module } from '@nestjs/common';
import { AccessTokenService } from './access-token.service.js';
import { AuthService } from './auth.service.js';
import { OidcService } from './oidc.service.js';
import { UsersService } from './users.service.js';

@Global()
@Module({ providers: [AccessTokenService, AuthService, OidcService, UsersService], exports: [AuthService, OidcService, UsersService] })
export class IdentityModule {}
