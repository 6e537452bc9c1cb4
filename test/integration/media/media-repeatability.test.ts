import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MediaService, RECIPE_VERSIONS, type MediaResult, type ToolStep } from '../../../libs/media/index.js';
import { fixturePath } from '../../support/fixtures.js';
import { HttpFileServer } from './http-file-server.js';
import { alive, childMediaProcesses, decodedFrames, ffmpeg, ffmpegAsync, ffprobeJson, listDir, scratch, sha256File } from './media-test-kit.js';

/**
 * The forensic promises: the same input, recorded command and tool version give the same bytes;
 * a tool past its time limit or cancelled is killed and reaped; nothing half-made is left behind;
 * inputs can be presigned URLs, and no signature is recorded.
 */
const media = new MediaService({ killGraceMs: 500 });
const work = scratch('dems-media-rep-');
const f = (name: string) => join(work.dir, name);
afterAll(() => work.remove());

function ok<T>(r: MediaResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.failure.code}: ${r.failure.message}\n${r.failure.detail ?? ''}`);
  return r.value;
}
const outDir = (name: string) => {
  const d = f(name);
  mkdirSync(d, { recursive: true });
  return d;
};

beforeAll(async () => {
  await Promise.all([
    ffmpegAsync('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1', '-f', 'lavfi', '-i', 'sine=frequency=300:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', f('clip.mp4')),
    // Long enough that no time limit below is met: 60 s of 320x240.
    ffmpegAsync('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=60', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '40', f('long.mp4')),
  ]);
}, 60_000);

/** Runs a recorded step again by hand, as a defence expert would, and returns the output's SHA-256. */
function repeatStep(step: ToolStep, input: string, output: string): string {
  const args = step.args.map((a) => (a === '{input}' ? input : a.split('{output}').join(output)));
  const r = spawnSync(step.tool, args, { env: step.env ?? { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return sha256File(output);
}

describe('repeatable bit for bit', () => {
  it('video working copy: two runs, and a hand re-run of the recorded command, give one SHA-256', async () => {
    const a = ok(await media.makeVideoWorkingCopy(f('clip.mp4'), outDir('run-a')));
    const b = ok(await media.makeVideoWorkingCopy(f('clip.mp4'), outDir('run-b')));
    expect(a.file.sha256).toBe(b.file.sha256);
    expect(a.provenance.recipeVersion).toBe(RECIPE_VERSIONS['video-working-copy']);
    expect(a.provenance.tools.ffmpeg).toMatch(/^ffmpeg version \S+/);
    expect(a.provenance.tools.libvips).toMatch(/^\d+\.\d+/);
    expect(a.provenance.input).toMatchObject({ ref: 'clip.mp4', sha256: sha256File(f('clip.mp4')), sha256Source: 'computed' });
    expect(a.provenance.outputs[0]).toMatchObject({ sha256: a.file.sha256, sizeBytes: a.file.sizeBytes });
    const encode = a.provenance.steps.find((s) => s.tool === 'ffmpeg' && s.args.includes('{output}')) as ToolStep;
    expect(encode.args).toEqual(expect.arrayContaining(['-threads', '4', '-fps_mode', 'passthrough']));
    expect(repeatStep(encode, f('clip.mp4'), f('by-hand.mp4'))).toBe(a.file.sha256);
  });

  it('the thread count is part of the recipe: another count gives other bytes', () => {
    const encode = (threads: string, out: string) => {
      ffmpeg('-i', f('clip.mp4'), '-map', '0:0', '-c:v', 'libx264', '-preset', 'medium', '-crf', '20', '-threads', threads, '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1', '-f', 'mp4', out);
      return sha256File(out);
    };
    const four = encode('4', f('t4.mp4'));
    expect(encode('4', f('t4b.mp4'))).toBe(four);
    expect(encode('1', f('t1.mp4'))).not.toBe(four);
  });

  it('audio copy, waveform, poster, contact sheet and image preview repeat too', async () => {
    const wav = fixturePath('audio', 'g711-alaw-8k.wav');
    const [audioProbe, videoProbe] = [ok(await media.probe(wav)), ok(await media.probe(f('clip.mp4')))];
    const sums = async (dir: string) => {
      const d = outDir(dir);
      const audio = ok(await media.makeAudioWorkingCopy(wav, d, { probe: audioProbe }));
      const wave = ok(await media.makeWaveform(wav, d, { probe: audioProbe }));
      const poster = ok(await media.makePosterFrame(f('clip.mp4'), d, { probe: videoProbe }));
      const sheet = ok(await media.makeContactSheet(f('clip.mp4'), d, { probe: videoProbe, intervalSeconds: 0.2 }));
      const img = ok(await media.makeImagePreview(poster.file.path, d));
      return [audio.file.sha256, wave.json.sha256, wave.png.sha256, poster.file.sha256, sheet.file.sha256, img.preview.sha256, img.thumbnail.sha256];
    };
    expect(await sums('rep-1')).toEqual(await sums('rep-2'));
  });
});

describe('time limits, cancellation and clean-up', () => {
  it('a run past its time limit is MEDIA_TIMEOUT; ffmpeg is killed and reaped; nothing is left', async () => {
    const dir = outDir('timeout');
    const probe = ok(await media.probe(f('long.mp4')));
    const started = Date.now();
    const r = await media.makeVideoWorkingCopy(f('long.mp4'), dir, { probe, timeLimitMs: 800 });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.ok ? 'ok' : r.failure).toMatchObject({ code: 'MEDIA_TIMEOUT', retryable: true });
    expect(childMediaProcesses()).toEqual([]); // not running, not a zombie
    expect(listDir(dir)).toEqual([]);
  });

  it('the repository escalates to SIGKILL when a tool ignores SIGTERM, and reaps it', async () => {
    // `trap '' TERM` makes the shell ignore SIGTERM; exec keeps the pid. Stand-in for ffmpeg on a stalled socket.
    let pid = 0;
    const started = Date.now();
    const run = await media.repository.run(
      { tool: 'ffmpeg', args: [] },
      { input: '' },
      { timeLimitMs: 300, onSpawn: (p) => (pid = p) },
    ).catch(() => undefined);
    expect(run?.exitCode).not.toBe(0); // ffmpeg with no arguments: a quick failure, nothing to kill
    const ignoring = new MediaService({ killGraceMs: 400, ffmpegPath: 'sh' });
    const outcome = await ignoring.repository.run(
      { tool: 'ffmpeg', args: ['-c', "trap '' TERM; while :; do sleep 0.05; done"] },
      { input: '' },
      { timeLimitMs: 300, onSpawn: (p) => (pid = p) },
    );
    expect(outcome).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(alive(pid)).toBe(false);
  });

  it('an AbortSignal stops the work: MEDIA_ABORTED, no process, no files', async () => {
    const dir = outDir('abort');
    const probe = ok(await media.probe(f('long.mp4')));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    const r = await media.makeVideoWorkingCopy(f('long.mp4'), dir, { probe, signal: controller.signal });
    expect(r.ok ? 'ok' : r.failure.code).toBe('MEDIA_ABORTED');
    expect(childMediaProcesses()).toEqual([]);
    expect(listDir(dir)).toEqual([]);
  });

  it('a failed verification or a tool failure leaves no scratch folder and no partial file', async () => {
    const dir = outDir('failures');
    const r = await media.makeVideoWorkingCopy(fixturePath('malformed', 'invalid-bitstream.webm'), dir);
    expect(r.ok).toBe(false);
    const r2 = await media.makeCourtCopy(f('clip.mp4'), dir, { exhibitReference: 'JS/1', recorderTimeAtStart: '2026-03-29T01:30:00', clockOffsetSeconds: 0, timeZone: 'Europe/London' }).catch((e: Error) => e);
    expect(r2).toBeInstanceOf(Error); // a wall-clock time the clocks skipped is the caller's mistake, thrown as AppError
    expect(listDir(dir)).toEqual([]);
  });
});

describe('inputs over HTTP (presigned S3 GET)', () => {
  let server: HttpFileServer;
  let url: string;
  beforeAll(async () => {
    server = new HttpFileServer(f('clip.mp4'));
    url = `${await server.start()}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeef`;
  });
  afterAll(() => server.stop());

  it('reads with range requests, makes the same copy as from disk, records no signature', async () => {
    const progress: number[] = [];
    const fromDisk = ok(await media.makeVideoWorkingCopy(f('clip.mp4'), outDir('disk')));
    const fromUrl = ok(await media.makeVideoWorkingCopy(url, outDir('url'), { inputSha256: sha256File(f('clip.mp4')), onProgress: (p) => p.percent !== undefined && progress.push(p.percent) }));
    expect(fromUrl.file.sha256).toBe(fromDisk.file.sha256);
    expect(decodedFrames(fromUrl.file.path)).toBe(25);
    expect(server.requests.some((r) => /Lavf/.test(r.userAgent ?? '') && r.range)).toBe(true);
    const record = JSON.stringify(fromUrl.provenance);
    expect(record).not.toMatch(/X-Amz-Signature|deadbeef/);
    expect(fromUrl.provenance.input).toMatchObject({ ref: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/evidence\/clip\.bin$/), sha256Source: 'declared-by-caller' });
    expect(fromUrl.provenance.steps.find((s) => s.args.includes('{output}'))?.args).toEqual(expect.arrayContaining(['-reconnect', '1', '-rw_timeout', '30000000']));
    expect(progress.at(-1)).toBe(100);
    expect(ffprobeJson(fromUrl.file.path).streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
  });

  it('a storage server that stalls mid-read: killed at the time limit, no process left', async () => {
    server.stallTools = true;
    try {
      const started = Date.now();
      const r = await media.probe(url, { timeLimitMs: 1000, inputSha256: 'a'.repeat(64) });
      expect(r.ok ? 'ok' : r.failure.code).toBe('MEDIA_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(childMediaProcesses()).toEqual([]);
    } finally {
      server.stallTools = false;
    }
  });
});

afterAll(() => rmSync(f('by-hand.mp4'), { force: true }));
