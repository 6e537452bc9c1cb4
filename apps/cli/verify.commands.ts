import type { Command } from 'commander';
import { loadVerifierConfig } from '../../libs/config/verifier-config.js';
import { AppError } from '../../libs/core/index.js';
import { publishedCheckpoints, verifyLedger } from '../../libs/custody/index.js';
import { createDataSource } from '../../libs/database/index.js';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  CASE_LOG_FORMAT,
  generateSignerKey,
  parseVerifierKey,
  verifierKeyFromSigner,
  verifyCaseLog,
  type CaseLogHeader,
  type CaseLogLine,
  type VerifierKey,
} from '../../libs/ledger/index.js';
import { ApiClient } from './api-client.js';
import { justificationHeaders, resolveCase } from './cases.commands.js';
import { ApiError } from './errors.js';
import { createObjectStore } from '../../libs/storage/index.js';

/**
 * The verifier key from --key (or @file), --key-file or DEMS_LEDGER_PUBLIC_KEY. A file may hold the
 * key itself or the API's JSON answer for it. Never derived from a signing key: the check must not
 * need the secret it checks.
 */
function verifierKeyFrom(opts: { key?: string; keyFile?: string }, fromEnvironment: string | undefined): VerifierKey {
  if (opts.key !== undefined && opts.keyFile !== undefined) throw new AppError('INVALID_ARGUMENTS', 'Give the verifier key with --key or --key-file, not both');
  const file = opts.keyFile ?? (opts.key?.startsWith('@') ? opts.key.slice(1) : undefined);
  let text = file === undefined ? (opts.key ?? fromEnvironment) : undefined;
  if (file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new AppError('FILE_UNREADABLE', `Cannot read ${file} (${(e as Error).message})`);
    }
  }
  if (text === undefined) {
    throw new AppError('VERIFIER_KEY_REQUIRED', 'Give the ledger verifier key with --key, --key-file or DEMS_LEDGER_PUBLIC_KEY (the service publishes it at GET /api/v1/ledger/public-key)');
  }
  text = text.trim();
  if (text.startsWith('{')) {
    try {
      text = String((JSON.parse(text) as { verifierKey?: unknown }).verifierKey ?? '');
    } catch {
      throw new AppError('INVALID_VERIFIER_KEY', `${file ?? 'The key'} is neither a verifier key nor the JSON of GET /api/v1/ledger/public-key`);
    }
  }
  try {
    return parseVerifierKey(text);
  } catch (e) {
    throw new AppError('INVALID_VERIFIER_KEY', `Not a ledger verifier key: ${(e as Error).message}`);
  }
}

/** Ledger checks: the whole ledger next to the database and storage, or an exported case log offline. */
export function registerVerifyCommands(program: Command): void {
  const verify = program.command('verify').description('check the custody ledger');

  verify
    .command('ledger')
    .description(
      'recompute every event hash, chain link, Merkle leaf and checkpoint root from the database, and check every checkpoint published in storage against them; needs read access and the ledger public key only',
    )
    .option('--key <verifierKey>', 'the ledger verifier key (name+id+key), or @file holding it; default DEMS_LEDGER_PUBLIC_KEY. Get it from a trusted source (GET /api/v1/ledger/public-key when the service was known good)')
    .option('--key-file <file>', 'a file holding the verifier key, or the JSON answer of GET /api/v1/ledger/public-key')
    .option('--json', 'machine-readable output')
    .action(async (opts: { key?: string; keyFile?: string; json?: boolean }) => {
      const config = loadVerifierConfig();
      const key = verifierKeyFrom(opts, config.DEMS_LEDGER_PUBLIC_KEY);
      const ds = createDataSource(config);
      const store = createObjectStore(config);
      await ds.initialize();
      try {
        const result = await verifyLedger(ds, key, { published: publishedCheckpoints(store, key) });
        if (opts.json) console.log(JSON.stringify(result, null, 2));
        else if (result.ok) {
          console.log(
            `ledger OK: ${result.events} events, ${result.checkpointsChecked} signed checkpoint(s) in the database and ${result.publishedChecked} published in storage match, root ${result.root} (${Math.round(result.eventsPerSecond)} events/s)`,
          );
          if (!result.publishedChecked && result.events) {
            console.log(`note: no checkpoint is published under ${result.publishedLocation}, so nothing outside the database vouches for these events (is this the ledger's key?)`);
          }
        } else {
          const p = result.problem!;
          const where =
            p.leafIndex !== undefined ? `event #${p.leafIndex} (seq ${p.seq}, id ${p.eventId})` : p.checkpointSize !== undefined ? `checkpoint at size ${p.checkpointSize}` : `${p.objectKey}`;
          console.log(`ledger BROKEN at ${where}: ${p.reason}`);
        }
        process.exitCode = result.ok ? 0 : 1;
      } finally {
        await ds.destroy();
        store.destroy();
      }
    });

  verify
    .command('case-log <file>')
    .description('check an exported case log offline: its signed extent (event count and chain head), every event against its chain and the signed checkpoint (needs only the ledger public key)')
    .requiredOption('--key <verifierKey>', 'the ledger verifier key (name+id+key), or @file holding it; get it from a trusted source, not from the log file')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { key: string; json?: boolean }) => {
      const key = opts.key.startsWith('@') ? readFileSync(opts.key.slice(1), 'utf8').trim() : opts.key.trim();
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new ApiError(0, 'FILE_UNREADABLE', `Cannot read ${file} (${(e as Error).message})`);
      }
      const result = verifyCaseLog(text, key);
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      else if (result.ok) {
        console.log(`case log OK: case ${result.summary!.caseId}, all ${result.events} events the export signed (ending in ${result.summary!.head}), chained and included in the log signed at size ${result.treeSize}`);
      } else console.log(`case log BROKEN at line ${result.line}: ${result.reason}`);
      process.exitCode = result.ok ? 0 : 1;
    });

  const cases = program.commands.find((c) => c.name() === 'cases');
  (cases ?? program)
    .command('export-log <case>')
    .description('download a case log with inclusion proofs against a freshly signed checkpoint (JSON Lines), for dems verify case-log')
    .requiredOption('--out <file>', 'where to write it')
    .option('--reason-code <code>', 'justification code')
    .option('--reason <text>', 'justification text')
    .action(async (ref: string, opts: { out: string; reasonCode?: string; reason?: string }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.get<{ header: CaseLogHeader; events: CaseLogLine[] }>(`/api/v1/cases/${id}/events/export`, { headers: justificationHeaders(opts) });
      if (body.header?.format !== CASE_LOG_FORMAT) {
        const format = typeof body.header?.format === 'string' ? ` in format ${body.header.format}, where this dems writes ${CASE_LOG_FORMAT} (update the one that is older)` : '';
        throw new ApiError(0, 'UNEXPECTED_ANSWER', `The API did not answer with a case log${format}`);
      }
      writeFileSync(opts.out, [body.header, ...body.events].map((l) => JSON.stringify(l)).join('\n') + '\n', { mode: 0o600 });
      console.log(`wrote ${body.events.length} events to ${opts.out} (checkpoint signed by ${body.header.verifierKey.split('+')[0]})`);
    });

  const admin = program.commands.find((c) => c.name() === 'admin');
  (admin ?? program)
    .command('ledger-key')
    .description('make a new Ed25519 checkpoint signing key (LEDGER_SIGNING_KEY) and print its public verifier key')
    .requiredOption('--name <origin>', 'the log origin, e.g. ledger.evidence.force.police.uk')
    .action((opts: { name: string }) => {
      const signer = generateSignerKey(opts.name);
      console.log(`LEDGER_SIGNING_KEY=${signer}`);
      console.log(`# verifier key (publish this): ${verifierKeyFromSigner(signer)}`);
    });
}
