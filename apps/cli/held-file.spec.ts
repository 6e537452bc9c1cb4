import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FileChangedError, FileUnreadableError, HeldFile, isFileFailure } from './held-file.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Reads a request body the way the HTTP client would, noting whether it ended, closed or errored. */
function drain(body: Readable): Promise<{ bytes: Buffer; ended: boolean; error?: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    let error: Error | undefined;
    body.on('data', (c: Buffer) => chunks.push(c));
    body.on('end', () => (ended = true));
    body.on('error', (e) => (error = e));
    body.on('close', () => resolve({ bytes: Buffer.concat(chunks), ended, error }));
  });
}

describe('HeldFile: the file dems ingest hashes is the file it sends', () => {
  let dir: string;
  let n = 0;
  const fresh = async (data: Buffer) => {
    const path = join(dir, `f${n++}.bin`);
    await writeFile(path, data);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dems-held-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes the file and serves exactly its bytes in slices', async () => {
    const data = randomBytes(3 * MiB + 17);
    const held = await HeldFile.open(await fresh(data));
    try {
      let seen = 0;
      expect(await held.sha256((b) => (seen = b))).toEqual({ sha256: sha256(data), size: data.length });
      expect(seen).toBe(data.length);
      const source = held.source(() => undefined);
      expect(source.size).toBe(data.length);
      const parts: Buffer[] = [];
      for (let start = 0; start < data.length; start += 2 * MiB) {
        const { value, done } = await source.slice(start, start + 2 * MiB);
        expect(done).toBe(start + 2 * MiB >= data.length);
        expect((value as Readable & { size: number }).size).toBe(Math.min(2 * MiB, data.length - start));
        const got = await drain(value);
        expect(got.ended).toBe(true);
        parts.push(got.bytes);
      }
      expect(sha256(Buffer.concat(parts))).toBe(sha256(data));
    } finally {
      await held.close();
    }
  });

  it('refuses to serve a file that changed after it was hashed (FILE_CHANGED)', async () => {
    const path = await fresh(randomBytes(MiB));
    const held = await HeldFile.open(path);
    try {
      await held.sha256(() => undefined);
      await appendFile(path, 'more');
      const err = await held.source(() => undefined).slice(0, MiB).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FileChangedError);
      expect((err as FileChangedError).code).toBe('FILE_CHANGED');
      expect((err as Error).message).toContain(`${path} changed after its SHA-256 was computed (${MiB} bytes`);
    } finally {
      await held.close();
    }
  });

  it('notices a rewrite of the same size by its modification time', async () => {
    const path = await fresh(randomBytes(1000));
    const held = await HeldFile.open(path);
    try {
      await held.sha256(() => undefined);
      await writeFile(path, randomBytes(1000));
      await utimes(path, new Date(), new Date(Date.now() + 5000));
      await expect(held.source(() => undefined).slice(0, 1000)).rejects.toBeInstanceOf(FileChangedError);
    } finally {
      await held.close();
    }
  });

  it('fails the request, without an error event, when the file is cut short while a body is being read', async () => {
    const data = randomBytes(4 * MiB);
    const path = await fresh(data);
    const held = await HeldFile.open(path);
    try {
      await held.sha256(() => undefined);
      const failures: Error[] = [];
      const { value } = await held.source((e) => failures.push(e)).slice(0, data.length);
      await truncate(path, MiB);
      const got = await drain(value);
      // The body neither ends (the request would wait for the missing bytes) nor emits an error
      // (nothing would catch it): the failure goes to the request instead.
      expect(got).toMatchObject({ ended: false, error: undefined });
      expect(got.bytes.length).toBe(MiB);
      expect(got.bytes.equals(data.subarray(0, MiB))).toBe(true);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toBeInstanceOf(FileChangedError);
      expect(failures[0].message).toBe(`${path} became shorter while it was being uploaded (${data.length} bytes when hashed, now ${MiB})`);
    } finally {
      await held.close();
    }
  });

  it('still serves the hashed bytes after the path is deleted (the file is held open)', async () => {
    const data = randomBytes(MiB + 5);
    const path = await fresh(data);
    const held = await HeldFile.open(path);
    try {
      await held.sha256(() => undefined);
      await rm(path);
      const got = await drain((await held.source(() => undefined).slice(0, data.length)).value);
      expect(sha256(got.bytes)).toBe(sha256(data));
    } finally {
      await held.close();
    }
  });

  it('reports a file that cannot be opened as FILE_UNREADABLE', async () => {
    const err = await HeldFile.open(join(dir, 'missing.bin')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileUnreadableError);
    expect(isFileFailure(err)).toBe(true);
    expect((err as FileUnreadableError).code).toBe('FILE_UNREADABLE');
    expect((err as Error).message).toMatch(/^Cannot read .*missing\.bin \(ENOENT/);
  });
});
