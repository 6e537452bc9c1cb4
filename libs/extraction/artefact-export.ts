import { PassThrough, type Readable } from 'node:stream';
import { ByteCursor } from './byte-cursor.js';
import type { ByteSource } from './byte-source.js';
import { EXTRACTION_ERRORS, extractionError } from './extraction-errors.js';
import { DEFAULT_ZIP_LIMITS, readZipDirectory, ZipStructureError, type ZipCdEntry, type ZipLimits } from './zip-central-directory.js';
import { readEntryAtCursor } from './zip-entry-reader.js';

/** One artefact to hand on, as the inventory recorded it. */
export interface ArtefactRequest {
  /** Entry name in the container (InventoryEntry.path). */
  path: string;
  /** The inventory's SHA-256 of the entry: the exported bytes must have it. */
  sha256: string;
  /** The inventory's size: inflating stops there. */
  size: number;
  /** Central-directory index (InventoryEntry.index): needed when names repeat. */
  index?: number;
}

export interface ArtefactDescriptor {
  path: string;
  index: number;
  size: number;
  sha256: string;
}

export interface ExportedArtefact extends ArtefactDescriptor {
  md5: string;
}

/**
 * Streams the bytes of selected entries out of a ZIP-based extraction, one after the other in
 * archive order, to a consumer that stores them (an S3 put of a derived exhibit). Each stream
 * ends only after its bytes have been checked against the inventory's SHA-256; if they differ,
 * the stream fails instead of ending, so a consumer that stores on 'end' never seals wrong bytes.
 * Nothing is written to disk; entry names are metadata, never paths.
 */
export async function exportArtefacts(
  source: ByteSource,
  requests: ArtefactRequest[],
  consume: (artefact: ArtefactDescriptor, bytes: Readable) => Promise<void>,
  options: { limits?: Partial<ZipLimits>; signal?: AbortSignal } = {},
): Promise<ExportedArtefact[]> {
  let entries: ZipCdEntry[];
  let cdOffset: number;
  try {
    const dir = await readZipDirectory(source, { ...DEFAULT_ZIP_LIMITS, ...options.limits });
    if (dir.problems.length > 0) throw new ZipStructureError(dir.problems[0].code, dir.problems[0].message);
    entries = dir.entries;
    cdOffset = dir.tail.cdOffset;
  } catch (e) {
    if (e instanceof ZipStructureError) throw extractionError(EXTRACTION_ERRORS.EXPORT_NOT_READABLE, `Artefacts cannot be exported from ${source.label}: ${e.message}`, 422, { code: e.code });
    throw e;
  }

  const chosen = requests.map((r) => ({ request: r, entry: resolve(entries, r) }));
  const ordered = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  const nextOffset = new Map<number, number>();
  for (let i = 0; i < ordered.length; i++) nextOffset.set(ordered[i].index, i + 1 < ordered.length ? ordered[i + 1].localHeaderOffset : cdOffset);
  chosen.sort((a, b) => a.entry.localHeaderOffset - b.entry.localHeaderOffset);

  const cursor = new ByteCursor(source, cdOffset, options.signal);
  const out: ExportedArtefact[] = [];
  try {
    for (const { request, entry } of chosen) {
      const descriptor: ArtefactDescriptor = { path: entry.name, index: entry.index, size: request.size, sha256: request.sha256.toLowerCase() };
      const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
      let consumerFailed: { error: unknown } | undefined;
      const consumed = consume(descriptor, stream).catch((error: unknown) => {
        // A consumer that gave up may stop reading: close the stream so our writes stop waiting.
        consumerFailed = { error };
        stream.destroy();
        throw error;
      });
      // Until it is awaited below, a failure of either side must not be an unhandled rejection.
      consumed.catch(() => undefined);
      const r = await readEntryAtCursor(cursor, entry, { decode: true, outputLimit: request.size, nextOffset: nextOffset.get(entry.index)!, sink: stream, md5: true });
      if (consumerFailed) throw consumerFailed.error;
      if (r.status !== 'ok' || r.sha256 !== descriptor.sha256 || r.outputBytes !== request.size) {
        const err = extractionError(
          EXTRACTION_ERRORS.EXPORT_HASH_MISMATCH,
          `"${entry.name}" did not come out as inventoried: ${r.problem?.message ?? `SHA-256 ${r.sha256} (${r.outputBytes} bytes), inventory says ${descriptor.sha256} (${request.size} bytes)`}`,
          409,
          { path: entry.name, index: entry.index },
        );
        stream.destroy(err);
        await consumed.catch(() => undefined);
        throw err;
      }
      stream.end();
      await consumed;
      out.push({ ...descriptor, md5: r.md5! });
    }
  } finally {
    cursor.close();
  }
  return out;
}

function resolve(entries: ZipCdEntry[], r: ArtefactRequest): ZipCdEntry {
  if (!/^[0-9a-f]{64}$/i.test(r.sha256) || !Number.isSafeInteger(r.size) || r.size < 0) {
    throw extractionError(EXTRACTION_ERRORS.INVALID_REQUEST, `The request for "${r.path}" needs the inventory's SHA-256 and size`, 400);
  }
  let found: ZipCdEntry | undefined;
  if (r.index !== undefined) {
    found = entries[r.index];
    if (found && found.name !== r.path) found = undefined;
  } else {
    const matches = entries.filter((e) => e.name === r.path);
    if (matches.length > 1) {
      throw extractionError(EXTRACTION_ERRORS.AMBIGUOUS_ENTRY, `"${r.path}" names ${matches.length} entries; choose one by its inventory index`, 409, { path: r.path });
    }
    found = matches[0];
  }
  if (!found || found.isDirectory) throw extractionError(EXTRACTION_ERRORS.NOT_A_ZIP_ENTRY, `The container has no file entry "${r.path}"${r.index !== undefined ? ` at index ${r.index}` : ''}`, 404, { path: r.path });
  if (found.flags.includes('encrypted') || found.flags.includes('unsupported_method') || found.flags.includes('over_limit')) {
    throw extractionError(EXTRACTION_ERRORS.EXPORT_NOT_READABLE, `"${r.path}" is encrypted, uses an unsupported method or is over the size limit: its bytes cannot be exported verified`, 422, { path: r.path });
  }
  return found;
}

/** Picks inventory records by path and/or SHA-256 (what the analyst selected) as export requests. */
export function selectArtefacts(
  inventory: Iterable<{ index: number; path: string; sha256?: string; size: number; isDirectory?: boolean }>,
  selection: { paths?: string[]; sha256s?: string[] },
): ArtefactRequest[] {
  const paths = new Set(selection.paths ?? []);
  const hashes = new Set((selection.sha256s ?? []).map((h) => h.toLowerCase()));
  const out: ArtefactRequest[] = [];
  for (const e of inventory) {
    if (e.isDirectory || !e.sha256) continue;
    if (paths.has(e.path) || hashes.has(e.sha256)) out.push({ path: e.path, sha256: e.sha256, size: e.size, index: e.index });
  }
  return out;
}
