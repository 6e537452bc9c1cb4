import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MultiHashStream, RunningDigests } from './multi-hash.js';

async function digest(chunks: Buffer[], algorithms: ('sha256' | 'sha1' | 'md5')[]) {
  const h = new MultiHashStream(algorithms);
  h.resume();
  await pipeline(Readable.from(chunks), h);
  return h.digests();
}

describe('MultiHashStream', () => {
  it('matches the FIPS 180 / RFC 1321 "abc" test vectors across chunk boundaries', async () => {
    const d = await digest([Buffer.from('a'), Buffer.from('bc')], ['sha256', 'sha1', 'md5']);
    expect(d).toEqual({
      size: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
      md5: '900150983cd24fb0d6963f7d28e17f72',
    });
  });

  it('hashes the empty input', async () => {
    const d = await digest([], ['sha256']);
    expect(d).toEqual({ size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
  });

  it('refuses to give digests before the stream has ended', () => {
    expect(() => new MultiHashStream().digests()).toThrow(/before the stream ended/);
  });
});

describe('RunningDigests (an upload hashed across several requests)', () => {
  it('gives the digests of the whole stream whatever the request boundaries (FIPS 180 "abc" split over two taps)', async () => {
    const d = new RunningDigests(['sha256', 'sha1', 'md5']);
    for (const part of ['a', 'bc']) {
      const tap = d.tap();
      tap.resume();
      await pipeline(Readable.from([Buffer.from(part)]), tap);
    }
    expect(d.size).toBe(3);
    expect(d.digests()).toEqual({
      size: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
      md5: '900150983cd24fb0d6963f7d28e17f72',
    });
  });
});

describe('OffThreadDigests (ingest hashing on a helper thread)', () => {
  it('equals node crypto over many batches, whatever the chunking', async () => {
    const { OffThreadDigests } = await import('./off-thread-digests.js');
    const { createHash, randomBytes } = await import('node:crypto');
    const data = randomBytes(5 * 1024 * 1024 + 777);
    const d = new OffThreadDigests(['sha256', 'sha1', 'md5']);
    for (const [from, to] of [[0, 1000], [1000, 3 * 1024 * 1024 + 5], [3 * 1024 * 1024 + 5, data.length]]) {
      const tap = d.tap();
      tap.resume();
      await pipeline(Readable.from([data.subarray(from, to)]), tap);
    }
    expect(d.size).toBe(data.length);
    expect(await d.digests()).toEqual({
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      sha1: createHash('sha1').update(data).digest('hex'),
      md5: createHash('md5').update(data).digest('hex'),
    });
  });

  it('refuses to give digests when a hashed stream broke before its bytes reached the thread', async () => {
    const { OffThreadDigests } = await import('./off-thread-digests.js');
    const d = new OffThreadDigests(['sha256']);
    const tap = d.tap();
    tap.on('error', () => undefined);
    tap.write(Buffer.from('partial'));
    tap.destroy(new Error('client went away'));
    await expect(d.digests()).rejects.toThrow(/client went away/);
  });
});
