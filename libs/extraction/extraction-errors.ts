import { AppError } from '../core/index.js';
import type { ExtractionFinding, ExtractionOutcome } from './extraction.types.js';

/**
 * Codes of errors thrown to callers (the verification could not run: retry or fix settings)
 * as opposed to outcomes (the evidence was examined and is good, bad or not verifiable).
 */
export const EXTRACTION_ERRORS = {
  OVER_STAGING_BUDGET: 'EXTRACTION_OVER_STAGING_BUDGET',
  STAGING_BUSY: 'EXTRACTION_STAGING_BUSY',
  STAGING_DISK_FULL: 'EXTRACTION_STAGING_DISK_FULL',
  TOOL_MISSING: 'EXTRACTION_TOOL_MISSING',
  TOOL_TIMEOUT: 'EXTRACTION_TOOL_TIMEOUT',
  ABORTED: 'EXTRACTION_ABORTED',
  SOURCE_CHANGED: 'EXTRACTION_SOURCE_CHANGED',
  SOURCE_READ_FAILED: 'EXTRACTION_SOURCE_READ_FAILED',
  NOT_A_ZIP_ENTRY: 'EXTRACTION_ENTRY_NOT_FOUND',
  AMBIGUOUS_ENTRY: 'EXTRACTION_ENTRY_AMBIGUOUS',
  EXPORT_HASH_MISMATCH: 'EXTRACTION_EXPORT_HASH_MISMATCH',
  EXPORT_NOT_READABLE: 'EXTRACTION_EXPORT_NOT_READABLE',
  INVALID_REQUEST: 'EXTRACTION_INVALID_REQUEST',
} as const;

export function extractionError(code: string, message: string, status = 422, details?: Record<string, unknown>): AppError {
  return new AppError(code, message, status, details);
}

/** Builds an outcome from findings: any problem fails it, warnings alone give verified_with_warnings. */
export function outcomeFrom(problems: ExtractionFinding[], warnings: ExtractionFinding[]): ExtractionOutcome {
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    return { status: 'failed', code: problems[0].code, reason: problems[0].message + more, problems, warnings };
  }
  return { status: warnings.length > 0 ? 'verified_with_warnings' : 'verified', warnings, problems };
}

export function notVerifiable(code: string, reason: string, warnings: ExtractionFinding[] = []): ExtractionOutcome {
  return { status: 'not_verifiable', code, reason, warnings, problems: [] };
}
