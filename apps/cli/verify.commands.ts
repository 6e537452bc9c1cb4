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
  parseWitnessKeys,
  verifierKeyFromSigner,
  verifyCaseLog,
  type CaseLogHeader,
  type CaseLogLine,
  type VerifierKey,
  type WitnessKey,
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
export function verifierKeyFrom(opts: { key?: string; keyFile?: string }, fromEnvironment: string | undefined): VerifierKey {
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

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * The witnesses a verifier trusts (--witness-key, repeatable; each a verifier key or @file of keys)
 * and how many of them must have cosigned (--require-witnesses; default all given). Undefined when none are asked for.
 */
export function witnessRequirement(opts: { witnessKey?: string[]; requireWitnesses?: string }): { keys: WitnessKey[]; required: number } | undefined {
  const texts = (opts.witnessKey ?? []).map((k) => {
    if (!k.startsWith('@')) return k;
    try {
      return readFileSync(k.slice(1), 'utf8');
    } catch (e) {
      throw new AppError('FILE_UNREADABLE', `Cannot read ${k.slice(1)} (${(e as Error).message})`);
    }
  });
  let keys: WitnessKey[];
  try {
    keys = parseWitnessKeys(texts);
  } catch (e) {
    throw new AppError('INVALID_WITNESS_KEY', `Not a witness verifier key: ${(e as Error).message}`);
  }
  if (opts.requireWitnesses === undefined) return keys.length ? { keys, required: keys.length } : undefined;
  const required = Number(opts.requireWitnesses);
  if (!Number.isSafeInteger(required) || required < 1) throw new AppError('INVALID_ARGUMENTS', '--require-witnesses must be a whole number, at least 1');
  if (required > keys.length) {
    throw new AppError('INVALID_ARGUMENTS', `--require-witnesses ${required} needs at least ${required} witness keys (--witness-key), ${keys.length} given: a verifier counts only witnesses it trusts`);
  }
  return { keys, required };
}

const WITNESS_KEY_HELP = "a witness's verifier key (cosignature/v1, as dems witness init prints it) from a source you trust, or @file of keys; repeat for each witness";
const REQUIRE_WITNESSES_HELP = 'how many of the given witnesses must have cosigned (default: all given)';

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
    .option('--witness-key <verifierKey>', WITNESS_KEY_HELP, collect)
    .option('--require-witnesses <k>', REQUIRE_WITNESSES_HELP)
    .option('--json', 'machine-readable output')
    .action(async (opts: { key?: string; keyFile?: string; witnessKey?: string[]; requireWitnesses?: string; json?: boolean }) => {
      const config = loadVerifierConfig();
      const key = verifierKeyFrom(opts, config.DEMS_LEDGER_PUBLIC_KEY);
      const witnesses = witnessRequirement(opts);
      const ds = createDataSource(config);
      const store = createObjectStore(config);
      await ds.initialize();
      try {
        const result = await verifyLedger(ds, key, { published: publishedCheckpoints(store, key), witnesses });
        const w = result.witnessed;
        if (opts.json) console.log(JSON.stringify(result, null, 2));
        else if (result.ok) {
          console.log(
            `ledger OK: ${result.events} events, ${result.checkpointsChecked} signed checkpoint(s) in the database and ${result.publishedChecked} published in storage match, root ${result.root} (${Math.round(result.eventsPerSecond)} events/s)`,
          );
          if (w) {
            console.log(
              `witnessed: the checkpoint at size ${w.size} is cosigned by ${w.witnesses.length} of the given witnesses (${w.witnesses.join(', ')}; ${w.required} required)` +
                (w.eventsAfter ? `; the ${w.eventsAfter} event(s) after it are not yet witnessed` : ''),
            );
          }
          if (!result.publishedChecked && result.events) {
            console.log(`note: no checkpoint is published under ${result.publishedLocation}, so nothing outside the database vouches for these events (is this the ledger's key?)`);
          }
        } else if (result.problem?.unwitnessed) {
          console.log(`ledger NOT WITNESSED: every event and checkpoint matched, but ${result.problem!.reason}`);
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
    .option('--witness-key <verifierKey>', WITNESS_KEY_HELP, collect)
    .option('--require-witnesses <k>', REQUIRE_WITNESSES_HELP)
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { key: string; witnessKey?: string[]; requireWitnesses?: string; json?: boolean }) => {
      const key = opts.key.startsWith('@') ? readFileSync(opts.key.slice(1), 'utf8').trim() : opts.key.trim();
      const witnesses = witnessRequirement(opts);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new ApiError(0, 'FILE_UNREADABLE', `Cannot read ${file} (${(e as Error).message})`);
      }
      const result = verifyCaseLog(text, key, { witnesses });
      if (opts.json) console.log(JSON.stringify(result, null, 2));
      else if (result.ok) {
        console.log(`case log OK: case ${result.summary!.caseId}, all ${result.events} events the export signed (ending in ${result.summary!.head}), chained and included in the log signed at size ${result.treeSize}`);
        if (result.witnessed) console.log(`witnessed: the log at size ${result.witnessed.size} is cosigned by ${result.witnessed.witnesses.join(', ')}`);
      } else console.log(`case log BROKEN at line ${result.line}: ${result.reason}`);
      process.exitCode = result.ok ? 0 : 1;
    });

  const cases = program.commands.find((c) => c.name() === 'cases');
  (cases ?? program)
    .command('export-log <case>')
    .description('download a case log with inclusion proofs against the latest scheduled checkpoint (JSON Lines), for dems verify case-log')
    .requiredOption('--out <file>', 'where to write it')
    .option('--reason-code <code>', 'justification code')
    .option('--reason <text>', 'justification text')
    .option('--witnesses <k>', "wait until k of the service's witnesses have cosigned the export's checkpoint or a later one, and add it with its consistency proof (for dems verify case-log --require-witnesses)")
    .option('--wait <seconds>', 'how long to wait for the witnesses', '600')
    .action(async (ref: string, opts: { out: string; reasonCode?: string; reason?: string; witnesses?: string; wait: string }) => {
      const k = opts.witnesses === undefined ? 0 : Number(opts.witnesses);
      if (!Number.isSafeInteger(k) || k < 0) throw new AppError('INVALID_ARGUMENTS', '--witnesses must be a whole number');
      const wait = Number(opts.wait);
      if (!Number.isFinite(wait) || wait < 0) throw new AppError('INVALID_ARGUMENTS', '--wait must be a number of seconds');
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.get<{ header: CaseLogHeader; events: CaseLogLine[]; pendingEvents?: number }>(`/api/v1/cases/${id}/events/export`, { headers: justificationHeaders(opts) });
      if (body.header?.format !== CASE_LOG_FORMAT) {
        const format = typeof body.header?.format === 'string' ? ` in format ${body.header.format}, where this dems writes ${CASE_LOG_FORMAT} (update the one that is older)` : '';
        throw new ApiError(0, 'UNEXPECTED_ANSWER', `The API did not answer with a case log${format}`);
      }
      const write = () => writeFileSync(opts.out, [body.header, ...body.events].map((l) => JSON.stringify(l)).join('\n') + '\n', { mode: 0o600 });
      write();
      console.log(`wrote ${body.events.length} events to ${opts.out} (checkpoint signed by ${body.header.verifierKey.split('+')[0]})`);
      if (body.pendingEvents) console.log(`note: ${body.pendingEvents} later event(s) of the case are not in it yet: the next scheduled checkpoint covers them; export again after it`);
      if (k > 0) {
        const size = Number(/\n(\d+)\n/.exec(body.header.checkpoint)?.[1]);
        body.header.witnessed = await awaitWitnesses(api, size, k, wait);
        write();
        console.log(`added the witnessed checkpoint at size ${/\n(\d+)\n/.exec(body.header.witnessed.checkpoint)?.[1]} (${k} or more cosignatures) to ${opts.out}`);
      }
    });

  /**
   * Waits until the checkpoint at `size`, or the latest (which extends it), carries k cosignatures
   * the service accepted, and returns it with the consistency proof from `size`. The verifier
   * checks everything again with the witness keys it trusts; this only decides when to stop waiting.
   */
  async function awaitWitnesses(api: ApiClient, size: number, k: number, waitSeconds: number): Promise<{ checkpoint: string; consistency: string[] }> {
    type View = { treeSize: number; note: string; cosignatures?: unknown[] };
    const deadline = Date.now() + waitSeconds * 1000;
    let best = 0;
    for (;;) {
      const candidates = [(await api.get<View>(`/api/v1/ledger/checkpoint`, { auth: false })).body, (await api.get<View>(`/api/v1/ledger/checkpoints/${size}`, { auth: false })).body];
      for (const cp of candidates) {
        const n = cp.cosignatures?.length ?? 0;
        best = Math.max(best, n);
        if (cp.treeSize < size || n < k) continue;
        const consistency =
          cp.treeSize === size ? [] : (await api.get<{ proof: string[] }>(`/api/v1/ledger/proofs/consistency`, { auth: false, query: { from: size, to: cp.treeSize } })).body.proof;
        return { checkpoint: cp.note, consistency };
      }
      if (Date.now() >= deadline) {
        throw new AppError('WITNESSES_NOT_IN_TIME', `after ${waitSeconds} s no checkpoint from size ${size} on has ${k} witness cosignatures (at most ${best}); the file was written without them`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, Math.max(0, deadline - Date.now()))));
    }
  }

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
