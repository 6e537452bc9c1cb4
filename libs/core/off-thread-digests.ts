import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { Digests, HashAlgorithm } from './multi-hash.js';

/**
 * Hashing at ingest costs more CPU than everything else the API does with the bytes (SHA-256 +
 * SHA-1 + MD5 run at ~350 MB/s on one core here, measured by the ingest benchmark), so it runs on
 * one helper thread per process instead of the event loop. Bytes are copied in 1 MiB batches
 * whose buffers are transferred, not cloned; at most MAX_IN_FLIGHT bytes wait for the thread
 * before the stream feeding it is held back, so memory stays bounded however slow hashing is.
 *
 * The thread's code is plain CommonJS given as a string, so it needs no separate build output.
 */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const states = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let s = states.get(m.id);
    if (!s) { s = m.algorithms.map((a) => [a, createHash(a)]); states.set(m.id, s); }
    const chunk = new Uint8Array(m.buffer, 0, m.length);
    for (const [, h] of s) h.update(chunk);
    // The buffer goes back to the main thread to be filled again: no garbage per batch.
    parentPort.postMessage({ op: 'ack', id: m.id, length: m.length, buffer: m.buffer }, [m.buffer]);
  } else if (m.op === 'digest') {
    const s = states.get(m.id) ?? m.algorithms.map((a) => [a, createHash(a)]);
    states.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, digests: Object.fromEntries(s.map(([a, h]) => [a, h.digest('hex')])) });
  } else if (m.op === 'drop') {
    states.delete(m.id);
  }
});
`;

const BATCH = 1024 * 1024;
const MAX_IN_FLIGHT = 8 * 1024 * 1024;

interface ThreadMessage {
  op: 'ack' | 'digest';
  id: number;
  length?: number;
  buffer?: ArrayBuffer;
  digests?: Record<string, string>;
}

/** The process's hashing thread, started on first use and not keeping the process alive. */
class HashThread {
  private worker?: Worker;
  /** Batch buffers back from the thread, reused (transferred buffers freed by the thread's GC piled up). */
  private readonly spare: Buffer[] = [];

  buffer(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafeSlow(BATCH);
  }
  private readonly clients = new Map<number, OffThreadDigests>();
  private nextId = 1;

  register(client: OffThreadDigests): number {
    const id = this.nextId++;
    this.clients.set(id, client);
    return id;
  }

  unregister(id: number): void {
    this.clients.delete(id);
    this.worker?.postMessage({ op: 'drop', id });
  }

  post(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): void {
    this.thread().postMessage(message, transfer);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(THREAD_SOURCE, { eval: true });
    w.on('message', (m: ThreadMessage) => {
      if (m.buffer && this.spare.length < 64) this.spare.push(Buffer.from(m.buffer));
      this.clients.get(m.id)?.receive(m);
    });
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const c of this.clients.values()) c.fail(e);
      this.clients.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`hashing thread exited (${code})`)));
    // After the listeners: adding a 'message' listener refs the thread again.
    w.unref();
    this.worker = w;
    return w;
  }
}

const thread = new HashThread();

/**
 * Running SHA-256 (plus SHA-1/MD5) of a byte stream that may arrive over several requests,
 * computed on the hashing thread. `size` counts the bytes handed over, in order; a stream that
 * broke before all of them reached the thread makes `digests()` reject, never answer wrongly.
 */
export class OffThreadDigests {
  private readonly id: number;
  private bytes = 0;
  private inFlight = 0;
  private batch = thread.buffer();
  private filled = 0;
  private broken?: Error;
  private resume?: (err?: Error) => void;
  private finished?: { resolve: (d: Digests) => void; reject: (e: Error) => void };

  constructor(private readonly algorithms: HashAlgorithm[] = ['sha256', 'sha1', 'md5']) {
    this.algorithms = [...new Set<HashAlgorithm>(['sha256', ...algorithms])];
    this.id = thread.register(this);
  }

  get size(): number {
    return this.bytes;
  }

  /** A pass-through stream that feeds these digests; chunks flow on at once. */
  tap(): Transform {
    let ended = false;
    return new Transform({
      transform: (chunk: Buffer, _enc, cb: TransformCallback) => {
        if (this.broken) return cb(this.broken);
        this.bytes += chunk.length;
        let offset = 0;
        while (offset < chunk.length) {
          const n = chunk.copy(this.batch, this.filled, offset);
          this.filled += n;
          offset += n;
          if (this.filled === BATCH) this.send();
        }
        if (this.inFlight <= MAX_IN_FLIGHT) return cb(null, chunk);
        this.resume = (err) => (err ? cb(err) : cb(null, chunk));
      },
      flush: (cb: TransformCallback) => {
        ended = true;
        if (this.filled > 0) this.send();
        cb();
      },
      destroy: (err, cb) => {
        // Bytes counted but never handed to the thread would make the digests wrong: refuse them.
        if (!ended) this.broken ??= err ?? new Error('the hashed stream ended early');
        cb(err);
      },
    });
  }

  /** The digests of every byte handed over; call once, at the end. */
  digests(): Promise<Digests> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.filled > 0) this.send();
    return new Promise<Digests>((resolve, reject) => {
      this.finished = { resolve, reject };
      thread.post({ op: 'digest', id: this.id, algorithms: this.algorithms });
    });
  }

  /** Forget these digests (the upload went away). */
  discard(): void {
    this.broken ??= new Error('discarded');
    thread.unregister(this.id);
  }

  /** @internal messages from the thread */
  receive(m: ThreadMessage): void {
    if (m.op === 'ack') {
      this.inFlight -= m.length ?? 0;
      if (this.inFlight <= MAX_IN_FLIGHT && this.resume) {
        const r = this.resume;
        this.resume = undefined;
        r();
      }
      return;
    }
    thread.unregister(this.id);
    const d = m.digests ?? {};
    if (!d.sha256) return this.finished?.reject(new Error('the hashing thread gave no SHA-256'));
    const out: Digests = { size: this.bytes, sha256: d.sha256 };
    if (d.sha1) out.sha1 = d.sha1;
    if (d.md5) out.md5 = d.md5;
    this.finished?.resolve(out);
  }

  /** @internal the thread died */
  fail(e: Error): void {
    this.broken ??= e;
    this.finished?.reject(e);
    const r = this.resume;
    this.resume = undefined;
    r?.(e);
  }

  private send(): void {
    const full = this.batch;
    const length = this.filled;
    this.batch = thread.buffer();
    this.filled = 0;
    this.inFlight += length;
    thread.post({ op: 'update', id: this.id, algorithms: this.algorithms, buffer: full.buffer, length }, [full.buffer as ArrayBuffer]);
  }
}
