import type { Command } from 'commander';
import { loadConfig } from '../../libs/config/index.js';
import { LedgerService } from '../../libs/custody/index.js';
import { createDataSource } from '../../libs/database/index.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { CASE_LOG_FORMAT, generateSignerKey, verifierKeyFromSigner, verifyCaseLog, type CaseLogHeader, type CaseLogLine } from '../../libs/ledger/index.js';
import { ApiClient } from './api-client.js';
import { justificationHeaders, resolveCase } from './cases.commands.js';
import { ApiError } from './errors.js';
import { createObjectStore } from '../../libs/storage/index.js';

/** Ledger checks run next to the database and storage (auditors, administrators). */
export function registerVerifyCommands(program: Command): void {
  const verify = program.command('verify').description('check the custody ledger');

  verify
    .command('ledger')
    .description('recompute every event hash, chain link, Merkle leaf and checkpoint root from the database and storage; names the first bad event')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const ds = createDataSource(config);
      const store = createObjectStore(config);
      await ds.initialize();
      try {
        const result = await new LedgerService(ds, store, config).verify();
        if (opts.json) console.log(JSON.stringify(result, null, 2));
        else if (result.ok) {
          console.log(`ledger OK: ${result.events} events, ${result.checkpointsChecked} signed checkpoint(s) match, root ${result.root} (${Math.round(result.eventsPerSecond)} events/s)`);
        } else {
          const p = result.problem!;
          const where = p.leafIndex !== undefined ? `event #${p.leafIndex} (seq ${p.seq}, id ${p.eventId})` : `checkpoint at size ${p.checkpointSize}`;
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
