import { readBytes, type ByteSource } from './byte-source.js';
import { outcomeFrom } from './extraction-errors.js';
import type { ExtractionFinding, ExtractionOutcome } from './extraction.types.js';
import { checkUfdHashes, parseUfdIni, UfdIniError, type ComputedDigests, type UfdHashCheck, type UfdIni } from './ufd-ini.parser.js';

/** A UFD is a few KiB of text; anything far larger is not one. */
const MAX_UFD_BYTES = 4 * 1024 * 1024;

export interface UfdVerification {
  outcome: ExtractionOutcome;
  ufd?: UfdIni;
  check?: UfdHashCheck;
}

/**
 * Verifies a Cellebrite UFD: every `file=hash` line of its hash sections against the digests the
 * service computed when it sealed the sibling files (the caller passes them: file name as
 * uploaded → digests). Missing and mismatching files are named.
 */
export async function verifyUfd(source: ByteSource, computed: ReadonlyMap<string, ComputedDigests>): Promise<UfdVerification> {
  if (source.size > MAX_UFD_BYTES) {
    return { outcome: outcomeFrom([{ code: 'UFD_TOO_LARGE', message: `${source.label} is ${source.size} bytes: too large to be a UFD` }], []) };
  }
  const bytes = await readBytes(source, 0, source.size);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // UFDs written by older Windows tools may be in the ANSI code page.
    text = bytes.toString('latin1');
  }
  let ufd: UfdIni;
  try {
    ufd = parseUfdIni(text);
  } catch (e) {
    if (e instanceof UfdIniError) return { outcome: outcomeFrom([{ code: e.code, message: e.message }], []) };
    throw e;
  }
  const check = checkUfdHashes(ufd, computed);
  const problems: ExtractionFinding[] = [];
  const warnings: ExtractionFinding[] = [];
  for (const m of check.mismatches) {
    problems.push({ code: 'UFD_HASH_MISMATCH', message: `${m.file}: the UFD lists ${m.algorithm.toUpperCase()} ${m.expected}, the stored file hashes to ${m.actual}`, path: m.file });
  }
  for (const m of check.missing) {
    problems.push({ code: 'UFD_FILE_MISSING', message: `${m.file} is listed in the UFD's [${m.algorithm.toUpperCase()}] section but was not uploaded with it`, path: m.file });
  }
  for (const m of check.malformed) {
    warnings.push({ code: 'UFD_HASH_MALFORMED', message: `${m.file}: the UFD's [${m.algorithm.toUpperCase()}] value "${m.value}" is not a hash; nothing to check`, path: m.file });
  }
  for (const m of check.notComputed) {
    warnings.push({ code: 'UFD_HASH_NOT_COMPUTED', message: `${m.file}: no ${m.algorithm.toUpperCase()} was computed for it, so that line was not checked`, path: m.file });
  }
  if (ufd.hashes.length === 0) warnings.push({ code: 'UFD_NO_HASHES', message: 'The UFD lists no file hashes: nothing could be checked against it' });
  if (ufd.unparsedLines > 0) warnings.push({ code: 'UFD_UNPARSED_LINES', message: `${ufd.unparsedLines} line(s) of the UFD are not INI syntax` });
  return { outcome: outcomeFrom(problems, warnings), ufd, check };
}
