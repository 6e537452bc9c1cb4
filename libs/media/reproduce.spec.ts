import { describe, expect, it } from '@jest/globals';
import type { ProvenanceRecord, ToolStep } from './media.types.js';
import { inputArgs } from './ffmpeg-args.js';
import { asLocalInput, compareTools, explainDifferences, reproductionPlan } from './reproduce.js';

const tools: ProvenanceRecord['tools'] = {
  ffmpeg: 'ffmpeg version 5.1.8-0+deb12u1',
  ffprobe: 'ffprobe version 5.1.8-0+deb12u1',
  ffmpegLibraries: ['libavcodec 59. 37.100 / 59. 37.100'],
  heifConvert: 'libheif version: 1.15.1',
  sharp: '0.35.0',
  libvips: '8.17.0',
  exifReader: '2.0.0',
};
const step = (tool: ToolStep['tool'], args: string[]): ToolStep => ({ tool, version: 'v', args, startedAt: '2026-11-30T00:00:00Z', durationMs: 1 });
const record = (steps: ToolStep[], outputs = 1): ProvenanceRecord => ({
  derivative: 'video-working-copy',
  recipeVersion: 'video-working-copy/h264-aac-mp4/1',
  input: { ref: 'x.mp4', sha256: 'a'.repeat(64), sha256Source: 'declared-by-caller' },
  outputs: Array.from({ length: outputs }, (_, i) => ({ role: `r${i}`, fileName: `f${i}`, mime: 'video/mp4', sha256: 'b'.repeat(64), sizeBytes: 10 })),
  steps,
  tools,
  assumptions: {},
  verification: {},
  startedAt: '',
  finishedAt: '',
  durationMs: 0,
});

describe('reproductionPlan', () => {
  it('takes the one ffmpeg step that writes {output}, leaving out the probes around it', () => {
    const encode = step('ffmpeg', ['-i', '{input}', '-f', 'mp4', '{output}']);
    const plan = reproductionPlan(record([step('ffprobe', ['-i', '{input}']), encode, step('ffprobe', ['{output}'])]));
    expect(plan).toEqual({ step: encode });
  });

  it('reads the original as a local file where the worker read it over HTTP; nothing else changes', () => {
    const tail = ['-map', '0:0', '-c:v', 'libx264', '-f', 'mp4', '{output}'];
    const fromUrl = ['-nostdin', ...inputArgs({ url: true, forceFormat: 'h264', assumedFrameRate: '25/1' }, 'ffmpeg'), ...tail];
    expect(asLocalInput(fromUrl)).toEqual(['-nostdin', '-protocol_whitelist', 'file', '-f', 'h264', '-r', '25/1', '-i', '{input}', ...tail]);
    const fromFile = ['-nostdin', ...inputArgs({ url: false }, 'ffmpeg'), ...tail];
    expect(asLocalInput(fromFile)).toEqual(fromFile);
  });

  it('says why a recipe finished by sharp, or with several outputs, is not one command', () => {
    const poster = reproductionPlan(record([step('ffmpeg', ['-i', '{input}', '{tmp}/f.png']), step('sharp', ['{"jpeg":{}}'])]));
    expect(poster).toEqual({ unsupported: expect.stringMatching(/not made by one recorded command.*ffmpeg, sharp/) });
    expect(reproductionPlan(record([step('ffmpeg', ['{output}'])], 2))).toHaveProperty('unsupported');
  });
});

describe('compareTools and explainDifferences', () => {
  it('names each difference: the original, a tool build, the exit and the output hash', () => {
    const rows = compareTools(tools, { ...tools, ffmpeg: 'ffmpeg version 6.1' }, 'x264 - core 164 r3095 baee400', 'x264 - core 164 r3095 baee400');
    expect(rows.map((r) => [r.name, r.matches])).toEqual([['ffmpeg', false], ['ffmpeg libraries', true], ['x264', true]]);
    const text = explainDifferences({
      derivative: 'video-working-copy',
      recipeVersion: 'v',
      original: { path: 'o', recordedSha256: 'a', sha256: 'c', matches: false },
      tools: rows,
      steps: [{ tool: 'ffmpeg', args: [], exitCode: 0, durationMs: 1 }],
      outputs: [{ role: 'video', fileName: 'f', recordedSha256: 'b', sha256: 'd', recordedSize: 10, size: 11, path: 'p', matches: false }],
    });
    expect(text).toEqual([
      expect.stringMatching(/^The original given hashes to c, but the record was made from a: it is not the same file/),
      expect.stringMatching(/^ffmpeg here is "ffmpeg version 6.1"; the record was made with "ffmpeg version 5.1.8-0\+deb12u1"/),
      'The video output hashes to d (11 bytes); the record says b (10 bytes).',
    ]);
  });

  it('says nothing when all agree', () => {
    expect(
      explainDifferences({
        derivative: 'd',
        recipeVersion: 'v',
        original: { path: 'o', recordedSha256: 'a', sha256: 'a', matches: true },
        tools: compareTools(tools, tools),
        steps: [{ tool: 'ffmpeg', args: [], exitCode: 0, durationMs: 1 }],
        outputs: [{ role: 'video', fileName: 'f', recordedSha256: 'b', sha256: 'b', recordedSize: 10, size: 10, path: 'p', matches: true }],
      }),
    ).toEqual([]);
  });
});
