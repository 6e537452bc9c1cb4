import { AppError, canonicalUuid, isUuid, textProblem, type HashAlgorithm } from '../core/index.js';

/** What a client says about a file when it starts an upload (tus Upload-Metadata). */
export interface UploadDeclaration {
  caseId: string;
  /** The exhibit, by id or by its reference on the case (JS/1): one of the two. */
  exhibitId: string | null;
  exhibitRef: string | null;
  /** The name the file had on the client; kept as metadata only, never used for storage keys. */
  filename: string;
  declaredType: string | null;
  declaredHashes: { algorithm: HashAlgorithm; value: string }[];
  /** A zero-byte file is accepted only when the client says so. */
  declaredEmpty: boolean;
}

const HEX_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, sha1: 40, md5: 32 };

/** The Upload-Metadata keys a client may send; anything else is refused so typos do not pass silently. */
export const UPLOAD_METADATA_KEYS = ['caseId', 'exhibitId', 'exhibitRef', 'filename', 'filetype', 'sha256', 'sha1', 'md5', 'empty'] as const;

const bad = (message: string, details?: Record<string, unknown>) => new AppError('INVALID_UPLOAD_METADATA', message, 400, details);

/**
 * Checks tus Upload-Metadata (already base64-decoded by the tus server) and returns the
 * declaration. Filenames may carry a relative path from a directory upload (`cam1/0001.dav`);
 * control characters, absolute paths and `..` segments are refused.
 */
export function parseUploadMetadata(meta: Record<string, string | null | undefined>): UploadDeclaration {
  const unknown = Object.keys(meta).filter((k) => !(UPLOAD_METADATA_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw bad(`Unknown Upload-Metadata key(s): ${unknown.join(', ')}; allowed: ${UPLOAD_METADATA_KEYS.join(', ')}`);
  // Ids are canonical from here on (any letter case accepted), as every custody event names them.
  const caseId = canonicalUuid(meta.caseId) ?? '';
  if (!isUuid(caseId)) throw bad('Upload-Metadata must name the case: caseId (the case id)');
  const exhibitId = meta.exhibitId ? (canonicalUuid(meta.exhibitId) ?? meta.exhibitId) : null;
  const exhibitRef = meta.exhibitRef || null;
  if ((exhibitId === null) === (exhibitRef === null)) {
    throw bad('Upload-Metadata must name the exhibit by exactly one of exhibitId (the exhibit id) or exhibitRef (its reference, e.g. JS/1)');
  }
  if (exhibitId !== null && !isUuid(exhibitId)) throw bad('exhibitId must be an exhibit id (a UUID)');

  const filename = (meta.filename ?? '').normalize('NFC');
  if (!filename) throw bad('Upload-Metadata must give the file name: filename');
  if (filename.length > 1024) throw bad('filename is longer than 1024 characters');
  // The shared text rule: no control characters, no bidi overrides (`invoice\u202Efdp.exe` shows as `invoiceexe.pdf`).
  const problem = textProblem(filename);
  if (problem) throw bad(`filename ${problem}`);
  const segments = filename.split(/[\\/]/);
  if (/^([\\/]|[A-Za-z]:)/.test(filename) || segments.some((s) => s === '..' || s === '.' || s === '')) {
    throw bad('filename must be a plain name or a relative path without "..", "." or empty segments');
  }

  const declaredType = meta.filetype ? meta.filetype.slice(0, 255) : null;
  if (declaredType && !/^[\w.+-]+\/[\w.+-]+$/.test(declaredType)) throw bad('filetype must be a media type such as video/mp4');

  const declaredHashes: UploadDeclaration['declaredHashes'] = [];
  for (const algorithm of ['sha256', 'sha1', 'md5'] as const) {
    const v = meta[algorithm];
    if (v === undefined || v === null || v === '') continue;
    const value = v.trim().toLowerCase();
    if (!new RegExp(`^[0-9a-f]{${HEX_LENGTH[algorithm]}}$`).test(value)) {
      throw bad(`${algorithm} must be ${HEX_LENGTH[algorithm]} hexadecimal characters`, { algorithm });
    }
    declaredHashes.push({ algorithm, value });
  }

  const empty = meta.empty;
  if (empty !== undefined && empty !== null && empty !== 'true' && empty !== 'false') throw bad('empty must be true or false');
  return { caseId, exhibitId, exhibitRef, filename, declaredType, declaredHashes, declaredEmpty: empty === 'true' };
}
