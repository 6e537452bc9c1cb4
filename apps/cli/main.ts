#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError, loadDotEnv } from '../../libs/config/index.js';
import { AppError } from '../../libs/core/index.js';
import { registerAdminCommands } from './admin.commands.js';
import { ApiClient, ApiError } from './api-client.js';
import { registerAuthCommands } from './auth.commands.js';
import { registerCaseCommands } from './cases.commands.js';
import { registerIngestCommands } from './ingest.commands.js';
import { registerVerifyCommands } from './verify.commands.js';
import { registerMediaCommands } from './media.commands.js';
import { registerExtractionCommands } from './extraction.commands.js';
import { registerDisclosureCommands } from './disclosure.commands.js';
import { registerWitnessCommands } from './witness.commands.js';
import { SERVICE_VERSION } from '../api/version.js';
import { clean, printJson, say } from './output.js';

const program = new Command('dems')
  .description('Evidence service command-line client')
  .version(SERVICE_VERSION)
  .showHelpAfterError();

program
  .command('health')
  .description("ask the API whether it and its dependencies are ready")
  .option('--json', 'machine-readable output')
  .action(async (opts: { json?: boolean }) => {
    const { status, body } = await new ApiClient().get<Record<string, unknown>>('/health/ready', { ok: [200, 503], auth: false });
    if (opts.json) printJson(body);
    else console.log(status === 200 ? 'ready' : say`not ready: ${body.message}`);
    process.exitCode = status === 200 ? 0 : 1;
  });

registerAuthCommands(program);
registerCaseCommands(program);
registerIngestCommands(program);
registerAdminCommands(program);
registerVerifyCommands(program);
registerMediaCommands(program);
registerExtractionCommands(program);
registerDisclosureCommands(program);
registerWitnessCommands(program);

try {
  loadDotEnv();
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  const message =
    e instanceof ConfigError ? e.message : e instanceof ApiError || e instanceof AppError ? `${e.code}: ${e.message}` : (e as Error).message;
  // Messages can quote what the service or a file said: shown escaped, never acted on by the terminal.
  process.stderr.write(`dems: ${clean(message, { multiLine: true })}\n`);
  process.exit(1);
}
