import type { Command } from 'commander';
import { AppError } from '../../libs/core/index.js';
import { verifierKeyFrom } from './verify.commands.js';
import { acquireLock, initWitness, loadWitnessSigner, witnessPaths, witnessRound, WitnessRefusal, type RoundResult } from './witness.js';

/** Exit status of a witness that refused the log (fork, rollback, inconsistent checkpoint). */
export const WITNESS_REFUSED_EXIT = 2;

function describe(r: RoundResult): string {
  const at = `${r.origin} at size ${r.size} (root ${r.rootHash})`;
  switch (r.outcome) {
    case 'no-checkpoint':
      return 'the log has signed no checkpoint yet; nothing to witness';
    case 'first':
      return `cosigned ${at}: first checkpoint seen from this log, accepted as the starting point${r.stored ? '' : ' (the log already had this cosignature)'}`;
    case 'cosigned':
      return `cosigned ${at}: it extends size ${r.previousSize} (consistency proof checked)${r.stored ? '' : ' (the log already had this cosignature)'}`;
    case 'unchanged':
      return `${at} is the checkpoint already cosigned; the log shows the cosignature`;
    case 'resubmitted':
      return `${at} was already cosigned; handed the cosignature to the log again`;
  }
}

function shout(e: WitnessRefusal, stateFile: string): void {
  const what = {
    FORK: 'FORK: the log has signed two different checkpoints of the same size',
    ROLLBACK: 'ROLLBACK: the log now shows fewer events than it did before',
    INCONSISTENT: 'INCONSISTENT: the new checkpoint does not extend the one accepted before',
  }[e.kind];
  process.stderr.write(
    [
      '',
      `!!! dems witness: REFUSED. ${what}.`,
      `!!! log ${e.accepted.origin}: ${e.message}.`,
      `!!!   accepted before: size ${e.accepted.size}, root ${e.accepted.rootHash} (at ${e.accepted.acceptedAt})`,
      `!!!   served now:      size ${e.served.size}, root ${e.served.rootHash}`,
      '!!! Both are signed with the log key: its history was rewritten or is shown differently to different people.',
      `!!! Nothing was cosigned; the witness state is unchanged (${stateFile}).`,
      `!!! Both checkpoints are kept as evidence in ${e.evidenceFile}.`,
      "!!! Tell the log's operator and everyone who relies on this log's checkpoints.",
      '',
    ].join('\n'),
  );
}

/** `dems witness`: an independent witness of a DEMS custody ledger, run by another organisation with its own key. */
export function registerWitnessCommands(program: Command): void {
  const witness = program
    .command('witness')
    .description("cosign a DEMS ledger's checkpoints as an independent witness (C2SP tlog-cosignature), on your own machine with your own key");

  witness
    .command('init')
    .description('make a witness: a new Ed25519 key (cosignature/v1) and its state folder; prints the verifier key to give to the log (LEDGER_WITNESS_KEYS) and to verifiers')
    .requiredOption('--name <name>', 'the witness name, e.g. witness.cps.gov.uk/dems (no spaces or +)')
    .requiredOption('--state <dir>', 'the state folder (created; keep it, and back it up: it holds the key and what was accepted)')
    .action((opts: { name: string; state: string }) => {
      const { verifierKey, keyFile } = initWitness(opts.state, opts.name);
      console.log(`witness key written to ${keyFile} (secret, mode 0600)`);
      console.log(`verifier key (give this to the log operator for LEDGER_WITNESS_KEYS, and to verifiers): ${verifierKey}`);
    });

  witness
    .command('run')
    .description(
      "witness a log: fetch its latest checkpoint, check the log's signature and that it extends the last one accepted (consistency proof), keep it, then cosign and hand the cosignature to the log. A fork, a rollback or an inconsistent checkpoint is refused loudly, nothing is cosigned, and the exit status is 2",
    )
    .requiredOption('--log-url <url>', 'the log API, e.g. https://evidence.force.police.uk')
    .requiredOption('--log-key <verifierKey>', "the log's verifier key from a source you trust (never taken from the server), @file, or a file with the JSON of GET /api/v1/ledger/public-key")
    .requiredOption('--state <dir>', 'the state folder made by dems witness init')
    .option('--once', 'one round, then exit (default: keep going)')
    .option('--interval <seconds>', 'seconds between rounds', '60')
    .option('--json', 'one JSON line per round')
    .action(async (opts: { logUrl: string; logKey: string; state: string; once?: boolean; interval: string; json?: boolean }) => {
      const logKey = verifierKeyFrom(opts.logKey.startsWith('@') ? { keyFile: opts.logKey.slice(1) } : { key: opts.logKey }, undefined);
      const interval = Number(opts.interval);
      if (!Number.isFinite(interval) || interval < 1) throw new AppError('INVALID_ARGUMENTS', '--interval must be at least 1 second');
      try {
        new URL(opts.logUrl);
      } catch {
        throw new AppError('INVALID_ARGUMENTS', `--log-url ${opts.logUrl} is not a URL`);
      }
      const signer = loadWitnessSigner(opts.state);
      const stateFile = witnessPaths(opts.state).state(logKey);
      let stopping = false;
      let wake: (() => void) | undefined;
      const stop = () => {
        stopping = true;
        wake?.();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const release = acquireLock(opts.state);
      try {
        for (;;) {
          try {
            const r = await witnessRound({ dir: opts.state, logUrl: opts.logUrl, logKey, signer });
            console.log(opts.json ? JSON.stringify(r) : `${new Date().toISOString()} ${describe(r)}`);
          } catch (e) {
            if (e instanceof WitnessRefusal) {
              if (opts.json) console.log(JSON.stringify({ outcome: 'refused', kind: e.kind, reason: e.message, accepted: { size: e.accepted.size, rootHash: e.accepted.rootHash }, served: { size: e.served.size, rootHash: e.served.rootHash }, evidence: e.evidenceFile }));
              shout(e, stateFile);
              // A misbehaving log is not retried: the refusal stands until a person looks at it.
              process.exitCode = WITNESS_REFUSED_EXIT;
              return;
            }
            if (opts.once) throw e;
            // The log may be down or busy; try again next round.
            process.stderr.write(`dems witness: ${e instanceof AppError ? `${e.code}: ` : ''}${(e as Error).message}\n`);
          }
          if (opts.once || stopping) return;
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, interval * 1000);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          if (stopping) return;
        }
      } finally {
        release();
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
