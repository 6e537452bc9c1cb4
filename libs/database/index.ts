export { createDataSource, pendingMigrations, runMigrations, assertSchemaCurrent } from './data-source.js';
export { DatabaseModule } from './database.module.js';
export { rows, one, affected, type Queryable } from './sql.js';
export { APP_GROUP_ROLE, connectsWithLeastPrivilege, ensureAppLoginRole, type AppLoginOutcome } from './app-login-role.js';
