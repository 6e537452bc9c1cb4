import { describe, expect, it } from '@jest/globals';
import { escapeDrawtextLiteral, escapeFilterGraph, escapeFilterOption, filter, inputArgs } from './ffmpeg-args.js';
import { buildFrameScanCommand, buildProbeCommand } from './probe.command.js';

describe('escaping (the three levels ffmpeg parses)', () => {
  it.each([
    [escapeDrawtextLiteral, '50% \\ ok', '50\\% \\\\ ok'],
    [escapeFilterOption, "a:b'c\\d", "a\\:b\\'c\\\\d"],
    [escapeFilterGraph, "x,y;[z]'\\", "x\\,y\\;\\[z\\]\\'\\\\"],
  ])('%p', (fn, input, expected) => {
    expect(fn(input)).toBe(expected);
  });

  it('filter(): option values escaped, then the filter for the graph', () => {
    expect(filter('scale', [['w', 1280], ['h', 720]])).toBe('scale=w=1280:h=720');
    expect(filter('drawtext', [['text', 'a:b,c']])).toBe('drawtext=text=a\\\\:b\\,c');
  });
});

describe('input options', () => {
  it('local files: file protocol only', () => {
    expect(inputArgs({ url: false }, 'ffmpeg')).toEqual(['-protocol_whitelist', 'file', '-i', '{input}']);
  });
  it('ffprobe never gets -r (it has no such input option)', () => {
    expect(inputArgs({ url: false, forceFormat: 'h264', assumedFrameRate: '25/1' }, 'ffprobe')).toEqual(['-protocol_whitelist', 'file', '-f', 'h264', '-i', '{input}']);
  });
});

describe('probe commands', () => {
  it('JSON with errors, format, streams, chapters', () => {
    expect(buildProbeCommand({ url: false }).args).toEqual(['-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file', '-i', '{input}', '-of', 'json', '-show_error', '-show_format', '-show_streams', '-show_chapters']);
    expect(buildProbeCommand({ url: false }, true).args).toContain('-count_frames');
  });
  it('frame scan: one stream, every decoded frame, packet count', () => {
    const args = buildFrameScanCommand({ url: false }, 3).args;
    expect(args).toEqual(expect.arrayContaining(['-select_streams', '3', '-count_packets', '-show_frames', '-of', 'compact=nk=0']));
    expect(args.join(' ')).toContain('frame=best_effort_timestamp_time,pkt_duration_time,interlaced_frame:stream=nb_read_packets');
  });
});
