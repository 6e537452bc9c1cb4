import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createObjectStore, hashStoredObject, type S3ObjectStore } from '../../libs/storage/index.js';
import { ApiHarness, freshUrn, type TestUser } from '../support/api-harness.js';
import { childEnv } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Processes whose parent is `ppid`, with their command lines (from /proc). */
function childrenOf(ppid: number): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== ppid) continue;
      found.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A process that still runs (a zombie counts as gone: it does nothing and holds no files). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const scratchOf = (pid: number) => readdirSync(tmpdir()).filter((n) => n.startsWith(`dems-media-${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-${pid}-`));

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A media worker killed with SIGKILL in the middle of a transcode (real worker process, ffmpeg,
 * PostgreSQL, Redis, S3): nothing half-made is shown as done, ffmpeg does not run on as an
 * orphan, the next worker removes the dead one's scratch folder and retries the job cleanly,
 * and the original is untouched.
 */
describe('media: a worker killed mid-transcode', () => {
  const h = new ApiHarness();
  const prefix = `dems-test-media-kill-${randomBytes(3).toString('hex')}`;
  const workers: ChildProcess[] = [];
  let store: S3ObjectStore;
  let oic: TestUser;
  const dir = mkdtempSync(join(tmpdir(), 'dems-media-kill-e2e-'));

  function startWorker(): ChildProcess {
    if (!existsSync('dist/apps/worker/main.js')) throw new Error('build first (npm test builds)');
    // The harness's settings as the worker reads them (values that are not plain text, such as parsed rate limits, keep their defaults).
    const settings = Object.fromEntries(Object.entries(h.config).filter(([, v]) => typeof v !== 'object' || Array.isArray(v))) as Parameters<typeof childEnv>[0];
    const child = spawn(process.execPath, ['dist/apps/worker/main.js'], { env: childEnv({ ...settings, LOG_LEVEL: 'silent' }), stdio: 'ignore' });
    workers.push(child);
    return child;
  }

  beforeAll(async () => {
    await h.start({ QUEUE_PREFIX: prefix, JOB_RETRY_DELAY_SCALE: 0.01 });
    store = createObjectStore(h.config);
    await store.ensureBuckets();
    oic = await h.user('kill-oic', 'investigator');
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    store?.destroy();
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries cleanly: no partial copy shown as done, no orphan process, temp files or objects; the original untouched', async () => {
    // 20 s of 720p: long enough to be killed mid-encode on a busy machine.
    const clip = join(dir, 'long.mp4');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25:duration=20', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '28', clip]);
    const original = readFileSync(clip);
    const caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Killed worker case' } })).body.id as string;
    const exhibitId = (await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: 'KW/1', sourceType: 'cctv', description: 'DVR export', producer: 'K W' } })).body.id as string;

    const first = startWorker();
    const up = await tusUpload(`${h.base}/api/v1/uploads`, oic.token, original, { metadata: { caseId, exhibitId, filename: 'long.mp4', sha256: sha256(original) } });
    expect(up.error).toBeUndefined();
    const fileId = uploadIdOf(up.url);

    // Wait until ffmpeg is encoding the working copy and has written part of it.
    const encoder = await until(
      'ffmpeg to be encoding',
      () => {
        const ff = childrenOf(first.pid!).find((p) => p.cmd.includes('libx264') && p.cmd.includes('output.partial.mp4'));
        if (!ff) return undefined;
        const partial = scratchOf(first.pid!).flatMap((d) => {
          const inner = readdirSync(join(tmpdir(), d)).filter((n) => n.startsWith('.media-video-working-copy-'));
          return inner.map((i) => join(tmpdir(), d, i, 'output.partial.mp4'));
        });
        return partial.some((p) => existsSync(p) && statSync(p).size > 0) ? ff : undefined;
      },
      240_000,
    );
    first.kill('SIGKILL');
    await until('the worker to die', () => (first.exitCode !== null || first.signalCode !== null ? true : undefined), 10_000);

    // ffmpeg loses its progress pipe and ends: no orphan transcoding on for nobody.
    await until('the orphaned ffmpeg to end', () => (running(encoder.pid) ? undefined : true), 30_000);
    // Meanwhile nothing is shown as done: the file is still being processed, with no working copy.
    const [analysis] = await h.ds.query(`SELECT state FROM media_analyses WHERE evidence_file_id = $1`, [fileId]);
    expect(analysis.state).toBe('processing');
    expect(await h.ds.query(`SELECT id FROM derivatives WHERE evidence_file_id = $1`, [fileId])).toEqual([]);
    expect(scratchOf(first.pid!).length).toBeGreaterThan(0); // the dead worker's scratch folder is still there

    // A new worker removes the dead one's scratch folder at start, and BullMQ hands it the stalled job.
    const second = startWorker();
    await until('the dead worker\'s scratch folder to be removed', () => (scratchOf(first.pid!).length === 0 ? true : undefined), 60_000);
    const done = await until(
      'the retried job to finish',
      async () => {
        const [a] = await h.ds.query(`SELECT state, attempts FROM media_analyses WHERE evidence_file_id = $1`, [fileId]);
        return ['ready', 'partial', 'failed', 'needs_specialist_tool'].includes(a.state) ? a : undefined;
      },
      400_000,
    );
    expect(done).toMatchObject({ state: 'ready' });
    expect(done.attempts).toBeGreaterThanOrEqual(2);

    // One working copy, complete: every frame of the original.
    const derivs = await h.ds.query(`SELECT kind, object_key, sha256, summary FROM derivatives WHERE evidence_file_id = $1 ORDER BY kind`, [fileId]);
    expect(derivs.map((d: { kind: string }) => d.kind)).toEqual(['contact-sheet', 'poster-frame', 'video-working-copy']);
    const wc = derivs.find((d: { kind: string }) => d.kind === 'video-working-copy');
    expect(wc.summary.frames).toEqual({ originalDecodedFrames: 500, workingCopyDecodedFrames: 500, equal: true });
    expect((await hashStoredObject(store, store.buckets.working, wc.object_key)).sha256).toBe(wc.sha256);

    // No orphaned objects or unfinished uploads: the working bucket holds exactly the recorded derivatives.
    const listed = (await store.list(store.buckets.working, `derivatives/${fileId}/`)).entries.map((e) => e.key).sort();
    expect(listed).toEqual(derivs.map((d: { object_key: string }) => d.object_key).sort());
    expect(await store.listMultipartUploads(store.buckets.working, `derivatives/${fileId}/`)).toEqual([]);

    // The original: still sealed, byte for byte.
    const [row] = await h.ds.query(`SELECT state, bucket, object_key FROM evidence_files WHERE id = $1`, [fileId]);
    expect(row.state).toBe('sealed');
    expect((await hashStoredObject(store, row.bucket, row.object_key)).sha256).toBe(sha256(original));

    // No scratch folder or ffmpeg left by the second worker either, once it is idle.
    await until('the second worker to be idle', () => (childrenOf(second.pid!).some((p) => p.cmd.includes('ffmpeg')) || scratchOf(second.pid!).length ? undefined : true), 30_000);
    second.kill('SIGTERM');
  }, 900_000);
});
