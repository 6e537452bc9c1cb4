import { Global, Module } from '@nestjs/common';
import { AccessTokenService } from './access-token.service.js';
import { AccountsService } from './accounts.service.js';
import { AuthService } from './auth.service.js';
import { OidcService } from './oidc.service.js';
import { UsersService } from './users.service.js';

@Global()
@Module({ providers: [AccessTokenService, AccountsService, AuthService, OidcService, UsersService], exports: [AccountsService, AuthService, OidcService, UsersService] })
export class IdentityModule {}
