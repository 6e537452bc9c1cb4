export { ROLES, type Role, UserEntity } from './user.entity.js';
export { IdentityService, type DemoAdminResult } from './identity.service.js';
export { type User } from './users.repository.js';
