import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
import { MIGRATIONS } from './schema.js';

const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * `onQueryError` is told of every query that failed (metrics); TypeORM reports them through its
 * logger, so that is the only logger method that does anything here (logging stays off).
 */
export function createDataSource(config: Pick<AppConfig, 'DATABASE_URL' | 'DATABASE_POOL_SIZE'>, onQueryError?: () => void): DataSource {
  const quiet = () => undefined;
  return new DataSource({
    type: 'postgres',
    url: config.DATABASE_URL,
    // No entities: data access is plain SQL; TypeORM runs migrations, pooling and transactions.
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    // Schema changes only through reviewed migrations: synchronize can silently drop data.
    synchronize: false,
    migrationsRun: false,
    poolSize: config.DATABASE_POOL_SIZE,
    connectTimeoutMS: 5000,
    logging: false,
    logger: { logQuery: quiet, logQuerySlow: quiet, logSchemaBuild: quiet, logMigration: quiet, log: quiet, logQueryError: () => onQueryError?.() },
  });
}

/** Names of migrations that exist in code but have not been applied to this database. */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  const exists = await ds.query(`SELECT to_regclass($1) AS t`, [MIGRATIONS_TABLE]);
  const applied = new Set<string>(
    exists[0]?.t ? (await ds.query(`SELECT name FROM ${MIGRATIONS_TABLE}`)).map((r: { name: string }) => r.name) : [],
  );
  return ds.migrations.map((m) => m.name ?? m.constructor.name).filter((n) => !applied.has(n));
}

/** Applies every pending migration, each in its own transaction. Returns the names applied. */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const done = await ds.runMigrations({ transaction: 'each' });
  return done.map((m) => m.name);
}

/** Refuses to go on against a database whose schema is behind the code. */
export async function assertSchemaCurrent(ds: DataSource): Promise<void> {
  const pending = await pendingMigrations(ds);
  if (pending.length > 0) {
    throw new AppError(
      'PENDING_MIGRATIONS',
      `The database has ${pending.length} pending migration(s): ${pending.join(', ')}. Run \`npm run migrate\` first.`,
      503,
      { pending },
    );
  }
}
