import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isPublishedSecret, loadCliConfig, loadConfig } from '../../libs/config/index.js';
import { generateSignerKey, verifierKeyFromSigner } from '../../libs/ledger/index.js';
import { createDataSource, ensureAppLoginRole, pendingMigrations, runMigrations, type AppLoginOutcome } from '../../libs/database/index.js';
import { IdentityService } from '../../libs/identity/index.js';
import { checkHeartbeat, heartbeatFile, QueueService } from '../../libs/queue/index.js';
import { jsonText, printJson, printTable, say } from './output.js';

const APP_LOGIN_MESSAGES: Record<AppLoginOutcome, string> = {
  created: "DATABASE_URL's role: created as a login role in dems_app",
  granted: "DATABASE_URL's role: made a member of dems_app",
  ready: "DATABASE_URL's role: a login role in dems_app",
  'is-owner': 'warning: DATABASE_URL connects as the owner, so the database guards do not bind the service; set DATABASE_OWNER_URL and give DATABASE_URL a login role of its own',
};

/** Admin tasks run next to the database (deployment, first run); they read the service config. */
export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('administration tasks run with the service configuration');

  admin
    .command('migrate')
    .description("apply pending database migrations as the owner (DATABASE_OWNER_URL, else DATABASE_URL), then make DATABASE_URL's user a login role in dems_app")
    .option('--check', 'only list pending migrations; exit 1 if any')
    .action(async (opts: { check?: boolean }) => {
      const config = loadConfig();
      const ds = createDataSource({ ...config, DATABASE_URL: config.DATABASE_OWNER_URL ?? config.DATABASE_URL });
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
        const login = await ensureAppLoginRole(ds, config.DATABASE_URL);
        (login === 'is-owner' ? console.error : console.log)(APP_LOGIN_MESSAGES[login]);
      } finally {
        await ds.destroy();
      }
    });

  admin
    .command('init-secrets')
    .description('give an installation its own AUTH_JWT_SECRET, LEDGER_SIGNING_KEY and METRICS_TOKEN in an env file (kept when already set to a value of its own)')
    .option('--dotenv <file>', 'the file to complete (created if missing)', '.env')
    .option('--origin <name>', 'the ledger log origin for a new signing key (default: evidence.local/<random>/ledger)')
    .action((opts: { dotenv: string; origin?: string }) => {
      const text = existsSync(opts.dotenv) ? readFileSync(opts.dotenv, 'utf8') : '';
      const current = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(text)?.[1]?.trim().replace(/^"(.*)"$/, '$1') ?? '';
      const made: Record<string, string> = {};
      const jwt = current('AUTH_JWT_SECRET');
      if (!jwt || jwt.length < 32 || isPublishedSecret(jwt)) made.AUTH_JWT_SECRET = randomBytes(32).toString('base64url');
      const ledger = current('LEDGER_SIGNING_KEY');
      if (!ledger || isPublishedSecret(ledger)) made.LEDGER_SIGNING_KEY = generateSignerKey(opts.origin ?? `evidence.local/${randomBytes(4).toString('hex')}/ledger`);
      const metrics = current('METRICS_TOKEN');
      if (!metrics || metrics.length < 32 || isPublishedSecret(metrics)) made.METRICS_TOKEN = randomBytes(32).toString('base64url');
      let out = text;
      for (const [name, value] of Object.entries(made)) {
        const line = `${name}=${value}`;
        out = new RegExp(`^${name}=.*$`, 'm').test(out) ? out.replace(new RegExp(`^${name}=.*$`, 'm'), () => line) : `${out}${out && !out.endsWith('\n') ? '\n' : ''}${line}\n`;
      }
      if (Object.keys(made).length) writeFileSync(opts.dotenv, out, { mode: 0o600 });
      for (const name of ['AUTH_JWT_SECRET', 'LEDGER_SIGNING_KEY', 'METRICS_TOKEN']) {
        console.log(made[name] ? `${name}: generated a new one in ${opts.dotenv}` : `${name}: kept the installation's own value`);
      }
      const signer = made.LEDGER_SIGNING_KEY ?? ledger;
      console.log(`ledger verifier key (publish this; witnesses and courts check checkpoints with it): ${verifierKeyFromSigner(signer)}`);
    });

  admin
    .command('health-check')
    .description("the container health check for either role of the image: a worker's fresh heartbeat (queues reachable), else the API's /health/live")
    .option('--queue-prefix <prefix>', 'the deployment\'s QUEUE_PREFIX (whose worker heartbeat to read)', 'dems')
    .option('--role <role>', 'api, worker, or auto (a worker heartbeat on this host means worker)', 'auto')
    .action(async (opts: { queuePrefix: string; role: string }) => {
      const file = heartbeatFile(opts.queuePrefix);
      const role = opts.role === 'auto' ? (existsSync(file) ? 'worker' : 'api') : opts.role;
      if (role === 'worker') {
        const r = checkHeartbeat(file);
        console.log(`${r.healthy ? 'healthy' : 'UNHEALTHY'}: ${r.reason}`);
        process.exitCode = r.healthy ? 0 : 1;
        return;
      }
      const url = new URL('/health/live', loadCliConfig().DEMS_API_URL);
      const ok = await fetch(url, { signal: AbortSignal.timeout(4000) }).then((res) => res.ok, () => false);
      console.log(ok ? `healthy: the API answers at ${url}` : `UNHEALTHY: the API does not answer at ${url}`);
      process.exitCode = ok ? 0 : 1;
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
          console.log(jsonText({ username: r.user.username, created: r.created, generatedPassword: r.generatedPassword }, 0));
        } else if (!r.created) {
          console.log(say`administrator "${r.user.username}" already exists (password unchanged)`);
        } else if (r.generatedPassword) {
          console.log(say`created administrator "${r.user.username}" with password: ${r.generatedPassword}` + '\n(shown once; it is not stored anywhere in clear)');
        } else {
          console.log(say`created administrator "${r.user.username}" with the password from DEMO_ADMIN_PASSWORD`);
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
        if (opts.json) printJson(jobs);
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
