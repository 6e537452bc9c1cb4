import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { execFile, spawn, type ExecFileException } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { promisify } from 'node:util';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';
import { fixturePath } from '../support/fixtures.js';
import { CLI, cliOptions } from '../support/test-env.js';
import type { IngestResult } from '../../apps/cli/ingest-plan.js';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha256Of = async (path: string) => sha256(await readFile(path));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** One line of `dems ingest --json`: the CLI's own result type, as JSON. */
type Line = IngestResult;

interface FileView {
  state: string;
  size: number;
  filename: string;
  hashes: { algorithm: string; value: string }[];
  declaredHashes: { algorithm: string; value: string; matched: boolean | null }[];
  progress: { bytesReceived: number };
}

/** Runs the built CLI as a user would (stdin closed, stderr not a terminal: no progress bars). */
async function dems(args: string[], env: Record<string, string | undefined>, cwd?: string): Promise<Run> {
  const pending = execFileAsync('node', [CLI, ...args], { ...cliOptions(env), ...(cwd ? { cwd } : {}), maxBuffer: 16 * MiB });
  pending.child.stdin!.end();
  try {
    const { stdout, stderr } = await pending;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as ExecFileException & { stdout: string; stderr: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * A TCP relay in front of the API that counts the bytes clients send and, while `limit` is
 * reached, stops passing them on: an upload stalls half-way like a connection that died.
 */
class StallingRelay {
  sent = 0;
  limit = Infinity;
  base = '';
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private held: (() => void)[] = [];

  /** Lets stalled connections go on, with no limit from now on. */
  release(): void {
    this.limit = Infinity;
    const held = this.held;
    this.held = [];
    for (const pass of held) pass();
  }

  async open(target: string): Promise<void> {
    const { hostname, port } = new URL(target);
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(port), hostname);
      const meter = new Transform({
        transform: (chunk: Buffer, _enc, done) => {
          // Past the limit the callback waits for release(): back-pressure stops the client.
          const pass = () => {
            this.sent += chunk.length;
            done(null, chunk);
          };
          if (this.sent >= this.limit) this.held.push(pass);
          else pass();
        },
      });
      client.pipe(meter).pipe(upstream);
      upstream.pipe(client);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
          meter.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server!.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('dems ingest: bulk upload from the command line (real API, worker, PostgreSQL, Redis, S3)', () => {
  const h = new ApiHarness();
  let worker: INestApplicationContext;
  let oic: TestUser;
  let reviewer: TestUser;
  let outsider: TestUser;
  let root: string;
  let configDir: string;
  let env: Record<string, string>;
  const urn = freshUrn();
  let caseId: string;

  async function view(id: string, token = oic.token): Promise<FileView> {
    const res = await h.call('GET', `/api/v1/uploads/${id}`, { token });
    expect(res.status).toBe(200);
    return res.body as unknown as FileView;
  }

  const filesInCase = async () => (await h.ds.query(`SELECT count(*)::int AS n FROM evidence_files WHERE case_id = $1`, [caseId]))[0].n as number;
  const readState = async (): Promise<Record<string, string>> => JSON.parse(await readFile(join(configDir, 'uploads.json'), 'utf8').catch(() => '{}'));

  beforeAll(async () => {
    await h.start({ INGEST_PART_SIZE_MB: 5 });
    worker = await startWorker(h.config, { shutdownHooks: false });
    oic = await h.user('ingest-oic', 'investigator');
    reviewer = await h.user('ingest-reviewer', 'supervisor');
    outsider = await h.user('ingest-outsider', 'investigator');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn, title: 'CLI ingest case' } });
    expect(c.status).toBe(201);
    caseId = c.body.id as string;
    await h.call('PUT', `/api/v1/cases/${caseId}/members/${reviewer.id}`, { token: oic.token, body: { caseRole: 'reviewer' } });
    for (const [reference, sourceType] of [['JS/1', 'cctv'], ['JS/2', 'device_extraction'], ['JS/3', 'cctv']]) {
      const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference, sourceType, description: `exhibit ${reference}`, producer: 'J Smith' } });
      expect(x.status).toBe(201);
    }
    root = await mkdtemp(join(tmpdir(), 'dems-ingest-'));
    configDir = join(root, 'config');
    env = { DEMS_API_URL: h.base, DEMS_TOKEN: oic.token, DEMS_CONFIG_DIR: configDir };
  });

  afterAll(async () => {
    await worker?.close();
    await h.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('hashes real forensic images and video locally, declares the SHA-256 and reports them sealed (--json)', async () => {
    const paths = ['forensic-images/ext2.E01', 'forensic-images/image.E01', 'video/BA_MW_D.264'].map((p) => fixturePath(p));
    const r = await dems(['ingest', '--case', urn, '--exhibit', 'JS/2', '--json', ...paths], env);
    expect(r.code).toBe(0);
    const lines = JSON.parse(r.stdout) as Line[];
    expect(lines.map((l) => l.filename)).toEqual(['ext2.E01', 'image.E01', 'BA_MW_D.264']);
    for (const [i, line] of lines.entries()) {
      const bytes = await readFile(paths[i]);
      expect(line).toMatchObject({ file: paths[i], size: bytes.length, sha256: sha256(bytes), state: 'sealed', quarantine: null, duplicateOf: null, error: null });
      expect(line.uploadId).toMatch(UUID);
      expect(line.uploadUrl).toBe(`${h.base}/api/v1/uploads/${line.uploadId}`);
      // The service's own hash agrees with the one computed and declared here.
      const v = await view(line.uploadId!);
      expect(v.hashes.find((x) => x.algorithm === 'sha256')?.value).toBe(sha256(bytes));
      expect(v.declaredHashes).toEqual([{ algorithm: 'sha256', value: sha256(bytes), matched: true }]);
    }
    expect(lines[0].size).toBe(12122);
    // Without a terminal: no bars, a plain line per uploaded file.
    expect(r.stderr).toContain('uploaded ext2.E01 (11.8 KiB)');
    expect(r.stderr).not.toContain('\u001b[');
    // Finished uploads leave nothing to resume.
    expect(await readState()).toEqual({});
  });

  it('uploads a directory recursively, named relative to its parent, sorted, skipping symlinks', async () => {
    const dir = join(root, 'export');
    await mkdir(join(dir, 'cam1'), { recursive: true });
    await mkdir(join(dir, 'cam2'), { recursive: true });
    const files: Record<string, Buffer> = {
      'export/cam2/0001.dav': randomBytes(6 * MiB + 17),
      'export/cam1/0002.dav': randomBytes(MiB),
      'export/cam1/0001.dav': randomBytes(300_000),
      'export/notes.txt': Buffer.from('exported by the DVR at 14:05\n'),
    };
    for (const [name, data] of Object.entries(files)) await writeFile(join(root, name), data);
    await symlink(join(dir, 'cam1', '0001.dav'), join(dir, 'cam1', 'link.dav'));

    const r = await dems(['ingest', '--case', caseId, '--exhibit', 'JS/1', '--parallel', '2', '--json', './export'], env, root);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('skipping symbolic link export/cam1/link.dav');
    const lines = JSON.parse(r.stdout) as Line[];
    expect(lines.map((l) => [l.file, l.filename])).toEqual([
      ['export/cam1/0001.dav', 'export/cam1/0001.dav'],
      ['export/cam1/0002.dav', 'export/cam1/0002.dav'],
      ['export/cam2/0001.dav', 'export/cam2/0001.dav'],
      ['export/notes.txt', 'export/notes.txt'],
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ state: 'sealed', sha256: sha256(files[line.filename]), size: files[line.filename].length, error: null });
      expect((await view(line.uploadId!)).filename).toBe(line.filename);
    }
  });

  it('seals a zero-byte file by declaring it empty, and prints a table', async () => {
    const r = await dems(['ingest', '--case', urn, '--exhibit', 'JS/2', fixturePath('forensic-images/bogus.E01')], env);
    expect(r.code).toBe(0);
    const empty = sha256(Buffer.alloc(0));
    expect(r.stdout).toMatch(new RegExp(`bogus\\.E01 +│ 0 +│ ${empty} │ sealed`));
    expect(r.stdout).toContain('1 of 1 file(s) sealed');
    const [row] = await h.ds.query(`SELECT id, state, size::int AS size, declared_empty FROM evidence_files WHERE case_id = $1 AND original_filename = 'bogus.E01'`, [caseId]);
    expect(row).toMatchObject({ state: 'sealed', size: 0, declared_empty: true });
  });

  it('uploads the same bytes under two paths in one run as two records, one the duplicate of the other', async () => {
    const original = fixturePath('video/sample_h264.ts');
    await mkdir(join(root, 'copy'));
    const copy = join(root, 'copy', 'sample_h264.ts');
    await copyFile(original, copy);
    const r = await dems(['ingest', '--case', urn, '--exhibit', 'JS/1', '--parallel', '1', '--json', original, copy], env);
    expect(r.code).toBe(0);
    const [first, second] = JSON.parse(r.stdout) as Line[];
    expect(first.sha256).toBe(await sha256Of(original));
    expect(second.sha256).toBe(first.sha256);
    expect([first.state, second.state]).toEqual(['sealed', 'sealed']);
    expect(second.uploadId).not.toBe(first.uploadId);
    // Exactly one names the other (the later seal; with --parallel 1 that is normally the second).
    const dups = [first, second].filter((l) => l.duplicateOf);
    expect(dups).toHaveLength(1);
    const other = dups[0] === first ? second : first;
    expect(dups[0].duplicateOf).toMatchObject({ id: other.uploadId, exhibitReference: 'JS/1', filename: 'sample_h264.ts' });

    const table = await dems(['ingest', '--case', urn, '--exhibit', 'JS/3', copy], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/duplicate of JS\/1 sample_h264\.ts/);
  });

  it('stops with a clear error on a case the user cannot add evidence to, and uploads nothing', async () => {
    const before = await filesInCase();
    const paths = ['audio/g711-alaw-8k.wav', 'audio/sample_nb.amr', 'video/stub_mjpeg.avi'].map((p) => fixturePath(p));

    // A reviewer on the case may read it, not add to it.
    const asReviewer = await dems(['ingest', '--case', urn, '--exhibit', 'JS/1', '--parallel', '1', '--json', ...paths], { ...env, DEMS_TOKEN: reviewer.token });
    expect(asReviewer.code).toBe(1);
    expect(asReviewer.stderr).toMatch(/dems: CASE_PERMISSION_DENIED: .*no further files are started/);
    const lines = JSON.parse(asReviewer.stdout) as Line[];
    expect(lines.map((l) => [l.state, l.error?.code])).toEqual([
      [null, 'CASE_PERMISSION_DENIED'],
      [null, 'NOT_ATTEMPTED'],
      [null, 'NOT_ATTEMPTED'],
    ]);

    // Someone outside the case: by URN it is not among their cases; by id the upload is refused alike.
    const byUrn = await dems(['ingest', '--case', urn, '--exhibit', 'JS/1', ...paths], { ...env, DEMS_TOKEN: outsider.token });
    expect(byUrn).toMatchObject({ code: 1, stdout: '' });
    expect(byUrn.stderr).toMatch(/^dems: CASE_NOT_FOUND: /);
    const byId = await dems(['ingest', '--case', caseId, '--exhibit', 'JS/1', paths[0]], { ...env, DEMS_TOKEN: outsider.token });
    expect(byId.code).toBe(1);
    expect(byId.stdout).toMatch(/failed +│ CASE_NOT_FOUND: /);

    const missingExhibit = await dems(['ingest', '--case', urn, '--exhibit', 'ZZ/9', '--json', paths[0]], env);
    expect(missingExhibit.code).toBe(1);
    expect((JSON.parse(missingExhibit.stdout) as Line[])[0].error?.code).toBe('EXHIBIT_NOT_FOUND');
    expect(await filesInCase()).toBe(before);
  });

  it('refuses bad input with stable codes before anything is read or sent', async () => {
    const before = await filesInCase();
    const file = fixturePath('audio/sample_nb.amr');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [[], env, /^dems: INGEST_NO_FILES: /],
      [[join(root, 'no-such-file.dav'), file], env, /^dems: INGEST_PATH_NOT_FOUND: .*no-such-file\.dav/],
      [['--parallel', '0', file], env, /^dems: INGEST_INVALID_OPTION: --parallel must be a whole number from 1 to 8/],
      [['--parallel', '9', file], env, /^dems: INGEST_INVALID_OPTION: /],
      [['--wait-seconds', 'soon', file], env, /^dems: INGEST_INVALID_OPTION: --wait-seconds/],
      [[file], { DEMS_API_URL: h.base, DEMS_CONFIG_DIR: join(root, 'nobody') }, /^dems: NOT_SIGNED_IN: /],
      [[file], { ...env, DEMS_TOKEN: 'dems_pat_not-a-real-token' }, /^dems: TOKEN_INVALID: /],
    ];
    for (const [args, e, expected] of cases) {
      const r = await dems(['ingest', '--case', urn, '--exhibit', 'JS/1', ...args], e);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 1, stdout: '' });
      expect(r.stderr).toMatch(expected);
    }
    const badRef = await dems(['ingest', '--case', urn, '--exhibit', 'not a ref', file], env);
    expect(badRef.stderr).toMatch(/^dems: INVALID_EXHIBIT_REFERENCE: /);
    expect(await filesInCase()).toBe(before);
  });

  it('resumes an interrupted upload where it stopped when the same command is run again', async () => {
    const data = randomBytes(40 * MiB + 4321);
    const file = join(root, 'big', 'phone-extraction.bin');
    await mkdir(join(root, 'big'));
    await writeFile(file, data);
    const relay = new StallingRelay();
    await relay.open(h.base);
    try {
      // Through the relay, which stops passing bytes on after 20 MiB: the third 8 MiB request stalls.
      const viaRelay = { ...env, DEMS_API_URL: relay.base };
      const args = ['ingest', '--case', caseId, '--exhibit', 'JS/3', '--chunk-mb', '8', '--json', file];
      relay.limit = 20 * MiB;
      const child = spawn('node', [CLI, ...args], { ...cliOptions(viaRelay), stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));

      let uploadUrl: string | undefined;
      let received = 0;
      const deadline = Date.now() + 60_000;
      while (!(uploadUrl && received > 0)) {
        if (Date.now() > deadline) throw new Error(`no partial upload to interrupt (state ${JSON.stringify(await readState())}, ${received} bytes received)`);
        await new Promise((r) => setTimeout(r, 100));
        uploadUrl = Object.values(await readState())[0];
        if (uploadUrl) received = (await view(uploadUrl.split('/').pop()!)).progress.bytesReceived;
      }
      child.kill('SIGKILL');
      await exited;
      const id = uploadUrl.split('/').pop()!;
      expect(uploadUrl).toBe(`${relay.base}/api/v1/uploads/${id}`);
      expect((await stat(join(configDir, 'uploads.json'))).mode & 0o777).toBe(0o600);
      expect((await view(id)).state).toBe('uploading');
      const head = await fetch(`${h.base}/api/v1/uploads/${id}`, { method: 'HEAD', headers: { authorization: `Bearer ${oic.token}`, 'tus-resumable': '1.0.0' } });
      const offset = Number(head.headers.get('upload-offset'));
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(data.length);

      // The same command again: it asks for the offset and sends only the rest.
      relay.limit = Infinity;
      const sentBefore = relay.sent;
      const r = await dems(args, viaRelay);
      expect(r.code).toBe(0);
      const [line] = JSON.parse(r.stdout) as Line[];
      expect(line).toMatchObject({ uploadId: id, uploadUrl, state: 'sealed', sha256: sha256(data), size: data.length, error: null });
      expect(r.stderr).toContain(`uploaded phone-extraction.bin (40.0 MiB, resumed from `);
      expect(relay.sent - sentBefore).toBeLessThan(data.length - offset + 256 * 1024);
      const v = await view(id);
      expect(v.hashes.find((x) => x.algorithm === 'sha256')?.value).toBe(sha256(data));
      expect(v.declaredHashes).toEqual([{ algorithm: 'sha256', value: sha256(data), matched: true }]);
      expect(await readState()).toEqual({});
    } finally {
      await relay.close();
    }
  });

  /** Starts `dems ingest` through a relay that stalls at `stallAt` bytes; answers once the upload has stalled there. */
  async function stalledRun(relay: StallingRelay, stallAt: number, args: string[]): Promise<{ result: Promise<Run> }> {
    await relay.open(h.base);
    relay.limit = stallAt;
    const pending = dems(args, { ...env, DEMS_API_URL: relay.base });
    const deadline = Date.now() + 60_000;
    while (relay.sent < stallAt) {
      if (Date.now() > deadline) throw new Error(`the upload never reached ${stallAt} bytes (${relay.sent})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Wrapped: an async function returning the promise itself would wait for the run to end.
    return { result: pending };
  }

  it('reports a file that changes while it is uploaded (FILE_CHANGED), cancels its partial upload, and goes on with the next file', async () => {
    const data = randomBytes(40 * MiB);
    const dir = join(root, 'changing');
    await mkdir(dir);
    const file = join(dir, 'dvr-export.dav');
    await writeFile(file, data);
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, `retrieved by J Smith ${randomBytes(8).toString('hex')}\n`);
    const relay = new StallingRelay();
    try {
      // Stalled 12 MiB into a single 40 MiB request, the file is cut to 4 MiB (a DVR export
      // overwritten, say); then the bytes flow again and the request body runs out of file.
      const { result } = await stalledRun(relay, 12 * MiB, ['ingest', '--case', caseId, '--exhibit', 'JS/3', '--chunk-mb', '64', '--parallel', '1', '--json', file, notes]);
      await truncate(file, 4 * MiB);
      relay.release();
      const r = await result;
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(/\bat .+:\d+:\d+/); // no stack trace: the CLI did not crash
      const [changed, after] = JSON.parse(r.stdout) as Line[];
      expect(changed).toMatchObject({ sha256: sha256(data), size: data.length, state: null, uploadId: null, error: { code: 'FILE_CHANGED' } });
      expect(changed.error!.message).toBe(`${file} became shorter while it was being uploaded (${data.length} bytes when hashed, now ${4 * MiB}); the partial upload was cancelled. Run again once the file is final`);
      expect(after).toMatchObject({ filename: 'notes.txt', state: 'sealed', error: null });
      // The partial upload is cancelled on the service (its parts gone), and nothing is left to resume.
      const rows = await h.ds.query(`SELECT state FROM evidence_files WHERE case_id = $1 AND original_filename = 'dvr-export.dav'`, [caseId]);
      expect(rows).toEqual([{ state: 'cancelled' }]);
      expect(await readState()).toEqual({});
    } finally {
      await relay.close();
    }
  });

  it('uploads the bytes it hashed even when the file is deleted part-way (the file is held open)', async () => {
    const data = randomBytes(24 * MiB + 77);
    const dir = join(root, 'vanishing');
    await mkdir(dir);
    const file = join(dir, 'bwv-0042.mp4');
    await writeFile(file, data);
    const relay = new StallingRelay();
    try {
      const { result } = await stalledRun(relay, 12 * MiB, ['ingest', '--case', caseId, '--exhibit', 'JS/3', '--chunk-mb', '8', '--json', file]);
      await rm(file);
      relay.release();
      const r = await result;
      expect(r.code).toBe(0);
      const [line] = JSON.parse(r.stdout) as Line[];
      expect(line).toMatchObject({ state: 'sealed', sha256: sha256(data), size: data.length, error: null });
      const v = await view(line.uploadId!);
      expect(v.hashes.find((x) => x.algorithm === 'sha256')?.value).toBe(sha256(data));
    } finally {
      await relay.close();
    }
  });
});
