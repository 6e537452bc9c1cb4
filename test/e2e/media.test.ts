import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startWorker } from '../../apps/worker/bootstrap.js';
import { WorkingCopiesService, type MediaView } from '../../libs/evidence/index.js';
import { createObjectStore, hashStoredObject, type S3ObjectStore } from '../../libs/storage/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { fixturePath } from '../support/fixtures.js';
import { CLI, cliOptions } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Every real-world media file in test/fixtures through upload, seal, the real worker, ffmpeg and
 * S3: working copies that play, with equal frame counts, hashes and provenance recorded; or a
 * clear state with its reason for what cannot be decoded, the original untouched.
 */
describe('media: working copies of sealed originals (real API, worker, ffmpeg, PostgreSQL, Redis, S3)', () => {
  const h = new ApiHarness();
  let worker: INestApplicationContext;
  let store: S3ObjectStore;
  let oic: TestUser;
  let caseId: string;
  const exhibits: Record<string, string> = {};
  const files: Record<string, { id: string; exhibitId: string; data: Buffer }> = {};
  const dir = mkdtempSync(join(tmpdir(), 'dems-media-e2e-'));

  const INPUTS: [name: string, exhibit: string, data: () => Buffer][] = [
    ['BA_MW_D.264', 'MD/1', () => readFileSync(fixturePath('video/BA_MW_D.264'))],
    ['sample_h264.ts', 'MD/1', () => readFileSync(fixturePath('video/sample_h264.ts'))],
    ['stub_mjpeg.avi', 'MD/1', () => readFileSync(fixturePath('video/stub_mjpeg.avi'))],
    ['g711-alaw-8k.wav', 'MD/2', () => readFileSync(fixturePath('audio/g711-alaw-8k.wav'))],
    ['sample_nb.amr', 'MD/2', () => readFileSync(fixturePath('audio/sample_nb.amr'))],
    ['sample_malformed_free_box.mp4', 'MD/3', () => readFileSync(fixturePath('malformed/sample_malformed_free_box.mp4'))],
    ['invalid-bitstream.webm', 'MD/3', () => readFileSync(fixturePath('malformed/invalid-bitstream.webm'))],
    ['Error_I_P.264', 'MD/3', () => readFileSync(fixturePath('malformed/Error_I_P.264'))],
    // A file named like video that is not: content decides, never the name.
    ['notes.mp4', 'MD/4', () => Buffer.from('Statement of witness, page 1 of 3\n'.repeat(40))],
  ];

  beforeAll(async () => {
    await h.start({ QUEUE_PREFIX: `dems-test-media-${randomBytes(3).toString('hex')}`, JOB_RETRY_DELAY_SCALE: 0.01 });
    worker = await startWorker(h.config, { shutdownHooks: false });
    store = createObjectStore(h.config);
    await store.ensureBuckets();
    oic = await h.user('media-oic', 'investigator');
    caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Media case' } })).body.id as string;
    for (const [ref, sourceType] of [['MD/1', 'cctv'], ['MD/2', 'audio'], ['MD/3', 'cctv'], ['MD/4', 'document']]) {
      const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { reference: ref, sourceType, description: `exhibit ${ref}`, producer: 'M D' } });
      expect(x.status).toBe(201);
      exhibits[ref] = x.body.id as string;
    }
    for (const [name, ref, data] of INPUTS) {
      const bytes = data();
      const r = await tusUpload(`${h.base}/api/v1/uploads`, oic.token, bytes, { metadata: { caseId, exhibitId: exhibits[ref], filename: name, sha256: sha256(bytes) } });
      expect(r.error).toBeUndefined();
      files[name] = { id: uploadIdOf(r.url), exhibitId: exhibits[ref], data: bytes };
    }
    // Every file settles: sealed, then its working copies made or its reason recorded.
    const deadline = Date.now() + 240_000;
    for (;;) {
      const res = await h.call('GET', `/api/v1/cases/${caseId}/media`, { token: oic.token, headers: JUSTIFY });
      const views = res.body as unknown as (MediaView & { filename: string })[];
      const settled = Array.isArray(views) && views.length === INPUTS.length && views.every((v) => !['pending', 'processing'].includes(v.state));
      if (settled) break;
      if (Date.now() > deadline) throw new Error(`media not settled: ${JSON.stringify(Array.isArray(views) ? views.map((v) => [v.filename, v.state]) : views)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 600_000);

  afterAll(async () => {
    await worker?.close();
    store?.destroy();
    await h.stop();
  });

  const media = async (name: string): Promise<MediaView> => {
    const res = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${files[name].exhibitId}/media`, { token: oic.token, headers: JUSTIFY });
    expect(res.status).toBe(200);
    return (res.body as unknown as MediaView[]).find((v) => v.fileId === files[name].id)!;
  };
  const download = async (name: string, derivativeId: string, range?: string) =>
    fetch(`${h.base}/api/v1/cases/${caseId}/exhibits/${files[name].exhibitId}/files/${files[name].id}/derivatives/${derivativeId}/content`, {
      headers: { authorization: `Bearer ${oic.token}`, ...JUSTIFY, ...(range ? { range } : {}) },
    });
  const ffprobe = async (bytes: Buffer, ext: string) => {
    const path = join(dir, `${randomBytes(4).toString('hex')}.${ext}`);
    writeFileSync(path, bytes);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', path]);
    return JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; nb_read_frames?: string; width?: number; height?: number }[]; format: { format_name: string; duration?: string } };
  };

  it.each(['BA_MW_D.264', 'sample_h264.ts', 'stub_mjpeg.avi'])('%s: a playable H.264 MP4 with the same decoded frame count, a poster and a contact sheet', async (name) => {
    const v = await media(name);
    expect(v).toMatchObject({ state: 'ready', kind: 'video' });
    const wc = v.derivatives.find((d) => d.kind === 'video-working-copy')!;
    expect(wc).toMatchObject({ mime: 'video/mp4', quality: 'complete' });
    const bytes = Buffer.from(await (await download(name, wc.id)).arrayBuffer());
    expect(sha256(bytes)).toBe(wc.sha256);
    const probed = await ffprobe(bytes, 'mp4');
    const video = probed.streams.find((s) => s.codec_type === 'video')!;
    expect(video.codec_name).toBe('h264');
    const frames = (wc.summary as { frames: { originalDecodedFrames: number; workingCopyDecodedFrames: number; equal: boolean } }).frames;
    expect(frames.equal).toBe(true);
    expect(Number(video.nb_read_frames)).toBe(frames.originalDecodedFrames);
    expect(v.derivatives.map((d) => d.kind).sort()).toEqual(['contact-sheet', 'poster-frame', 'video-working-copy']);
    for (const d of v.derivatives) expect(d.reference).toMatch(/^MD\/1-/);
  });

  it('marks the frame rate of a raw H.264 stream as assumed', async () => {
    const wc = (await media('BA_MW_D.264')).derivatives.find((d) => d.kind === 'video-working-copy')!;
    expect((wc.summary as { assumedTiming: { assumedFrameRate: string } | null }).assumedTiming?.assumedFrameRate).toBe('25/1');
    expect((await media('sample_h264.ts')).derivatives.find((d) => d.kind === 'video-working-copy')!.summary).toMatchObject({ assumedTiming: null });
  });

  it.each([['g711-alaw-8k.wav', 6.0], ['sample_nb.amr', 4.36]])('%s: an AAC working copy of the same length and waveform peaks', async (name, seconds) => {
    const v = await media(name);
    expect(v).toMatchObject({ state: 'ready', kind: 'audio' });
    const wc = v.derivatives.find((d) => d.kind === 'audio-working-copy')!;
    const probed = await ffprobe(Buffer.from(await (await download(name, wc.id)).arrayBuffer()), 'm4a');
    expect(probed.streams[0].codec_name).toBe('aac');
    expect(Math.abs(Number(probed.format.duration) - seconds)).toBeLessThan(0.15);
    const peaks = v.derivatives.find((d) => d.kind === 'waveform' && d.role === 'peaks')!;
    const json = (await (await download(name, peaks.id)).json()) as { peaks: number[]; buckets: number };
    expect(json.peaks.length).toBe(json.buckets * 2);
    expect(v.derivatives.find((d) => d.kind === 'waveform' && d.role === 'image')?.mime).toBe('image/png');
  });

  it('answers undecodable input with a clear state and reason, keeps the original sealed and untouched, and the worker goes on', async () => {
    for (const name of ['sample_malformed_free_box.mp4', 'invalid-bitstream.webm']) {
      const v = await media(name);
      expect(['needs_specialist_tool', 'failed']).toContain(v.state);
      expect(v.failure?.code).toMatch(/^MEDIA_/);
      expect(v.failure?.reason.length).toBeGreaterThan(20);
      expect(v.derivatives).toEqual([]);
      const [row] = await h.ds.query(`SELECT state, sha256, bucket, object_key FROM evidence_files WHERE id = $1`, [files[name].id]);
      expect(row.state).toBe('sealed');
      expect((await hashStoredObject(store, row.bucket, row.object_key)).sha256).toBe(sha256(files[name].data));
    }
    expect((await media('sample_malformed_free_box.mp4')).failure?.reason).toMatch(/moov/i);
    // A damaged stream gives what decodes, flagged as partial; never shown as complete.
    const damaged = await media('Error_I_P.264');
    expect(['partial', 'needs_specialist_tool', 'failed']).toContain(damaged.state);
    if (damaged.state === 'partial') expect(damaged.derivatives.find((d) => d.kind === 'video-working-copy')?.quality).toBe('with-decode-errors');
  });

  it('detects by content: a text file named .mp4 is not media', async () => {
    const v = await media('notes.mp4');
    expect(v).toMatchObject({ state: 'not_media', kind: 'other', derivatives: [] });
    const [row] = await h.ds.query(`SELECT media_kind, media_mime FROM evidence_files WHERE id = $1`, [files['notes.mp4'].id]);
    expect(row.media_kind).toBe('other');
  });

  it('records each derivative with its master, tool versions, command and hashes, as a custody event', async () => {
    const wc = (await media('sample_h264.ts')).derivatives.find((d) => d.kind === 'video-working-copy')!;
    const [row] = await h.ds.query(`SELECT provenance, object_key FROM derivatives WHERE id = $1`, [wc.id]);
    expect(row.provenance).toMatchObject({ derivative: 'video-working-copy', input: { sha256: sha256(files['sample_h264.ts'].data) } });
    expect(row.provenance.tools.ffmpeg).toMatch(/ffmpeg version/);
    expect(row.provenance.steps.some((s: { tool: string; args: string[] }) => s.tool === 'ffmpeg' && s.args.includes('{input}'))).toBe(true);
    expect(row.provenance.outputs[0].sha256).toBe(wc.sha256);
    const events = await h.ds.query(`SELECT details FROM custody_events WHERE type = 'derivative.created' AND object_id = $1`, [wc.id]);
    expect(events).toHaveLength(1);
    expect(events[0].details).toMatchObject({ master: { evidenceFileId: files['sample_h264.ts'].id }, kind: 'video-working-copy' });
    // The working copy is registered for fixity like any stored object.
    expect(await h.ds.query(`SELECT kind FROM stored_objects WHERE object_key = $1`, [row.object_key])).toEqual([{ kind: 'derivative' }]);
  });

  it('running the job again makes no second derivative', async () => {
    const before = (await h.ds.query(`SELECT count(*)::int AS n FROM derivatives WHERE evidence_file_id = $1`, [files['stub_mjpeg.avi'].id]))[0].n;
    const done = await worker.get(WorkingCopiesService).process(files['stub_mjpeg.avi'].id, new AbortController().signal, async () => undefined);
    expect(done.derivatives).toBe(0);
    expect((await h.ds.query(`SELECT count(*)::int AS n FROM derivatives WHERE evidence_file_id = $1`, [files['stub_mjpeg.avi'].id]))[0].n).toBe(before);
  });

  it('plays a working copy with HTTP Range (206), and logs each playback as a consultation with the range', async () => {
    const wc = (await media('sample_h264.ts')).derivatives.find((d) => d.kind === 'video-working-copy')!;
    const part = await download('sample_h264.ts', wc.id, 'bytes=100-199');
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${wc.size}`);
    expect(part.headers.get('accept-ranges')).toBe('bytes');
    const whole = Buffer.from(await (await download('sample_h264.ts', wc.id)).arrayBuffer());
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(100, 200));
    const tail = await download('sample_h264.ts', wc.id, 'bytes=-10');
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(whole.subarray(whole.length - 10));
    const outside = await download('sample_h264.ts', wc.id, `bytes=${wc.size + 10}-`);
    expect(outside.status).toBe(416);
    const played = await h.ds.query(`SELECT actor_id, justification_code, details FROM custody_events WHERE type = 'derivative.played' AND object_id = $1 ORDER BY leaf_index`, [wc.id]);
    expect(played.length).toBeGreaterThanOrEqual(3);
    const ranged = played.find((e: { details: { range: { start: number } | null } }) => e.details.range?.start === 100);
    expect(ranged).toMatchObject({ actor_id: oic.id, justification_code: 'investigation', details: { range: { start: 100, end: 199 } } });
    expect(played.some((e: { details: { range: unknown } }) => e.details.range === null)).toBe(true);
    // Without a reason, no bytes.
    const noReason = await fetch(`${h.base}/api/v1/cases/${caseId}/exhibits/${files['sample_h264.ts'].exhibitId}/files/${files['sample_h264.ts'].id}/derivatives/${wc.id}/content`, { headers: { authorization: `Bearer ${oic.token}` } });
    expect(noReason.status).toBe(400);
  });

  it('dems media status lists every file with its state; dems media retry queues a failed one again', async () => {
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: oic.token, DEMS_CONFIG_DIR: dir };
    const status = await run('node', [CLI, 'media', 'status', caseId, '--reason', 'checking the working copies', '--json'], cliOptions(env));
    const listed = JSON.parse(status.stdout) as { filename: string; state: string; derivatives: unknown[] }[];
    expect(listed.map((f) => f.filename).sort()).toEqual(INPUTS.map(([name]) => name).sort());
    expect(listed.find((f) => f.filename === 'sample_h264.ts')).toMatchObject({ state: 'ready' });
    const table = await run('node', [CLI, 'media', 'status', caseId, '--reason', 'checking the working copies'], cliOptions(env)).catch((e) => e as { stdout: string });
    expect(table.stdout).toMatch(/sample_h264\.ts.*video.*ready/);
    const retried = await run('node', [CLI, 'media', 'retry', caseId, files['sample_malformed_free_box.mp4'].id], cliOptions(env));
    expect(retried.stdout).toMatch(/queued again/);
  });

  it('retries a failed file on request, and refuses to retry a ready one', async () => {
    const failed = files['invalid-bitstream.webm'];
    const retried = await h.call('POST', `/api/v1/cases/${caseId}/files/${failed.id}/media/retry`, { token: oic.token });
    expect([retried.status, retried.body.state]).toEqual([202, 'pending']);
    const ready = await h.call('POST', `/api/v1/cases/${caseId}/files/${files['stub_mjpeg.avi'].id}/media/retry`, { token: oic.token });
    expect([ready.status, ready.body.code]).toEqual([409, 'MEDIA_NOT_RETRYABLE']);
  });
});
