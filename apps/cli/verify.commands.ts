import type { Command } from 'commander';
import { loadConfig } from '../../libs/config/index.js';
import { LedgerService } from '../../libs/custody/index.js';
import { createDataSource } from '../../libs/database/index.js';
import { generateSignerKey, verifierKeyFromSigner } from '../../libs/ledger/index.js';
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
