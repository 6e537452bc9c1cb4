import { describe, expect, it } from '@jest/globals';
import { displayRotation, parseFfprobe, parseIso6709, probeError, rationalValue } from './ffprobe-facts.parser.js';

const video = (extra: Record<string, unknown> = {}) => ({
  index: 0,
  codec_type: 'video',
  codec_name: 'h264',
  width: 1920,
  height: 1080,
  sample_aspect_ratio: '1:1',
  r_frame_rate: '30000/1001',
  avg_frame_rate: '30000/1001',
  field_order: 'progressive',
  ...extra,
});

describe('parseFfprobe', () => {
  it('keeps frame rates as rationals and handles 0/0 (PeerTube#6403)', () => {
    const f = parseFfprobe({ streams: [video(), video({ index: 1, r_frame_rate: '0/0', avg_frame_rate: '0/0' })], format: { format_name: 'mov,mp4,m4a,3gp,3g2,mj2', duration: '2.5' } });
    expect(f.video[0].rFrameRate).toBe('30000/1001');
    expect(f.video[1].avgFrameRate).toBe('0/0');
    expect(rationalValue('0/0')).toBeUndefined();
    expect(rationalValue('30000/1001')).toBeCloseTo(29.97, 2);
    expect(f.durationSeconds).toBe(2.5);
  });

  it('VFR clip: r_frame_rate is a guess (90000/1) and is only reported', () => {
    const f = parseFfprobe({ streams: [video({ r_frame_rate: '90000/1', avg_frame_rate: '3003/100' })], format: {} });
    expect(f.video[0]).toMatchObject({ rFrameRate: '90000/1', avgFrameRate: '3003/100' });
  });

  it.each([
    ['display matrix 90 (ffprobe 5.1 counter-clockwise)', { side_data_list: [{ side_data_type: 'Display Matrix', rotation: 90 }] }, 270],
    ['display matrix -90', { side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] }, 90],
    ['display matrix 180', { side_data_list: [{ side_data_type: 'Display Matrix', rotation: 180 }] }, 180],
    ['display matrix -180', { side_data_list: [{ side_data_type: 'Display Matrix', rotation: -180 }] }, 180],
    ['legacy rotate tag 90 (clockwise)', { tags: { rotate: '90' } }, 90],
    ['legacy rotate tag 270', { tags: { rotate: '270' } }, 270],
    ['no rotation', {}, 0],
  ])('rotation from %s', (_n, extra, expected) => {
    expect(displayRotation(extra as never)).toBe(expected);
    const f = parseFfprobe({ streams: [video(extra)], format: {} });
    const swapped = expected === 90 || expected === 270;
    expect([f.video[0].displayWidth, f.video[0].displayHeight]).toEqual(swapped ? [1080, 1920] : [1920, 1080]);
  });

  it('non-square pixels: display size from the SAR (PAL 720x576 at 16:15 shows as 768x576)', () => {
    const f = parseFfprobe({ streams: [video({ width: 720, height: 576, sample_aspect_ratio: '16:15', display_aspect_ratio: '4:3' })], format: {} });
    expect(f.video[0]).toMatchObject({ sampleAspectRatio: '16:15', displayAspectRatio: '4:3', displayWidth: 768, displayHeight: 576 });
  });

  it('interlacing from the field order; HDR from the transfer', () => {
    const f = parseFfprobe({ streams: [video({ field_order: 'tt' }), video({ index: 1, color_transfer: 'smpte2084' }), video({ index: 2, color_transfer: 'arib-std-b67' })], format: {} });
    expect(f.video.map((v) => [v.interlaced, v.hdr])).toEqual([
      [true, false],
      [false, true],
      [false, true],
    ]);
  });

  it('cover art (attached_pic) is not a video stream', () => {
    const f = parseFfprobe({
      streams: [
        { index: 0, codec_type: 'audio', codec_name: 'mp3', sample_rate: '44100', channels: 2 },
        video({ index: 1, codec_name: 'mjpeg', disposition: { attached_pic: 1 } }),
      ],
      format: { format_name: 'mp3' },
    });
    expect(f.video).toHaveLength(0);
    expect(f.audio[0]).toMatchObject({ codec: 'mp3', sampleRate: 44100, channels: 2 });
  });

  it('creation time and ISO 6709 location from the container tags', () => {
    const f = parseFfprobe({ streams: [video()], format: { tags: { creation_time: '2026-11-20T09:58:12.000000Z', location: '+51.5074-000.1278/' } } });
    expect(f.creationTime).toBe('2026-11-20T09:58:12.000000Z');
    expect(f.gps).toMatchObject({ latitude: 51.5074, longitude: -0.1278, source: 'iso6709-tag' });
  });

  it('parses ISO 6709 with altitude and refuses nonsense', () => {
    expect(parseIso6709('+35.6762+139.6503+040.000/')).toMatchObject({ latitude: 35.6762, longitude: 139.6503, altitudeMetres: 40 });
    expect(parseIso6709('north-ish')).toBeUndefined();
    expect(parseIso6709('+95.0+010.0/')).toBeUndefined();
  });

  it('an {error} object is reported as such', () => {
    expect(probeError({ error: { code: -1094995529, string: 'Invalid data found when processing input' } })).toMatch(/Invalid data/);
    expect(probeError({ streams: [] })).toBeUndefined();
  });
});
