import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../libs/core/index.js';
import { generateSignerKey, leafHash, MemoryNodeStore, parseVerifierKey, signCheckpoint, verifierKeyFromSigner, witnessCosignatures, parseWitnessKey, withSignatureLines } from '../../libs/ledger/index.js';
import { acquireLock, initWitness, loadWitnessSigner, witnessPaths, witnessRound, WitnessRefusal, type HttpJson } from './witness.js';

const ORIGIN = 'spec.local/ledger';
const logSigner = generateSignerKey(ORIGIN);
const logKey = parseVerifierKey(verifierKeyFromSigner(logSigner));

/** A log served over a fake HTTP: its leaves, its checkpoints, the cosignatures handed in. */
function fakeLog(leaves: string[]) {
  const store = new MemoryNodeStore();
  for (const l of leaves) store.append(leafHash(l));
  const cosigned: string[] = [];
  const bySize = new Map<number, string[]>();
  const log = {
    store,
    cosigned,
    refuseSubmissions: false,
    note: () => signCheckpoint({ origin: ORIGIN, size: store.size, rootHash: store.root() }, logSigner),
    grow: (...more: string[]) => more.forEach((l) => store.append(leafHash(l))),
    http: (async (method, url, body) => {
      const u = new URL(url);
      if (method === 'GET' && u.pathname === '/api/v1/ledger/checkpoint') return { status: 200, body: { note: withSignatureLines(log.note(), bySize.get(store.size) ?? []) } };
      if (method === 'GET' && u.pathname === '/api/v1/ledger/proofs/consistency') {
        const from = Number(u.searchParams.get('from'));
        const to = Number(u.searchParams.get('to'));
        return { status: 200, body: { proof: store.consistencyProof(from, to).map((p) => p.toString('hex')) } };
      }
      if (method === 'POST' && /\/cosignatures$/.test(u.pathname)) {
        if (log.refuseSubmissions) return { status: 503, body: { code: 'NOT_READY', message: 'down \u001b[31mfor now' } };
        const line = (body as { cosignature: string }).cosignature;
        const size = Number(/checkpoints\/(\d+)\//.exec(u.pathname)![1]);
        const created = !cosigned.includes(line);
        if (created) cosigned.push(line);
        if (created) bySize.set(size, [...(bySize.get(size) ?? []), line]);
        return { status: 201, body: { created } };
      }
      return { status: 404, body: {} };
    }) as HttpJson,
  };
  return log;
}

function newWitness() {
  const dir = join(mkdtempSync(join(tmpdir(), 'witness-spec-')), 'state');
  const { verifierKey } = initWitness(dir, 'w.spec.local');
  return { dir, signer: loadWitnessSigner(dir), key: parseWitnessKey(verifierKey) };
}

describe('witness rounds', () => {
  it('accepts the first checkpoint, then only extensions, and hands each cosignature in once', async () => {
    const w = newWitness();
    const log = fakeLog(['a', 'b', 'c']);
    const round = () => witnessRound({ dir: w.dir, logUrl: 'http://log.test/', logKey, signer: w.signer, http: log.http });
    expect(await round()).toMatchObject({ outcome: 'first', size: 3, stored: true });
    expect(await round()).toMatchObject({ outcome: 'unchanged', size: 3 });
    log.grow('d', 'e');
    expect(await round()).toMatchObject({ outcome: 'cosigned', size: 5, previousSize: 3 });
    expect(witnessCosignatures(withSignatureLines(log.note(), [log.cosigned[1]]), [w.key]).cosignatures).toHaveLength(1);
    expect(log.cosigned).toHaveLength(2);
    const state = JSON.parse(readFileSync(witnessPaths(w.dir).state(logKey), 'utf8'));
    expect(state).toMatchObject({ format: 'dems-witness-state/1', origin: ORIGIN, size: 5, cosignature: log.cosigned[1] });
  });

  it('keeps the state before handing in, and hands the cosignature in again when that failed', async () => {
    const w = newWitness();
    const log = fakeLog(['a']);
    const round = () => witnessRound({ dir: w.dir, logUrl: 'http://log.test', logKey, signer: w.signer, http: log.http });
    log.refuseSubmissions = true;
    const failed = await round().catch((e) => e as AppError);
    expect(failed).toBeInstanceOf(AppError);
    expect((failed as AppError).code).toBe('NOT_READY');
    // The log's words are shown with their control characters escaped.
    expect((failed as AppError).message).toContain('down \\u001b[31mfor now');
    expect(JSON.parse(readFileSync(witnessPaths(w.dir).state(logKey), 'utf8')).size).toBe(1);
    log.refuseSubmissions = false;
    expect(await round()).toMatchObject({ outcome: 'resubmitted', size: 1, stored: true });
    expect(log.cosigned).toHaveLength(1);
  });

  it('refuses a fork, a rollback and an inconsistent checkpoint, leaving the state as it was', async () => {
    const w = newWitness();
    const real = fakeLog(['a', 'b', 'c', 'd']);
    await witnessRound({ dir: w.dir, logUrl: 'http://log.test', logKey, signer: w.signer, http: real.http });
    const file = witnessPaths(w.dir).state(logKey);
    const before = readFileSync(file, 'utf8');
    const cases: [string[], string][] = [
      [['a', 'b', 'x', 'd'], 'FORK'],
      [['a', 'b'], 'ROLLBACK'],
      [['a', 'b', 'x', 'd', 'e'], 'INCONSISTENT'],
    ];
    for (const [leaves, kind] of cases) {
      const other = fakeLog(leaves);
      const e = await witnessRound({ dir: w.dir, logUrl: 'http://other.test', logKey, signer: w.signer, http: other.http }).catch((x) => x as WitnessRefusal);
      expect(e).toBeInstanceOf(WitnessRefusal);
      expect((e as WitnessRefusal).kind).toBe(kind);
      expect(existsSync((e as WitnessRefusal).evidenceFile)).toBe(true);
      expect(other.cosigned).toEqual([]);
      expect(readFileSync(file, 'utf8')).toBe(before);
    }
  });

  it('refuses a checkpoint the log key did not sign, and a state edited by hand', async () => {
    const w = newWitness();
    const log = fakeLog(['a']);
    const impostor = parseVerifierKey(verifierKeyFromSigner(generateSignerKey(ORIGIN)));
    await expect(witnessRound({ dir: w.dir, logUrl: 'http://log.test', logKey: impostor, signer: w.signer, http: log.http })).rejects.toMatchObject({ code: 'CHECKPOINT_UNVERIFIED' });
    expect(existsSync(witnessPaths(w.dir).state(impostor))).toBe(false);
    await witnessRound({ dir: w.dir, logUrl: 'http://log.test', logKey, signer: w.signer, http: log.http });
    const file = witnessPaths(w.dir).state(logKey);
    const state = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...state, rootHash: Buffer.alloc(32).toString('base64') }));
    await expect(witnessRound({ dir: w.dir, logUrl: 'http://log.test', logKey, signer: w.signer, http: log.http })).rejects.toMatchObject({ code: 'WITNESS_STATE_DAMAGED' });
  });
});

describe('witness state folder', () => {
  it('is made once, and used by one process at a time', () => {
    const w = newWitness();
    expect(() => initWitness(w.dir, 'again')).toThrow(/already holds a witness/);
    const release = acquireLock(w.dir);
    expect(() => acquireLock(w.dir)).toThrow(/another witness process/);
    release();
    expect(existsSync(witnessPaths(w.dir).lock)).toBe(false);
    // A lock left by a process that is gone is taken over.
    writeFileSync(witnessPaths(w.dir).lock, '2147483646');
    acquireLock(w.dir)();
  });
});
