import { S3Store, type MetadataValue } from '@tus/s3-store';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { OffThreadDigests, processFolderPrefix, removeDeadProcessFolders, type Digests } from '../core/index.js';
import type { S3StoreSettings } from './s3-object-store.js';
import { reportS3Errors, type S3ErrorListener } from './s3-request-errors.js';

export interface IngestStoreSettings extends S3StoreSettings {
  /** Bytes go to S3 in parts of this size as they arrive. */
  partSizeBytes: number;
  /** Parts staged on local disk at once, for the whole process: temp space <= partSize x this. */
  partsInFlight: number;
  /** The folder parts are staged in (default: the system temp folder). */
  stagingDir?: string;
}

/** Where an upload's bytes live: one object per upload, under a key the service chose. */
export const UPLOAD_KEY_PREFIX = 'originals/';

/** Staged bytes go to the part file in writes of about this size (incoming chunks are ~64 KiB). */
const STAGE_WRITE_BYTES = 1024 * 1024;
/** A staged part is read back for S3 in chunks of this size (fs.createReadStream's default is 64 KiB). */
const STAGE_READ_BYTES = 1024 * 1024;

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
/**
 * Running digests of an upload no request has written to for this long are dropped (each holds a
 * 1 MiB batch buffer and the hashing thread's state): the upload expired, was cancelled by the
 * worker, or moved to another API replica. Should it come back here, the seal reads the stored
 * object as it does after any gap.
 */
const RUNNING_DIGESTS_IDLE_MS = 10 * 60_000;

export class IngestUploadStore extends S3Store {
  private readonly running = new Map<string, OffThreadDigests>();
  /** When each upload's running digests were last written to. */
  private readonly lastWrite = new Map<string, number>();
  private readonly idleSweep: NodeJS.Timeout;
  private readonly stagingDir: string;
  private readonly finished = new Map<string, Promise<Digests | undefined>>();
  /** Parts one request may have staged and waiting for S3 at once. */
  private readonly partsPerRequest: number;

  constructor(
    settings: IngestStoreSettings,
    private readonly hooks: { onProgress?: (id: string, offset: number, written: number) => void; onRemoved?: (id: string) => Promise<void> } = {},
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
    // Only what is really offered: a deferred length is refused (the size is part of what is
    // declared and checked), and no Upload-Expires is sent (expiry runs on inactivity, in the worker).
    this.extensions = ['creation', 'creation-with-upload', 'termination'];
    this.partsPerRequest = settings.partsInFlight;
    this.idleSweep = setInterval(() => this.dropIdle(Date.now() - RUNNING_DIGESTS_IDLE_MS), 60_000).unref();
    // Staged parts are evidence bytes: folders only this service's user can read. Each process
    // stages in a folder of its own, so one that was killed leaves nothing another must guess at.
    const base = settings.stagingDir || tmpdir();
    mkdirSync(base, { recursive: true, mode: 0o700 });
    removeDeadStagingDirs(base);
    this.stagingDir = path.join(base, `${processFolderPrefix(STAGING_PREFIX)}${randomUUID().slice(0, 8)}`);
    mkdirSync(this.stagingDir, { recursive: true, mode: 0o700 });
  }

  /** Tells `listener` of every request that failed for good (metrics). */
  onRequestError(listener: S3ErrorListener): void {
    reportS3Errors(this.client, listener);
  }

  /** Temp files (staged parts, a resumed upload's short tail) go to the configured staging folder. */
  protected override async uniqueTmpFileName(template: string): Promise<string> {
    return path.join(this.stagingDir, `${template}${randomUUID()}`);
  }

  override async write(src: Readable, id: string, offset: number): Promise<number> {
    let digests = this.running.get(id);
    if (!digests || digests.size !== offset) {
      this.drop(id);
      digests = offset === 0 ? new OffThreadDigests(['sha256', 'sha1', 'md5']) : undefined;
      if (digests) this.running.set(id, digests);
    }
    if (digests) this.lastWrite.set(id, Date.now());
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
    this.hooks.onProgress?.(id, newOffset, newOffset - offset);
    if (size !== undefined && newOffset === size) {
      const running = this.running.get(id);
      this.running.delete(id);
      this.lastWrite.delete(id);
      // A broken hashed stream rejects: the seal then reads the stored object instead.
      if (running) this.finished.set(id, running.digests().catch(() => undefined));
    }
    return newOffset;
  }

  /**
   * Splits the request's bytes into S3 parts staged in temp files, as s3-store's own
   * uploadParts does (same part numbering, semaphore, incomplete-part rule and clean-up), but
   * with large file writes and reads. s3-store appends every incoming ~64 KiB chunk with its own
   * fs.appendFile and reads parts back in 64 KiB chunks: for a 2 GiB upload that is some 65,000
   * thread-pool round trips and their promises and buffers, which the ingest benchmark measured
   * as the largest CPU cost after hashing. Here incoming chunks are gathered (not copied) and
   * written with one writev per ~1 MiB, and parts are read back in 1 MiB chunks.
   *
   * Unlike s3-store, the shared permits (partsInFlight for the whole process) are taken only
   * when a staged part is ready to go to S3, not when its first byte arrives: a client that
   * trickles its bytes (or stops sending) then holds nothing another upload needs, only its own
   * staging file. Each request keeps at most partsInFlight parts staged and waiting, so its temp
   * space stays bounded; idle bodies are cut by the API after INGEST_BODY_IDLE_SECONDS.
   */
  protected override async uploadParts(metadata: MetadataValue, src: Readable, currentPartNumber: number, offset: number): Promise<number> {
    const size = metadata.file.size;
    const partSize = this.calcOptimalPartSize(size);
    const uploads: Promise<void>[] = [];
    let uploaded = 0;
    let failed: unknown;
    let part: StagedPart | undefined;

    const outstanding = new Set<Promise<void>>();
    const send = (staged: StagedPart) => {
      const partNumber = currentPartNumber++;
      offset += staged.size;
      const isFinalPart = size === offset;
      const upload = (async () => {
        let permit: { release(): Promise<void> } | undefined;
        try {
          permit = await this.partUploadSemaphore.acquire();
          const body = createReadStream(staged.path, { highWaterMark: STAGE_READ_BYTES });
          await new Promise<void>((resolve, reject) => {
            body.once('error', reject);
            const sent = staged.size >= this.minPartSize || isFinalPart ? this.uploadPart(metadata, body, partNumber) : this.uploadIncompletePart(metadata.file.id, body);
            sent.then(() => resolve(), reject);
          });
          uploaded += staged.size;
        } catch (e) {
          failed ??= e;
          throw e;
        } finally {
          await rm(staged.path, { force: true }).catch(() => undefined);
          await permit?.release().catch(() => undefined);
        }
      })();
      upload.catch(() => undefined); // awaited below; this only keeps it from being "unhandled" meanwhile
      uploads.push(upload);
      outstanding.add(upload);
      void upload.finally(() => outstanding.delete(upload)).catch(() => undefined);
    };

    try {
      for await (const chunk of src as AsyncIterable<Buffer>) {
        if (failed) throw failed;
        let rest = chunk;
        while (rest.length > 0) {
          if (!part) {
            // This request's own bound on staged parts (its temp space), before another is begun.
            while (outstanding.size >= this.partsPerRequest) await Promise.race(outstanding).catch(() => undefined);
            if (failed) throw failed;
            part = await StagedPart.start(await this.uniqueTmpFileName('tus-s3-part-'));
          }
          const take = Math.min(rest.length, partSize - part.size);
          await part.add(take === rest.length ? rest : rest.subarray(0, take));
          rest = rest.subarray(take);
          if (part.size === partSize) {
            await part.finish();
            send(part);
            part = undefined;
          }
        }
      }
      if (failed) throw failed;
      if (part) {
        await part.finish();
        send(part);
        part = undefined;
      }
    } catch (e) {
      await part?.abandon();
      uploads.push(Promise.reject(e));
      uploads.at(-1)!.catch(() => undefined);
    } finally {
      // Nothing is left running in the background, whatever happened.
      await Promise.allSettled(uploads);
    }
    await Promise.all(uploads);
    return uploaded;
  }

  /** Closes the store's S3 connections (its keep-alive sockets would hold the process open). */
  destroy(): void {
    clearInterval(this.idleSweep);
    for (const id of [...this.running.keys()]) this.drop(id);
    this.client.destroy();
    rmSync(this.stagingDir, { recursive: true, force: true });
  }

  /** How many uploads have running digests in this process (tests, metrics). */
  get runningUploads(): number {
    return this.running.size;
  }

  /** Drops the running digests of uploads last written before `before` (epoch ms). */
  dropIdle(before: number): void {
    for (const [id, at] of this.lastWrite) if (at < before) this.drop(id);
  }

  private drop(id: string): void {
    this.running.get(id)?.discard();
    this.running.delete(id);
    this.lastWrite.delete(id);
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

const STAGING_PREFIX = 'dems-ingest-';

/**
 * Removes the staging folders of processes that are gone: on this host, those whose process no
 * longer runs (an API that was killed mid-upload left its staged parts there; the bytes that
 * reached S3 are safe and the client resumes from them); from other hosts sharing the folder,
 * those untouched for a day.
 */
export function removeDeadStagingDirs(base: string, now = Date.now()): string[] {
  return removeDeadProcessFolders(base, STAGING_PREFIX, { otherHostsAfterMs: 24 * 3600_000, now });
}

/** One part being staged in a temp file: chunks are gathered and written together. */
class StagedPart {
  size = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
  ) {}

  static async start(path: string): Promise<StagedPart> {
    return new StagedPart(path, await open(path, 'w'));
  }

  /** Takes a chunk (kept, not copied, until written); writes when about 1 MiB has gathered. */
  async add(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.size += chunk.length;
    if (this.pendingBytes >= STAGE_WRITE_BYTES) await this.flush();
  }

  /** Writes what is gathered and closes the file: it is then ready to be sent. */
  async finish(): Promise<void> {
    await this.flush();
    await this.file.close();
  }

  /** Closes and removes the file (the request failed). */
  async abandon(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(this.path, { force: true }).catch(() => undefined);
  }

  private async flush(): Promise<void> {
    let buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    while (buffers.length > 0) {
      const { bytesWritten } = await this.file.writev(buffers, this.written);
      if (bytesWritten === 0) throw new Error(`could not stage upload bytes in ${this.path}: nothing was written`);
      this.written += bytesWritten;
      // A short write (rare on a regular file) continues where it stopped.
      let skip = bytesWritten;
      while (buffers.length > 0 && skip >= buffers[0].length) skip -= buffers.shift()!.length;
      if (buffers.length > 0 && skip > 0) buffers = [buffers[0].subarray(skip), ...buffers.slice(1)];
    }
  }
}
