import { describe, expect, it } from '@jest/globals';
import { buildAudioWorkingCopyCommand, buildPcmDecodeCommand } from './audio-working-copy.command.js';
import { aacBitRate } from './media-recipes.js';

describe('audio commands', () => {
  const source = { input: { url: false }, audio: { index: 0, sampleRate: 8000, channels: 1 } };

  it('AAC in .m4a: the whole argv', () => {
    expect(buildAudioWorkingCopyCommand(source).args).toEqual([
      '-nostdin', '-hide_banner', '-loglevel', 'repeat+level+warning',
      '-nostats', '-progress', 'pipe:1',
      '-protocol_whitelist', 'file', '-i', '{input}',
      '-map', '0:0', '-vn', '-c:a', 'aac', '-b:a', '48000',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-fflags', '+bitexact', '-flags:a', '+bitexact',
      '-movflags', '+faststart', '-f', 'ipod', '{output}',
    ]);
  });

  it('keeps the source rate and channels (no -ar, no -ac)', () => {
    const args = buildAudioWorkingCopyCommand({ ...source, audio: { index: 2, sampleRate: 16000, channels: 2 } }).args;
    expect(args).not.toContain('-ar');
    expect(args).not.toContain('-ac');
    expect(args).toContain('0:2');
  });

  it.each([
    [8000, 1, 48000],
    [16000, 1, 64000],
    [44100, 2, 128000],
    [48000, 6, 384000],
    [11025, 2, 128000],
    [6000, 1, 36000],
  ])('AAC bit rate at %i Hz × %i ch = %i (capped at what the encoder can spend)', (rate, ch, br) => {
    expect(aacBitRate(rate, ch)).toBe(br);
  });

  it('PCM decode for peaks: mono s16le on stdout, no resampling', () => {
    const args = buildPcmDecodeCommand(source).args;
    expect(args.slice(-8)).toEqual(['-vn', '-ac', '1', '-c:a', 'pcm_s16le', '-f', 's16le', 'pipe:1']);
    expect(args).not.toContain('-ar');
  });
});
