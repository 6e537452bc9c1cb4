import { join } from 'node:path';
import { inputArgs } from './ffmpeg-args.js';
import type { MediaRepository } from './media.repository.js';
import type { ProvenanceRecord, ToolStep } from './media.types.js';

/** The x264 build string the encoder writes into the stream (it survives +bitexact). */
const X264_BUILD = /x264 - core \d+ r\d+ [0-9a-f]+/;

export interface ReproductionReport {
  derivative: string;
  recipeVersion: string;
  /** The original is the recorded one and every output hashes as recorded. */
  identical: boolean;
  original: { path: string; recordedSha256: string; sha256: string; matches: boolean };
  tools: { name: string; recorded: string; current: string; matches: boolean }[];
  /** The recorded step as run again: as recorded, placeholders filled in, URL reading options made local (asLocalInput). */
  steps: { tool: string; args: string[]; env?: Record<string, string>; exitCode: number | null; durationMs: number }[];
  outputs: { role: string; fileName: string; recordedSha256: string; sha256: string | null; recordedSize: number; size: number | null; path: string | null; matches: boolean }[];
  /** What differs and why it matters, in sentences; empty when identical. */
  differences: string[];
}

/**
 * The recorded steps that write the derivative: one ffmpeg run whose arguments name `{output}`.
 * Recipes finished by sharp (poster, contact sheet, previews) or drawn by our own code (waveform)
 * are not one command: a reason is returned instead. Pure.
 */
export function reproductionPlan(record: ProvenanceRecord): { step: ToolStep } | { unsupported: string } {
  const writers = record.steps.filter((s) => s.tool === 'ffmpeg' && s.args.some((a) => a.includes('{output}')));
  if (record.steps.some((s) => s.tool === 'sharp') || writers.length !== 1 || record.outputs.length !== 1) {
    return {
      unsupported:
        `A ${record.derivative} is not made by one recorded command (its steps: ${record.steps.map((s) => s.tool).join(', ')}); ` +
        'only video working copies, court copies and audio working copies can be re-run this way. Its record still lists every step with its parameters.',
    };
  }
  return { step: { ...writers[0], args: asLocalInput(writers[0].args) } };
}

/**
 * The worker reads the original from a presigned URL, so the recorded command carries the HTTP
 * reading options (`-protocol_whitelist http,…`, `-reconnect…`, `-rw_timeout`). Run again on a
 * local copy of the original, those become the local-file option (`-protocol_whitelist file`);
 * they decide how bytes are fetched, never what is decoded or encoded. Pure.
 */
export function asLocalInput(args: string[]): string[] {
  const remote = inputArgs({ url: true }, 'ffmpeg').slice(0, -2);
  const local = inputArgs({ url: false }, 'ffmpeg').slice(0, -2);
  for (let i = 0; i + remote.length <= args.length; i++) {
    if (remote.every((a, j) => args[i + j] === a)) return [...args.slice(0, i), ...local, ...args.slice(i + remote.length)];
  }
  return args;
}

/** Recorded against current tool versions: the lines that matter for the bytes. Pure. */
export function compareTools(recorded: ProvenanceRecord['tools'], current: ProvenanceRecord['tools'], recordedX264?: string, currentX264?: string): ReproductionReport['tools'] {
  const rows: ReproductionReport['tools'] = [{ name: 'ffmpeg', recorded: recorded.ffmpeg, current: current.ffmpeg, matches: recorded.ffmpeg === current.ffmpeg }];
  const libs = (l: string[]) => l.join('; ');
  rows.push({ name: 'ffmpeg libraries', recorded: libs(recorded.ffmpegLibraries), current: libs(current.ffmpegLibraries), matches: libs(recorded.ffmpegLibraries) === libs(current.ffmpegLibraries) });
  if (recordedX264) rows.push({ name: 'x264', recorded: recordedX264, current: currentX264 ?? 'not found in the output', matches: recordedX264 === currentX264 });
  return rows;
}

/** The sentences of a report: what differs and what it means for the comparison. Pure. */
export function explainDifferences(r: Omit<ReproductionReport, 'differences' | 'identical'>): string[] {
  const out: string[] = [];
  if (!r.original.matches) {
    out.push(`The original given hashes to ${r.original.sha256}, but the record was made from ${r.original.recordedSha256}: it is not the same file, so the same output cannot be expected.`);
  }
  for (const t of r.tools.filter((x) => !x.matches)) {
    out.push(`${t.name} here is "${t.current}"; the record was made with "${t.recorded}". Another build can encode other bytes; use the recorded version to compare.`);
  }
  for (const s of r.steps.filter((x) => x.exitCode !== 0)) out.push(`${s.tool} exited with ${s.exitCode ?? 'no exit code (not installed, stopped, or past the time limit)'}: the command did not complete here.`);
  for (const o of r.outputs.filter((x) => !x.matches && x.sha256)) {
    out.push(`The ${o.role} output hashes to ${o.sha256} (${o.size} bytes); the record says ${o.recordedSha256} (${o.recordedSize} bytes).`);
  }
  return out;
}

/**
 * Runs a derivative's recorded command again on an original, as recorded (the recorded arguments
 * and environment; only the placeholders for the input, output and scratch folder are filled in,
 * and URL reading options made local), and compares the original's hash, the tool versions and the output's hash with
 * the record. The output is left in `outDir` for the expert to examine.
 */
export async function reproduceRecord(
  repo: MediaRepository,
  record: ProvenanceRecord,
  originalPath: string,
  outDir: string,
  options: { timeLimitMs: number; signal?: AbortSignal },
): Promise<ReproductionReport | { unsupported: string }> {
  const plan = reproductionPlan(record);
  if ('unsupported' in plan) return plan;
  const [original, current] = await Promise.all([repo.sha256(originalPath, options.signal), repo.toolVersions()]);
  const recordedOut = record.outputs[0];
  const output = join(outDir, `reproduced-${recordedOut.fileName}`);
  const run = await repo.run({ tool: 'ffmpeg', args: plan.step.args, ...(plan.step.env ? { env: plan.step.env } : {}) }, { input: originalPath, output, tmp: outDir }, options);
  const made = run.exitCode === 0 ? await repo.sha256(output) : undefined;
  const recordedX264 = typeof record.verification.encoder === 'string' ? record.verification.encoder : undefined;
  const currentX264 = made && recordedX264 ? await repo.findInFile(output, X264_BUILD) : undefined;
  const partial = {
    derivative: record.derivative,
    recipeVersion: record.recipeVersion,
    original: { path: originalPath, recordedSha256: record.input.sha256, sha256: original.sha256, matches: original.sha256 === record.input.sha256 },
    tools: compareTools(record.tools, current, recordedX264, currentX264),
    steps: [{ tool: 'ffmpeg', args: plan.step.args, ...(plan.step.env ? { env: plan.step.env } : {}), exitCode: run.exitCode, durationMs: run.durationMs }],
    outputs: [
      {
        role: recordedOut.role,
        fileName: recordedOut.fileName,
        recordedSha256: recordedOut.sha256,
        sha256: made?.sha256 ?? null,
        recordedSize: recordedOut.sizeBytes,
        size: made?.size ?? null,
        path: made ? output : null,
        matches: made?.sha256 === recordedOut.sha256,
      },
    ],
  };
  const differences = explainDifferences(partial);
  return { ...partial, identical: partial.original.matches && partial.outputs.every((o) => o.matches), differences };
}
