import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import type { ObjectStore } from '../storage/index.js';
import { EXTRACTION_ERRORS, extractionError } from './extraction-errors.js';

/**
 * Random access to the bytes of one stored file, by ranges. Everything in libs/extraction reads
 * through this, so a 40 GB extraction in S3 is read with HTTP range requests and never copied
 * whole to local disk (ewfverify staging is the one, budgeted, exception).
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** For messages only (object key or file name); never used to build a path. */
  readonly label: string;
  /** Range requests made so far (one per `stream` call that reads bytes). */
  readonly requests: number;
  /** The bytes [start, end): exactly end - start of them, or the stream fails. */
  stream(start: number, end: number): Promise<Readable>;
}

/** Reads [start, start + length) fully into memory: for headers and other small structures. */
export async function readBytes(source: ByteSource, start: number, length: number): Promise<Buffer> {
  const end = Math.min(source.size, start + length);
  if (end <= start) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of await source.stream(start, end)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Fails a stream that delivers a different number of bytes than asked for (a short or long read). */
function exactLength(expected: number, label: string): Transform {
  let seen = 0;
  return new Transform({
    // Room for a few MiB in flight: with the 16 KiB default the HTTP response stalls whenever the
    // hashing consumer pauses for a moment, and the pass ran at half the speed of a plain GET.
    highWaterMark: 4 * 1024 * 1024,
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > expected) return cb(extractionError(EXTRACTION_ERRORS.SOURCE_READ_FAILED, `${label}: more bytes than requested arrived`, 502));
      cb(null, chunk);
    },
    flush(cb) {
      if (seen !== expected) return cb(extractionError(EXTRACTION_ERRORS.SOURCE_READ_FAILED, `${label}: the read ended after ${seen} of ${expected} bytes`, 502));
      cb();
    },
  });
}

function emptyStream(): Readable {
  return Readable.from([]);
}

/** A local file (tests, and staged copies). */
export class LocalFileByteSource implements ByteSource {
  requests = 0;
  private constructor(
    private readonly path: string,
    readonly size: number,
    readonly label: string,
  ) {}

  static async open(path: string, label = basename(path)): Promise<LocalFileByteSource> {
    const s = await stat(path);
    return new LocalFileByteSource(path, s.size, label);
  }

  async stream(start: number, end: number): Promise<Readable> {
    checkRange(this, start, end);
    if (end === start) return emptyStream();
    this.requests++;
    // createReadStream's `end` is inclusive.
    const out = exactLength(end - start, this.label);
    const src = createReadStream(this.path, { start, end: end - 1, highWaterMark: 256 * 1024 });
    src.on('error', (e) => out.destroy(e));
    return src.pipe(out);
  }
}

/**
 * An object in the store, read with ranged GETs. The size and ETag are taken once at open; every
 * response must report the same total size, so an object replaced mid-read is noticed (originals
 * are never rewritten by this service, but the check costs nothing).
 */
export class ObjectStoreByteSource implements ByteSource {
  requests = 0;
  private constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly key: string,
    readonly size: number,
    readonly etag: string | undefined,
  ) {}

  get label(): string {
    return `${this.bucket}/${this.key}`;
  }

  static async open(store: ObjectStore, bucket: string, key: string): Promise<ObjectStoreByteSource> {
    const info = await store.head(bucket, key);
    if (!info) throw extractionError('OBJECT_NOT_FOUND', `No object at ${bucket}/${key}`, 404, { bucket, key });
    return new ObjectStoreByteSource(store, bucket, key, info.size, info.etag);
  }

  async stream(start: number, end: number): Promise<Readable> {
    checkRange(this, start, end);
    if (end === start) return emptyStream();
    this.requests++;
    const res = await this.store.get(this.bucket, this.key, { start, end: end - 1 });
    if (res.totalSize !== this.size || res.contentLength !== end - start) {
      res.body.destroy();
      throw extractionError(
        EXTRACTION_ERRORS.SOURCE_CHANGED,
        `${this.label} answered ${res.contentLength} bytes of ${res.totalSize} for a range of ${end - start} of ${this.size}: the object changed or the store ignored the range`,
        409,
        { bucket: this.bucket, key: this.key },
      );
    }
    const out = exactLength(end - start, this.label);
    res.body.on('error', (e) => out.destroy(e));
    return res.body.pipe(out);
  }
}

/** Wraps a source and counts what was asked of it (tests prove "no full download" with this). */
export class CountingByteSource implements ByteSource {
  bytesRequested = 0;
  ranges: [number, number][] = [];
  constructor(private readonly inner: ByteSource) {}
  get size(): number {
    return this.inner.size;
  }
  get label(): string {
    return this.inner.label;
  }
  get requests(): number {
    return this.inner.requests;
  }
  async stream(start: number, end: number): Promise<Readable> {
    if (end > start) {
      this.bytesRequested += end - start;
      this.ranges.push([start, end]);
    }
    return this.inner.stream(start, end);
  }
}

function checkRange(source: ByteSource, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > source.size) {
    throw extractionError(EXTRACTION_ERRORS.SOURCE_READ_FAILED, `${source.label}: range ${start}-${end} is outside 0-${source.size}`, 500);
  }
}

/** A PassThrough fed by a promise of a stream: for APIs (yauzl) that want a stream synchronously. */
export function deferredStream(open: () => Promise<Readable>): Readable {
  const out = new PassThrough();
  open().then(
    (s) => {
      s.on('error', (e) => out.destroy(e));
      s.pipe(out);
      out.on('close', () => s.destroy());
    },
    (e: Error) => out.destroy(e),
  );
  return out;
}
