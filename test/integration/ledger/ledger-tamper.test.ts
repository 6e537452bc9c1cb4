import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { checkpointObjectKey, checkpointPrefix, LedgerService, verifyLedger } from '../../../libs/custody/index.js';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSignerKey, openCheckpoint, parseVerifierKey, signCheckpoint, signNote, verifierKeyFromSigner, verifyConsistency, verifyInclusion } from '../../../libs/ledger/index.js';
import { ObjectStore } from '../../../libs/storage/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../../support/api-harness.js';
import { CLI, cliOptions, createScratchDatabase, verifierEnv } from '../../support/test-env.js';

const run = promisify(execFile);

/**
 * The ledger's tamper tests, on a scratch database of their own (they corrupt it on purpose):
 * a superuser edit, deleted events and a fork must each be found and named, also when the
 * checkpoint rows went with them (the checkpoints published in storage show it). The ledger key
 * is the test's own, so its storage folder (ledger/<key id>/) holds only this database's checkpoints.
 */
describe('custody ledger: proofs, checkpoints and tamper detection', () => {
  const h = new ApiHarness();
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let ledger: LedgerService;
  let store: ObjectStore;
  let oic: TestUser;
  let caseId: string;
  let publicKey: string;

  const runCli = async (args: string[], env: Record<string, string | number | boolean | undefined>) => {
    const r = await run('node', [CLI, ...args], cliOptions(env)).catch((e) => e as { code: number; stdout: string; stderr: string });
    return { code: (r as { code?: number }).code ?? 0, stdout: r.stdout, stderr: r.stderr };
  };
  const verifyCli = async () => {
    const r = await runCli(['verify', 'ledger', '--key', publicKey, '--json'], verifierEnv(h.config));
    return { code: r.code, result: JSON.parse(r.stdout) };
  };
  const superuser = async (sql: string, params: unknown[] = []) => {
    const tables = ['custody_events', 'ledger_nodes', 'ledger_checkpoints'];
    for (const t of tables) await h.owner.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
    try {
      await h.owner.query(sql, params);
    } finally {
      for (const t of tables) await h.owner.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
    }
  };
  const deleteTail = (from: number) =>
    superuser(`DELETE FROM ledger_nodes WHERE (level = 0 AND idx >= $1) OR (level > 0 AND (idx + 1) * (1::bigint << level) > $1)`, [from]).then(() =>
      superuser(`DELETE FROM custody_events WHERE leaf_index >= $1`, [from]),
    );
  const publishedKeys = async () => (await store.list(h.config.S3_BUCKET_ORIGINALS, checkpointPrefix(parseVerifierKey(publicKey).keyId))).entries.map((e) => e.key);
  const addEvents = async (n: number) => {
    for (let i = 0; i < n; i++) await h.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token, headers: JUSTIFY });
  };

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    await h.start({ DATABASE_URL: scratch.url, LEDGER_SIGNING_KEY: generateSignerKey('tamper.test.local/ledger') });
    ledger = h.app.get(LedgerService);
    store = h.app.get(ObjectStore);
    publicKey = (await h.call('GET', '/api/v1/ledger/public-key')).body.verifierKey as string;
    oic = await h.user('oic', 'investigator');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Ledger case' } });
    caseId = c.body.id as string;
    await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'AB/1', sourceType: 'audio', description: '999 call', producer: 'A B' } });
    await addEvents(5);
  });
  afterAll(async () => {
    await h.stop();
    await scratch?.drop();
  });

  it('signs checkpoints that verify with the published key, and serves proofs that check against them', async () => {
    const first = (await ledger.publishCheckpoint())!;
    await addEvents(4);
    const second = (await ledger.publishCheckpoint())!;
    expect(second.treeSize).toBe(first.treeSize + 4);

    const key = (await h.call('GET', '/api/v1/ledger/public-key')).body.verifierKey as string;
    const latest = (await h.call('GET', '/api/v1/ledger/checkpoint')).body as { note: string; treeSize: number };
    const opened = openCheckpoint(latest.note, key);
    expect(opened.size).toBe(second.treeSize);

    for (const leaf of [0, 3, second.treeSize - 1]) {
      const p = (await h.call('GET', `/api/v1/ledger/proofs/inclusion?leafIndex=${leaf}&treeSize=${second.treeSize}`)).body as { leafHash: string; proof: string[] };
      const proof = p.proof.map((x) => Buffer.from(x, 'hex'));
      expect(verifyInclusion(leaf, second.treeSize, Buffer.from(p.leafHash, 'hex'), proof, opened.rootHash)).toBe(true);
      if (proof.length) {
        const wrong = proof.map((x, i) => (i === 0 ? Buffer.from(x.map((b) => b ^ 1)) : x));
        expect(verifyInclusion(leaf, second.treeSize, Buffer.from(p.leafHash, 'hex'), wrong, opened.rootHash)).toBe(false);
      }
    }
    const beyond = await h.call('GET', `/api/v1/ledger/proofs/inclusion?leafIndex=${second.treeSize}&treeSize=${second.treeSize}`);
    expect([beyond.status, beyond.body.code]).toEqual([400, 'INVALID_PROOF_REQUEST']);

    const c = (await h.call('GET', `/api/v1/ledger/proofs/consistency?from=${first.treeSize}&to=${second.treeSize}`)).body as { proof: string[] };
    const firstRoot = openCheckpoint((await h.call('GET', `/api/v1/ledger/checkpoints/${first.treeSize}`)).body.note as string, key).rootHash;
    expect(verifyConsistency(first.treeSize, second.treeSize, c.proof.map((x) => Buffer.from(x, 'hex')), firstRoot, opened.rootHash)).toBe(true);

    const stored = await h.ds.query(`SELECT object_key FROM ledger_checkpoints WHERE tree_size = $1`, [second.treeSize]);
    expect(stored[0].object_key).toMatch(new RegExp(`^ledger/[0-9a-f]{8}/checkpoints/${String(second.treeSize).padStart(20, '0')}-${second.rootHash}\\.note$`));

    const { code, result } = await verifyCli();
    expect(code).toBe(0);
    expect(result).toMatchObject({ ok: true, events: second.treeSize, checkpointsChecked: 2, publishedChecked: 2 });
  });

  it('exports a case log that anyone can check offline with the public key, and that shows any edit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'caselog-'));
    const file = join(dir, 'case.jsonl');
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: oic.token, DEMS_CONFIG_DIR: dir };
    // The schedule's checkpoint (the export signs none): it covers every event of the case so far.
    await ledger.publishCheckpoint();
    const exported = await run('node', [CLI, 'cases', 'export-log', caseId, '--out', file, '--reason-code', 'court_preparation', '--reason', 'defence asked for the log'], cliOptions(env));
    expect(exported.stdout).toMatch(/^wrote \d+ events/);
    const key = (await h.call('GET', '/api/v1/ledger/public-key')).body.verifierKey as string;
    const check = (f: string, k = key) => run('node', [CLI, 'verify', 'case-log', f, '--key', k, '--json'], cliOptions({})).then(
      (r) => ({ code: 0, result: JSON.parse(r.stdout) }),
      (e: { code: number; stdout: string }) => ({ code: e.code, result: JSON.parse(e.stdout) }),
    );
    const good = await check(file);
    expect(good.code).toBe(0);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(good.result).toMatchObject({ ok: true, events: lines.length - 1 });

    const edited = lines.map((l, i) => (i === 2 ? l.replace('"outcome":"success"', '"outcome":"denied"') : l));
    await writeFile(join(dir, 'edited.jsonl'), edited.join('\n'));
    expect((await check(join(dir, 'edited.jsonl'))).result).toMatchObject({ ok: false, line: 3, reason: expect.stringContaining('changed') });

    await writeFile(join(dir, 'gap.jsonl'), lines.filter((_, i) => i !== 2).join('\n'));
    expect((await check(join(dir, 'gap.jsonl'))).result).toMatchObject({ ok: false, line: 3, reason: expect.stringContaining('broken chain') });

    const otherKey = verifierKeyFromSigner(generateSignerKey('someone.else/ledger'));
    expect((await check(file, otherKey)).result).toMatchObject({ ok: false, line: 1 });

    // What is left after deleting the last lines is a valid prefix of the chain: only the signed summary shows it is not all.
    const events = lines.length - 1;
    const head = JSON.parse(lines[lines.length - 1]).hash as string;
    expect(good.result.summary).toMatchObject({ caseId, events, head });
    for (const cut of [1, 3]) {
      await writeFile(join(dir, 'short.jsonl'), lines.slice(0, -cut).join('\n') + '\n');
      const short = await check(join(dir, 'short.jsonl'));
      expect(short.code).toBe(1);
      expect(short.result).toMatchObject({
        ok: false,
        line: lines.length - cut + 1,
        reason: `the log is truncated: the signed summary covers ${events} events ending in ${head}, the file has ${events - cut}; its last event is ${JSON.parse(lines[lines.length - 1 - cut]).hash}`,
      });
    }
    const plain = await run('node', [CLI, 'verify', 'case-log', join(dir, 'short.jsonl'), '--key', key], cliOptions({})).catch((e: { code: number; stdout: string }) => e);
    expect(plain).toMatchObject({ code: 1, stdout: expect.stringMatching(/^case log BROKEN at line \d+: the log is truncated/) });

    // Editing the header's count or head to match a shorter file breaks the summary's signature.
    const header = JSON.parse(lines[0]) as { summary: string };
    const relabel = (edit: (summary: string) => string) => [JSON.stringify({ ...header, summary: edit(header.summary) }), ...lines.slice(1, -1)].join('\n');
    await writeFile(join(dir, 'recount.jsonl'), relabel((t) => t.replace(`\nevents ${events}\n`, `\nevents ${events - 1}\n`)));
    expect((await check(join(dir, 'recount.jsonl'))).result).toMatchObject({ ok: false, line: 1, reason: expect.stringMatching(/signed summary does not verify.*header was edited/) });
    const before = JSON.parse(lines[lines.length - 2]).hash as string;
    await writeFile(join(dir, 'rehead.jsonl'), relabel((t) => t.replace(`\nevents ${events}\nhead ${head}\n`, `\nevents ${events - 1}\nhead ${before}\n`)));
    expect((await check(join(dir, 'rehead.jsonl'))).result).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining('signed summary does not verify') });

    // Without the header nothing says how many events there should be: refused, never checked as a shorter log.
    await writeFile(join(dir, 'headless.jsonl'), lines.slice(1).join('\n'));
    expect((await check(join(dir, 'headless.jsonl'))).result).toMatchObject({ ok: false, line: 1, reason: expect.stringContaining('the header is missing') });
    // Nor may lines be added past the signed extent.
    await writeFile(join(dir, 'longer.jsonl'), [...lines, lines[lines.length - 1]].join('\n'));
    expect((await check(join(dir, 'longer.jsonl'))).result).toMatchObject({ ok: false, line: lines.length + 1, reason: expect.stringContaining('lines were added') });
    const exportEvent = await h.ds.query(`SELECT justification_code FROM custody_events WHERE type = 'case.log_exported' AND case_id = $1`, [caseId]);
    expect(exportEvent[0].justification_code).toBe('court_preparation');
  });

  it('verifies the ledger with the public key only: no signing key, nor any other secret of the service', async () => {
    const env = verifierEnv(h.config);
    expect(Object.keys(env).some((k) => k.startsWith('LEDGER_') || k.startsWith('AUTH_') || k === 'REDIS_URL')).toBe(false);
    const expected = { ok: true, events: await ledger.size(), publishedChecked: expect.any(Number) };

    const fromEnv = await runCli(['verify', 'ledger', '--json'], { ...env, DEMS_LEDGER_PUBLIC_KEY: publicKey });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toMatchObject(expected);
    expect(JSON.parse(fromEnv.stdout).publishedChecked).toBeGreaterThan(0);

    // The API's answer saved as it comes is a key file too.
    const dir = await mkdtemp(join(tmpdir(), 'vkey-'));
    await writeFile(join(dir, 'public-key.json'), (await h.call('GET', '/api/v1/ledger/public-key')).text);
    const fromFile = await runCli(['verify', 'ledger', '--key-file', join(dir, 'public-key.json')], env);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toMatch(/^ledger OK: \d+ events, \d+ signed checkpoint\(s\) in the database and [1-9]\d* published in storage match/);

    // Without a public key it refuses, even when the signing key is at hand: it never uses that.
    const none = await runCli(['verify', 'ledger'], { ...env, LEDGER_SIGNING_KEY: h.config.LEDGER_SIGNING_KEY });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('VERIFIER_KEY_REQUIRED');
    const otherKey = verifierKeyFromSigner(generateSignerKey('tamper.test.local/ledger'));
    const wrong = await runCli(['verify', 'ledger', '--key', otherKey, '--json'], env);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout).problem).toMatchObject({ reason: expect.stringContaining('does not verify with the ledger key') });
  });

  it('checks the objects published in storage: a missing copy, a foreign object, a checkpoint whose row was deleted', async () => {
    await addEvents(2);
    const cp = (await ledger.publishCheckpoint())!;
    const bucket = h.config.S3_BUCKET_ORIGINALS;
    const key = cp.objectKey!;
    expect(await publishedKeys()).toContain(key);

    await store.delete(bucket, key);
    const missing = await verifyCli();
    expect(missing.code).toBe(1);
    expect(missing.result.problem).toMatchObject({ checkpointSize: cp.treeSize, objectKey: key, reason: expect.stringContaining('missing from storage') });
    // Still a valid note of the ledger key (a witness's cosignature added), but not the bytes the database holds.
    const text = cp.note.slice(0, cp.note.lastIndexOf('\n\n') + 1);
    const cosigned = cp.note + signNote(text, generateSignerKey('witness.test.local')).slice(text.length + 1);
    await store.put(bucket, key, Buffer.from(cosigned));
    expect((await verifyCli()).result.problem).toMatchObject({ checkpointSize: cp.treeSize, objectKey: key, reason: expect.stringContaining('differs from the database') });
    await store.put(bucket, key, Buffer.from(cp.note));
    expect((await verifyCli()).code).toBe(0);

    // A checkpoint signed by some other key, put where the ledger's are.
    const root = Buffer.from(cp.rootHash, 'hex');
    const foreignKey = checkpointObjectKey(parseVerifierKey(publicKey).keyId, cp.treeSize + 1000, root);
    await store.put(bucket, foreignKey, Buffer.from(signCheckpoint({ origin: 'tamper.test.local/ledger', size: cp.treeSize + 1000, rootHash: root }, generateSignerKey('tamper.test.local/ledger'))));
    const foreign = await verifyCli();
    expect(foreign.code).toBe(1);
    expect(foreign.result.problem).toMatchObject({ objectKey: foreignKey, reason: expect.stringContaining('does not verify with the ledger key') });
    await store.delete(bucket, foreignKey);
    // Nor may anything else sit among them.
    const stray = `${checkpointPrefix(parseVerifierKey(publicKey).keyId)}notes.txt`;
    await store.put(bucket, stray, Buffer.from('not a checkpoint'));
    expect((await verifyCli()).result.problem).toMatchObject({ objectKey: stray, reason: expect.stringContaining('not named as a checkpoint') });
    await store.delete(bucket, stray);
    expect((await verifyCli()).code).toBe(0);

    // The row of a checkpoint inside the ledger deleted: the events still match, but storage says a row is gone.
    const [row] = await h.ds.query(`SELECT * FROM ledger_checkpoints WHERE tree_size = $1`, [cp.treeSize]);
    await superuser(`DELETE FROM ledger_checkpoints WHERE tree_size = $1`, [cp.treeSize]);
    const rowless = await verifyCli();
    expect(rowless.code).toBe(1);
    expect(rowless.result.problem).toMatchObject({ checkpointSize: cp.treeSize, objectKey: key, reason: expect.stringContaining('has no row in ledger_checkpoints') });
    await h.ds.query(`INSERT INTO ledger_checkpoints (tree_size, root_hash, note, object_key, created_at) VALUES ($1, $2, $3, $4, $5)`, [
      row.tree_size,
      row.root_hash,
      row.note,
      row.object_key,
      row.created_at,
    ]);
    expect((await verifyCli()).code).toBe(0);
  });

  it('names the event a superuser edited, and is whole again once it is put back', async () => {
    const [row] = await h.ds.query(`SELECT leaf_index, justification_text FROM custody_events WHERE type = 'case.consulted' ORDER BY leaf_index LIMIT 1`);
    await superuser(`UPDATE custody_events SET justification_text = 'nothing to see here' WHERE leaf_index = $1`, [row.leaf_index]);
    const broken = await verifyCli();
    expect(broken.code).toBe(1);
    // The hashed bytes are intact, so the edit shows as columns that no longer say what was recorded.
    expect(broken.result.problem).toMatchObject({ leafIndex: Number(row.leaf_index), reason: expect.stringContaining('stored columns (justification) differ') });

    await superuser(`UPDATE custody_events SET justification_text = $2 WHERE leaf_index = $1`, [row.leaf_index, row.justification_text]);
    expect((await verifyCli()).code).toBe(0);
  });

  it('names the event whose hashed bytes a superuser edited', async () => {
    const [row] = await h.ds.query(`SELECT leaf_index, canonical FROM custody_events WHERE type = 'case.consulted' ORDER BY leaf_index LIMIT 1`);
    const edited = Buffer.from((row.canonical as Buffer).toString('utf8').replace(/"outcome":"success"/, '"outcome":"denied"'));
    expect(edited.equals(row.canonical)).toBe(false);
    await superuser(`UPDATE custody_events SET canonical = $2, outcome = 'denied' WHERE leaf_index = $1`, [row.leaf_index, edited]);
    const broken = await verifyCli();
    expect(broken.code).toBe(1);
    expect(broken.result.problem).toMatchObject({ leafIndex: Number(row.leaf_index), reason: expect.stringContaining('hash does not match') });

    await superuser(`UPDATE custody_events SET canonical = $2, outcome = 'success' WHERE leaf_index = $1`, [row.leaf_index, row.canonical]);
    expect((await verifyCli()).code).toBe(0);
  });

  it('detects deleted last events against an earlier checkpoint, and then a fork of the same size', async () => {
    const cp = (await ledger.publishCheckpoint())!;
    const size = cp.treeSize;
    await superuser(`DELETE FROM ledger_nodes WHERE (level = 0 AND idx >= $1) OR (level > 0 AND (idx + 1) * (1::bigint << level) > $1)`, [size - 2]);
    await superuser(`DELETE FROM custody_events WHERE leaf_index >= $1`, [size - 2]);
    const truncated = await verifyCli();
    expect(truncated.code).toBe(1);
    // The first signed checkpoint beyond what is left names the deletion.
    expect(truncated.result.problem).toMatchObject({ reason: expect.stringContaining('events were deleted') });
    expect(truncated.result.problem.checkpointSize).toBeGreaterThan(size - 2);

    // Rewrite history: new, different events take the deleted places, back to the same size.
    await addEvents(2);
    expect(await ledger.size()).toBe(size);
    const forked = await verifyCli();
    expect(forked.code).toBe(1);
    expect(forked.result.problem).toMatchObject({ reason: expect.stringContaining('history was changed or forked') });
    expect(forked.result.problem.checkpointSize).toBeGreaterThan(size - 2);
  });

  it('names the checkpoint in storage when a superuser deletes the last events, their nodes and the later checkpoint rows', async () => {
    // Back to before the fork, with every trace of the tail gone from the database: what is left is consistent in itself.
    const [kept] = await h.ds.query(`SELECT max(tree_size)::int AS size FROM ledger_checkpoints WHERE tree_size < $1`, [(await ledger.size()) - 2]);
    const cut = Number(kept.size);
    await deleteTail(cut);
    await superuser(`DELETE FROM ledger_checkpoints WHERE tree_size > $1`, [cut]);
    expect(await ledger.size()).toBe(cut);
    const fromDatabase = await verifyLedger(h.ds, publicKey);
    expect(fromDatabase).toMatchObject({ ok: true, events: cut });

    const beyond = (await publishedKeys()).filter((k) => Number(k.slice(k.lastIndexOf('/') + 1, k.lastIndexOf('/') + 21)) > cut).sort();
    expect(beyond.length).toBeGreaterThan(0);
    const first = Number(beyond[0].slice(beyond[0].lastIndexOf('/') + 1, beyond[0].lastIndexOf('/') + 21));
    const truncated = await verifyCli();
    expect(truncated.code).toBe(1);
    expect(truncated.result.problem).toEqual({
      checkpointSize: first,
      objectKey: beyond[0],
      reason: `the checkpoint published in storage at size ${first} (${beyond[0]}) covers ${first} events but the database holds only ${cut}: events were deleted`,
    });
    const plain = await runCli(['verify', 'ledger', '--key', publicKey], verifierEnv(h.config));
    expect(plain).toMatchObject({ code: 1, stdout: expect.stringContaining(`ledger BROKEN at checkpoint at size ${first}: the checkpoint published in storage at size ${first} (${beyond[0]})`) });

    // New events in the deleted places: a different history up to that size, which only storage still contradicts.
    await addEvents(first - cut);
    expect((await verifyLedger(h.ds, publicKey)).ok).toBe(true);
    const forked = await verifyCli();
    expect(forked.code).toBe(1);
    expect(forked.result.problem).toMatchObject({ checkpointSize: first, objectKey: beyond[0], reason: expect.stringContaining('history was changed or forked') });
  });
});
