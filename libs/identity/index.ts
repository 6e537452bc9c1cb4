export { ROLES, type Role } from './roles.js';
export { IdentityService, type DemoAdminResult } from './identity.service.js';
export { type Principal, type RequestContext } from './principal.js';
export { AuthService, type TokenPair, type ApiTokenView, type SessionView, type SessionEndReason } from './auth.service.js';
export { AccountsService } from './accounts.service.js';
export { UsersService, type NewUser, type User } from './users.service.js';
export { OidcService } from './oidc.service.js';
export { IdentityModule } from './identity.module.js';
export { assertPasswordAcceptable, PASSWORD_MAX_LENGTH } from './password-policy.js';
