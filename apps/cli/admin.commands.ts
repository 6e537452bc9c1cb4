import type { Command } from 'commander';
import { loadConfig } from '../../libs/config/index.js';
import { createDataSource, pendingMigrations, runMigrations } from '../../libs/database/index.js';
import { IdentityService } from '../../libs/identity/index.js';
import { QueueService } from '../../libs/queue/index.js';
import { printTable } from './output.js';

/** Admin tasks run next to the database (deployment, first run); they read the service config. */
export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('administration tasks run with the service configuration');

  admin
    .command('migrate')
    .description('apply pending database migrations')
    .option('--check', 'only list pending migrations; exit 1 if any')
    .action(async (opts: { check?: boolean }) => {
      const ds = createDataSource(loadConfig());
      await ds.initialize();
      try {
        if (opts.check) {
          const pending = await pendingMigrations(ds);
          console.log(pending.length ? `pending: ${pending.join(', ')}` : 'database schema is current');
          process.exitCode = pending.length ? 1 : 0;
          return;
        }
        const applied = await runMigrations(ds);
        console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database schema is current; nothing to apply');
      } finally {
        await ds.destroy();
      }
    });

  admin
    .command('create-admin')
    .description('create the administrator account if it does not exist (password from DEMO_ADMIN_PASSWORD or generated and printed once)')
    .option('--username <name>', 'account name (default DEMO_ADMIN_USERNAME)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { username?: string; json?: boolean }) => {
      const config = loadConfig();
      const ds = createDataSource(config);
      await ds.initialize();
      try {
        const r = await new IdentityService(ds).ensureAdmin(opts.username ?? config.DEMO_ADMIN_USERNAME, config.DEMO_ADMIN_PASSWORD);
        if (opts.json) {
          console.log(JSON.stringify({ username: r.user.username, created: r.created, generatedPassword: r.generatedPassword }));
        } else if (!r.created) {
          console.log(`administrator "${r.user.username}" already exists (password unchanged)`);
        } else if (r.generatedPassword) {
          console.log(`created administrator "${r.user.username}" with password: ${r.generatedPassword}\n(shown once; it is not stored anywhere in clear)`);
        } else {
          console.log(`created administrator "${r.user.username}" with the password from DEMO_ADMIN_PASSWORD`);
        }
      } finally {
        await ds.destroy();
      }
    });

  admin
    .command('failed-jobs')
    .description('list failed background jobs (they are kept until dealt with)')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: { limit: string; json?: boolean }) => {
      const queues = new QueueService(loadConfig());
      try {
        const jobs = await queues.failedJobs(Number(opts.limit) || 50);
        if (opts.json) console.log(JSON.stringify(jobs, null, 2));
        else
          printTable(
            ['queue', 'job', 'id', 'attempts', 'failed at', 'reason'],
            jobs.map((j) => [j.queue, j.name, j.id, String(j.attemptsMade), j.finishedAt?.toISOString() ?? '', j.failedReason ?? '']),
            'no failed jobs',
          );
      } finally {
        await queues.onApplicationShutdown();
      }
    });
}
