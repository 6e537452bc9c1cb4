import { S3Store } from '@tus/s3-store';
import { pipeline, type Readable } from 'node:stream';
import { OffThreadDigests, type Digests } from '../core/index.js';
import type { S3StoreSettings } from './s3-object-store.js';

export interface IngestStoreSettings extends S3StoreSettings {
  /** Bytes go to S3 in parts of this size as they arrive. */
  partSizeBytes: number;
  /** Parts staged on local disk at once, for the whole process: temp space <= partSize x this. */
  partsInFlight: number;
}

/** Where an upload's bytes live: one object per upload, under a key the service chose. */
export const UPLOAD_KEY_PREFIX = 'originals/';

/**
 * The tus data store for evidence uploads: @tus/s3-store (bytes go to an S3 multipart upload as
 * they arrive, staged through bounded temp files, resumable from S3's own part list), plus a
 * running SHA-256/SHA-1/MD5 over the exact byte stream handed to S3, in upload order.
 *
 * The running digests are kept per upload in this process and are valid only while the hashed
 * length equals the stored offset at every step; after a restart, a request that failed
 * half-way or a resume on another replica they are dropped, and the seal hashes the stored
 * object instead (see EvidenceSealJob). Hashing here saves a second read of multi-GB files.
 */
export class IngestUploadStore extends S3Store {
  private readonly running = new Map<string, OffThreadDigests>();
  private readonly finished = new Map<string, Promise<Digests | undefined>>();

  constructor(
    settings: IngestStoreSettings,
    private readonly hooks: { onProgress?: (id: string, offset: number) => void; onRemoved?: (id: string) => Promise<void> } = {},
  ) {
    super({
      partSize: settings.partSizeBytes,
      maxConcurrentPartUploads: settings.partsInFlight,
      // Expiry is decided by the service from last activity (the worker's expiry job), not from
      // the creation date, so a slow multi-day upload that is still moving is never cut off.
      expirationPeriodInMilliseconds: 0,
      useTags: false,
      s3ClientConfig: {
        bucket: settings.buckets.originals,
        endpoint: settings.endpoint,
        region: settings.region,
        forcePathStyle: settings.forcePathStyle,
        credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
        // Same reasons as S3ObjectStore: aws-chunked streaming is refused by Swift (S3-DEV.md).
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
      },
    });
  }

  override async write(src: Readable, id: string, offset: number): Promise<number> {
    let digests = this.running.get(id);
    if (!digests || digests.size !== offset) {
      digests?.discard();
      digests = offset === 0 ? new OffThreadDigests(['sha256', 'sha1', 'md5']) : undefined;
      if (digests) this.running.set(id, digests);
      else this.running.delete(id);
    }
    const size = (await this.getMetadata(id)).file.size;
    const body = digests ? pipeline(src, digests.tap(), () => undefined) : src;
    let newOffset: number;
    try {
      newOffset = await super.write(body, id, offset);
    } catch (e) {
      this.drop(id);
      throw e;
    }
    if (digests && digests.size !== newOffset) this.drop(id);
    this.hooks.onProgress?.(id, newOffset);
    if (size !== undefined && newOffset === size) {
      const running = this.running.get(id);
      this.running.delete(id);
      // A broken hashed stream rejects: the seal then reads the stored object instead.
      if (running) this.finished.set(id, running.digests().catch(() => undefined));
    }
    return newOffset;
  }

  /** Closes the store's S3 connections (its keep-alive sockets would hold the process open). */
  destroy(): void {
    this.client.destroy();
  }

  private drop(id: string): void {
    this.running.get(id)?.discard();
    this.running.delete(id);
  }

  /**
   * The digests of a completed upload's byte stream, if this process saw every byte in order;
   * undefined otherwise. Taken once.
   */
  async takeDigests(id: string): Promise<Digests | undefined> {
    const d = this.finished.get(id);
    this.finished.delete(id);
    return d;
  }

  /**
   * Termination: abort the multipart upload (its parts go) and delete the upload's objects one
   * by one. s3-store's own remove() uses DeleteObjects, which needs a checksum header that not
   * every S3 server accepts in WHEN_REQUIRED mode.
   */
  override async remove(id: string): Promise<void> {
    this.drop(id);
    this.finished.delete(id);
    const { 'upload-id': uploadId } = await this.getMetadata(id);
    if (uploadId) {
      await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: id, UploadId: uploadId }).catch((e: { name?: string }) => {
        if (e?.name !== 'NoSuchUpload' && e?.name !== 'NotFound') throw e;
      });
    }
    for (const key of [id, this.infoKey(id), this.partKey(id, true)]) await this.client.deleteObject({ Bucket: this.bucket, Key: key });
    await this.clearCache(id);
    await this.hooks.onRemoved?.(id);
  }
}
