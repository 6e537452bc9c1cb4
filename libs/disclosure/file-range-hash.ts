import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of byte ranges of one file (a bundle's STORE entries), each hashed on a helper thread
 * that reads and hashes in the same thread with 8 MiB synchronous reads. A stream on the main
 * thread hops between the read pool and the event loop for every chunk; on a busy machine each
 * hop waits for a time slice, and verification fell to about half of `sha256sum`'s speed. One
 * thread by default: on the 2-core development machine under load, 256 MiB verified at 2.7-3.2x
 * sha256sum's speed with one thread and 1.9-2.2x with two (they compete for the same cores).
 * Hand-written because the libraries that hash off-thread (e.g. hasha) take whole files, not
 * ranges inside one.
 *
 * The thread's code is plain CommonJS given as a string, so it needs no separate build output.
 */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
parentPort.on('message', ({ path, start, length }) => {
  let fd;
  try {
    fd = openSync(path, 'r');
    const h = createHash('sha256');
    let at = start;
    let left = length;
    while (left > 0) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), at);
      if (n === 0) throw new Error('the file ends ' + left + ' bytes before the entry does');
      h.update(buf.subarray(0, n));
      at += n;
      left -= n;
    }
    parentPort.postMessage({ sha256: h.digest('hex') });
  } catch (e) {
    parentPort.postMessage({ error: e.message });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

export interface FileRange {
  start: number;
  length: number;
}

/** Hashes every range (answers in the same order), on at most `threads` threads. */
export async function hashFileRanges(path: string, ranges: FileRange[], threads = 1): Promise<string[]> {
  const out: string[] = new Array<string>(ranges.length);
  let next = 0;
  const run = async () => {
    const w = new Worker(THREAD_SOURCE, { eval: true });
    try {
      while (next < ranges.length) {
        const i = next++;
        out[i] = await new Promise<string>((resolve, reject) => {
          w.once('message', (m: { sha256?: string; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m.sha256!)));
          w.once('error', reject);
          w.postMessage({ path, ...ranges[i] });
        });
        w.removeAllListeners('error');
      }
    } finally {
      await w.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(threads, ranges.length)) }, run));
  return out;
}
