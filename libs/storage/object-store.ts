import type { Readable } from 'node:stream';
import type { Digests, HashAlgorithm } from '../core/index.js';

export interface PutOptions {
  contentType?: string;
  /** Small string metadata stored with the object (never user-supplied file names as keys). */
  metadata?: Record<string, string>;
  /** Extra hashes to compute while streaming (SHA-256 is always computed). */
  algorithms?: HashAlgorithm[];
  /** Known size, if any: the put fails if the stored size differs. */
  expectedSize?: number;
  /**
   * Part size in bytes for this put instead of the configured S3_PART_SIZE_MB (at least S3's 5 MiB,
   * raised to fit 10,000 parts of `expectedSize`): the put holds (S3_UPLOAD_CONCURRENCY + 1) parts
   * in memory, so a long-running job that must stay small asks for smaller ones.
   */
  partSize?: number;
  /**
   * Write-once until this date (S3 Object Lock, COMPLIANCE mode). Only honoured where the store
   * has Object Lock on the bucket (capabilities().objectLock); elsewhere the put refuses with
   * OBJECT_LOCK_UNAVAILABLE rather than pretend, so callers ask only when it is available.
   */
  retainUntil?: Date;
}

export interface PutResult extends Digests {
  bucket: string;
  key: string;
  etag?: string;
  versionId?: string;
}

export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  etag?: string;
  contentType?: string;
  lastModified?: Date;
  metadata: Record<string, string>;
  versionId?: string;
  /** Object Lock on this version, as the store reports it (HeadObject). */
  lock?: { mode: string; retainUntil?: Date };
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive; omit for "to the end". */
  end?: number;
}

export interface GetResult {
  body: Readable;
  /** Bytes in this response (the range length for a ranged get). */
  contentLength: number;
  /** Size of the whole object. */
  totalSize: number;
  contentRange?: string;
  contentType?: string;
}

export interface ListEntry {
  key: string;
  size: number;
  lastModified?: Date;
  etag?: string;
}

export interface ListPage {
  entries: ListEntry[];
  nextToken?: string;
}

export interface StoreCapabilities {
  /** Object Lock is enabled on the originals bucket: originals can be made write-once (WORM). */
  objectLock: boolean;
  /** The buckets on which Object Lock was found enabled (it is a property of a bucket, not of a store). */
  objectLockBuckets: string[];
  /** A sentence for logs and /health/ready. */
  summary: string;
}

/**
 * What the service needs of object storage. Domain code depends on this, never on an S3 SDK.
 */
export abstract class ObjectStore {
  abstract readonly buckets: { originals: string; working: string };
  abstract ensureBuckets(): Promise<StoreCapabilities>;
  abstract capabilities(): StoreCapabilities | undefined;
  abstract put(bucket: string, key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult>;
  abstract get(bucket: string, key: string, range?: ByteRange): Promise<GetResult>;
  abstract head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  abstract copy(source: { bucket: string; key: string }, target: { bucket: string; key: string }): Promise<ObjectInfo>;
  abstract presignGet(bucket: string, key: string, options?: { expiresInSeconds?: number; downloadName?: string }): Promise<string>;
  abstract list(bucket: string, prefix?: string, options?: { pageSize?: number; token?: string }): Promise<ListPage>;
  /** Deletes an object; refuses (OBJECT_LOCKED) while it is under retention, rather than hide it behind a delete marker. */
  abstract delete(bucket: string, key: string): Promise<void>;
  /**
   * Sets Object Lock COMPLIANCE retention on an existing object (only on a bucket with Object
   * Lock), then reads it back: OBJECT_LOCK_NOT_APPLIED unless the store reports that retention.
   */
  abstract retain(bucket: string, key: string, until: Date): Promise<void>;
  /** Multipart uploads in progress under a prefix (unfinished uploads hold parts in the store). */
  abstract listMultipartUploads(bucket: string, prefix: string): Promise<{ key: string; uploadId: string; initiated?: Date }[]>;
  /**
   * Removes everything an unfinished upload left at `key`: its multipart uploads (and so their
   * parts), and the object and its `.info`/`.part` companions if present, every version of them
   * in a versioned bucket (a plain delete there only adds a delete marker).
   */
  abstract discardUpload(bucket: string, key: string): Promise<void>;
  /** Every version and delete marker under a prefix (a bucket without versioning lists its objects). */
  abstract versions(bucket: string, prefix: string): Promise<{ key: string; versionId: string; deleteMarker: boolean; size?: number }[]>;
  /** Cheap reachability check for readiness: every bucket answers. */
  abstract ping(timeoutMs?: number): Promise<void>;
}
