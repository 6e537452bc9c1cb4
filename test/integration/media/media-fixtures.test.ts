import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, statSync } from 'node:fs';
import { MediaService, type MediaProbe, type MediaResult } from '../../../libs/media/index.js';
import { fixturePath } from '../../support/fixtures.js';
import { decodedFrames, ffprobeJson, listDir, scratch, sha256File, topLevelBoxes } from './media-test-kit.js';

/**
 * Every file in test/fixtures/video, audio and malformed through detection, probe and the
 * working-copy functions, with real ffmpeg; outputs are checked with ffprobe directly. The
 * facts asserted are those test/fixtures/README.md lists.
 */
const media = new MediaService();
const out = scratch('dems-media-fixtures-');
afterAll(() => out.remove());

function ok<T>(r: MediaResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got ${r.failure.code}: ${r.failure.message}\n${r.failure.detail ?? ''}`);
  return r.value;
}

describe('video fixtures', () => {
  const cases = [
    // thumbs: one per 0.1 s of stream time (4 s, 1 s and 0.3 s long).
    { file: 'BA_MW_D.264', mime: 'video/h264', format: 'h264', width: 176, height: 144, frames: 100, elementary: true, thumbs: 40 },
    { file: 'sample_h264.ts', mime: 'video/mp2t', format: 'mpegts', width: 854, height: 480, frames: 30, elementary: false, thumbs: 10 },
    { file: 'stub_mjpeg.avi', mime: 'video/x-msvideo', format: 'avi', width: 160, height: 120, frames: 3, elementary: false, thumbs: 3 },
  ];

  for (const c of cases) {
    describe(c.file, () => {
      const input = fixturePath('video', c.file);
      let probe: MediaProbe;

      beforeAll(async () => {
        probe = ok(await media.probe(input));
      });

      it('is detected as video by its content', async () => {
        const d = ok(await media.detect(input));
        expect(d).toMatchObject({ kind: 'video', mime: c.mime, format: c.format });
        expect(probe.detection.kind).toBe('video');
      });

      it('probes: codec, size, decoded frame count, raw ffprobe kept', () => {
        const v = probe.av?.video[0];
        expect(v).toMatchObject({ width: c.width, height: c.height, rotation: 0 });
        expect(probe.av?.frames?.decodedFrames).toBe(c.frames);
        expect(probe.raw.ffprobe).toHaveProperty('streams');
        expect(probe.provenance.input.sha256).toBe(sha256File(input));
        if (c.elementary) {
          expect(probe.av?.elementaryStream).toMatchObject({ codec: 'h264', assumedFrameRate: '25/1', assumedFrameRateSource: 'default' });
          expect(probe.av?.frames?.timing).toBe('assumed');
          expect(probe.av?.container.durationSeconds).toBeUndefined();
        }
      });

      it('makes a frame-faithful H.264/AAC MP4 working copy with the index first', async () => {
        const wc = ok(await media.makeVideoWorkingCopy(input, out.dir, { probe }));
        const p = ffprobeJson(wc.file.path);
        expect(p.format.format_name).toContain('mp4');
        expect(p.streams[0]).toMatchObject({ codec_type: 'video', codec_name: 'h264', width: c.width, height: c.height });
        expect(decodedFrames(wc.file.path)).toBe(c.frames);
        expect(wc.frames).toEqual({ originalDecodedFrames: c.frames, workingCopyDecodedFrames: c.frames, equal: true });
        const boxes = topLevelBoxes(wc.file.path);
        expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
        expect(wc.file.sha256).toBe(sha256File(wc.file.path));
        expect(wc.file.sizeBytes).toBe(statSync(wc.file.path).size);
        expect(wc.encoder).toMatch(/^x264 - core \d+/);
        expect(wc.duplicatedFrames).toBe(0);
        expect(wc.droppedFrames).toBe(0);
        if (c.elementary) {
          expect(wc.assumedTiming?.assumedFrameRate).toBe('25/1');
          expect(Number(p.format.duration)).toBeCloseTo(4, 2); // 100 frames at the assumed 25/s
        }
      });

      it('makes a poster frame and a contact sheet', async () => {
        const poster = ok(await media.makePosterFrame(input, out.dir, { probe }));
        expect(poster.file.mime).toBe('image/jpeg');
        expect([poster.width, poster.height]).toEqual([c.width, c.height]);
        expect(ffprobeJson(poster.file.path).streams[0].codec_name).toBe('mjpeg');
        const sheet = ok(await media.makeContactSheet(input, out.dir, { probe, intervalSeconds: 0.1 }));
        expect(sheet.thumbnails).toBe(c.thumbs);
        expect(sheet.columns).toBe(Math.min(5, c.thumbs));
        expect(ffprobeJson(sheet.file.path).streams[0]).toMatchObject({ codec_name: 'mjpeg', width: sheet.width, height: sheet.height });
        expect(existsSync(sheet.file.path)).toBe(true);
      });
    });
  }

  it('honours a caller-supplied frame rate for a raw stream and records it as the caller\'s', async () => {
    const input = fixturePath('video', 'BA_MW_D.264');
    const wc = ok(await media.makeVideoWorkingCopy(input, out.dir, { assumedFrameRate: '10' }));
    expect(wc.assumedTiming).toMatchObject({ assumedFrameRate: '10/1', assumedFrameRateSource: 'caller' });
    expect(Number(ffprobeJson(wc.file.path).format.duration)).toBeCloseTo(10, 2); // 100 frames at 10/s
    expect(wc.frames.equal).toBe(true);
    expect(wc.provenance.steps.some((s) => s.tool === 'ffmpeg' && s.args.join(' ').includes('-f h264 -r 10/1 -i {input}'))).toBe(true);
  });
});

describe('audio fixtures', () => {
  const cases = [
    { file: 'g711-alaw-8k.wav', mime: 'audio/wav', codec: 'pcm_alaw', duration: 6.0 },
    { file: 'sample_nb.amr', mime: 'audio/amr', codec: 'amr_nb', duration: 4.36 },
  ];
  for (const c of cases) {
    describe(c.file, () => {
      const input = fixturePath('audio', c.file);
      let probe: MediaProbe;
      beforeAll(async () => {
        probe = ok(await media.probe(input));
      });

      it('is detected and probed as audio', () => {
        expect(probe.detection).toMatchObject({ kind: 'audio', mime: c.mime });
        expect(probe.av?.audio[0]).toMatchObject({ codec: c.codec, sampleRate: 8000, channels: 1 });
        expect(probe.av?.durationSeconds).toBeCloseTo(c.duration, 3);
        expect(probe.av?.frames).toBeUndefined();
      });

      it('makes an AAC .m4a working copy of the same length (within one AAC frame)', async () => {
        const wc = ok(await media.makeAudioWorkingCopy(input, out.dir, { probe }));
        const p = ffprobeJson(wc.file.path);
        expect(p.streams[0]).toMatchObject({ codec_name: 'aac', sample_rate: '8000', channels: 1 });
        expect(p.format.tags?.major_brand).toBe('M4A ');
        expect(Math.abs(Number(p.format.duration) - c.duration)).toBeLessThanOrEqual(1024 / 8000);
        expect(wc.originalDecodedSeconds).toBeCloseTo(c.duration, 3);
        expect(wc.bitRate).toBe(48000); // the AAC ceiling at 8 kHz mono, not a clamped 64k
      });

      it('draws waveform peaks from streamed PCM: fixed bucket count, JSON and PNG', async () => {
        const w = ok(await media.makeWaveform(input, out.dir, { probe, buckets: 200 }));
        expect(w.peaks.buckets).toBe(200);
        expect(w.peaks.peaks).toHaveLength(400);
        expect(w.peaks.totalSamples).toBe(Math.round(c.duration * 8000));
        expect(w.peaks.exact).toBe(true);
        expect(Math.max(...w.peaks.peaks)).toBeGreaterThan(0.01); // there is sound
        expect(w.peaks.peaks.every((v) => v >= -1 && v <= 1)).toBe(true);
        expect(ffprobeJson(w.png.path).streams[0]).toMatchObject({ codec_name: 'png', width: 1000, height: 200 });
      });
    });
  }
});

describe('malformed fixtures fail clearly, as values', () => {
  it('MP4 without its moov atom: MEDIA_UNDECODABLE, needs a specialist tool, says why', async () => {
    const input = fixturePath('malformed', 'sample_malformed_free_box.mp4');
    expect(ok(await media.detect(input))).toMatchObject({ kind: 'video', mime: 'video/mp4' });
    const r = await media.probe(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure).toMatchObject({ code: 'MEDIA_UNDECODABLE', needsSpecialistTool: true, retryable: false });
    expect(r.failure.message).toMatch(/index \(moov atom\) is missing/);
    expect(r.failure.detail).toMatch(/moov atom not found/);
    const wc = await media.makeVideoWorkingCopy(input, out.dir);
    expect(wc.ok ? 'ok' : wc.failure.code).toBe('MEDIA_UNDECODABLE');
  });

  it('WebM with corrupt VP9 frames: MEDIA_UNDECODABLE (no frame decodes), from the decoder\'s own words', async () => {
    const input = fixturePath('malformed', 'invalid-bitstream.webm');
    const r = await media.makeVideoWorkingCopy(input, out.dir);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.failure).toMatchObject({ code: 'MEDIA_UNDECODABLE', needsSpecialistTool: true });
    expect(r.failure.message).toMatch(/could not be decoded/);
    expect(r.failure.detail).toMatch(/Invalid (sync code|frame marker)/);
  });

  it('raw H.264 with damaged I and P frames: a copy of what decodes, flagged with decode errors', async () => {
    const input = fixturePath('malformed', 'Error_I_P.264');
    const wc = ok(await media.makeVideoWorkingCopy(input, out.dir));
    expect(wc.quality).toBe('with-decode-errors');
    expect(wc.decodeErrors).toBeGreaterThan(0);
    expect(wc.frames).toEqual({ originalDecodedFrames: 6, workingCopyDecodedFrames: 6, equal: true });
    expect(decodedFrames(wc.file.path)).toBe(6);
    expect(wc.warnings.join(' ')).toMatch(/damaged frames/);
    expect(wc.assumedTiming?.assumedFrameRate).toBe('25/1');
  });

  it('leaves no scratch or partial files behind, success or failure', () => {
    expect(listDir(out.dir).filter((f) => f.startsWith('.') || f.includes('partial'))).toEqual([]);
  });
});
