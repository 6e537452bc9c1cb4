import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { crc32, createInflateRaw, inflateRawSync, type InflateRaw } from 'node:zlib';
import type { ByteCursor } from './byte-cursor.js';
import type { EntryFlag, EntryStatus } from './extraction.types.js';
import type { ZipCdEntry } from './zip-central-directory.js';

const LOCAL_SIG = 0x04034b50;
const DESCRIPTOR_SIG = 0x08074b50;

export interface EntryReadOptions {
  /** Inflate and hash the data (false: step over it, e.g. encrypted entries). */
  decode: boolean;
  /** Stop inflating once this many bytes came out (the declared size, or a smaller cap). */
  outputLimit: number;
  /** Where the next local header or the central directory starts. */
  nextOffset: number;
  /** Export: the decoded bytes are also written here, with backpressure. */
  sink?: Writable;
  /** Compute MD5 too (UFDR reports may list only MD5). */
  md5?: boolean;
}

export interface EntryReadResult {
  status: EntryStatus;
  flags: EntryFlag[];
  crcOk: boolean | null;
  sha256?: string;
  md5?: string;
  /** Decoded bytes seen (at most outputLimit + one chunk). */
  outputBytes: number;
  /** Structural problem with this entry, for a person. */
  problem?: { code: string; message: string };
  /** Bytes after this entry (and its descriptor) before the next one: data no entry accounts for. */
  gapBytes: number;
}

class OutputLimitReached extends Error {}

/**
 * Small deflated entries are inflated in one synchronous call: the streaming inflater costs a
 * thread-pool round trip per entry, which made a 20k-entry archive spend most of its time idle
 * (measured: 5.9 s, two thirds of it waiting). maxOutputLength keeps the bomb limit exact.
 */
const SYNC_INFLATE_MAX_INPUT = 1024 * 1024;
const SYNC_INFLATE_MAX_OUTPUT = 32 * 1024 * 1024;

/**
 * Reads one entry at the cursor: local header (compared with the central directory), the data
 * (inflated with an output limit, CRC-32 over the decoded bytes, SHA-256 and MD5 as it passes),
 * and the data descriptor. Leaves the cursor exactly at `nextOffset` or throws only for I/O.
 */
export async function readEntryAtCursor(cursor: ByteCursor, e: ZipCdEntry, opts: EntryReadOptions): Promise<EntryReadResult> {
  const flags: EntryFlag[] = [];
  const result: EntryReadResult = { status: 'not_checked', flags, crcOk: null, outputBytes: 0, gapBytes: 0 };
  await cursor.seek(e.localHeaderOffset);
  const fixed = await cursor.read(30);
  if (fixed.readUInt32LE(0) !== LOCAL_SIG) {
    result.status = 'corrupt';
    result.problem = { code: 'ZIP_LOCAL_HEADER_INVALID', message: `Entry "${e.name}": no local header where the central directory points (byte ${e.localHeaderOffset})` };
    return result;
  }
  const localFlags = fixed.readUInt16LE(6);
  const localMethod = fixed.readUInt16LE(8);
  const localCrc = fixed.readUInt32LE(14);
  const nameLength = fixed.readUInt16LE(26);
  const extraLength = fixed.readUInt16LE(28);
  const dataStart = e.localHeaderOffset + 30 + nameLength + extraLength;
  const dataEnd = dataStart + e.compressedSize;
  if (dataEnd > opts.nextOffset) {
    result.status = 'corrupt';
    result.problem = { code: 'ZIP_OVERLAPPING_ENTRIES', message: `Entry "${e.name}": its data runs past the start of the next entry` };
    return result;
  }
  const localName = await cursor.read(nameLength);
  await cursor.skip(extraLength);
  const hasDescriptor = (e.generalPurposeFlags & 0x8) !== 0;
  // Another tool may read the local header instead of the central directory: where they disagree
  // the archive shows different files to different readers.
  if (
    !localName.equals(e.nameRaw) ||
    localMethod !== e.compressionMethod ||
    (localFlags & 0x1) !== (e.generalPurposeFlags & 0x1) ||
    (!hasDescriptor && localCrc !== e.crc32)
  ) {
    flags.push('local_header_mismatch');
  }

  if (!opts.decode) {
    await cursor.skip(e.compressedSize);
  } else {
    await decodeData(cursor, e, opts, result);
  }

  // Data descriptor: its length is told by what lies between here and the next header.
  let after = opts.nextOffset - cursor.position;
  if (hasDescriptor && after > 0) {
    const head = await cursor.peek(4);
    const signed = head.length === 4 && head.readUInt32LE(0) === DESCRIPTOR_SIG;
    const candidates = signed ? [e.zip64 ? 24 : 16, e.zip64 ? 16 : 24] : [e.zip64 ? 20 : 12, e.zip64 ? 12 : 20];
    const len = candidates.find((c) => c === after) ?? candidates.find((c) => c <= after) ?? 0;
    if (len > 0) {
      const d = await cursor.read(len);
      const descriptorCrc = d.readUInt32LE(signed ? 4 : 0);
      if (descriptorCrc !== e.crc32) flags.push('local_header_mismatch');
    }
    after -= len;
  }
  if (after > 0) {
    result.gapBytes = after;
    await cursor.skip(after);
  }
  return result;
}

async function decodeData(cursor: ByteCursor, e: ZipCdEntry, opts: EntryReadOptions, result: EntryReadResult): Promise<void> {
  const sha = createHash('sha256');
  const md5 = opts.md5 ? createHash('md5') : undefined;
  let crc = 0;
  let out = 0;
  let failure: Error | undefined;
  const sink = opts.sink;

  const take = (chunk: Buffer): void => {
    out += chunk.length;
    if (out > opts.outputLimit) throw new OutputLimitReached();
    crc = crc32(chunk, crc);
    sha.update(chunk);
    md5?.update(chunk);
  };

  if (e.compressionMethod === 8 && e.compressedSize <= SYNC_INFLATE_MAX_INPUT && opts.outputLimit <= SYNC_INFLATE_MAX_OUTPUT) {
    const raw = await cursor.read(e.compressedSize);
    let chunk: Buffer | undefined;
    try {
      chunk = inflateRawSync(raw, { maxOutputLength: Math.max(opts.outputLimit, 0) + 1 });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        out = opts.outputLimit + 1;
        failure = new OutputLimitReached();
      } else failure = err as Error;
    }
    if (chunk) {
      try {
        take(chunk);
        if (sink) await writeTo(sink, chunk);
      } catch (err) {
        failure = err as Error;
      }
    }
  } else if (e.compressionMethod === 0) {
    for await (const chunk of cursor.chunks(e.compressedSize)) {
      if (failure) continue;
      try {
        take(chunk);
        if (sink) await writeTo(sink, chunk);
      } catch (err) {
        failure = err as Error;
      }
    }
  } else {
    const inflater: InflateRaw = createInflateRaw();
    let paused = false;
    // A reader that goes away while the inflater waits for it must not leave us waiting forever.
    const onSinkClose = () => {
      failure ??= new Error('the export stream was closed by its reader');
      inflater.destroy();
    };
    sink?.once('close', onSinkClose);
    if (sink?.destroyed) onSinkClose();
    const finished = new Promise<void>((resolve) => {
      inflater.on('data', (chunk: Buffer) => {
        if (failure) return;
        try {
          take(chunk);
        } catch (err) {
          // Stop inflating at the limit: a bomb costs at most outputLimit bytes of CPU, and never disk.
          failure = err as Error;
          inflater.destroy();
          return resolve();
        }
        if (sink?.destroyed) return onSinkClose();
        if (sink && !sink.write(chunk)) {
          paused = true;
          inflater.pause();
          sink.once('drain', () => {
            paused = false;
            inflater.resume();
          });
        }
      });
      inflater.on('end', () => resolve());
      inflater.on('error', (err) => {
        failure ??= err;
        resolve();
      });
      inflater.on('close', () => resolve());
    });
    for await (const chunk of cursor.chunks(e.compressedSize)) {
      // After a failure the rest of the compressed bytes are read through, not inflated.
      if (failure || inflater.destroyed) continue;
      if (!inflater.write(chunk)) await drainedOrFailed(inflater);
    }
    if (!failure && !inflater.destroyed) inflater.end();
    await finished;
    sink?.off('close', onSinkClose);
    void paused;
  }

  result.outputBytes = out;
  if (failure instanceof OutputLimitReached) {
    result.status = 'size_mismatch';
    result.flags.push('size_mismatch');
    if (out > e.uncompressedSize) result.flags.push('bomb_suspected');
    result.problem = {
      code: 'ZIP_ENTRY_SIZE_MISMATCH',
      message: `Entry "${e.name}" inflates to more than its declared ${e.uncompressedSize} bytes; inflating stopped at ${opts.outputLimit} bytes`,
    };
    return;
  }
  if (failure) {
    result.status = 'corrupt';
    result.flags.push('data_corrupt');
    result.problem = { code: 'ZIP_ENTRY_CORRUPT', message: `Entry "${e.name}" cannot be decoded: ${failure.message}` };
    return;
  }
  result.sha256 = sha.digest('hex');
  result.md5 = md5?.digest('hex');
  if (out !== e.uncompressedSize) {
    result.status = 'size_mismatch';
    result.flags.push('size_mismatch');
    result.crcOk = (crc >>> 0) === e.crc32;
    result.problem = { code: 'ZIP_ENTRY_SIZE_MISMATCH', message: `Entry "${e.name}" holds ${out} bytes, not the ${e.uncompressedSize} its directory record declares` };
    return;
  }
  result.crcOk = (crc >>> 0) === e.crc32;
  if (!result.crcOk) {
    result.status = 'crc_mismatch';
    result.flags.push('crc_mismatch');
    result.problem = {
      code: 'ZIP_ENTRY_CRC_MISMATCH',
      message: `Entry "${e.name}": CRC-32 of its bytes is ${hex8(crc)}, the archive records ${hex8(e.crc32)}`,
    };
    return;
  }
  result.status = 'ok';
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

async function writeTo(w: Writable, chunk: Buffer): Promise<void> {
  if (w.destroyed) throw new Error('the export stream was closed by its reader');
  if (!w.write(chunk)) await drained(w);
}

function drained(w: Writable): Promise<void> {
  // A stream already closed will never emit again: waiting for it would hang.
  if (w.destroyed || w.writableEnded) return Promise.reject(new Error('the export stream was closed by its reader'));
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      w.off('drain', onDrain);
      w.off('error', done);
      w.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the export stream was closed by its reader'));
    w.once('drain', onDrain);
    w.once('error', done);
    w.once('close', onClose);
  });
}

/** Waits for the inflater to take more input, or to stop (error, destroyed by the limit). */
export function drainedOrFailed(w: InflateRaw): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('error', done);
      w.off('close', done);
      resolve();
    };
    w.once('drain', done);
    w.once('error', done);
    w.once('close', done);
  });
}
