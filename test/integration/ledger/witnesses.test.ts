import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LedgerService, recordCustodyEvent } from '../../../libs/custody/index.js';
import { checkWitnesses, cosignCheckpoint, generateSignerKey, generateWitnessKey, parseVerifierKey, parseWitnessKey, signCheckpoint, verifierKeyFromSigner, type WitnessKey } from '../../../libs/ledger/index.js';
import { ApiHarness, freshUrn, type TestUser } from '../../support/api-harness.js';
import { CLI, cliOptions, createScratchDatabase } from '../../support/test-env.js';

const run = promisify(execFile);

/**
 * Independent witnesses (dems witness) against the running API: two witnesses cosign a growing
 * log, and a verifier requiring two cosignatures fails with one and passes with two; a second
 * log with the same signing key (a second scratch database: another history) is refused by the
 * witnesses when it is behind (rollback), at the same size with another root (fork), or ahead
 * without being an extension (inconsistent), and nothing is cosigned there. The log key is the
 * test's own, so its storage folder holds only these logs' checkpoints.
 */
describe('independent witnesses', () => {
  const a = new ApiHarness();
  const b = new ApiHarness();
  let scratchA: Awaited<ReturnType<typeof createScratchDatabase>>;
  let scratchB: Awaited<ReturnType<typeof createScratchDatabase>>;
  const tag = randomBytes(3).toString('hex');
  const logSigner = generateSignerKey(`witness.test.local/${tag}/ledger`);
  const logKey = verifierKeyFromSigner(logSigner);
  const work = mkdtempSync(join(tmpdir(), 'dems-witness-'));
  const dirs = { w1: join(work, 'cps'), w2: join(work, 'psu') };
  const vkeys: Record<'w1' | 'w2', string> = { w1: '', w2: '' };
  let keys: WitnessKey[];
  let oic: TestUser;
  let caseId: string;
  const loops: ChildProcess[] = [];

  const cli = async (args: string[], env: Record<string, string | undefined> = {}) => {
    // Bounded, so a hang shows as a failure; the export that waits for witnesses is given 60 s of waiting.
    const r = await run('node', [CLI, ...args], { ...cliOptions(env), timeout: 100_000 }).catch((e) => e as { code: number; stdout: string; stderr: string });
    return { code: (r as { code?: number }).code ?? 0, stdout: r.stdout, stderr: r.stderr };
  };
  const witness = (w: 'w1' | 'w2', h: ApiHarness) => cli(['witness', 'run', '--once', '--json', '--log-url', h.base, '--log-key', logKey, '--state', dirs[w]]);
  const roundOf = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  const stateFile = (w: 'w1' | 'w2') => join(dirs[w], 'logs', `${logKey.split('+')[1]}.json`);
  const state = (w: 'w1' | 'w2') => JSON.parse(readFileSync(stateFile(w), 'utf8')) as { size: number; rootHash: string };
  /** Exactly n more events in a log (global chain, no case). */
  const grow = async (h: ApiHarness, n: number) => {
    for (let i = 0; i < n; i++) await h.ds.transaction((tx) => recordCustodyEvent(tx, { type: 'test.witness_filler', operation: 'consultation', details: { i, tag } }));
  };
  const publish = async (h: ApiHarness) => (await h.app.get(LedgerService).publishCheckpoint())!;
  const latest = async (h: ApiHarness) => (await h.call('GET', '/api/v1/ledger/checkpoint')).body as { treeSize: number; note: string; rootHash: string; cosignatures: { witness: string }[] };
  const verifierEnv = () => ({
    DATABASE_URL: a.config.DATABASE_URL,
    S3_ENDPOINT: a.config.S3_ENDPOINT,
    S3_REGION: a.config.S3_REGION,
    S3_ACCESS_KEY_ID: a.config.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: a.config.S3_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: String(a.config.S3_FORCE_PATH_STYLE),
    S3_BUCKET_ORIGINALS: a.config.S3_BUCKET_ORIGINALS,
    S3_BUCKET_WORKING: a.config.S3_BUCKET_WORKING,
  });
  const verifyLedger = async (witnessArgs: string[]) => {
    const r = await cli(['verify', 'ledger', '--key', logKey, ...witnessArgs, '--json'], verifierEnv());
    return { code: r.code, result: JSON.parse(r.stdout) };
  };

  beforeAll(async () => {
    for (const w of ['w1', 'w2'] as const) {
      const made = await cli(['witness', 'init', '--name', `${w}.witness.test.local/${tag}`, '--state', dirs[w]]);
      expect(made.code).toBe(0);
      vkeys[w] = /verifier key[^:]*: (\S+)/.exec(made.stdout)![1];
      expect(readFileSync(join(dirs[w], 'witness.pub'), 'utf8').trim()).toBe(vkeys[w]);
    }
    keys = [parseWitnessKey(vkeys.w1), parseWitnessKey(vkeys.w2)];
    [scratchA, scratchB] = await Promise.all([createScratchDatabase(), createScratchDatabase()]);
    const overrides = { LEDGER_SIGNING_KEY: logSigner, LEDGER_WITNESS_KEYS: [vkeys.w1, vkeys.w2] };
    await a.start({ ...overrides, DATABASE_URL: scratchA.url });
    await b.start({ ...overrides, DATABASE_URL: scratchB.url });
    oic = await a.user('oic', 'investigator');
    caseId = (await a.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Witnessed case' } })).body.id as string;
    await grow(a, 5);
  });
  afterAll(async () => {
    for (const p of loops) if (p.exitCode === null) p.kill('SIGTERM');
    await a.stop();
    await b.stop();
    await scratchA?.drop();
    await scratchB?.drop();
  });

  it('makes a witness key once per state folder, kept secret', async () => {
    expect(readFileSync(join(dirs.w1, 'witness.key'), 'utf8')).toMatch(/^PRIVATE\+KEY\+w1\.witness\.test\.local\//);
    const again = await cli(['witness', 'init', '--name', 'other', '--state', dirs.w1]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('WITNESS_EXISTS');
    const listed = (await a.call('GET', '/api/v1/ledger/witnesses')).body as { witnesses: { verifierKey: string }[] };
    expect(listed.witnesses.map((w) => w.verifierKey)).toEqual([vkeys.w1, vkeys.w2]);
  });

  it('two witnesses cosign a growing log; a verifier requiring two cosignatures fails with one and passes with two', async () => {
    const first = await publish(a);
    const one = await witness('w1', a);
    expect(one.code).toBe(0);
    expect(roundOf(one)).toMatchObject({ outcome: 'first', size: first.treeSize, stored: true });
    let cp = await latest(a);
    expect(cp.cosignatures.map((c) => c.witness)).toEqual([`w1.witness.test.local/${tag}`]);
    expect(checkWitnesses(cp.note, keys, 1).ok).toBe(true);

    const requireTwo = ['--witness-key', vkeys.w1, '--witness-key', vkeys.w2, '--require-witnesses', '2'];
    const withOne = await verifyLedger(requireTwo);
    expect(withOne.code).toBe(1);
    expect(withOne.result).toMatchObject({ ok: false, problem: { unwitnessed: true, reason: expect.stringContaining(`no checkpoint is cosigned by 2 of the 2 witnesses given: the most cosigned, at size ${first.treeSize}, has 1`) } });
    const human = await cli(['verify', 'ledger', '--key', logKey, ...requireTwo], verifierEnv());
    expect([human.code, human.stdout]).toEqual([1, expect.stringMatching(/^ledger NOT WITNESSED: every event and checkpoint matched, but no checkpoint is cosigned by 2/)]);
    // One of the two is enough when one is all that is asked.
    expect((await verifyLedger(['--witness-key', vkeys.w1, '--witness-key', vkeys.w2, '--require-witnesses', '1'])).result).toMatchObject({ ok: true, witnessed: { size: first.treeSize } });

    expect(roundOf(await witness('w2', a))).toMatchObject({ outcome: 'first', size: first.treeSize });
    const withTwo = await verifyLedger(requireTwo);
    expect(withTwo.code).toBe(0);
    expect(withTwo.result).toMatchObject({ ok: true, witnessed: { required: 2, size: first.treeSize, witnesses: expect.arrayContaining([expect.stringMatching(/^w2\./)]), eventsAfter: 0 } });

    // The log grows: each witness checks the consistency proof from what it accepted, and cosigns again.
    await grow(a, 7);
    const second = await publish(a);
    for (const w of ['w1', 'w2'] as const) {
      expect(roundOf(await witness(w, a))).toMatchObject({ outcome: 'cosigned', size: second.treeSize, previousSize: first.treeSize, stored: true });
      expect(state(w)).toMatchObject({ size: second.treeSize, rootHash: Buffer.from(second.rootHash, 'hex').toString('base64') });
    }
    cp = await latest(a);
    expect(cp.treeSize).toBe(second.treeSize);
    expect(checkWitnesses(cp.note, keys, 2)).toMatchObject({ ok: true, cosigned: [expect.anything(), expect.anything()] });
    expect((await verifyLedger(requireTwo)).result).toMatchObject({ ok: true, witnessed: { size: second.treeSize, eventsAfter: 0 } });
    // Nothing new: nothing to sign again.
    expect(roundOf(await witness('w1', a))).toMatchObject({ outcome: 'unchanged', size: second.treeSize });
    // An older checkpoint keeps its own cosignatures.
    expect(((await a.call('GET', `/api/v1/ledger/checkpoints/${first.treeSize}`)).body.cosignatures as unknown[]).length).toBe(2);
  });

  it('stores only cosignatures that verify with a configured witness key, append-only', async () => {
    const cp = await latest(a);
    const body = cp.note.slice(0, cp.note.indexOf('\n\n') + 1);
    const stranger = cosignCheckpoint(body, generateWitnessKey(`w3.witness.test.local/${tag}`)).line;
    const post = (size: number, cosignature: unknown) => a.call('POST', `/api/v1/ledger/checkpoints/${size}/cosignatures`, { body: { cosignature } });
    expect(await post(cp.treeSize, stranger)).toMatchObject({ status: 403, body: { code: 'WITNESS_NOT_TRUSTED' } });
    // w1's own key over another checkpoint of this size (what a fork would have shown it).
    const w1Signer = readFileSync(join(dirs.w1, 'witness.key'), 'utf8').trim();
    const other = signCheckpoint({ origin: parseVerifierKey(logKey).name, size: cp.treeSize, rootHash: Buffer.alloc(32, 9) }, logSigner);
    const misplaced = cosignCheckpoint(other.slice(0, other.indexOf('\n\n') + 1), w1Signer).line;
    expect(await post(cp.treeSize, misplaced)).toMatchObject({ status: 422, body: { code: 'COSIGNATURE_INVALID' } });
    expect(await post(cp.treeSize, 'not a signature line')).toMatchObject({ status: 400, body: { code: 'INVALID_COSIGNATURE' } });
    expect(await post(cp.treeSize + 1000, misplaced)).toMatchObject({ status: 404, body: { code: 'CHECKPOINT_NOT_FOUND' } });
    expect((await post(cp.treeSize, 42)).status).toBe(400);
    const future = cosignCheckpoint(body, w1Signer, Math.floor(Date.now() / 1000) + 86400).line;
    expect(await post(cp.treeSize, future)).toMatchObject({ status: 422, body: { code: 'COSIGNATURE_FROM_THE_FUTURE' } });
    // The same witness again, even with a new time: the first cosignature stays.
    const again = cosignCheckpoint(body, w1Signer).line;
    expect(await post(cp.treeSize, again)).toMatchObject({ status: 201, body: { created: false, treeSize: cp.treeSize } });
    expect((await latest(a)).note).toBe(cp.note);
    await expect(a.ds.query(`UPDATE ledger_cosignatures SET line = line`)).rejects.toThrow(/permission denied/);
    await expect(a.owner.query(`UPDATE ledger_cosignatures SET line = line`)).rejects.toThrow(/append-only/);
    await expect(a.owner.query(`DELETE FROM ledger_cosignatures`)).rejects.toThrow(/append-only/);
  });

  it('refuses a rolled-back log: fewer events than accepted, nothing cosigned, state kept', async () => {
    const accepted = state('w1');
    await grow(b, 3);
    const behind = await publish(b);
    expect(behind.treeSize).toBeLessThan(accepted.size);
    const r = await witness('w1', b);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('REFUSED. ROLLBACK');
    expect(r.stderr).toContain(`went back from size ${accepted.size} to ${behind.treeSize}`);
    expect(roundOf(r)).toMatchObject({ outcome: 'refused', kind: 'ROLLBACK' });
    expect(state('w1')).toEqual(accepted);
    expect((await latest(b)).cosignatures).toEqual([]);
    const evidence = readdirSync(join(dirs.w1, 'evidence'));
    expect(evidence.some((f) => f.includes('-rollback-'))).toBe(true);
  });

  it('refuses a forked log: the same size as accepted with another root, loudly, and cosigns nothing there', async () => {
    const accepted = state('w1');
    const size = await b.app.get(LedgerService).size();
    await grow(b, accepted.size - size);
    const forked = await publish(b);
    expect(forked.treeSize).toBe(accepted.size);
    expect(Buffer.from(forked.rootHash, 'hex').toString('base64')).not.toBe(accepted.rootHash);
    const r = await witness('w1', b);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/!!! dems witness: REFUSED\. FORK: the log has signed two different checkpoints of the same size/);
    expect(r.stderr).toContain(`accepted before: size ${accepted.size}, root ${accepted.rootHash}`);
    expect(r.stderr).toContain('Nothing was cosigned');
    expect(state('w1')).toEqual(accepted);
    expect((await latest(b)).cosignatures).toEqual([]);
    const file = readdirSync(join(dirs.w1, 'evidence')).find((f) => f.includes('-fork-'))!;
    const kept = readFileSync(join(dirs.w1, 'evidence', file), 'utf8');
    expect(kept).toContain(accepted.rootHash);
    expect(kept).toContain(Buffer.from(forked.rootHash, 'hex').toString('base64'));

    // Further along the other history: its proof does not lead from what the witness accepted.
    await grow(b, 2);
    const ahead = await publish(b);
    const w2 = await witness('w2', b);
    expect(w2.code).toBe(2);
    expect(w2.stderr).toContain('REFUSED. INCONSISTENT');
    expect(roundOf(w2)).toMatchObject({ outcome: 'refused', kind: 'INCONSISTENT', served: { size: ahead.treeSize } });
    expect((await latest(b)).cosignatures).toEqual([]);

    // The refusals changed nothing for the real log: it grows and is cosigned as before.
    await grow(a, 2);
    const next = await publish(a);
    expect(roundOf(await witness('w1', a))).toMatchObject({ outcome: 'cosigned', size: next.treeSize, previousSize: accepted.size });
  });

  it('exports a case log that a verifier requiring two witnesses accepts, and one without them that it refuses', async () => {
    const env = { DEMS_API_URL: a.base, DEMS_TOKEN: oic.token, DEMS_CONFIG_DIR: work };
    const reason = ['--reason-code', 'court_preparation', '--reason', 'defence asked for the witnessed log'];
    const plain = join(work, 'plain.jsonl');
    // New events and the schedule's checkpoint over them, which no witness has seen yet.
    await grow(a, 1);
    await publish(a);
    expect((await cli(['cases', 'export-log', caseId, '--out', plain, ...reason], env)).code).toBe(0);
    const check = async (file: string, extra: string[]) => {
      const r = await cli(['verify', 'case-log', file, '--key', logKey, ...extra, '--json']);
      return { code: r.code, result: JSON.parse(r.stdout) };
    };
    const requireTwo = ['--witness-key', vkeys.w1, '--witness-key', vkeys.w2, '--require-witnesses', '2'];
    expect(await check(plain, [])).toMatchObject({ code: 0, result: { ok: true } });
    expect(await check(plain, requireTwo)).toMatchObject({ code: 1, result: { ok: false, line: 1, reason: expect.stringContaining('cosigned by 0 of the 2 witnesses required') } });

    // Both witnesses run on their own schedule while the export waits for them.
    for (const w of ['w1', 'w2'] as const) {
      const p = spawn('node', [CLI, 'witness', 'run', '--interval', '1', '--log-url', a.base, '--log-key', logKey, '--state', dirs[w]], { ...cliOptions({}), stdio: 'ignore' });
      loops.push(p);
    }
    const witnessed = join(work, 'witnessed.jsonl');
    const exported = await cli(['cases', 'export-log', caseId, '--out', witnessed, '--witnesses', '2', '--wait', '60', ...reason], env);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/added the witnessed checkpoint at size \d+/);
    for (const p of loops) {
      // Both loops were still running (a loop only ends on a refusal or a signal), and stop cleanly.
      expect(p.exitCode).toBeNull();
      const exit = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM');
      expect(await exit).toBe(0);
    }
    expect(existsSync(join(dirs.w1, 'lock'))).toBe(false);
    const ok = await check(witnessed, requireTwo);
    // The two loops run on their own: either may have cosigned first.
    expect(ok).toMatchObject({ code: 0, result: { ok: true, witnessed: { witnesses: expect.arrayContaining([expect.stringMatching(/^w1\./), expect.stringMatching(/^w2\./)]) } } });
    expect(ok.result.witnessed.witnesses).toHaveLength(2);
    expect(await check(witnessed, ['--witness-key', vkeys.w2, '--require-witnesses', '1'])).toMatchObject({ code: 0, result: { ok: true } });
    const tooMany = await cli(['verify', 'case-log', witnessed, '--key', logKey, '--witness-key', vkeys.w1, '--require-witnesses', '2']);
    expect([tooMany.code, tooMany.stderr]).toEqual([1, expect.stringContaining('needs at least 2 witness keys')]);
  });
});
