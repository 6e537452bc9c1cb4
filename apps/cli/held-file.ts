import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

/**
 * A file `dems ingest` holds open from the moment it starts hashing until its upload ends, so the
 * bytes sent are read from the same file that was hashed, even if its path is renamed or deleted
 * meanwhile, and a file that changes (still being copied off a DVR, truncated, rewritten) is
 * reported as such instead of being sent as a mixture.
 *
 * Written here rather than using tus-js-client's own Node file source because that one reopens
 * the path for every request and pipes the read stream without an error handler: a file that
 * vanishes mid-upload crashes the process, and one that shrinks leaves a request waiting for
 * bytes that never come.
 */

/** The file is no longer the one that was hashed (size or modification time changed). */
export class FileChangedError extends Error {
  readonly code = 'FILE_CHANGED';
}

/** Reading the file failed (an I/O error, a network drive gone). */
export class FileUnreadableError extends Error {
  readonly code = 'FILE_UNREADABLE';
}

export function isFileFailure(e: unknown): e is FileChangedError | FileUnreadableError {
  return e instanceof FileChangedError || e instanceof FileUnreadableError;
}

const READ_BYTES = 1024 * 1024;

interface Identity {
  size: number;
  mtimeMs: number;
}

const identity = (s: Stats): Identity => ({ size: s.size, mtimeMs: s.mtimeMs });
const describe = (s: Identity) => `${s.size} bytes, modified ${new Date(s.mtimeMs).toISOString()}`;

/** One tus request body: bytes [start, end) of the file; `size` is what tus-js-client sends as Content-Length. */
class SliceStream extends Readable {
  readonly size: number;
  private position: number;

  constructor(
    private readonly handle: FileHandle,
    start: number,
    private readonly end: number,
    private readonly fail: (e: Error) => void,
    private readonly path: string,
    private readonly hashedSize: number,
  ) {
    super({ highWaterMark: READ_BYTES });
    this.position = start;
    this.size = end - start;
  }

  override _read(): void {
    const want = Math.min(READ_BYTES, this.end - this.position);
    if (want <= 0) {
      this.push(null);
      return;
    }
    this.handle.read(Buffer.allocUnsafe(want), 0, want, this.position).then(
      ({ bytesRead, buffer }) => {
        if (bytesRead === 0) {
          // Ending the body early would leave the request short of its Content-Length, waiting.
          const shorter = (now: string) => new FileChangedError(`${this.path} became shorter while it was being uploaded (${this.hashedSize} bytes when hashed, now ${now})`);
          this.handle.stat().then(
            (st) => this.abandon(shorter(`${st.size}`)),
            () => this.abandon(shorter(`fewer than ${this.position}`)),
          );
          return;
        }
        this.position += bytesRead;
        this.push(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
      },
      (e: Error) => this.abandon(new FileUnreadableError(`Cannot read ${this.path} (${e.message})`)),
    );
  }

  /** The request is failed with the reason (so no byte more is sent and tus reports it); this body just stops. */
  private abandon(e: Error): void {
    this.fail(e);
    this.destroy();
  }
}

export class HeldFile {
  private hashed?: Identity;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(path: string): Promise<HeldFile> {
    try {
      return new HeldFile(path, await open(path, 'r'));
    } catch (e) {
      throw new FileUnreadableError(`Cannot read ${path} (${(e as Error).message})`);
    }
  }

  /** SHA-256 over the whole file; the file must not change while it is read. */
  async sha256(onBytes: (bytes: number) => void): Promise<{ sha256: string; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    let before: Identity;
    try {
      before = identity(await this.handle.stat());
      for await (const chunk of this.handle.createReadStream({ start: 0, autoClose: false, highWaterMark: READ_BYTES })) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        onBytes(size);
      }
    } catch (e) {
      throw new FileUnreadableError(`Cannot read ${this.path} (${(e as Error).message})`);
    }
    const after = identity(await this.handle.stat());
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || size !== after.size) {
      throw new FileChangedError(
        `${this.path} changed while its SHA-256 was being computed (${describe(before)}, then ${describe(after)}, ${size} bytes read); ` +
          'run again once the file is complete',
      );
    }
    this.hashed = after;
    return { sha256: hash.digest('hex'), size };
  }

  /**
   * A tus-js-client file source over the hashed file. Each request body is checked against the
   * file as hashed first; `fail` receives any failure that happens while a body is being sent.
   */
  source(fail: (e: Error) => void): { size: number; slice(start: number, end: number): Promise<{ value: Readable; done: boolean }>; close(): void } {
    const hashed = this.hashed;
    if (!hashed) throw new Error('hash the file before uploading it');
    return {
      size: hashed.size,
      slice: async (start, end) => {
        let now: Identity;
        try {
          now = identity(await this.handle.stat());
        } catch (e) {
          throw new FileUnreadableError(`Cannot read ${this.path} (${(e as Error).message})`);
        }
        if (now.size !== hashed.size || now.mtimeMs !== hashed.mtimeMs) {
          throw new FileChangedError(`${this.path} changed after its SHA-256 was computed (${describe(hashed)}, now ${describe(now)})`);
        }
        const stop = Math.min(end, hashed.size);
        return { value: new SliceStream(this.handle, start, stop, fail, this.path, hashed.size), done: stop >= hashed.size };
      },
      // The handle outlives tus-js-client's use of it: close() below, once the upload is settled.
      close: () => undefined,
    };
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
