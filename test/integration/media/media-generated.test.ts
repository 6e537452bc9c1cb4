import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MediaService, type MediaProbe, type MediaResult, type VideoWorkingCopy } from '../../../libs/media/index.js';
import {
  decodedFrames,
  exifBlock,
  ffmpeg,
  ffmpegAsync,
  ffprobeJson,
  framePts,
  hasEncoder,
  listDir,
  pixel,
  scratch,
  withExif,
} from './media-test-kit.js';

/**
 * Inputs the fixtures lack, made here with ffmpeg's lavfi sources (tiny sizes, short clips):
 * interlaced, rotated, variable frame rate, a recording gap, HEVC, 1080p and small sources,
 * several containers, telephony audio, JPEG with EXIF, HEIC. Outputs are checked with ffprobe.
 */
const media = new MediaService();
const work = scratch('dems-media-gen-');
const out = scratch('dems-media-gen-out-');
const f = (name: string) => join(work.dir, name);
afterAll(() => {
  work.remove();
  out.remove();
});

function ok<T>(r: MediaResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.failure.code}: ${r.failure.message}\n${r.failure.detail ?? ''}`);
  return r.value;
}

const testsrc = (size: string, rate: number, seconds: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`];
const tone = (seconds: number, rate = 48000) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}:duration=${seconds}`];

beforeAll(async () => {
  // Independent files are made in parallel; each list entry is one ffmpeg run.
  const jobs: Promise<void>[] = [];
  // Interlaced MPEG-2 in an MPEG program stream (DVR-style), top field first.
  jobs.push(ffmpegAsync(...testsrc('320x240', 25, 1), ...tone(1), '-vf', 'setfield=tff', '-c:v', 'mpeg2video', '-flags', '+ilme+ildct', '-top', '1', '-c:a', 'mp2', '-f', 'mpeg', f('interlaced.mpg')));
  // Rotated phone clip: a red block top-left, then a display matrix added by stream copy.
  jobs.push(
    ffmpegAsync('-f', 'lavfi', '-i', 'color=c=black:s=320x180:r=25:d=0.4,drawbox=x=0:y=0:w=40:h=40:color=red:t=fill', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('upright.mp4')).then(() =>
      ffmpegAsync('-i', f('upright.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-f', 'mov', f('rotated.mov')),
    ),
  );
  // Variable frame rate in Matroska: irregular intervals (40, 40, 100, 33, 200 ms …).
  jobs.push(ffmpegAsync(...testsrc('160x120', 25, 1), '-vf', "setpts='(N*0.04+if(gte(N,5),0.06,0)+if(gte(N,12),0.2,0)+if(gte(N,18),-0.007*(N-17),0))/TB'", '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'matroska', f('vfr.mkv')));
  // A 5-second recording gap after frame 9.
  jobs.push(ffmpegAsync(...testsrc('160x120', 25, 0.8), '-vf', "setpts='(N*0.04+if(gte(N,10),5,0))/TB'", '-fps_mode', 'passthrough', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'mp4', f('gap.mp4')));
  // HEVC in MP4 and as a raw .265 elementary stream.
  jobs.push(ffmpegAsync(...testsrc('320x240', 25, 0.4), '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-tag:v', 'hvc1', f('hevc.mp4')));
  jobs.push(ffmpegAsync(...testsrc('320x240', 25, 0.4), '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-f', 'hevc', f('raw.265')));
  // HDR10: 10-bit HEVC tagged PQ / BT.2020, as phones record.
  jobs.push(ffmpegAsync(...testsrc('320x240', 25, 0.4), '-pix_fmt', 'yuv420p10le', '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', f('hdr.mp4')));
  // 1080p with audio (→ 720p) and a small clip (never enlarged).
  jobs.push(ffmpegAsync(...testsrc('1920x1080', 25, 0.2), ...tone(0.2), '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', f('hd.mp4')));
  jobs.push(ffmpegAsync(...testsrc('320x240', 25, 0.4), '-c:v', 'libx264', '-preset', 'ultrafast', f('small.mp4')));
  // Telephony audio: G.711 µ-law and IMA-ADPCM in WAV.
  jobs.push(ffmpegAsync(...tone(2, 8000), '-c:a', 'pcm_mulaw', '-ar', '8000', '-ac', '1', f('mulaw.wav')));
  jobs.push(ffmpegAsync(...tone(2, 8000), '-c:a', 'adpcm_ima_wav', '-ar', '8000', '-ac', '1', f('ima-adpcm.wav')));
  // A JPEG, 64x48, red block top-left; EXIF (camera, time, GPS, Orientation 6) written by hand.
  await ffmpegAsync('-f', 'lavfi', '-i', 'color=c=white:s=64x48:d=1,drawbox=x=0:y=0:w=16:h=16:color=red:t=fill', '-frames:v', '1', '-update', '1', '-f', 'image2', f('plain.jpg'));
  const tiff = exifBlock(
    [
      [0x010f, { type: 'ascii', value: 'TestCam' }],
      [0x0110, { type: 'ascii', value: 'Model 7' }],
      [0x0112, { type: 'short', value: 6 }],
    ],
    [
      [0x9003, { type: 'ascii', value: '2026:11:20 09:58:12' }],
      [0x9011, { type: 'ascii', value: '+00:00' }],
    ],
    [
      [0x0001, { type: 'ascii', value: 'N' }],
      [0x0002, { type: 'rational', value: [[51, 1], [30, 1], [2600, 100]] }],
      [0x0003, { type: 'ascii', value: 'W' }],
      [0x0004, { type: 'rational', value: [[0, 1], [7, 1], [3900, 100]] }],
    ],
  );
  writeFileSync(f('gps.jpg'), withExif(readFileSync(f('plain.jpg')), tiff));
  // HEIC (HEVC-coded, as iPhones write) from that JPEG, with heif-enc.
  execFileSync('heif-enc', ['-q', '60', f('gps.jpg'), '-o', f('photo.heic')], { stdio: 'ignore' });
  // A JPEG cut in half.
  writeFileSync(f('truncated.jpg'), readFileSync(f('gps.jpg')).subarray(0, 300));
  await Promise.all(jobs);
}, 120_000);

describe('video: what CCTV and phones produce', () => {
  let smallProbe: MediaProbe;
  let smallCopy: VideoWorkingCopy;
  it('interlaced MPEG-PS: detected, deinterlaced one frame per frame (not doubled)', async () => {
    const probe = ok(await media.probe(f('interlaced.mpg')));
    expect(probe.detection).toMatchObject({ kind: 'video', mime: 'video/mpeg', format: 'mpegps' });
    expect(probe.av?.video[0]).toMatchObject({ codec: 'mpeg2video', interlaced: true, fieldOrder: 'tt' });
    expect(probe.av?.frames?.interlacedFrames).toBe(25);
    const wc = ok(await media.makeVideoWorkingCopy(f('interlaced.mpg'), out.dir, { probe }));
    expect(wc.deinterlaced).toBe(true);
    expect(wc.hasAudio).toBe(true);
    expect(decodedFrames(wc.file.path)).toBe(25);
    const p = ffprobeJson(wc.file.path);
    expect(p.streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
    expect(p.streams[0].field_order).toBe('progressive');
  });

  it('interlaced H.264 in MPEG-TS with one key frame: the poster decodes from the start where seeking finds nothing decodable', async () => {
    // A DVR-like stream: 10 s, one key frame (GOP longer than the clip), starts at 1.4 s. Seeking to
    // 1 s lands on frames whose references are missing: the decoder gives nothing.
    await ffmpegAsync(...testsrc('320x240', 25, 10), '-vf', 'tinterlace=mode=interleave_top,setfield=tff', '-c:v', 'libx264', '-flags', '+ilme+ildct', '-g', '1000', '-preset', 'veryfast', f('long-gop.ts'));
    const probe = ok(await media.probe(f('long-gop.ts')));
    const poster = ok(await media.makePosterFrame(f('long-gop.ts'), out.dir, { probe }));
    expect(poster.provenance.assumptions).toMatchObject({ atSeconds: 1, seek: 'decode' });
    const posters = poster.provenance.steps.filter((s) => s.tool === 'ffmpeg');
    expect(posters.map((s) => s.args.indexOf('-ss') < s.args.indexOf('-i'))).toEqual([true, false]);
    expect([poster.width, poster.height]).toEqual([320, 240]);
  });

  it('rotated MOV: copy is 180x320 as displayed, the picture turned exactly as players turn it, no display matrix left', async () => {
    const probe = ok(await media.probe(f('rotated.mov')));
    expect(probe.detection).toMatchObject({ mime: 'video/quicktime' });
    expect(probe.av?.video[0]).toMatchObject({ width: 320, height: 180, displayWidth: 180, displayHeight: 320 });
    expect([90, 270]).toContain(probe.av?.video[0].rotation);
    const wc = ok(await media.makeVideoWorkingCopy(f('rotated.mov'), out.dir, { probe }));
    const v = ffprobeJson(wc.file.path).streams[0];
    expect([v.width, v.height]).toEqual([180, 320]);
    expect(v.side_data_list ?? []).toEqual([]);
    // ffmpeg's own autorotated decode of the original puts the red block where the copy has it.
    const [ox, oy] = pixel(f('rotated.mov'), 2, 2)[0] > 150 ? [2, 2] : [2, 316];
    expect(pixel(f('rotated.mov'), ox, oy)[0]).toBeGreaterThan(150);
    expect(pixel(wc.file.path, ox, oy)[0]).toBeGreaterThan(150);
    expect(wc.rotationApplied).toBe(probe.av?.video[0].rotation);
    expect(decodedFrames(wc.file.path)).toBe(10);
  });

  it('variable frame rate: recognised, and every frame keeps its own time in the copy', async () => {
    const probe = ok(await media.probe(f('vfr.mkv')));
    expect(probe.detection).toMatchObject({ kind: 'video', mime: 'video/x-matroska' });
    expect(probe.av?.frames?.variableFrameRate).toBe(true);
    const wc = ok(await media.makeVideoWorkingCopy(f('vfr.mkv'), out.dir, { probe }));
    const a = framePts(f('vfr.mkv'));
    const b = framePts(wc.file.path);
    expect(b).toHaveLength(a.length);
    const rel = (xs: number[]) => xs.map((x) => x - xs[0]);
    rel(b).forEach((t, i) => expect(Math.abs(t - rel(a)[i])).toBeLessThanOrEqual(0.0011)); // Matroska keeps ms
  });

  it('a 5 s recording gap is reported with its position and survives in the copy', async () => {
    const probe = ok(await media.probe(f('gap.mp4'), { gapThresholdSeconds: 1 }));
    expect(probe.av?.frames?.gapCount).toBe(1);
    expect(probe.av?.frames?.gaps[0]).toMatchObject({ afterFrame: 9, direction: 'forward' });
    expect(probe.av?.frames?.gaps[0].gapSeconds).toBeCloseTo(5.04, 3);
    expect(probe.warnings.join(' ')).toMatch(/1 timestamp discontinuities/);
    const wc = ok(await media.makeVideoWorkingCopy(f('gap.mp4'), out.dir, { probe }));
    const pts = framePts(wc.file.path);
    expect(pts[10] - pts[9]).toBeCloseTo(5.04, 3);
    expect(wc.frames.equal).toBe(true);
    const strict = ok(await media.probe(f('gap.mp4'), { gapThresholdSeconds: 10 }));
    expect(strict.av?.frames?.gapCount).toBe(0);
  });

  it('HEVC in MP4 and as a raw .265 stream become H.264 copies with every frame', async () => {
    const mp4 = ok(await media.makeVideoWorkingCopy(f('hevc.mp4'), out.dir));
    expect(ffprobeJson(mp4.file.path).streams[0].codec_name).toBe('h264');
    expect(mp4.frames).toEqual({ originalDecodedFrames: 10, workingCopyDecodedFrames: 10, equal: true });
    const raw = ok(await media.probe(f('raw.265')));
    expect(raw.detection).toMatchObject({ mime: 'video/h265', elementaryStream: 'hevc' });
    const rawCopy = ok(await media.makeVideoWorkingCopy(f('raw.265'), out.dir, { probe: raw, assumedFrameRate: '25' }));
    expect(rawCopy.assumedTiming).toMatchObject({ codec: 'hevc', assumedFrameRate: '25/1' });
    expect(decodedFrames(rawCopy.file.path)).toBe(10);
  });

  it('HDR (PQ, 10-bit) is tone-mapped to 8-bit BT.709 with every frame', async () => {
    const probe = ok(await media.probe(f('hdr.mp4')));
    expect(probe.av?.video[0]).toMatchObject({ hdr: true, colorTransfer: 'smpte2084', pixelFormat: 'yuv420p10le' });
    const wc = ok(await media.makeVideoWorkingCopy(f('hdr.mp4'), out.dir, { probe }));
    expect(wc.toneMapped).toBe(true);
    const v = ffprobeJson(wc.file.path).streams[0] as { pix_fmt?: string; color_transfer?: string };
    expect(v).toMatchObject({ pix_fmt: 'yuv420p', color_transfer: 'bt709' });
    expect(wc.frames).toEqual({ originalDecodedFrames: 10, workingCopyDecodedFrames: 10, equal: true });
  });

  it('1080p comes down to 1280x720 with its audio; a small clip is never enlarged', async () => {
    const probe = ok(await media.probe(f('hd.mp4')));
    const hd = ok(await media.makeVideoWorkingCopy(f('hd.mp4'), out.dir, { probe }));
    const p = ffprobeJson(hd.file.path);
    expect(p.streams[0]).toMatchObject({ codec_name: 'h264', width: 1280, height: 720 });
    expect(p.streams[1]).toMatchObject({ codec_name: 'aac' });
    expect(hd.frames.equal).toBe(true);
    smallProbe = ok(await media.probe(f('small.mp4')));
    smallCopy = ok(await media.makeVideoWorkingCopy(f('small.mp4'), out.dir, { probe: smallProbe }));
    expect([smallCopy.width, smallCopy.height]).toEqual([320, 240]);
    const limited = ok(await media.makeVideoWorkingCopy(f('small.mp4'), out.dir, { probe: smallProbe, maxHeight: 120 }));
    expect([limited.width, limited.height]).toEqual([160, 120]);
  });

  it('court copy: caption burnt in, run under the recorder\'s zone, frame-faithful, computation recorded', async () => {
    const progress: number[] = [];
    const cc = ok(
      await media.makeCourtCopy(f('small.mp4'), out.dir, {
        probe: smallProbe,
        exhibitReference: 'JS/1',
        recorderTimeAtStart: '2026-07-01T12:00:00',
        clockOffsetSeconds: -93,
        timeZone: 'Europe/London',
        onProgress: (p) => p.percent !== undefined && progress.push(p.percent),
      }),
    );
    expect(cc.frames.equal).toBe(true);
    expect(cc.caption.trueTimeAtStreamZeroUtc).toBe('2026-07-01T11:01:33.000Z');
    expect(cc.caption.examples[0].shownAs).toBe('JS/1  2026-07-01 12:01:33.000 BST');
    const step = cc.provenance.steps.find((s) => s.args.includes('{output}'));
    expect(step?.env?.TZ).toBe('Europe/London');
    expect(step?.args.join(' ')).toContain('drawtext=fontfile=');
    expect(progress[progress.length - 1]).toBe(100);
    // The caption changes the picture: the court copy differs from the plain working copy.
    expect(cc.file.sha256).not.toBe(smallCopy.file.sha256);
  });
});

describe('audio: telephony formats', () => {
  it.each([
    ['mulaw.wav', 'pcm_mulaw'],
    ['ima-adpcm.wav', 'adpcm_ima_wav'],
  ])('%s (%s) → AAC .m4a of the same length, and peaks', async (name, codec) => {
    const probe = ok(await media.probe(f(name)));
    expect(probe.detection).toMatchObject({ kind: 'audio', mime: 'audio/wav' });
    expect(probe.av?.audio[0]).toMatchObject({ codec, sampleRate: 8000, channels: 1 });
    const wc = ok(await media.makeAudioWorkingCopy(f(name), out.dir, { probe }));
    expect(ffprobeJson(wc.file.path).streams[0]).toMatchObject({ codec_name: 'aac', sample_rate: '8000' });
    expect(Math.abs(wc.durationSeconds - 2)).toBeLessThanOrEqual(0.13);
    const w = ok(await media.makeWaveform(f(name), out.dir, { probe, buckets: 100 }));
    expect(w.peaks.buckets).toBe(100);
    // A full-scale-ish sine: the peaks reach well beyond silence on both sides.
    expect(Math.max(...w.peaks.peaks)).toBeGreaterThan(0.05);
    expect(Math.min(...w.peaks.peaks)).toBeLessThan(-0.05);
  });

  const amrWb = hasEncoder('libvo_amrwbenc');
  (amrWb ? it : it.skip)(
    `AMR-WB voice memo${amrWb ? '' : ' (skipped: this ffmpeg has no AMR-WB encoder, libvo-amrwbenc is not enabled in Debian\'s build, so no AMR-WB file can be made here; decoding is covered by the native amrwb decoder)'}`,
    async () => {
      ffmpeg(...tone(1, 16000), '-c:a', 'libvo_amrwbenc', '-ar', '16000', '-ac', '1', f('memo.awb'));
      const wc = ok(await media.makeAudioWorkingCopy(f('memo.awb'), out.dir));
      expect(wc.sampleRate).toBe(16000);
    },
  );
});

describe('images', () => {
  it('JPEG: EXIF camera, time and GPS read; Orientation 6 applied exactly once; metadata stripped', async () => {
    const probe = ok(await media.probe(f('gps.jpg')));
    expect(probe.detection).toMatchObject({ kind: 'image', mime: 'image/jpeg' });
    expect(probe.image?.exif).toMatchObject({
      make: 'TestCam',
      model: 'Model 7',
      orientation: 6,
      captureTime: '2026:11:20 09:58:12 +00:00',
      captureTimeIso: '2026-11-20T09:58:12Z',
      gps: { latitude: 51.5072222, longitude: -0.1275, source: 'exif' },
    });
    expect(probe.image).toMatchObject({ width: 64, height: 48, displayWidth: 48, displayHeight: 64 });
    expect(probe.provenance.tools.exifReader).toBe('2.0.3');
    expect(probe.provenance.steps.map((s) => s.tool)).toEqual(['sharp']);
    expect(probe.raw.exif).toHaveProperty('GPSInfo');
    const prev = ok(await media.makeImagePreview(f('gps.jpg'), out.dir, { probe, thumbnailMaxSide: 32 }));
    expect([prev.preview.width, prev.preview.height]).toEqual([48, 64]); // never enlarged, turned upright
    expect([prev.thumbnail.width, prev.thumbnail.height]).toEqual([24, 32]);
    expect(prev.orientationFrom).toBe('exif');
    // Orientation 6 = turn 90° clockwise: the red top-left block is now top-right.
    expect(pixel(prev.preview.path, 40, 2)[0]).toBeGreaterThan(150);
    expect(pixel(prev.preview.path, 2, 2)[1]).toBeGreaterThan(150); // white, not red
    expect(readFileSync(prev.preview.path).includes(Buffer.from('Exif\0\0', 'latin1'))).toBe(false);
    expect(prev.provenance.steps.filter((s) => s.tool === 'sharp')).toHaveLength(2);
  });

  it('iPhone-style HEIC: decoded through heif-convert, EXIF read from the HEIC', async () => {
    const probe = ok(await media.probe(f('photo.heic')));
    expect(probe.detection).toMatchObject({ kind: 'image', mime: 'image/heic', format: 'heic' });
    expect(probe.image?.exif).toMatchObject({ make: 'TestCam', gps: { latitude: 51.5072222 } });
    const prev = ok(await media.makeImagePreview(f('photo.heic'), out.dir, { probe }));
    expect(prev.decodedVia).toBe('heif-convert');
    expect(prev.orientationFrom).toBe('heif-transforms');
    expect(ffprobeJson(prev.preview.path).streams[0]).toMatchObject({ codec_name: 'mjpeg', width: 64, height: 48 });
    expect(prev.provenance.steps.map((s) => s.tool)).toEqual(['heif-convert', 'sharp', 'sharp']);
    expect(prev.provenance.tools.heifConvert).toMatch(/libheif version: 1\.\d+/);
  });

  it('a truncated JPEG is a clear failure (failOn: error), not a half picture', async () => {
    const r = await media.makeImagePreview(f('truncated.jpg'), out.dir);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.failure).toMatchObject({ code: 'MEDIA_UNDECODABLE', needsSpecialistTool: true, tool: 'sharp' });
  });
});

describe('things that are not media', () => {
  it('random bytes and an empty file: detected as other / failed, never a crash', async () => {
    writeFileSync(f('random.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
    writeFileSync(f('empty.mp4'), Buffer.alloc(0));
    const d = ok(await media.detect(f('random.bin')));
    expect(d).toMatchObject({ kind: 'other', mime: 'application/octet-stream' });
    const wc = await media.makeVideoWorkingCopy(f('random.bin'), out.dir);
    expect(wc.ok ? 'ok' : wc.failure).toMatchObject({ code: 'MEDIA_UNSUPPORTED', needsSpecialistTool: true });
    const empty = await media.probe(f('empty.mp4'));
    expect(empty.ok ? 'ok' : empty.failure).toMatchObject({ code: 'MEDIA_UNDECODABLE', message: expect.stringMatching(/empty/) });
    const missing = await media.makeVideoWorkingCopy(f('nope.mp4'), out.dir);
    expect(missing.ok ? 'ok' : missing.failure.code).toBe('MEDIA_INPUT_UNREADABLE');
    const audioOfVideo = await media.makeAudioWorkingCopy(f('small.mp4'), out.dir);
    expect(audioOfVideo.ok ? 'ok' : audioOfVideo.failure.code).toBe('MEDIA_UNSUPPORTED');
    await expect(media.makeVideoWorkingCopy(f('small.mp4'), f('no-such-folder'))).rejects.toMatchObject({ code: 'MEDIA_INVALID_OPTIONS' });
  });

  it('leaves only finished outputs in the output folder', () => {
    expect(listDir(out.dir).filter((n) => n.startsWith('.') || n.includes('partial'))).toEqual([]);
  });
});
