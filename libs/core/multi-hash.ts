import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export type HashAlgorithm = 'sha256' | 'sha1' | 'md5';

export interface Digests {
  size: number;
  sha256: string;
  sha1?: string;
  md5?: string;
}

/**
 * A pass-through stream that counts bytes and hashes them with each named algorithm as they go
 * by, so an upload or a fixity check reads the bytes once. SHA-256 is the primary fingerprint;
 * MD5 and SHA-1 are only for checking vendors' embedded hashes (DOMAIN.md, hash policy).
 */
export class MultiHashStream extends Transform {
  private readonly hashes: Map<HashAlgorithm, Hash>;
  private bytes = 0;
  private result?: Digests;

  constructor(algorithms: HashAlgorithm[] = ['sha256']) {
    super();
    const wanted = new Set<HashAlgorithm>(['sha256', ...algorithms]);
    this.hashes = new Map([...wanted].map((a) => [a, createHash(a)]));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    for (const h of this.hashes.values()) h.update(chunk);
    cb(null, chunk);
  }

  /** The digests; only valid once the stream has ended. */
  digests(): Digests {
    if (!this.result) {
      if (!this.writableFinished) throw new Error('MultiHashStream: digests() called before the stream ended');
      const out: Digests = { size: this.bytes, sha256: '' };
      for (const [a, h] of this.hashes) out[a] = h.digest('hex');
      this.result = out;
    }
    return this.result;
  }
}

/**
 * Digests that grow as bytes arrive over several requests (a resumable upload): `update` each
 * chunk in order, `digests()` once at the end. `size` says how many bytes have been hashed, so a
 * caller can check that the hashed stream and the stored one have the same length.
 */
export class RunningDigests {
  private readonly hashes: Map<HashAlgorithm, Hash>;
  private bytes = 0;

  constructor(algorithms: HashAlgorithm[] = ['sha256', 'sha1', 'md5']) {
    this.hashes = new Map([...new Set<HashAlgorithm>(['sha256', ...algorithms])].map((a) => [a, createHash(a)]));
  }

  get size(): number {
    return this.bytes;
  }

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    for (const h of this.hashes.values()) h.update(chunk);
  }

  /** A pass-through stream that feeds this object. */
  tap(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.update(chunk);
        cb(null, chunk);
      },
    });
  }

  /** Finalises; call once. */
  digests(): Digests {
    const out: Digests = { size: this.bytes, sha256: '' };
    for (const [a, h] of this.hashes) out[a] = h.digest('hex');
    return out;
  }
}
