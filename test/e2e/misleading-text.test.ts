import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, type ExecFileException } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recordCustodyEvent } from '../../libs/custody/index.js';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';
import { CLI, cliOptions } from '../support/test-env.js';

const run = promisify(execFile);
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const TRICKS = { escape: 'Op \u001b[2J\u001b[31mKestrel', bell: 'ring\u0007ring', override: 'invoice\u202efdp.exe', csi: 'a\u009b31mb', isolate: 'a\u2067b\u2069' };

describe('text that misleads people: refused on input, escaped on output', () => {
  const h = new ApiHarness();
  let oic: TestUser;
  let caseId: string;
  let exhibitId: string;

  beforeAll(async () => {
    await h.start();
    oic = await h.user('oic', 'investigator');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Plain title' } });
    caseId = c.body.id as string;
    const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/1', sourceType: 'document', description: 'Note', producer: 'J Smith' } });
    exhibitId = x.body.id as string;
  });
  afterAll(() => h.stop());

  it.each(Object.entries(TRICKS))('refuses %s in titles, descriptions, names and file names', async (_name, trick) => {
    const attempts = [
      await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: trick } }),
      await h.call('PATCH', `/api/v1/cases/${caseId}`, { token: oic.token, body: { operationName: trick } }),
      await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'JS/2', sourceType: 'document', description: `line one\n${trick}`, producer: 'J Smith' } }),
      await h.call('PATCH', `/api/v1/cases/${caseId}/exhibits/${exhibitId}`, { token: oic.token, body: { producer: trick } }),
      await h.call('POST', '/api/v1/me/tokens', { token: oic.token, body: { name: trick } }),
    ];
    for (const res of attempts) {
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(String(res.body.message)).toMatch(/must not contain (control|bidirectional formatting) characters/);
    }
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const upload = await h.call('POST', '/api/v1/uploads', {
      token: oic.token,
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '4', 'upload-metadata': `caseId ${b64(caseId)},exhibitId ${b64(exhibitId)},filename ${b64(trick)}` },
    });
    expect([upload.status, upload.body.code]).toEqual([400, 'INVALID_UPLOAD_METADATA']);
  });

  it('keeps right-to-left scripts and line breaks where text may span lines', async () => {
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'سرقة في الشارع الرئيسي', offenceSummary: 'first line\r\nsecond line' } });
    expect(c.status).toBe(201);
    expect(c.body.offenceSummary).toBe('first line\nsecond line');
  });

  it('prints text stored before the rule escaped, in every CLI output', async () => {
    // A title as it could have been stored before the rule (written here as a change with its custody event).
    const legacy = `${TRICKS.escape} ${TRICKS.bell} ${TRICKS.override} ${TRICKS.csi}`;
    await h.ds.transaction(async (tx) => {
      await tx.query(`UPDATE cases SET title = $2, version = version + 1 WHERE id = $1`, [caseId, legacy]);
      await recordCustodyEvent(tx, { type: 'case.updated', operation: 'alteration', caseId, object: { type: 'case', id: caseId }, details: { test: 'legacy title' } });
    });
    const dir = await mkdtemp(join(tmpdir(), 'dems-text-'));
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: oic.token, DEMS_CONFIG_DIR: dir };
    const outputs: string[] = [];
    for (const args of [['cases', 'show', caseId], ['cases', 'list'], ['cases', 'show', caseId, '--json'], ['cases', 'list', '--json']]) {
      const { stdout } = await run('node', [CLI, ...args], cliOptions(env));
      outputs.push(stdout);
      expect({ args, raw: RAW.exec(stdout)?.[0] }).toEqual({ args, raw: undefined });
    }
    expect(outputs[0]).toContain('Op \\u{1b}[2J\\u{1b}[31mKestrel');
    expect(outputs[0]).toContain('invoice\\u{202e}fdp.exe');
    expect(JSON.parse(outputs[2]).title).toBe(legacy);
    // An error message quoting what was sent (the service names the URN it refused) is escaped too.
    const failed = (await run('node', [CLI, 'cases', 'show', `01/AB\u202e\u001b[31m/1`], cliOptions(env)).catch((e: ExecFileException & { stderr: string }) => e)) as { stderr: string };
    expect(failed.stderr).toMatch(/^dems: INVALID_URN: .*\\u\{202e\}/);
    expect(RAW.test(failed.stderr.replace(/\n$/, ''))).toBe(false);
  });
});
