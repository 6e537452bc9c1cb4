import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import { ERRORS, Server } from '@tus/server';
import { Metadata } from '@tus/utils';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { APP_CONFIG, type AppConfig } from '../../../libs/config/index.js';
import { AppError, canonicalUuid } from '../../../libs/core/index.js';
import { EvidenceFilesService, fileIdFromKey, parseUploadMetadata, uploadKey } from '../../../libs/evidence/index.js';
import { ServiceMetrics } from '../../../libs/metrics/index.js';
import type { Principal, RequestContext } from '../../../libs/identity/index.js';
import { createRedis } from '../../../libs/queue/index.js';
import { createIngestUploadStore, type IngestUploadStore } from '../../../libs/storage/index.js';
import { RedisUploadLocker } from './redis-upload-locker.js';

export const UPLOADS_PATH = '/api/v1/uploads';

/** Who is calling, for the tus hooks (they receive tus's own request object, not Express's). */
interface Caller {
  principal: Principal;
  context: RequestContext;
}

/** Stable codes for the refusals the tus server makes itself (its bodies are plain sentences). */
const TUS_STATUS_CODES: Record<number, string> = {
  400: 'INVALID_UPLOAD_REQUEST',
  403: 'UPLOAD_FORBIDDEN',
  404: 'UPLOAD_NOT_FOUND',
  409: 'UPLOAD_OFFSET_CONFLICT',
  410: 'UPLOAD_GONE',
  412: 'TUS_VERSION_REQUIRED',
  413: 'FILE_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  460: 'UPLOAD_CHECKSUM_MISMATCH',
};

const isCount = (v: string) => /^(0|[1-9]\d{0,15})$/.test(v);
/** The request headers the tus server checks itself, with the rule each must meet. */
const TUS_HEADER_RULES: [string, (v: string) => boolean, string][] = [
  ['upload-offset', isCount, 'a byte count'],
  ['upload-length', isCount, 'a byte count'],
  ['upload-defer-length', () => false, 'absent (a deferred length is not offered: send Upload-Length)'],
  ['upload-concat', () => false, 'absent (concatenation is not offered)'],
  ['x-forwarded-proto', (v) => v === 'http' || v === 'https', 'http or https'],
];

/**
 * tus sets CORS headers on every answer (Access-Control-Expose-Headers always; Allow-Methods,
 * Allow-Headers and Max-Age on OPTIONS). The API is for same-origin clients and tools, so they
 * are dropped as the answer's head is written, whatever tus put in it.
 */
function withoutCors(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
  res.writeHead = ((status: number, ...rest: unknown[]) => writeHead(status, ...rest.map(stripCors))) as ServerResponse['writeHead'];
}

const isCors = (name: unknown) => /^access-control-/i.test(String(name));
function stripCors(headers: unknown): unknown {
  if (Array.isArray(headers)) {
    if (headers.length && Array.isArray(headers[0])) return headers.filter(([name]) => !isCors(name));
    const flat: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) if (!isCors(headers[i])) flat.push(headers[i], headers[i + 1]);
    return flat;
  }
  if (headers && typeof headers === 'object') return Object.fromEntries(Object.entries(headers).filter(([name]) => !isCors(name)));
  return headers;
}

/**
 * The tus server refuses a missing Tus-Resumable or a malformed tus header itself, with a plain
 * sentence and no way for us to shape it. The same rules are checked first here, so those
 * refusals are the API's usual `{code, message}` with the same status as tus gives.
 */
function checkTusHeaders(req: IncomingMessage): void {
  if (req.method === 'OPTIONS') return;
  const resumable = req.headers['tus-resumable'];
  if (resumable !== '1.0.0') {
    throw new AppError('TUS_VERSION_REQUIRED', 'Send Tus-Resumable: 1.0.0 (the tus protocol version this service speaks)', 412);
  }
  for (const [name, ok, what] of TUS_HEADER_RULES) {
    const value = req.headers[name];
    if (value !== undefined && (typeof value !== 'string' || !ok(value))) {
      throw new AppError('INVALID_UPLOAD_REQUEST', `${name} must be ${what}`, 400, { header: name });
    }
  }
  const metadata = req.headers['upload-metadata'];
  if (metadata !== undefined) {
    try {
      Metadata.parse(String(metadata));
    } catch {
      throw new AppError('INVALID_UPLOAD_METADATA', 'Upload-Metadata must be comma-separated "key base64value" pairs with unique keys', 400);
    }
  }
  if (req.method === 'POST' && req.headers['content-type'] === 'application/offset+octet-stream') {
    // Creation with upload: a body longer than the declared length is refused before anything is
    // created (no record, no event, nothing counted against the uploader's limit).
    const length = req.headers['content-length'];
    if (length === undefined) throw new AppError('LENGTH_REQUIRED', 'Send Content-Length with bytes in a creation request', 411);
    if (Number(length) > Number(req.headers['upload-length'] ?? 0)) {
      throw new AppError('FILE_TOO_LARGE', 'The creation request carries more bytes than its Upload-Length', 413);
    }
  }
  if (req.method === 'PATCH' && req.headers['content-type'] !== 'application/offset+octet-stream') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the bytes of a PATCH as Content-Type: application/offset+octet-stream', 415);
  }
}

/**
 * The tus 1.0 server (creation, creation-with-upload, HEAD offset, PATCH resume, termination)
 * over the ingest store, wired to the evidence rules: who may upload where, limits, progress,
 * and the hand-over to the seal when the last byte is stored.
 */
@Injectable()
export class TusUploadServer implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('Uploads');
  private readonly caller = new AsyncLocalStorage<Caller>();
  readonly store: IngestUploadStore;
  readonly server: Server;
  readonly locker: RedisUploadLocker;
  private readonly lastProgress = new Map<string, number>();
  private readonly idleBodySeconds: number;
  private readonly shutdownTimeoutMs: number;
  /** Requests carrying upload bytes, with their handling (see beforeApplicationShutdown). */
  private readonly inFlight = new Map<IncomingMessage, Promise<void>>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(EvidenceFilesService) private readonly files: EvidenceFilesService,
    @Inject(ServiceMetrics) private readonly metrics: ServiceMetrics,
  ) {
    this.idleBodySeconds = config.INGEST_BODY_IDLE_SECONDS;
    this.shutdownTimeoutMs = config.SHUTDOWN_TIMEOUT_MS;
    this.store = createIngestUploadStore(config, {
      onProgress: (id, offset, written) => {
        this.metrics.uploadBytes.inc(written);
        this.progress(fileIdFromKey(id)!, offset, true);
      },
      // Termination (tus DELETE) is recorded once the parts are gone, before the 204 is sent.
      onRemoved: async (id) => {
        const { principal, context } = this.current();
        await this.files.cancelled(principal, fileIdFromKey(id)!, context);
      },
    });
    this.store.onRequestError((operation, status) => this.metrics.s3Errors.inc({ operation, status }));
    // Shared by every API replica: one request at a time per upload, whichever replica it reaches.
    // Commands fail after a few tries rather than wait forever while Redis is away.
    this.locker = new RedisUploadLocker(createRedis(config.REDIS_URL, { maxRetriesPerRequest: 3 }), createRedis(config.REDIS_URL), {
      prefix: config.QUEUE_PREFIX,
      acquireTimeoutMs: config.INGEST_LOCK_WAIT_SECONDS * 1000,
      ttlMs: Math.min(10_000, Math.floor((config.INGEST_LOCK_WAIT_SECONDS * 1000) / 3)),
    });
    const options: ConstructorParameters<typeof Server>[0] = {
      path: UPLOADS_PATH,
      datastore: this.store,
      locker: this.locker,
      // How long a request asked to let go of its lock may go on writing before it is cut off
      // (@tus/server's default is 3 s): a resuming client waits at most this, well within its
      // own lock wait (INGEST_LOCK_WAIT_SECONDS), whatever else the holder is doing.
      lockDrainTimeout: Math.min(1000, Math.floor((config.INGEST_LOCK_WAIT_SECONDS * 1000) / 6)),
      maxSize: config.INGEST_MAX_FILE_SIZE_GB * 1024 ** 3,
      respectForwardedHeaders: config.TRUST_PROXY,
      // Same origin only, like the rest of the API (which sends no CORS headers): tus would
      // otherwise answer Access-Control-Allow-Origin: * to any web page.
      allowedOrigins: () => false,
      disableTerminationForFinishedUploads: true,
      postReceiveInterval: 1000,
      // The upload id is a fresh UUID (never from the client); the object key is derived from it.
      namingFunction: () => uploadKey(randomUUID()),
      generateUrl: (_req, { proto, host, path, id }) => `${proto}://${host}${path}/${fileIdFromKey(id)}`,
      getFileIdFromRequest: (_req, lastPath) => {
        const id = canonicalUuid(lastPath);
        return id ? uploadKey(id) : undefined;
      },
      onUploadCreate: async (_req, upload) => {
        const { principal, context } = this.current();
        const declaration = parseUploadMetadata(upload.metadata ?? {});
        await this.files.begin(principal, fileIdFromKey(upload.id)!, upload.size, declaration, context);
        // Only ids go into the store's metadata: user text stays in the database.
        return { metadata: { caseId: declaration.caseId } };
      },
      onIncomingRequest: async (req, id) => {
        if (req.method === 'POST' || req.method === 'OPTIONS') return;
        const fileId = fileIdFromKey(id);
        if (!fileId) throw new AppError('UPLOAD_NOT_FOUND', 'No such upload, or it is not yours', 404);
        await this.files.authorize(this.current().principal, fileId, req.method);
      },
      onUploadFinish: async (_req, upload) => {
        const { principal, context } = this.current();
        // An empty file gets no PATCH: complete its (empty) object here so it exists in storage.
        if (upload.size === 0) await this.store.write(Readable.from([]), upload.id, 0);
        const fileId = fileIdFromKey(upload.id)!;
        this.lastProgress.delete(fileId);
        await this.files.completed(fileId, await this.store.takeDigests(upload.id), principal, context);
        return { headers: { 'X-Evidence-State': 'verifying' } };
      },
      onResponseError: (_req, err) => this.toErrorBody(err),
    };
    this.server = new Server(options);
    this.server.on('POST_RECEIVE', (_req, upload) => {
      if (upload.offset !== undefined) this.progress(fileIdFromKey(upload.id)!, upload.offset, false);
    });
  }

  /** Runs the tus server for one request on behalf of a signed-in caller. */
  handle(caller: Caller, req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkTusHeaders(req);
    withoutCors(res);
    if (req.headers['content-type'] === 'application/offset+octet-stream') {
      this.metrics.uploadsActive.inc();
      res.once('close', () => this.metrics.uploadsActive.dec());
      this.cutIdleBody(req);
      const handled = this.caller.run(caller, () => this.server.handle(req, res));
      this.inFlight.set(req, handled);
      return handled.finally(() => this.inFlight.delete(req));
    }
    return this.caller.run(caller, () => this.server.handle(req, res));
  }

  /**
   * On shutdown, requests still sending bytes get SHUTDOWN_TIMEOUT_MS to finish; then they are
   * cut like an idle body (what arrived is stored; the client resumes on another replica or
   * after the restart), so a multi-GB PATCH cannot keep the API from stopping. Their storing is
   * awaited before the store's S3 connections close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + this.shutdownTimeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (this.inFlight.size === 0) return;
    this.logger.warn({ requests: this.inFlight.size }, 'shutting down: cutting upload requests still sending; their clients resume');
    const pending = [...this.inFlight.values()];
    for (const req of this.inFlight.keys()) req.destroy(new AppError('SHUTTING_DOWN', 'The API is stopping; resume the upload', 503));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => (timer = setTimeout(r, 30_000)))]);
    clearTimeout(timer);
  }

  /**
   * A body that stops arriving is cut after INGEST_BODY_IDLE_SECONDS (Node's own request timeout
   * is 5 minutes): the bytes that arrived are stored (whole parts, the rest as the upload's
   * incomplete part) and the request ends, so a tus
   * client resumes from the offset HEAD reports. Only the body is timed: once it has all
   * arrived, finishing the upload in S3 may take as long as it takes.
   */
  private cutIdleBody(req: IncomingMessage): void {
    const socket = req.socket;
    const onIdle = () => {
      this.logger.warn({ idleSeconds: this.idleBodySeconds }, 'upload body idle: request cut, the client may resume');
      req.destroy(new AppError('UPLOAD_BODY_IDLE', `No bytes arrived for ${this.idleBodySeconds} s`, 408));
    };
    socket.setTimeout(this.idleBodySeconds * 1000);
    socket.on('timeout', onIdle);
    const stop = () => {
      socket.setTimeout(0);
      socket.off('timeout', onIdle);
    };
    req.once('end', stop);
    req.once('close', stop);
  }

  /** tus discovery (OPTIONS): versions, extensions and the largest size, for anyone; no CORS either. */
  discover(req: IncomingMessage, res: ServerResponse): Promise<void> {
    withoutCors(res);
    return this.server.handle(req, res);
  }

  /** Whether an upload's bytes are all in storage (for uploads whose completion was not recorded). */
  private current(): Caller {
    const c = this.caller.getStore();
    if (!c) throw new AppError('UNAUTHENTICATED', 'Sign in first', 401);
    return c;
  }

  /** Progress is written at most once a second per upload while bytes flow, and at the end of each request. */
  private progress(fileId: string, offset: number, force: boolean): void {
    const now = Date.now();
    if (!force && now - (this.lastProgress.get(fileId) ?? 0) < 1000) return;
    this.lastProgress.set(fileId, now);
    this.files.progress(fileId, offset).catch((e: Error) => this.logger.warn({ evidenceId: fileId, err: e.message }, 'could not record upload progress'));
  }

  private toErrorBody(err: Error | { status_code: number; body: string }): { status_code: number; body: string } {
    if (err instanceof AppError) {
      return { status_code: err.status, body: JSON.stringify({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }) };
    }
    if (err === ERRORS.ERR_LOCK_TIMEOUT) {
      // Another request (on any replica) still works on this upload: a client may try again (tus
      // clients retry 423 by themselves); not a server fault.
      this.logger.warn('upload lock not obtained in time');
      return { status_code: 423, body: JSON.stringify({ code: 'UPLOAD_LOCKED', message: 'Another request is still working on this upload; try again shortly' }) };
    }
    if ('status_code' in err && typeof err.status_code === 'number') {
      const message = String(err.body ?? '').trim() || 'The upload request was refused';
      const code = TUS_STATUS_CODES[err.status_code] ?? (err.status_code >= 500 ? 'UPLOAD_FAILED' : 'UPLOAD_REJECTED');
      if (err.status_code >= 500) this.logger.error({ status: err.status_code, body: message }, 'upload failed');
      return { status_code: err.status_code, body: JSON.stringify({ code, message: err.status_code === 413 ? `${message}: the file is larger than this service accepts` : message }) };
    }
    this.logger.error({ err }, 'upload failed');
    const status = (err as AppError).status >= 500 ? (err as AppError).status : 500;
    return { status_code: status, body: JSON.stringify({ code: status === 503 ? 'DEPENDENCY_UNAVAILABLE' : 'INTERNAL_ERROR', message: 'The upload could not be stored; it has been logged. Resume it later.' }) };
  }

  async onApplicationShutdown(): Promise<void> {
    this.lastProgress.clear();
    this.store.destroy();
    await this.locker.close();
  }
}
