import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LedgerService } from '../../../libs/custody/index.js';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSignerKey, openCheckpoint, verifierKeyFromSigner, verifyConsistency, verifyInclusion } from '../../../libs/ledger/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../../support/api-harness.js';
import { CLI, cliOptions, createScratchDatabase } from '../../support/test-env.js';

const run = promisify(execFile);

/**
 * The ledger's tamper tests, on a scratch database of their own (they corrupt it on purpose):
 * a superuser edit, deleted events and a fork must each be found and named.
 */
describe('custody ledger: proofs, checkpoints and tamper detection', () => {
  const h = new ApiHarness();
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let ledger: LedgerService;
  let oic: TestUser;
  let caseId: string;

  const verifyCli = async () => {
    const r = await run('node', [CLI, 'verify', 'ledger', '--json'], cliOptions({ ...h.config })).catch((e) => e as { code: number; stdout: string });
    return { code: (r as { code?: number }).code ?? 0, result: JSON.parse((r as { stdout: string }).stdout) };
  };
  const superuser = async (sql: string, params: unknown[] = []) => {
    await h.ds.query(`ALTER TABLE custody_events DISABLE TRIGGER USER`);
    await h.ds.query(`ALTER TABLE ledger_nodes DISABLE TRIGGER USER`);
    try {
      await h.ds.query(sql, params);
    } finally {
      await h.ds.query(`ALTER TABLE custody_events ENABLE TRIGGER USER`);
      await h.ds.query(`ALTER TABLE ledger_nodes ENABLE TRIGGER USER`);
    }
  };
  const addEvents = async (n: number) => {
    for (let i = 0; i < n; i++) await h.call('GET', `/api/v1/cases/${caseId}`, { token: oic.token, headers: JUSTIFY });
  };

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    await h.start({ DATABASE_URL: scratch.url });
    ledger = h.app.get(LedgerService);
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
    expect(result).toMatchObject({ ok: true, events: second.treeSize, checkpointsChecked: 2 });
  });

  it('exports a case log that anyone can check offline with the public key, and that shows any edit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'caselog-'));
    const file = join(dir, 'case.jsonl');
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: oic.token, DEMS_CONFIG_DIR: dir };
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
});
