import { createInflateRaw } from 'node:zlib';
import { ByteCursor } from './byte-cursor.js';
import type { ByteSource } from './byte-source.js';
import { findReportEntry } from './container-recognition.js';
import { EXTRACTION_ERRORS, extractionError, outcomeFrom } from './extraction-errors.js';
import type { EntryFlag, ExtractionFinding, ExtractionOutcome, InventoryEntry } from './extraction.types.js';
import { UfdrReportError, UfdrReportParser, type UfdrReportFacts, type UfdrReportLimits, type UfdrTaggedFile } from './ufdr-report.parser.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, ZipStructureError, type ZipCdEntry, type ZipDirectory, type ZipLimits } from './zip-central-directory.js';
import { drainedOrFailed, hex8, readEntryAtCursor } from './zip-entry-reader.js';
import { normaliseReportPath } from './zip-entry-names.js';

export interface ZipInspectionOptions {
  limits?: Partial<ZipLimits>;
  reportLimits?: Partial<UfdrReportLimits>;
  /** Inventory entries (and tagged files) are handed over in batches of this size. */
  batchSize?: number;
  /** Receives the inventory, batch by batch, in the order the entries lie in the archive. */
  onEntries?: (batch: InventoryEntry[]) => Promise<void> | void;
  /** Receives the UFDR report's tagged files, batch by batch (before any inventory entry). */
  onTaggedFiles?: (batch: UfdrTaggedFile[]) => Promise<void> | void;
  /** Bytes of the archive read so far, of the bytes the pass will read. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Wall-clock limit for the whole inspection. */
  timeLimitMs?: number;
}

export interface UfdrReportCheck {
  /** Tagged files whose Local Path and a hash were given. */
  listedWithHash: number;
  matched: number;
  mismatched: { path: string; algorithm: 'sha256' | 'md5'; expected: string; actual: string }[];
  /** Listed with a hash, not in the archive. */
  missing: string[];
  /** Listed with an empty hash ("not hashed" is not a mismatch). */
  notHashed: number;
  /** Local Paths listed more than once. */
  duplicateListings: number;
}

export interface ZipInspection {
  kind: 'ufdr' | 'zip';
  outcome: ExtractionOutcome;
  entryCount: number;
  totals: { entries: number; ok: number; notChecked: number; failed: number; flagged: number; declaredBytes: number; inflatedBytes: number };
  report?: UfdrReportFacts;
  reportCheck?: UfdrReportCheck;
  /** Range requests made against the source (listing + data pass). */
  rangeRequests: number;
}

interface Expected {
  sha256?: string;
  md5?: string;
  deleted: boolean;
  devicePath?: string;
  seen: boolean;
}

const MAX_NAMED_PROBLEMS = 200;
const FLAG_WARNINGS: Partial<Record<EntryFlag, { code: string; what: string }>> = {
  path_traversal: { code: 'ZIP_PATH_TRAVERSAL', what: 'have ".." in their names (path traversal); names are never used as paths here' },
  absolute_path: { code: 'ZIP_ABSOLUTE_PATH', what: 'have absolute names (leading slash or drive letter)' },
  unsafe_name: { code: 'ZIP_UNSAFE_NAME', what: 'have empty, "." or control-character name parts' },
  symlink: { code: 'ZIP_SYMLINK', what: 'are symbolic links (their target is kept as data only)' },
  encrypted: { code: 'ZIP_ENCRYPTED', what: 'are encrypted and cannot be verified (no password is ever asked for)' },
  unsupported_method: { code: 'ZIP_UNSUPPORTED_METHOD', what: 'use a compression method other than stored or deflate and cannot be verified' },
  duplicate_name: { code: 'ZIP_DUPLICATE_NAME', what: 'share a name with another entry (exactly, or by case or Unicode form); every copy is kept' },
  bomb_suspected: { code: 'ZIP_BOMB_SUSPECTED_ENTRY', what: 'have a compression ratio above the limit (for review)' },
  over_limit: { code: 'ZIP_ENTRY_OVER_LIMIT', what: 'declare more bytes than one entry may inflate to; they were not inflated' },
  local_header_mismatch: { code: 'ZIP_LOCAL_HEADER_MISMATCH', what: 'have a local header that disagrees with the central directory (other tools may show different files)' },
  unicode_path_override: { code: 'ZIP_UNICODE_PATH_OVERRIDE', what: 'take their name from a Unicode path field that differs from the raw name' },
};

/**
 * Inspects a ZIP-based extraction (UFDR, GrayKey, other exports) in place, through range reads:
 * the central directory (checked against the end records and the limits before any data is read),
 * then, for a UFDR, report.xml as a stream, then one forward pass over the entries in file order
 * with CRC-32, SHA-256 (and MD5) computed while inflating under an output limit. Nothing is ever
 * written to disk, by entry name or otherwise.
 */
export async function inspectZip(source: ByteSource, options: ZipInspectionOptions = {}): Promise<ZipInspection> {
  const limits: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...options.limits };
  const batchSize = options.batchSize ?? 500;
  const signal = combineSignals(options.signal, options.timeLimitMs);
  const warnings: ExtractionFinding[] = [];
  const problems: ExtractionFinding[] = [];
  const totals = { entries: 0, ok: 0, notChecked: 0, failed: 0, flagged: 0, declaredBytes: 0, inflatedBytes: 0 };

  let dir: ZipDirectory;
  try {
    dir = await readZipDirectory(source, limits);
  } catch (e) {
    if (e instanceof ZipStructureError) {
      return { kind: 'zip', outcome: outcomeFrom([{ code: e.code, message: e.message }], []), entryCount: 0, totals, rangeRequests: source.requests };
    }
    throw e;
  }
  warnings.push(...dir.warnings);
  problems.push(...dir.problems);
  totals.entries = dir.entries.length;
  totals.declaredBytes = dir.declaredUncompressedBytes;
  const passAllowed = dir.problems.length === 0;

  // UFDR: the report first, so each entry can be compared with what it lists as it is hashed.
  let kind: ZipInspection['kind'] = 'zip';
  let report: UfdrReportFacts | undefined;
  let reportCheck: UfdrReportCheck | undefined;
  const expected = new Map<string, Expected>();
  const reportEntry = findReportEntry(dir.entries);
  if (reportEntry && passAllowed) {
    const parsed = await readReport(source, dir, reportEntry, limits, options, batchSize, expected, signal);
    if (parsed.kind === 'ufdr') {
      kind = 'ufdr';
      report = parsed.report;
      reportCheck = parsed.check;
      if (parsed.problem) problems.push(parsed.problem);
    }
  }

  const byIndexFlags = (e: ZipCdEntry): EntryFlag[] => [...e.flags];
  const flagCounts = new Map<EntryFlag, { count: number; examples: string[] }>();
  const noteFlags = (entry: InventoryEntry) => {
    if (entry.flags.length > 0) totals.flagged++;
    for (const f of entry.flags) {
      const c = flagCounts.get(f) ?? { count: 0, examples: [] };
      c.count++;
      if (c.examples.length < 5) c.examples.push(entry.path);
      flagCounts.set(f, c);
    }
  };
  let namedProblems = 0;
  const entryProblem = (p: ExtractionFinding) => {
    if (namedProblems++ < MAX_NAMED_PROBLEMS) problems.push(p);
  };

  let batch: InventoryEntry[] = [];
  const flush = async (force = false) => {
    if (batch.length > 0 && (force || batch.length >= batchSize)) {
      const out = batch;
      batch = [];
      await options.onEntries?.(out);
    }
  };

  const ordered = [...dir.entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset || a.index - b.index);
  const cursor = new ByteCursor(source, dir.tail.cdOffset, signal);
  let gapBytes = 0;
  const passTotal = dir.tail.cdOffset - (ordered[0]?.localHeaderOffset ?? 0);
  try {
    for (let i = 0; i < ordered.length; i++) {
      const e = ordered[i];
      const record: InventoryEntry = {
        index: e.index,
        path: e.name,
        isDirectory: e.isDirectory,
        size: e.uncompressedSize,
        compressedSize: e.compressedSize,
        compressionMethod: e.compressionMethod,
        modifiedAt: e.modifiedAt,
        crc32: hex8(e.crc32),
        crcOk: null,
        status: 'not_checked',
        flags: byIndexFlags(e),
      };
      // With overlapping entries or a bomb the listing is still handed over, unchecked, so people
      // can see what the archive claims to hold.
      if (passAllowed) {
        signal?.throwIfAborted();
        const decode = !e.flags.some((f) => f === 'encrypted' || f === 'unsupported_method' || f === 'over_limit');
        const nextOffset = i + 1 < ordered.length ? ordered[i + 1].localHeaderOffset : dir.tail.cdOffset;
        const r = await readEntryAtCursor(cursor, e, {
          decode,
          outputLimit: Math.min(e.uncompressedSize, limits.maxEntryUncompressedBytes),
          nextOffset,
          md5: kind === 'ufdr',
        });
        gapBytes += r.gapBytes;
        totals.inflatedBytes += r.outputBytes;
        record.status = r.status;
        record.crcOk = r.crcOk;
        record.sha256 = r.sha256;
        record.md5 = r.md5;
        for (const f of r.flags) if (!record.flags.includes(f)) record.flags.push(f);
        if (r.problem) entryProblem({ ...r.problem, path: e.name });
        if (r.problem?.code === 'ZIP_LOCAL_HEADER_INVALID' || r.problem?.code === 'ZIP_OVERLAPPING_ENTRIES') await cursor.seek(nextOffset);
        options.onProgress?.(cursor.position - (ordered[0]?.localHeaderOffset ?? 0), passTotal);
      }
      if (record.status === 'ok') totals.ok++;
      else if (record.status === 'not_checked') totals.notChecked++;
      else totals.failed++;

      const want = expected.get(normaliseReportPath(e.name));
      if (want) {
        want.seen = true;
        record.tagged = true;
        record.deleted = want.deleted;
        record.devicePath = want.devicePath;
        compareWithReport(record, want, reportCheck!, entryProblem);
      }
      noteFlags(record);
      batch.push(record);
      await flush();
    }
    await flush(true);
  } catch (err) {
    if (signal?.aborted) {
      throw extractionError(
        options.signal?.aborted ? EXTRACTION_ERRORS.ABORTED : EXTRACTION_ERRORS.TOOL_TIMEOUT,
        options.signal?.aborted ? 'The inspection was cancelled' : `The inspection did not finish within ${options.timeLimitMs} ms`,
        503,
      );
    }
    if ((err as { code?: string }).code === 'ZIP_TRUNCATED') {
      problems.push({ code: 'ZIP_TRUNCATED', message: (err as Error).message });
    } else throw err;
  } finally {
    cursor.close();
  }

  if (reportCheck) {
    for (const [path, want] of expected) {
      if (want.seen || (!want.sha256 && !want.md5)) continue;
      reportCheck.missing.push(path);
      entryProblem({ code: 'UFDR_LISTED_FILE_MISSING', message: `The report lists "${path}" with a hash, but the archive has no such entry`, path });
    }
  }
  if (namedProblems > MAX_NAMED_PROBLEMS) {
    problems.push({ code: 'ZIP_MORE_PROBLEMS', message: `${namedProblems - MAX_NAMED_PROBLEMS} further entry problems are not listed one by one (see the inventory)` });
  }
  for (const [flag, c] of flagCounts) {
    const w = FLAG_WARNINGS[flag];
    if (!w) continue;
    warnings.push({ code: w.code, message: `${c.count} entr${c.count === 1 ? 'y' : 'ies'} ${w.what}, e.g. ${c.examples.map((x) => JSON.stringify(x)).join(', ')}`, details: { count: c.count, examples: c.examples } });
  }
  if (gapBytes > 0) {
    warnings.push({ code: 'ZIP_HIDDEN_DATA', message: `${gapBytes} bytes between entries belong to no entry (hidden data, or a tool's padding)`, details: { bytes: gapBytes } });
  }
  return { kind, outcome: outcomeFrom(problems, warnings), entryCount: dir.entries.length, totals, report, reportCheck, rangeRequests: source.requests };
}

function compareWithReport(
  record: InventoryEntry,
  want: Expected,
  check: UfdrReportCheck,
  problem: (p: ExtractionFinding) => void,
): void {
  if (!want.sha256 && !want.md5) return;
  if (record.status !== 'ok') return; // already a problem of its own; its bytes are not trustworthy to compare
  const mismatch = (algorithm: 'sha256' | 'md5', expectedValue: string, actual: string) => {
    check.mismatched.push({ path: record.path, algorithm, expected: expectedValue, actual });
    if (!record.flags.includes('report_hash_mismatch')) record.flags.push('report_hash_mismatch');
    problem({
      code: 'UFDR_HASH_MISMATCH',
      message: `"${record.path}": the report lists ${algorithm.toUpperCase()} ${expectedValue}, the file in the archive hashes to ${actual}`,
      path: record.path,
    });
  };
  let bad = false;
  if (want.sha256 && record.sha256 && want.sha256 !== record.sha256) {
    mismatch('sha256', want.sha256, record.sha256);
    bad = true;
  }
  if (want.md5 && record.md5 && want.md5 !== record.md5) {
    mismatch('md5', want.md5, record.md5);
    bad = true;
  }
  if (!bad) check.matched++;
}

async function readReport(
  source: ByteSource,
  dir: ZipDirectory,
  entry: ZipCdEntry,
  limits: ZipLimits,
  options: ZipInspectionOptions,
  batchSize: number,
  expected: Map<string, Expected>,
  signal?: AbortSignal,
): Promise<{ kind: 'ufdr' | 'zip'; report?: UfdrReportFacts; check?: UfdrReportCheck; problem?: ExtractionFinding }> {
  const check: UfdrReportCheck = { listedWithHash: 0, matched: 0, mismatched: [], missing: [], notHashed: 0, duplicateListings: 0 };
  let pending: UfdrTaggedFile[] = [];
  const parser = new UfdrReportParser({
    limits: options.reportLimits,
    onTaggedFile: (f) => {
      if (options.onTaggedFiles) pending.push(f);
      if (!f.entryPath) return;
      const sha256 = f.sha256 && /^[0-9a-f]{64}$/.test(f.sha256) ? f.sha256 : undefined;
      const md5 = f.md5 && /^[0-9a-f]{32}$/.test(f.md5) ? f.md5 : undefined;
      if (sha256 || md5) check.listedWithHash++;
      else check.notHashed++;
      if (expected.has(f.entryPath)) {
        check.duplicateListings++;
        return;
      }
      expected.set(f.entryPath, { sha256, md5, deleted: f.deleted, devicePath: f.devicePath, seen: false });
    },
  });
  const cursor = new ByteCursor(source, dir.tail.cdOffset, signal);
  try {
    await cursor.seek(entry.localHeaderOffset);
    const fixed = await cursor.read(30);
    if (fixed.readUInt32LE(0) !== 0x04034b50) throw new UfdrReportError('UFDR_REPORT_UNREADABLE', 'report.xml has no local header');
    await cursor.skip(fixed.readUInt16LE(26) + fixed.readUInt16LE(28));
    const outputLimit = Math.min(entry.uncompressedSize, limits.maxEntryUncompressedBytes);
    let produced = 0;
    const feed = async (chunk: Buffer) => {
      produced += chunk.length;
      if (produced > outputLimit) throw new UfdrReportError('UFDR_REPORT_UNREADABLE', `report.xml inflates past its declared ${entry.uncompressedSize} bytes`);
      parser.write(chunk);
      if (pending.length >= batchSize) {
        const out = pending;
        pending = [];
        await options.onTaggedFiles?.(out);
      }
    };
    if (entry.compressionMethod === 0) {
      for await (const c of cursor.chunks(entry.compressedSize)) await feed(c);
    } else {
      const inflater = createInflateRaw();
      const input = (async function* () {
        yield* cursor.chunks(entry.compressedSize);
      })();
      const writer = (async () => {
        try {
          for await (const c of input) {
            // Once the inflater failed (corrupt data) or was closed, stop feeding it: a drain would never come.
            if (inflater.destroyed) break;
            if (!inflater.write(c)) await drainedOrFailed(inflater);
          }
          if (!inflater.destroyed) inflater.end();
        } catch (e) {
          inflater.destroy(e as Error);
        }
      })();
      try {
        for await (const out of inflater) await feed(out as Buffer);
      } finally {
        inflater.destroy();
        await writer;
      }
    }
    const report = parser.end();
    if (!report.extraction.type && report.project.extractionType) report.extraction.type = report.project.extractionType;
    if (pending.length > 0) await options.onTaggedFiles?.(pending);
    pending = [];
    // Duplicate listings are not a failure (UFED may list one file under several tags): the first is compared.
    return { kind: 'ufdr', report, check };
  } catch (e) {
    if (signal?.aborted) throw e;
    if (e instanceof UfdrReportError) {
      if (e.code === 'UFDR_NOT_A_REPORT' && !parser.isCellebriteReport) return { kind: 'zip' };
      expected.clear();
      return { kind: 'ufdr', check, problem: { code: e.code, message: `${entry.name}: ${e.message}`, path: entry.name } };
    }
    if ((e as { code?: string }).code === 'Z_DATA_ERROR' || (e as { code?: string }).code === 'ZIP_TRUNCATED') {
      expected.clear();
      return { kind: 'ufdr', check, problem: { code: 'UFDR_REPORT_UNREADABLE', message: `${entry.name} cannot be read: ${(e as Error).message}`, path: entry.name } };
    }
    throw e;
  } finally {
    cursor.close();
  }
}

function combineSignals(signal: AbortSignal | undefined, timeLimitMs: number | undefined): AbortSignal | undefined {
  const list = [signal, timeLimitMs ? AbortSignal.timeout(timeLimitMs) : undefined].filter((s): s is AbortSignal => !!s);
  if (list.length === 0) return undefined;
  return list.length === 1 ? list[0] : AbortSignal.any(list);
}
