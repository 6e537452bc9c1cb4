import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../libs/core/index.js';
import {
  cosignCheckpoint,
  formatKeyId,
  generateWitnessKey,
  openCheckpoint,
  parseWitnessKey,
  parseWitnessSigner,
  verifyConsistency,
  witnessCosignatures,
  witnessKeyFromSigner,
  type OpenedCheckpoint,
  type VerifierKey,
  type WitnessSigner,
} from '../../libs/ledger/index.js';

/**
 * An independent witness of a DEMS custody ledger (C2SP tlog-witness semantics, pulled rather than
 * pushed): run by another organisation on its own machine with its own Ed25519 key. Each round it
 * fetches the log's latest checkpoint, checks the log's signature with the log key from its own
 * configuration (never from the server), checks that the checkpoint extends the last one it
 * accepted (RFC 9162 consistency proof), records the new state, and only then cosigns
 * (c2sp.org/tlog-cosignature) and hands the cosignature to the log. A checkpoint of the size it
 * accepted with another root (a fork), a smaller one (a rollback), or one its proof does not
 * connect is refused: nothing is cosigned, the state is left as it was, and both notes are kept.
 *
 * The state folder:
 *   witness.key            the witness's signer key (mode 0600; its secret)
 *   witness.pub            its verifier key, for the log's LEDGER_WITNESS_KEYS and for verifiers
 *   logs/<key id>.json     per log key: the last checkpoint accepted (size, root, note, cosignature)
 *   evidence/…             the two checkpoints of every refusal
 *   lock                   held while a round runs (one witness process per folder)
 */

export const WITNESS_STATE_FORMAT = 'dems-witness-state/1';

export interface WitnessState {
  format: typeof WITNESS_STATE_FORMAT;
  origin: string;
  /** The log's verifier key the state was built with. */
  logKey: string;
  size: number;
  /** Root hash, base64, as in the checkpoint. */
  rootHash: string;
  /** The checkpoint note as accepted (the log's signature and whatever cosignatures it then had). */
  checkpoint: string;
  /** This witness's cosignature line of it. */
  cosignature: string;
  acceptedAt: string;
}

export type RefusalKind = 'FORK' | 'ROLLBACK' | 'INCONSISTENT';

/** The log misbehaved; nothing was cosigned and the state is unchanged. */
export class WitnessRefusal extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
    readonly accepted: WitnessState,
    readonly served: { size: number; rootHash: string; note: string },
    readonly evidenceFile: string,
  ) {
    super(message);
    this.name = 'WitnessRefusal';
  }
}

export interface RoundResult {
  outcome: 'first' | 'cosigned' | 'unchanged' | 'resubmitted' | 'no-checkpoint';
  origin?: string;
  size?: number;
  rootHash?: string;
  previousSize?: number;
  /** Whether the log stored the cosignature now (false: it already had it). */
  stored?: boolean;
}

/** What a witness talks to the log with (replaceable in tests). */
export type HttpJson = (method: 'GET' | 'POST', url: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

export const httpJson: HttpJson = async (method, url, body) => {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (e) {
    throw new AppError('LOG_UNREACHABLE', `Cannot reach the log at ${url} (${(e as Error).cause ?? (e as Error).message})`);
  }
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
};

export function witnessPaths(dir: string) {
  return {
    key: join(dir, 'witness.key'),
    pub: join(dir, 'witness.pub'),
    logs: join(dir, 'logs'),
    evidence: join(dir, 'evidence'),
    lock: join(dir, 'lock'),
    state: (logKey: VerifierKey) => join(dir, 'logs', `${formatKeyId(logKey.keyId)}.json`),
  };
}

/** Makes a witness: a fresh key in a new state folder. Returns its verifier key. */
export function initWitness(dir: string, name: string): { verifierKey: string; keyFile: string } {
  const p = witnessPaths(dir);
  if (existsSync(p.key)) throw new AppError('WITNESS_EXISTS', `${p.key} already exists: this folder already holds a witness (its key is never replaced)`);
  const signer = generateWitnessKey(name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync(p.logs, { recursive: true, mode: 0o700 });
  writeFileSync(p.key, `${signer}\n`, { mode: 0o600, flag: 'wx' });
  const verifierKey = witnessKeyFromSigner(signer);
  writeFileSync(p.pub, `${verifierKey}\n`, { mode: 0o644 });
  return { verifierKey, keyFile: p.key };
}

export function loadWitnessSigner(dir: string): WitnessSigner {
  const p = witnessPaths(dir);
  let text: string;
  try {
    text = readFileSync(p.key, 'utf8');
  } catch (e) {
    throw new AppError('WITNESS_NOT_FOUND', `No witness key at ${p.key} (${(e as Error).message}); make one with dems witness init`);
  }
  try {
    return parseWitnessSigner(text.trim());
  } catch (e) {
    throw new AppError('INVALID_WITNESS_KEY', `${p.key} does not hold a witness signer key: ${(e as Error).message}`);
  }
}

/** Writes a file so that a crash leaves either the old or the new content, never a mix. */
export function writeAtomically(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(join(file, '..'), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function readState(file: string, logKey: VerifierKey): WitnessState | undefined {
  if (!existsSync(file)) return undefined;
  let state: WitnessState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as WitnessState;
  } catch (e) {
    throw new AppError('WITNESS_STATE_DAMAGED', `${file} is not a witness state (${(e as Error).message}); it is never rebuilt silently: restore it from a backup`);
  }
  if (state.format !== WITNESS_STATE_FORMAT || !Number.isSafeInteger(state.size)) throw new AppError('WITNESS_STATE_DAMAGED', `${file} is not a ${WITNESS_STATE_FORMAT} state`);
  // What the state says must still be what the log key signed: a state edited by hand is not trusted.
  let opened: OpenedCheckpoint;
  try {
    opened = openCheckpoint(state.checkpoint, logKey, { origin: logKey.name });
  } catch (e) {
    throw new AppError('WITNESS_STATE_DAMAGED', `the checkpoint kept in ${file} does not verify with the log key given (${(e as Error).message})`);
  }
  if (opened.size !== state.size || opened.rootHash.toString('base64') !== state.rootHash) throw new AppError('WITNESS_STATE_DAMAGED', `${file} states another size or root than its checkpoint`);
  return state;
}

/** One witness process per state folder: a round holds the lock (a stale lock of a dead process is taken over). */
export function acquireLock(dir: string): () => void {
  const { lock } = witnessPaths(dir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lock);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new AppError('WITNESS_BUSY', `another witness process (pid ${pid}) is using ${dir}; one at a time keeps its state consistent`);
      }
      unlinkSync(lock);
    }
  }
  throw new AppError('WITNESS_BUSY', `cannot take the lock ${lock}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function saveEvidence(dir: string, kind: RefusalKind, logUrl: string, accepted: WitnessState, served: { size: number; rootHash: string; note: string }, extra = ''): string {
  const p = witnessPaths(dir);
  mkdirSync(p.evidence, { recursive: true, mode: 0o700 });
  const file = join(p.evidence, `${new Date().toISOString().replace(/[:.]/g, '-')}-${kind.toLowerCase()}-${accepted.origin.replace(/[^A-Za-z0-9.-]+/g, '_')}-${served.size}.txt`);
  writeAtomically(
    file,
    `${kind} of ${accepted.origin}, seen at ${logUrl} on ${new Date().toISOString()}\n\n` +
      `accepted earlier (size ${accepted.size}, at ${accepted.acceptedAt}):\n${accepted.checkpoint}\n` +
      `served now (size ${served.size}):\n${served.note}\n${extra}`,
  );
  return file;
}

/**
 * One witness round against a log: fetch, check, record, cosign, submit. Throws WitnessRefusal
 * when the log misbehaved (nothing cosigned, state unchanged), AppError for anything else.
 */
export async function witnessRound(opts: { dir: string; logUrl: string; logKey: VerifierKey; signer: WitnessSigner; http?: HttpJson; now?: () => number }): Promise<RoundResult> {
  const http = opts.http ?? httpJson;
  const base = opts.logUrl.replace(/\/+$/, '');
  const p = witnessPaths(opts.dir);
  const stateFile = p.state(opts.logKey);

  const latest = await http('GET', `${base}/api/v1/ledger/checkpoint`);
  if (latest.status === 404) return { outcome: 'no-checkpoint' };
  if (latest.status !== 200 || typeof latest.body.note !== 'string') {
    throw new AppError('LOG_ANSWER_UNEXPECTED', `GET ${base}/api/v1/ledger/checkpoint answered ${latest.status} ${printable(latest.body.code)}`);
  }
  const note = latest.body.note;
  let served: OpenedCheckpoint;
  try {
    served = openCheckpoint(note, opts.logKey, { origin: opts.logKey.name });
  } catch (e) {
    throw new AppError('CHECKPOINT_UNVERIFIED', `the checkpoint served at ${base} does not verify with the log key given (${(e as Error).message}); nothing was cosigned`);
  }
  const servedView = { size: served.size, rootHash: served.rootHash.toString('base64'), note };
  const state = readState(stateFile, opts.logKey);

  if (state) {
    if (served.size < state.size) {
      const evidence = saveEvidence(opts.dir, 'ROLLBACK', base, state, servedView);
      throw new WitnessRefusal('ROLLBACK', `the log went back from size ${state.size} to ${served.size}`, state, servedView, evidence);
    }
    if (served.size === state.size) {
      if (servedView.rootHash !== state.rootHash) {
        const evidence = saveEvidence(opts.dir, 'FORK', base, state, servedView);
        throw new WitnessRefusal('FORK', `two different checkpoints of size ${state.size}, both signed by the log key`, state, servedView, evidence);
      }
      // Already cosigned: make sure the log has it (a submission may have been lost).
      if (carriesOwnCosignature(note, opts.signer)) return { outcome: 'unchanged', origin: served.origin, size: served.size, rootHash: servedView.rootHash };
      const stored = await submit(http, base, served.size, state.cosignature);
      return { outcome: 'resubmitted', origin: served.origin, size: served.size, rootHash: servedView.rootHash, stored };
    }
    const c = await http('GET', `${base}/api/v1/ledger/proofs/consistency?from=${state.size}&to=${served.size}`);
    const proof = Array.isArray(c.body.proof) ? (c.body.proof as unknown[]).map((h) => Buffer.from(String(h), 'hex')) : [];
    if (c.status !== 200 || !verifyConsistency(state.size, served.size, proof, Buffer.from(state.rootHash, 'base64'), served.rootHash)) {
      const why = c.status !== 200 ? `the log would not give a consistency proof (${c.status} ${printable(c.body.code)})` : 'its consistency proof does not verify';
      const evidence = saveEvidence(opts.dir, 'INCONSISTENT', base, state, servedView, `consistency proof ${state.size} -> ${served.size} as served: ${JSON.stringify(c.body)}\n`);
      throw new WitnessRefusal('INCONSISTENT', `the checkpoint of size ${served.size} does not extend the one of size ${state.size} accepted earlier: ${why}`, state, servedView, evidence);
    }
  }

  // Record first, then cosign: a cosignature must never exist for a state the witness did not keep.
  const timestamp = Math.floor((opts.now?.() ?? Date.now()) / 1000);
  const cosignature = cosignCheckpoint(served.note.text, opts.signer, timestamp);
  mkdirSync(p.logs, { recursive: true, mode: 0o700 });
  const next: WitnessState = {
    format: WITNESS_STATE_FORMAT,
    origin: served.origin,
    logKey: `${opts.logKey.name}+${formatKeyId(opts.logKey.keyId)}+${Buffer.concat([Buffer.from([1]), opts.logKey.publicKey]).toString('base64')}`,
    size: served.size,
    rootHash: servedView.rootHash,
    checkpoint: note,
    cosignature: cosignature.line,
    acceptedAt: new Date(timestamp * 1000).toISOString(),
  };
  writeAtomically(stateFile, JSON.stringify(next, null, 2) + '\n');
  const stored = await submit(http, base, served.size, cosignature.line);
  return { outcome: state ? 'cosigned' : 'first', origin: served.origin, size: served.size, rootHash: servedView.rootHash, previousSize: state?.size, stored };
}

/** Whether a served note carries a valid cosignature by this witness (a line in its name that does not verify counts as none). */
function carriesOwnCosignature(note: string, signer: WitnessSigner): boolean {
  try {
    return witnessCosignatures(note, [parseWitnessKey(witnessKeyFromSigner(signer))]).cosignatures.length > 0;
  } catch {
    return false;
  }
}

async function submit(http: HttpJson, base: string, size: number, line: string): Promise<boolean> {
  const r = await http('POST', `${base}/api/v1/ledger/checkpoints/${size}/cosignatures`, { cosignature: line });
  if (r.status !== 201) {
    const code = typeof r.body.code === 'string' && /^[A-Z0-9_]{1,64}$/.test(r.body.code) ? r.body.code : 'COSIGNATURE_NOT_ACCEPTED';
    throw new AppError(code, `the log did not take the cosignature of size ${size} (${r.status}): ${printable(r.body.message)}; it is kept in the witness state and handed in again next round`);
  }
  return r.body.created === true;
}

/** Text from the log, shown to the witness's operator: control and bidirectional-override characters escaped, at most 500 characters. */
function printable(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return text.slice(0, 500).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
