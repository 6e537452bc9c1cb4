import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ByteSource } from './byte-source.js';
import { EX01_NOT_VERIFIABLE, readEwfSegmentFacts } from './container-recognition.js';
import { segmentExtension } from './ewf-segment.parser.js';
import { DEFAULT_EWF_TOOLS_SETTINGS, EwfToolsRepository, type EwfToolOutput } from './ewf-tools.repository.js';
import { parseEwfinfoOutput } from './ewfinfo-output.parser.js';
import { parseEwfverifyOutput, parseEwfverifyProgress } from './ewfverify-output.parser.js';
import { EXTRACTION_ERRORS, extractionError, notVerifiable, outcomeFrom } from './extraction-errors.js';
import { groupExtractionSets } from './extraction-sets.js';
import type { EwfHeaderFacts, EwfSetMember, EwfVerification, ExhibitFile, ExtractionFinding, ToolRun } from './extraction.types.js';
import { StagingBudget } from './staging-budget.js';

export interface EwfVerificationSettings {
  /** Where segments are staged (a folder of their own is made inside it, mode 700, and always removed). */
  stagingDir: string;
  /** Local bytes all verifications of this process may stage at once. */
  stagingBudgetBytes: number;
  /** How long a set that fits the budget waits for others to release it. */
  stagingWaitMs: number;
  /** ewfverify time limit: a floor plus time per GiB (ewfverify -d sha1,sha256 ran at ~0.4 GiB/s here, cold cache slower). */
  verifyTimeLimitMs: { baseMs: number; perGiBMs: number };
  infoTimeLimitMs: number;
}

export const DEFAULT_EWF_VERIFICATION_SETTINGS: EwfVerificationSettings = {
  stagingDir: tmpdir(),
  stagingBudgetBytes: 256 * 1024 ** 3,
  stagingWaitMs: 10 * 60_000,
  verifyTimeLimitMs: { baseMs: 120_000, perGiBMs: 60_000 },
  infoTimeLimitMs: 60_000,
};

export interface EwfSegmentInput {
  /** The caller's id of the stored file (evidence file id). */
  fileId: string;
  /** Its name as uploaded (messages only; never a path). */
  name: string;
  source: ByteSource;
  /** The SHA-256 the file was sealed with: the staged copy must have it. */
  sha256?: string;
}

export interface EwfVerifyOptions {
  signal?: AbortSignal;
  /** 0-100, from ewfverify's progress. */
  onProgress?: (percent: number) => void;
  /** Hashes of the acquired media the analyst declared (from the acquisition notes). */
  declaredMediaHashes?: { md5?: string; sha1?: string; sha256?: string };
  /** Overrides the settings' time limit for this run. */
  timeLimitMs?: number;
  /** Called with ewfverify's process id (tests). */
  onSpawn?: (pid: number) => void;
}

/**
 * Verifies one EWF (E01) set: the service checks the segments itself (same set, numbers 1…N all
 * present, last one ends the chain), stages them within the budget under canonical names, asks
 * ewfinfo for the header facts and lets ewfverify, the tool examiners trust, give the verdict.
 * The staged copies are removed whatever happens.
 */
export class EwfVerificationService {
  readonly budget: StagingBudget;

  constructor(
    private readonly settings: EwfVerificationSettings = DEFAULT_EWF_VERIFICATION_SETTINGS,
    private readonly tools = new EwfToolsRepository(DEFAULT_EWF_TOOLS_SETTINGS),
    budget?: StagingBudget,
  ) {
    this.budget = budget ?? new StagingBudget(settings.stagingBudgetBytes);
  }

  async verifySet(inputs: EwfSegmentInput[], options: EwfVerifyOptions = {}): Promise<EwfVerification> {
    const runs: ToolRun[] = [];
    const result = (outcome: EwfVerification['outcome'], extra: Partial<EwfVerification> = {}): EwfVerification => ({
      outcome,
      hashes: [],
      sectorErrors: [],
      segments: [],
      runs,
      ...extra,
    });
    if (inputs.length === 0) throw extractionError(EXTRACTION_ERRORS.INVALID_REQUEST, 'No segment files were given', 400);

    // 1. Our own checks, from the bytes.
    const files: ExhibitFile[] = [];
    const problems: ExtractionFinding[] = [];
    const warnings: ExtractionFinding[] = [];
    for (const input of inputs) {
      const src = input.source;
      if (src.size === 0) {
        problems.push({ code: 'EWF_NOT_EWF', message: `${input.name} is empty (0 bytes): it is not an EWF segment`, path: input.name });
        continue;
      }
      const head = await readHead(src);
      if (head.startsWith('EVF2')) return result(notVerifiable('EWF_EX01_NOT_VERIFIABLE', EX01_NOT_VERIFIABLE));
      const ewf = await readEwfSegmentFacts(src);
      if (!ewf) {
        problems.push({ code: 'EWF_NOT_EWF', message: `${input.name} does not start with the EWF signature: it is not an E01 segment`, path: input.name });
        continue;
      }
      files.push({ fileId: input.fileId, name: input.name, size: src.size, sha256: input.sha256, recognition: { kind: 'ewf', size: src.size, description: '', ewf } });
    }
    if (problems.length > 0) return result(outcomeFrom(problems, warnings));
    const sets = groupExtractionSets(files);
    if (sets.length !== 1 || sets[0].kind !== 'ewf') {
      return result(
        outcomeFrom([{ code: 'EWF_MIXED_SETS', message: `The files belong to ${sets.length} different EWF sets (their set identifiers or geometry differ); verify each set on its own` }], warnings),
      );
    }
    const set = sets[0];
    for (const d of set.duplicates) {
      warnings.push({ code: 'EWF_DUPLICATE_SEGMENT_COPY', message: `${d.name} is a byte-identical copy of another file of segment set; it was used once`, path: d.name });
    }
    if (set.conflicts.length > 0) {
      problems.push({ code: 'EWF_SEGMENT_CONFLICT', message: `Two different files claim the same segment number (${set.conflicts.map((c) => c.segmentNumber).join(', ')}): the set cannot be assembled` });
    }
    if (set.missingSegments.length > 0 || set.tailMissing) {
      const highest = set.segments.at(-1)?.segmentNumber ?? 0;
      const parts = [
        set.missingSegments.length > 0 ? `segment${set.missingSegments.length > 1 ? 's' : ''} ${set.missingSegments.join(', ')} missing` : '',
        set.tailMissing ? `segment ${highest} is not the last (more segments follow it)` : '',
      ].filter(Boolean);
      problems.push({ code: 'EWF_SEGMENTS_MISSING', message: `The E01 set is incomplete: ${parts.join('; ')}`, details: { missing: set.missingSegments, tailMissing: set.tailMissing } });
    }
    for (const p of set.problems) {
      if (/missing|more segments follow|present \d+ times/.test(p)) continue;
      problems.push({ code: 'EWF_SEGMENT_DAMAGED', message: `The E01 set is damaged: ${p}` });
    }
    if (problems.length > 0) return result(outcomeFrom(problems, warnings), { segments: set.segments });

    const members = set.segments;
    const byId = new Map(inputs.map((i) => [i.fileId, i]));
    const total = members.reduce((s, m) => s + byId.get(m.fileId)!.source.size, 0);

    // 2. Stage within the budget; always removed.
    const release = await this.budget.reserve(total, this.settings.stagingWaitMs, `E01 set of ${members.length} segment(s)`);
    let dir: string | undefined;
    try {
      const free = await statfs(this.settings.stagingDir).then((s) => s.bavail * s.bsize);
      if (free < total) {
        throw extractionError(EXTRACTION_ERRORS.STAGING_DISK_FULL, `Staging needs ${total} bytes; ${free} are free in the staging folder`, 507, { neededBytes: total, freeBytes: free });
      }
      dir = await mkdtemp(join(this.settings.stagingDir, 'dems-ewf-'));
      const paths: string[] = [];
      const nameOfPath = new Map<string, string>();
      for (const m of members) {
        const input = byId.get(m.fileId)!;
        // Canonical names: ewfverify never sees the uploaded names, and numbering is ours.
        const path = join(dir, `image.${segmentExtension(m.segmentNumber)}`);
        await stage(input, path, options.signal);
        paths.push(path);
        nameOfPath.set(path, m.name);
      }

      // 3. Header facts.
      const toolOptions = { signal: options.signal };
      await Promise.all([this.tools.version('ewfinfo'), this.tools.version('ewfverify')]);
      const info = await this.tools.ewfinfo(paths, { ...toolOptions, timeLimitMs: this.settings.infoTimeLimitMs });
      runs.push(redact(info, dir));
      this.throwIfInterrupted(info, 'ewfinfo');
      const header: EwfHeaderFacts | undefined = info.run.exitCode === 0 ? parseEwfinfoOutput(info.stdout) : undefined;

      // 4. The verdict.
      const limit = options.timeLimitMs ?? this.settings.verifyTimeLimitMs.baseMs + (total / 1024 ** 3) * this.settings.verifyTimeLimitMs.perGiBMs;
      const verify = await this.tools.ewfverify(paths, {
        ...toolOptions,
        timeLimitMs: limit,
        onSpawn: options.onSpawn,
        onStdout: (t) => {
          const p = parseEwfverifyProgress(t);
          if (p !== undefined) options.onProgress?.(p);
        },
      });
      runs.push(redact(verify, dir));
      this.throwIfInterrupted(verify, 'ewfverify');
      const report = parseEwfverifyOutput(verify.stdout, verify.stderr, verify.run.exitCode);
      const sectorErrors = report.sectorErrors.map((s) => ({ ...s, segmentFiles: s.segmentFiles.map((p) => nameOfPath.get(p) ?? p.replace(dir!, '')) }));
      const outcome = ewfOutcome(report, sectorErrors, header, options.declaredMediaHashes, warnings);
      return result(outcome, { header, hashes: report.hashes, bytesRead: report.bytesRead, sectorErrors, segments: members });
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
      release();
    }
  }

  private throwIfInterrupted(out: EwfToolOutput, tool: string): void {
    if (out.timedOut) {
      throw extractionError(EXTRACTION_ERRORS.TOOL_TIMEOUT, `${tool} did not finish within its time limit and was stopped`, 504, { tool, durationMs: out.run.durationMs });
    }
    if (out.aborted) throw extractionError(EXTRACTION_ERRORS.ABORTED, `${tool} was stopped because the job was cancelled`, 503, { tool });
  }
}

async function readHead(src: ByteSource): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await src.stream(0, Math.min(8, src.size))) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

/** Copies a segment to local disk, checking it is the sealed bytes as it goes. */
async function stage(input: EwfSegmentInput, path: string, signal?: AbortSignal): Promise<void> {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(await input.source.stream(0, input.source.size), tap, createWriteStream(path, { mode: 0o600 }), { signal });
  const got = hash.digest('hex');
  if (input.sha256 && got !== input.sha256.toLowerCase()) {
    throw extractionError(
      EXTRACTION_ERRORS.SOURCE_CHANGED,
      `${input.name}: the bytes read from storage have SHA-256 ${got}, not the sealed ${input.sha256}; run a fixity check`,
      409,
      { fileId: input.fileId },
    );
  }
}

/** Staging paths are temporary and mean nothing later: the record shows canonical names only. */
function redact(out: EwfToolOutput, dir: string): ToolRun {
  return { ...out.run, args: out.run.args.map((a) => a.replace(`${dir}/`, '')) };
}

function ewfOutcome(
  report: ReturnType<typeof parseEwfverifyOutput>,
  sectorErrors: EwfVerification['sectorErrors'],
  header: EwfHeaderFacts | undefined,
  declared: EwfVerifyOptions['declaredMediaHashes'],
  warnings: ExtractionFinding[],
): EwfVerification['outcome'] {
  const problems: ExtractionFinding[] = [];
  const md5 = report.hashes.find((h) => h.algorithm === 'md5');
  const why = report.errorLines.join(' / ');
  if (report.verdict === 'unopened') {
    problems.push({ code: 'EWF_UNREADABLE', message: `ewfverify could not open the set${why ? `: ${why}` : ''}` });
    return outcomeFrom(problems, warnings);
  }
  for (const s of sectorErrors) {
    problems.push({
      code: 'EWF_CHUNKS_CORRUPT',
      message: `Sectors ${s.firstSector}-${s.lastSector} (${s.count}) fail their checksum${s.segmentFiles.length ? ` in ${s.segmentFiles.join(', ')}` : ''}: the image is damaged`,
      details: s,
    });
  }
  for (const h of report.hashes) {
    if (h.stored && h.calculated && !h.matches) {
      problems.push({
        code: 'EWF_HASH_MISMATCH',
        message: `The ${h.algorithm.toUpperCase()} stored at acquisition is ${h.stored}; the media now hashes to ${h.calculated}`,
        details: { ...h },
      });
    }
  }
  if (report.verdict === 'failure' && !md5?.stored) {
    // ewfverify has no "missing segment" message: a stored MD5 it cannot find means the set is incomplete.
    problems.push({ code: 'EWF_SET_INCOMPLETE', message: 'ewfverify found no stored hash: a segment is missing or cut short' });
  }
  if (report.verdict === 'failure' && problems.length === 0) {
    problems.push({ code: 'EWF_VERIFY_FAILED', message: `ewfverify reported FAILURE without naming a cause${why ? ` (${why})` : ''}; the set may be missing its closing section` });
  }
  if (report.verdict === 'aborted') problems.push({ code: 'EWF_VERIFY_ABORTED', message: 'ewfverify stopped before the end' });
  if (report.verdict === 'success' && !md5?.stored && !report.hashes.some((h) => h.stored)) {
    warnings.push({ code: 'EWF_NO_STORED_HASH', message: 'The image stores no acquisition hash: its chunks are intact, but the media cannot be compared with what was acquired' });
  }
  if (header?.mediaSizeBytes !== undefined && report.bytesRead !== undefined && header.mediaSizeBytes !== report.bytesRead) {
    warnings.push({ code: 'EWF_MEDIA_SIZE_DIFFERS', message: `The header gives a media size of ${header.mediaSizeBytes} bytes; ewfverify read ${report.bytesRead}` });
  }
  for (const algorithm of ['md5', 'sha1', 'sha256'] as const) {
    const want = declared?.[algorithm]?.toLowerCase();
    if (!want) continue;
    const got = report.hashes.find((h) => h.algorithm === algorithm)?.calculated;
    if (got && got !== want) {
      problems.push({ code: 'DECLARED_HASH_MISMATCH', message: `The ${algorithm.toUpperCase()} declared for the acquisition is ${want}; the media hashes to ${got}` });
    }
  }
  return outcomeFrom(problems, warnings);
}

export type { EwfSetMember };
