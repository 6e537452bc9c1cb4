import { describe, expect, it } from '@jest/globals';
import { buildCaption, buildCourtCopyCommand } from './court-copy.command.js';
import { buildContactSheetCommand } from './contact-sheet.command.js';
import { buildPosterFrameCommand } from './poster-frame.command.js';
import { buildVideoWorkingCopyCommand, type VideoSource } from './video-working-copy.command.js';

const src = (video: Partial<VideoSource['video']> = {}, extra: Partial<VideoSource> = {}): VideoSource => ({
  input: { url: false },
  video: { index: 0, displayWidth: 1920, displayHeight: 1080, rotation: 0, interlaced: false, hdr: false, ...video },
  audio: { index: 1, sampleRate: 48000, channels: 2 },
  ...extra,
});

const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];

describe('buildVideoWorkingCopyCommand', () => {
  it('CFR landscape 1080p: the whole argv', () => {
    const cmd = buildVideoWorkingCopyCommand({ source: src(), maxShortSide: 720 });
    expect(cmd.args).toEqual([
      '-nostdin', '-hide_banner', '-loglevel', 'repeat+level+warning',
      '-nostats', '-progress', 'pipe:1',
      '-protocol_whitelist', 'file', '-i', '{input}',
      '-map', '0:0', '-map', '0:1',
      '-sws_flags', 'lanczos+accurate_rnd+bitexact',
      '-vf', 'scale=w=1280:h=720:flags=lanczos+accurate_rnd+bitexact,setsar=sar=1,format=pix_fmts=yuv420p',
      '-c:v', 'libx264', '-preset', 'medium', '-crf', '20', '-profile:v', 'high', '-threads', '4',
      '-fps_mode', 'passthrough', '-enc_time_base:v', '-1',
      '-c:a', 'aac', '-b:a', '128000',
      '-max_muxing_queue_size', '4096', '-map_metadata', '-1', '-map_chapters', '-1',
      '-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact',
      '-movflags', '+faststart', '-f', 'mp4', '{output}',
    ]);
    expect([cmd.width, cmd.height]).toEqual([1280, 720]);
  });

  it('rotated portrait: sized from the displayed size (720x1280), rotation left to ffmpeg', () => {
    const cmd = buildVideoWorkingCopyCommand({ source: src({ displayWidth: 1080, displayHeight: 1920, rotation: 90 }), maxShortSide: 720 });
    expect(after(cmd.args, '-vf')).toContain('scale=w=720:h=1280');
    expect(cmd.args).not.toContain('-noautorotate');
  });

  it('small source: never upscaled; odd size made even', () => {
    expect(after(buildVideoWorkingCopyCommand({ source: src({ displayWidth: 176, displayHeight: 144 }), maxShortSide: 720 }).args, '-vf')).toContain('scale=w=176:h=144');
    expect(after(buildVideoWorkingCopyCommand({ source: src({ displayWidth: 175, displayHeight: 143 }), maxShortSide: 720 }).args, '-vf')).toContain('scale=w=174:h=142');
  });

  it('interlaced: bwdif one frame per frame, only flagged frames', () => {
    const cmd = buildVideoWorkingCopyCommand({ source: src({ interlaced: true }), maxShortSide: 720 });
    expect(after(cmd.args, '-vf')).toMatch(/^bwdif=mode=send_frame:parity=auto:deint=interlaced,scale=/);
    expect(cmd.deinterlace).toBe(true);
  });

  it('HDR: tone-mapped to BT.709 before the pixel format', () => {
    const vf = after(buildVideoWorkingCopyCommand({ source: src({ hdr: true }), maxShortSide: 720 }).args, '-vf');
    expect(vf).toMatch(/zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,scale=/);
  });

  it('no audio: no audio map and no audio options', () => {
    const cmd = buildVideoWorkingCopyCommand({ source: src({}, { audio: undefined }), maxShortSide: 720 });
    expect(cmd.args.filter((a) => a.startsWith('0:'))).toEqual(['0:0']);
    expect(cmd.args).not.toContain('-c:a');
    expect(cmd.args).not.toContain('-b:a');
  });

  it('raw elementary stream: -f and the assumed -r before -i', () => {
    const cmd = buildVideoWorkingCopyCommand({ source: src({ displayWidth: 176, displayHeight: 144 }, { input: { url: false, forceFormat: 'h264', assumedFrameRate: '25/1' }, audio: undefined }), maxShortSide: 720 });
    const i = cmd.args.indexOf('-i');
    expect(cmd.args.slice(i - 4, i + 2)).toEqual(['-f', 'h264', '-r', '25/1', '-i', '{input}']);
  });

  it('URL input: HTTP(S) only, seekable, reconnecting, with a read timeout', () => {
    const cmd = buildVideoWorkingCopyCommand({ source: src({}, { input: { url: true } }), maxShortSide: 720 });
    expect(after(cmd.args, '-protocol_whitelist')).toBe('http,https,tls,tcp');
    expect(after(cmd.args, '-seekable')).toBe('1');
    expect(after(cmd.args, '-reconnect')).toBe('1');
    expect(after(cmd.args, '-rw_timeout')).toBe('30000000');
    expect(cmd.args.indexOf('-rw_timeout')).toBeLessThan(cmd.args.indexOf('-i'));
  });
});

describe('invariants over every video builder', () => {
  const sources = [
    src(),
    src({ displayWidth: 1080, displayHeight: 1920, rotation: 270 }),
    src({ interlaced: true }),
    src({ hdr: true }),
    src({}, { audio: undefined }),
    src({}, { input: { url: true } }),
    src({ displayWidth: 176, displayHeight: 144 }, { input: { url: false, forceFormat: 'h264', assumedFrameRate: '25/1' } }),
  ];
  const caption = { exhibitReference: 'JS/1', recorderTimeAtStart: '2026-11-20T09:58:12', clockOffsetSeconds: -93, timeZone: 'Europe/London' };
  const encoders = sources.flatMap((s) => [buildVideoWorkingCopyCommand({ source: s, maxShortSide: 720 }), buildCourtCopyCommand(s, 720, caption)]);
  const stills = sources.flatMap((s) => [buildPosterFrameCommand({ source: s, atSeconds: 1, maxShortSide: 720 }), buildContactSheetCommand({ source: s, intervalSeconds: 2 })]);

  it.each(encoders.map((c, i) => [i, c.args] as [number, string[]]))('encoder %i: always passthrough timing, pinned threads, whitelist, bitexact', (_i, args) => {
    for (const flag of ['-nostdin', '-fps_mode', '-enc_time_base:v', '-threads', '-protocol_whitelist', '-map_metadata', '-movflags', '-sws_flags']) expect(args).toContain(flag);
    expect(after(args, '-sws_flags')).toBe('lanczos+accurate_rnd+bitexact');
    expect(after(args, '-fps_mode')).toBe('passthrough');
    expect(after(args, '-enc_time_base:v')).toBe('-1');
    expect(after(args, '-threads')).toBe('4');
    expect(args.join(' ')).toContain('-fflags +bitexact -flags:v +bitexact -flags:a +bitexact');
  });

  it.each([...encoders, ...stills].map((c, i) => [i, c.args] as [number, string[]]))('command %i: never re-times, never cuts, never fails on damage', (_i, args) => {
    const outputSide = args.slice(args.indexOf('-i') + 2);
    expect(outputSide).not.toContain('-r');
    expect(outputSide).not.toContain('-vsync');
    expect(outputSide).not.toContain('-shortest');
    expect(outputSide).not.toContain('-t');
    expect(outputSide).not.toContain('-ss');
    expect(args).not.toContain('-xerror');
    expect(args).not.toContain('-noautorotate');
    expect(args.join(' ')).not.toMatch(/(^|[,=])fps=/);
    const vf = after(args, '-vf');
    if (vf.includes('bwdif')) expect(vf).toContain('bwdif=mode=send_frame');
    expect(args[0]).toBe('-nostdin');
    expect(args).toContain('-protocol_whitelist');
  });
});

describe('poster frame and contact sheet', () => {
  it('poster: seek before -i to the requested time, one PNG frame at the working-copy size', () => {
    const cmd = buildPosterFrameCommand({ source: src(), atSeconds: 2.5, maxShortSide: 720 });
    expect(cmd.args.indexOf('-ss')).toBeLessThan(cmd.args.indexOf('-i'));
    expect(after(cmd.args, '-ss')).toBe('2.500000');
    expect(after(cmd.args, '-frames:v')).toBe('1');
    expect(after(cmd.args, '-c:v')).toBe('png');
    expect([cmd.width, cmd.height]).toEqual([1280, 720]);
    expect(buildPosterFrameCommand({ source: src(), atSeconds: 0, maxShortSide: 720 }).args).not.toContain('-ss');
    expect(() => buildPosterFrameCommand({ source: src(), atSeconds: -1, maxShortSide: 720 })).toThrow();
  });

  it('contact sheet: fixed grid by stream time, labelled, numbered PNGs in the scratch folder', () => {
    const cmd = buildContactSheetCommand({ source: src(), intervalSeconds: 10, thumbWidth: 240 });
    const vf = after(cmd.args, '-vf');
    expect(vf).toContain('select=expr=isnan(prev_selected_t)+gt(floor(t/10+0.000001)\\,floor(prev_selected_t/10+0.000001))');
    expect(vf).toContain('%{pts\\\\:hms}');
    expect(cmd.args[cmd.args.length - 1]).toBe('{tmp}/thumb-%05d.png');
    expect([cmd.thumbWidth, cmd.thumbHeight]).toEqual([240, 136]);
    expect(after(cmd.args, '-fps_mode')).toBe('passthrough');
    expect(() => buildContactSheetCommand({ source: src(), intervalSeconds: 0 })).toThrow();
  });
});

describe('court copy', () => {
  it('is the working copy plus two caption filters, run under TZ=<zone>', () => {
    const caption = { exhibitReference: 'JS/1', recorderTimeAtStart: '2026-11-20T09:58:12', clockOffsetSeconds: -93, timeZone: 'Europe/London' };
    const court = buildCourtCopyCommand(src(), 720, caption);
    const wc = buildVideoWorkingCopyCommand({ source: src(), maxShortSide: 720 });
    expect(after(court.args, '-vf').startsWith(after(wc.args, '-vf') + ',drawtext=')).toBe(true);
    expect(after(court.args, '-vf').match(/drawtext=/g)).toHaveLength(2);
    expect(court.env).toEqual({ TZ: 'Europe/London' });
    expect(court.caption.trueTimeAtStreamZeroUtc).toBe(buildCaption(caption, 720).computation.trueTimeAtStreamZeroUtc);
  });
});
