export { ROLES, type Role, UserEntity } from './user.entity.js';
export { IdentityService, type DemoAdminResult } from './identity.service.js';
export { type User } from './users.repository.js';
export { type Principal, type RequestContext } from './principal.js';
export { AuthService, type TokenPair, type ApiTokenView } from './auth.service.js';
export { UsersService, type NewUser } from './users.service.js';
export { OidcService } from './oidc.service.js';
export { IdentityModule } from './identity.module.js';
