import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SpeedMeter,
  allSealed,
  errorFromTus,
  fitName,
  formatBytes,
  formatCount,
  isRunFatal,
  newResult,
  noteFor,
  parseIngestSettings,
  planFiles,
  resumeKey,
  uploadIdOf,
  type IngestResult,
} from './ingest-plan.js';

const MiB = 1024 * 1024;

describe('dems ingest settings', () => {
  it('has defaults: 3 files at once, wait up to an hour, 64 MiB requests', () => {
    expect(parseIngestSettings({})).toEqual({ parallel: 3, wait: true, waitSeconds: 3600, chunkBytes: 64 * MiB });
    expect(parseIngestSettings({ parallel: '8', wait: false, waitSeconds: '0', chunkMb: '5' })).toEqual({ parallel: 8, wait: false, waitSeconds: 0, chunkBytes: 5 * MiB });
  });

  it.each([
    [{ parallel: '0' }, /--parallel must be a whole number from 1 to 8/],
    [{ parallel: '9' }, /--parallel/],
    [{ parallel: '2.5' }, /--parallel/],
    [{ parallel: 'two' }, /--parallel/],
    [{ waitSeconds: '-1' }, /--wait-seconds/],
    [{ chunkMb: '0' }, /--chunk-mb/],
  ])('refuses %j with INGEST_INVALID_OPTION', (raw, message) => {
    expect(() => parseIngestSettings(raw)).toThrow(expect.objectContaining({ code: 'INGEST_INVALID_OPTION', message: expect.stringMatching(message) }));
  });
});

describe('planFiles', () => {
  let root: string;
  const warnings: string[] = [];
  const warn = (line: string) => warnings.push(line);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'dems-plan-'));
    for (const f of ['export/cam2/0001.dav', 'export/cam1/0002.dav', 'export/cam1/0001.dav', 'export/b.txt', 'export/b/a.dav', 'single.E01']) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), f);
    }
    await mkdir(join(root, 'export', 'empty-dir'));
    await symlink(join(root, 'single.E01'), join(root, 'export', 'cam1', 'link.E01'));
    await symlink(join(root, 'export', 'cam1'), join(root, 'export', 'loop'));
    await symlink(join(root, 'single.E01'), join(root, 'alias.E01'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('expands a directory into its regular files, named from its parent with forward slashes, in code-unit order', async () => {
    warnings.length = 0;
    const plan = await planFiles([join(root, 'export')], warn);
    expect(plan.map((f) => f.filename)).toEqual([
      'export/b.txt',
      'export/b/a.dav',
      'export/cam1/0001.dav',
      'export/cam1/0002.dav',
      'export/cam2/0001.dav',
    ]);
    expect(plan[0]).toEqual({ path: join(root, 'export', 'b.txt'), filename: 'export/b.txt', size: 'export/b.txt'.length });
    expect(warnings.sort()).toEqual([`skipping symbolic link ${join(root, 'export', 'cam1', 'link.E01')}`, `skipping symbolic link ${join(root, 'export', 'loop')}`]);
  });

  it('names a file argument by its base name, follows a symlink named on the command line, and lists a file once', async () => {
    warnings.length = 0;
    const plan = await planFiles([join(root, 'single.E01'), join(root, 'export', 'cam2'), join(root, 'alias.E01')], warn);
    expect(plan.map((f) => f.filename)).toEqual(['single.E01', 'cam2/0001.dav']);
    expect(warnings).toEqual([`${join(root, 'alias.E01')} is listed more than once; uploading it once`]);
  });

  it('refuses missing paths, no arguments and folders without files, naming what is wrong', async () => {
    await expect(planFiles([], warn)).rejects.toMatchObject({ code: 'INGEST_NO_FILES' });
    await expect(planFiles([join(root, 'nope'), join(root, 'single.E01'), join(root, 'single.E01', 'x')], warn)).rejects.toMatchObject({
      code: 'INGEST_PATH_NOT_FOUND',
      message: expect.stringContaining(`${join(root, 'nope')}, ${join(root, 'single.E01', 'x')}`),
    });
    await expect(planFiles([join(root, 'export', 'empty-dir')], warn)).rejects.toMatchObject({ code: 'INGEST_NO_FILES' });
  });
});

describe('resume keys and upload ids', () => {
  it('keys an upload by server, case, exhibit, content and name', () => {
    const k = { apiUrl: 'https://dems.example', caseId: 'c1', exhibitRef: 'JS/1', sha256: 'ab'.repeat(32), size: 10, filename: 'a/b.dav' };
    expect(resumeKey(k)).toBe(`https://dems.example|c1|JS/1|${'ab'.repeat(32)}|10|a/b.dav`);
    expect(resumeKey({ ...k, filename: 'c.dav' })).not.toBe(resumeKey(k));
  });

  it('takes the id from the end of the upload URL', () => {
    expect(uploadIdOf('http://127.0.0.1:3000/api/v1/uploads/4b1c0f5e-0000-4000-8000-000000000001')).toBe('4b1c0f5e-0000-4000-8000-000000000001');
    expect(uploadIdOf('https://x/api/v1/uploads/abc/')).toBe('abc');
  });
});

describe('errors from tus-js-client', () => {
  const response = (status: number, body: string) => ({ getStatus: () => status, getBody: () => body });

  it('reads the API error body', () => {
    const e = errorFromTus({ message: 'tus: unexpected response', originalResponse: response(403, '{"code":"CASE_PERMISSION_DENIED","message":"Your role does not allow it"}') });
    expect(e).toEqual({ code: 'CASE_PERMISSION_DENIED', message: 'Your role does not allow it', status: 403 });
    expect(isRunFatal(e)).toBe(true);
  });

  it('describes answers without a code and failures without an answer', () => {
    expect(errorFromTus({ message: 'tus: x', originalResponse: response(502, 'Bad Gateway') })).toEqual({ code: 'HTTP_502', message: 'Bad Gateway', status: 502 });
    const lost = errorFromTus({ message: 'tus: failed', originalResponse: null, causingError: new Error('socket hang up') });
    expect(lost).toMatchObject({ code: 'UPLOAD_INTERRUPTED', status: 0, message: expect.stringContaining('socket hang up') });
    expect(isRunFatal(lost)).toBe(false);
  });

  it('treats refused tokens, cases and exhibits as the end of the run, and per-file problems not', () => {
    expect(isRunFatal({ code: 'TOKEN_INVALID', message: '', status: 401 })).toBe(true);
    expect(isRunFatal({ code: 'EXHIBIT_NOT_FOUND', message: '', status: 404 })).toBe(true);
    expect(isRunFatal({ code: 'FILE_TOO_LARGE', message: '', status: 413 })).toBe(false);
    expect(isRunFatal({ code: 'INVALID_UPLOAD_METADATA', message: '', status: 400 })).toBe(false);
  });
});

describe('results', () => {
  const base = (over: Partial<IngestResult>): IngestResult => ({ ...newResult({ path: 'x.dav', filename: 'x.dav', size: 3 }), ...over });

  it('notes why a file is not sealed, or that it duplicates an earlier one', () => {
    expect(noteFor(base({ state: 'sealed' }), true)).toBe('');
    expect(noteFor(base({ state: 'sealed', duplicateOf: { id: 'i', exhibitReference: 'JS/1', filename: 'cam/1.dav' } }), true)).toBe('duplicate of JS/1 cam/1.dav');
    expect(noteFor(base({ state: 'quarantined', quarantine: { code: 'DECLARED_HASH_MISMATCH', reason: 'declared sha256 a but b' } }), true)).toBe('DECLARED_HASH_MISMATCH: declared sha256 a but b');
    expect(noteFor(base({ error: { code: 'TOO_MANY_UPLOADS', message: 'finish one first' } }), true)).toBe('TOO_MANY_UPLOADS: finish one first');
    expect(noteFor(base({ state: 'verifying' }), true)).toBe('not sealed yet when the wait ran out');
    expect(noteFor(base({ state: 'verifying' }), false)).toBe('not sealed yet (--no-wait)');
  });

  it('succeeds only when every file is sealed', () => {
    expect(allSealed([base({ state: 'sealed' }), base({ state: 'sealed' })])).toBe(true);
    expect(allSealed([base({ state: 'sealed' }), base({ state: 'quarantined' })])).toBe(false);
    expect(allSealed([base({ state: 'sealed' }), base({})])).toBe(false);
    expect(allSealed([])).toBe(false);
  });
});

describe('display helpers', () => {
  it('formats sizes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(12122)).toBe('11.8 KiB');
    expect(formatBytes(40 * MiB + 4321)).toBe('40.0 MiB');
    expect(formatCount(12122)).toBe('12,122');
    expect(formatCount(214748364800)).toBe('214,748,364,800');
    expect(formatCount(999)).toBe('999');
  });

  it('keeps the end of long names', () => {
    expect(fitName('a.dav', 8)).toBe('a.dav   ');
    expect(fitName('export/cam1/0001.dav', 10)).toBe('…/0001.dav');
  });

  it('measures speed over a sliding window, sampling at most every 100 ms', () => {
    let now = 0;
    const meter = new SpeedMeter(1000, () => now);
    expect(meter.update(0)).toBe(0);
    now = 500;
    expect(meter.update(500)).toBe(1000);
    now = 550;
    expect(meter.update(10_000)).toBe(1000); // too soon: the last figure
    now = 1000;
    expect(meter.update(2000)).toBe(2000);
    now = 3000;
    // Samples older than the window are dropped (two are always kept).
    expect(meter.update(4000)).toBe(1000);
  });
});
