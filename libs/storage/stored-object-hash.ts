import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { OffThreadDigests, type Digests, type HashAlgorithm } from '../core/index.js';
import { AppError } from '../core/index.js';
import type { ObjectStore } from './object-store.js';

export interface StoredObjectHashOptions {
  algorithms?: HashAlgorithm[];
  /** Aborts the reads (job time limit, shutdown); the promise then rejects. */
  signal?: AbortSignal;
  /** The size the caller expects; a different stored size is reported in the result, not hashed past. */
  size?: number;
  /** Bytes per ranged read (default 8 MiB). */
  partSize?: number;
  /** Ranged reads in flight at once (default 4): memory is at most partSize × concurrency. */
  concurrency?: number;
}

export interface StoredObjectDigests extends Digests {
  /** Ranged reads made (1 for a small object). */
  reads: number;
}

/**
 * The one way the service hashes bytes as stored (seal, fixity, integrity jobs): the object is
 * read back in ranges, several in flight at once, and hashed strictly in order. Parallel ranges
 * keep a single slow stream from limiting the rate (object stores serve ranges independently);
 * memory stays bounded by partSize × concurrency whatever the object's size. Every read stops at
 * once when `signal` aborts. Hashing runs on the hashing thread (OffThreadDigests), so this thread
 * keeps the reads flowing while the bytes before them are hashed.
 */
export async function hashStoredObject(store: ObjectStore, bucket: string, key: string, options: StoredObjectHashOptions = {}): Promise<StoredObjectDigests> {
  const partSize = options.partSize ?? 8 * 1024 * 1024;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const signal = options.signal;
  signal?.throwIfAborted();
  const info = await store.head(bucket, key);
  if (!info) throw new AppError('OBJECT_NOT_FOUND', `No object ${key} in ${bucket}`, 404, { bucket, key });
  const total = info.size;
  const digests = new OffThreadDigests(options.algorithms ?? ['sha256']);
  // The hashing thread's input, in order; its pass-through output is not needed.
  const sink = digests.tap().resume();
  const ranges: { start: number; end: number }[] = [];
  for (let start = 0; start < total; start += partSize) ranges.push({ start, end: Math.min(total, start + partSize) - 1 });

  const read = async (r: { start: number; end: number }): Promise<Buffer> => {
    signal?.throwIfAborted();
    const got = await store.get(bucket, key, r);
    const chunks: Buffer[] = [];
    let length = 0;
    const onAbort = () => got.body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const c of got.body) {
        chunks.push(c as Buffer);
        length += (c as Buffer).length;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    const expected = r.end - r.start + 1;
    if (length !== expected) {
      throw new AppError('STORAGE_SHORT_READ', `Reading bytes ${r.start}-${r.end} of ${key} gave ${length} bytes instead of ${expected}`, 502, { bucket, key });
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
  };

  // A window of reads in flight; results are consumed in order.
  const inFlight: Promise<Buffer>[] = [];
  let next = 0;
  const fill = () => {
    while (inFlight.length < concurrency && next < ranges.length) {
      const p = read(ranges[next++]);
      p.catch(() => undefined); // observed below, in order; never an unhandled rejection
      inFlight.push(p);
    }
  };
  try {
    fill();
    while (inFlight.length) {
      const part = await inFlight.shift()!;
      fill();
      if (!sink.write(part)) await once(sink, 'drain', { signal });
    }
    sink.end();
    await finished(sink);
    return { ...(await digests.digests()), reads: Math.max(1, ranges.length) };
  } catch (e) {
    sink.destroy();
    digests.discard();
    // Let the reads still in flight finish or fail quietly before reporting.
    await Promise.allSettled(inFlight);
    throw e;
  }
}
