import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectRetentionCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Readable } from 'node:stream';
import { AppError, DependencyUnavailableError } from '../core/index.js';
import { boundedMultipartUpload } from './bounded-multipart-upload.js';
import { reportS3Errors, type S3ErrorListener } from './s3-request-errors.js';
import {
  ObjectStore,
  type ByteRange,
  type GetResult,
  type ListPage,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  type StoreCapabilities,
} from './object-store.js';

export interface S3StoreSettings {
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  buckets: { originals: string; working: string };
  partSizeBytes: number;
  uploadConcurrency: number;
  presignTtlSeconds: number;
}


/** S3 error names that mean "not there", across AWS, MinIO, Ceph and Swift's s3api. */
const NOT_FOUND = new Set(['NotFound', 'NoSuchKey', 'NoSuchBucket', 'NoSuchVersion']);

/**
 * The only module that talks to S3 (and the only importer of @aws-sdk/*). It works against any
 * S3-compatible server: path-style addressing and checksums only when required, because the
 * SDK's default aws-chunked streaming is refused by Swift and corrupted by some emulators
 * (S3-DEV.md). Every put is re-checked with HEAD: a multipart result is never trusted blindly.
 */
export class S3ObjectStore extends ObjectStore {
  readonly client: S3Client;
  readonly buckets: { originals: string; working: string };
  private caps?: StoreCapabilities;

  constructor(private readonly settings: S3StoreSettings) {
    super();
    this.buckets = settings.buckets;
    this.client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 5000, requestTimeout: 120_000 }),
    });
  }

  /** Tells `listener` of every request that failed for good (metrics). */
  onRequestError(listener: S3ErrorListener): void {
    reportS3Errors(this.client, listener);
  }

  capabilities(): StoreCapabilities | undefined {
    return this.caps;
  }

  async ensureBuckets(): Promise<StoreCapabilities> {
    await this.ensureBucket(this.buckets.originals, true);
    await this.ensureBucket(this.buckets.working, false);
    const objectLock = await this.detectObjectLock(this.buckets.originals);
    const workingLock = await this.detectObjectLock(this.buckets.working);
    this.caps = {
      objectLock,
      objectLockBuckets: [...(objectLock ? [this.buckets.originals] : []), ...(workingLock ? [this.buckets.working] : [])],
      summary: objectLock
        ? `Object Lock is enabled on bucket ${this.buckets.originals}: originals are write-once (COMPLIANCE retention)`
        : `originals not write-once on this store: bucket ${this.buckets.originals} has no Object Lock; originals are protected by the service (never rewritten) only`,
    };
    return this.caps;
  }

  private async ensureBucket(bucket: string, wantObjectLock: boolean): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (e) {
      if (!isNotFound(e)) throw this.translate(e, { bucket });
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: wantObjectLock || undefined }));
    } catch (e) {
      const name = errorName(e);
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
      if (!wantObjectLock) throw this.translate(e, { bucket });
      // A store without Object Lock may refuse the header; create the bucket plainly and let
      // detectObjectLock() report the truth.
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (e2) {
        const n2 = errorName(e2);
        if (n2 !== 'BucketAlreadyOwnedByYou' && n2 !== 'BucketAlreadyExists') throw this.translate(e2, { bucket });
      }
    }
  }

  private async detectObjectLock(bucket: string): Promise<boolean> {
    try {
      const out = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
      return out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (e) {
      if (e instanceof S3ServiceException && (e.$metadata.httpStatusCode ?? 500) < 500) return false;
      if (errorName(e) === 'NotImplemented') return false;
      throw this.translate(e, { bucket });
    }
  }

  /** Object Lock was found enabled on this bucket (ensureBuckets); false before that is known. */
  private locked(bucket: string): boolean {
    return this.caps?.objectLockBuckets.includes(bucket) ?? false;
  }

  private noLock(bucket: string): AppError {
    return new AppError('OBJECT_LOCK_UNAVAILABLE', `Bucket ${bucket} has no Object Lock: a write-once retention cannot be set on it`, 500, { bucket });
  }

  /**
   * With `retainUntil`, the object is written first, checked (size), and only then given its
   * retention, which is read back: a put that fails its checks never leaves a locked version.
   */
  async put(bucket: string, key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    if (options.retainUntil && !this.locked(bucket)) throw this.noLock(bucket);
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    let out;
    try {
      out = await boundedMultipartUpload({
        client: this.client,
        bucket,
        key,
        body: source,
        partSize: options.partSize ?? this.settings.partSizeBytes,
        concurrency: this.settings.uploadConcurrency,
        algorithms: options.algorithms ?? [],
        contentType: options.contentType,
        metadata: options.metadata,
        expectedSize: options.expectedSize,
      });
    } catch (e) {
      source.destroy();
      throw this.translate(e, { bucket, key });
    }
    const { etag: _etag, versionId: _v, parts: _p, ...digests } = out;
    // Never trust a multipart result: what the store holds must be what we streamed.
    const stored = await this.head(bucket, key);
    if (!stored || stored.size !== digests.size || (options.expectedSize !== undefined && options.expectedSize !== digests.size)) {
      // Nothing partial may stay behind looking complete: the key is ours and fresh, remove it
      // (the version itself where the bucket keeps versions; it has no retention yet).
      await this.deleteVersion(bucket, key, out.versionId).catch(() => undefined);
      throw new AppError(
        'STORAGE_SIZE_MISMATCH',
        `Stored object ${bucket}/${key} has ${stored?.size ?? 'no'} bytes; ${digests.size} were sent` +
          (options.expectedSize !== undefined ? ` and ${options.expectedSize} were expected` : ''),
        502,
        { bucket, key, storedSize: stored?.size, sentSize: digests.size, expectedSize: options.expectedSize },
      );
    }
    if (options.retainUntil) await this.retain(bucket, key, options.retainUntil);
    return { bucket, key, etag: out.etag, versionId: out.versionId, ...digests };
  }

  async get(bucket: string, key: string, range?: ByteRange): Promise<GetResult> {
    if (range && (range.start < 0 || (range.end !== undefined && range.end < range.start))) {
      throw new AppError('INVALID_RANGE', `Byte range ${range.start}-${range.end ?? ''} is not valid`, 416);
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
        }),
      );
      const contentLength = out.ContentLength ?? 0;
      const total = out.ContentRange ? Number(out.ContentRange.split('/')[1]) : contentLength;
      return {
        body: out.Body as Readable,
        contentLength,
        totalSize: Number.isFinite(total) ? total : contentLength,
        contentRange: out.ContentRange,
        contentType: out.ContentType,
      };
    } catch (e) {
      throw this.translate(e, { bucket, key });
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        bucket,
        key,
        size: out.ContentLength ?? 0,
        etag: out.ETag,
        contentType: out.ContentType,
        lastModified: out.LastModified,
        metadata: out.Metadata ?? {},
        versionId: out.VersionId,
        lock: out.ObjectLockMode ? { mode: out.ObjectLockMode, retainUntil: out.ObjectLockRetainUntilDate } : undefined,
      };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.translate(e, { bucket, key });
    }
  }

  async copy(source: { bucket: string; key: string }, target: { bucket: string; key: string }): Promise<ObjectInfo> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: target.bucket,
          Key: target.key,
          CopySource: `${source.bucket}/${source.key.split('/').map(encodeURIComponent).join('/')}`,
        }),
      );
    } catch (e) {
      throw this.translate(e, source);
    }
    const info = await this.head(target.bucket, target.key);
    if (!info) throw new AppError('STORAGE_COPY_FAILED', `Copy to ${target.bucket}/${target.key} left no object`, 502);
    return info;
  }

  async presignGet(bucket: string, key: string, options: { expiresInSeconds?: number; downloadName?: string } = {}): Promise<string> {
    const disposition = options.downloadName
      ? `attachment; filename*=UTF-8''${encodeURIComponent(options.downloadName)}`
      : undefined;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentDisposition: disposition }), {
      expiresIn: options.expiresInSeconds ?? this.settings.presignTtlSeconds,
    });
  }

  async list(bucket: string, prefix?: string, options: { pageSize?: number; token?: string } = {}): Promise<ListPage> {
    try {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: options.pageSize ?? 1000, ContinuationToken: options.token }),
      );
      return {
        entries: (out.Contents ?? []).map((c) => ({ key: c.Key ?? '', size: c.Size ?? 0, lastModified: c.LastModified, etag: c.ETag })),
        nextToken: out.IsTruncated ? out.NextContinuationToken : undefined,
      };
    } catch (e) {
      throw this.translate(e, { bucket, prefix });
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    if (this.locked(bucket)) {
      // A plain DELETE of a retained object "succeeds" by adding a delete marker: the object would
      // then look missing (to fixity too) while its locked version stays. Refuse instead.
      const info = await this.head(bucket, key);
      const until = info?.lock?.retainUntil;
      if (until && until.getTime() > Date.now()) {
        throw new AppError('OBJECT_LOCKED', `${bucket}/${key} is under ${info!.lock!.mode} retention until ${until.toISOString()}; it cannot be deleted`, 409, {
          bucket,
          key,
          retainUntil: until.toISOString(),
        });
      }
    }
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      if (!isNotFound(e)) throw this.translate(e, { bucket, key });
    }
  }

  /** Removes one version (a versioned bucket), or the object (versionId unknown or the store keeps none). */
  private async deleteVersion(bucket: string, key: string, versionId: string | undefined): Promise<void> {
    if (!versionId || versionId === 'null') return this.delete(bucket, key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    } catch (e) {
      if (!isNotFound(e)) throw this.translate(e, { bucket, key });
    }
  }

  async retain(bucket: string, key: string, until: Date): Promise<void> {
    if (!this.locked(bucket)) throw this.noLock(bucket);
    try {
      // S3 requires an integrity header here; the SDK adds it for operations that require one.
      await this.client.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: key, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until } }));
    } catch (e) {
      throw this.translate(e, { bucket, key });
    }
    // Never claim a retention the store does not report (HeadObject: GetObjectRetention is not
    // offered everywhere). Dates come back at second precision.
    const info = await this.head(bucket, key);
    const got = info?.lock?.retainUntil;
    if (info?.lock?.mode !== 'COMPLIANCE' || !got || got.getTime() < until.getTime() - 1000) {
      throw new AppError(
        'OBJECT_LOCK_NOT_APPLIED',
        `The store did not confirm COMPLIANCE retention of ${bucket}/${key} until ${until.toISOString()} (it reports ${info?.lock ? `${info.lock.mode} until ${got?.toISOString()}` : 'none'})`,
        502,
        { bucket, key },
      );
    }
  }

  async listMultipartUploads(bucket: string, prefix: string): Promise<{ key: string; uploadId: string; initiated?: Date }[]> {
    const out: { key: string; uploadId: string; initiated?: Date }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
        for (const u of page.Uploads ?? []) if (u.Key && u.UploadId) out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
        if (!page.IsTruncated) return out;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (e) {
      throw this.translate(e, { bucket, prefix });
    }
  }

  async discardUpload(bucket: string, key: string): Promise<void> {
    for (const u of await this.listMultipartUploads(bucket, key)) {
      if (u.key !== key) continue;
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: u.uploadId }));
      } catch (e) {
        if (!isNotFound(e) && errorName(e) !== 'NoSuchUpload') throw this.translate(e, { bucket, key });
      }
    }
    // One DELETE each rather than DeleteObjects: that call needs a checksum header some servers reject.
    for (const k of [key, `${key}.info`, `${key}.part`]) await this.delete(bucket, k);
    if (await this.versioned(bucket)) {
      // A versioned bucket (every Object Lock bucket is one) keeps the bytes behind delete markers.
      const names = new Set([key, `${key}.info`, `${key}.part`]);
      for (const v of await this.versions(bucket, key)) {
        if (names.has(v.key)) await this.deleteVersion(bucket, v.key, v.versionId);
      }
    }
  }

  async versions(bucket: string, prefix: string): Promise<{ key: string; versionId: string; deleteMarker: boolean; size?: number }[]> {
    const out: { key: string; versionId: string; deleteMarker: boolean; size?: number }[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
      } catch (e) {
        throw this.translate(e, { bucket, prefix });
      }
      for (const v of page.Versions ?? []) if (v.Key) out.push({ key: v.Key, versionId: v.VersionId ?? 'null', deleteMarker: false, size: v.Size });
      for (const m of page.DeleteMarkers ?? []) if (m.Key) out.push({ key: m.Key, versionId: m.VersionId ?? 'null', deleteMarker: true });
      if (!page.IsTruncated) return out;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
  }

  private async versioned(bucket: string): Promise<boolean> {
    try {
      const out = await this.client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
      return out.Status === 'Enabled' || out.Status === 'Suspended';
    } catch (e) {
      if (errorName(e) === 'NotImplemented') return false;
      throw this.translate(e, { bucket });
    }
  }

  async ping(timeoutMs = 3000): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    for (const bucket of [this.buckets.originals, this.buckets.working]) {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
      } catch (e) {
        if (isNotFound(e)) throw new DependencyUnavailableError('storage', `bucket ${bucket} does not exist`, { bucket });
        throw this.translate(e, { bucket });
      }
    }
  }

  destroy(): void {
    this.client.destroy();
  }

  private translate(e: unknown, where: Record<string, unknown>): Error {
    if (e instanceof AppError) return e;
    const name = errorName(e);
    if (isNotFound(e)) {
      return new AppError('OBJECT_NOT_FOUND', `No object at ${describe(where)}`, 404, where);
    }
    if (name === 'InvalidRange') {
      return new AppError('RANGE_NOT_SATISFIABLE', `The requested byte range is outside ${describe(where)}`, 416, where);
    }
    if (e instanceof S3ServiceException) {
      const status = e.$metadata.httpStatusCode ?? 500;
      return status >= 500
        ? new DependencyUnavailableError('storage', `${name}: ${e.message}`, where)
        : new AppError('STORAGE_REJECTED', `The object store refused the request (${name}: ${e.message})`, 502, where);
    }
    const message = e instanceof Error ? e.message : String(e);
    return new DependencyUnavailableError('storage', `${name || 'Error'}: ${message}`, where);
  }
}

function errorName(e: unknown): string {
  return (e as { name?: string; Code?: string })?.Code ?? (e as { name?: string })?.name ?? '';
}

function isNotFound(e: unknown): boolean {
  return NOT_FOUND.has(errorName(e)) || (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404);
}

function describe(where: Record<string, unknown>): string {
  return [where.bucket, where.key ?? where.prefix].filter((x) => x !== undefined).join('/');
}
