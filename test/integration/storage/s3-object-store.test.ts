import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { AppError } from '../../../libs/core/index.js';
import { createObjectStore, type S3ObjectStore } from '../../../libs/storage/index.js';
import { randomKey, testConfig } from '../../support/test-env.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Emits `total` bytes in small chunks, as a network upload would, so the store must stream. */
function chunked(data: Buffer, chunk = 64 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return this.push(null);
      this.push(data.subarray(offset, offset + chunk));
      offset += chunk;
    },
  });
}

describe('S3ObjectStore against the real local S3', () => {
  let store: S3ObjectStore;
  const data = randomBytes(12 * MiB + 12345); // three 5 MiB parts, the last one short

  beforeAll(async () => {
    store = createObjectStore(testConfig({ S3_PART_SIZE_MB: 5 }));
    const caps = await store.ensureBuckets();
    expect(typeof caps.objectLock).toBe('boolean');
  });
  afterAll(() => store.destroy());

  it('reports Object Lock honestly (Swift has none; a store with it says so)', async () => {
    const caps = store.capabilities()!;
    expect(caps.summary).toMatch(caps.objectLock ? /write-once/ : /originals not write-once on this store/);
  });

  it('refuses a write-once retention where the store has no Object Lock, instead of pretending', async () => {
    if (store.capabilities()!.objectLock) return; // a store with Object Lock takes the retention (MinIO in docker/compose.yaml)
    const key = randomKey('locked');
    await expect(store.put(store.buckets.originals, key, Buffer.from('x'), { retainUntil: new Date(Date.now() + 86400_000) })).rejects.toMatchObject({
      code: 'OBJECT_LOCK_UNAVAILABLE',
    });
    expect(await store.head(store.buckets.originals, key)).toBeUndefined();
  });

  it('streams a multipart put larger than one part and returns the hashes of what was stored', async () => {
    const key = randomKey('multipart');
    const put = await store.put(store.buckets.originals, key, chunked(data), { algorithms: ['sha1', 'md5'], expectedSize: data.length });
    expect(put.size).toBe(data.length);
    expect(put.sha256).toBe(sha256(data));
    expect(put.md5).toBe(createHash('md5').update(data).digest('hex'));
    expect(put.sha1).toBe(createHash('sha1').update(data).digest('hex'));
    // A multipart ETag has the "-<parts>" suffix: proves more than one part was sent.
    expect(put.etag).toMatch(/-3"?$/);

    const whole = await store.get(store.buckets.originals, key);
    expect(whole.totalSize).toBe(data.length);
    expect(sha256(await buffer(whole.body))).toBe(sha256(data));
  });

  it('stores an exact multiple of the part size and an empty object byte-exactly', async () => {
    const exact = data.subarray(0, 10 * MiB); // exactly two 5 MiB parts, no trailing part
    const key = randomKey('exact');
    const put = await store.put(store.buckets.working, key, chunked(exact, 1000 * 1000));
    expect(put).toMatchObject({ size: exact.length, sha256: sha256(exact) });
    expect(put.etag).toMatch(/-2"?$/);
    expect(sha256(await buffer((await store.get(store.buckets.working, key)).body))).toBe(sha256(exact));

    const empty = await store.put(store.buckets.working, randomKey('empty'), Buffer.alloc(0));
    expect(empty).toMatchObject({ size: 0, sha256: sha256(Buffer.alloc(0)) });
  });

  it('refuses and removes an object whose size differs from the declared one', async () => {
    const key = randomKey('declared');
    await expect(store.put(store.buckets.working, key, Buffer.from('12345'), { expectedSize: 6 })).rejects.toMatchObject({
      code: 'STORAGE_SIZE_MISMATCH',
    });
    expect(await store.head(store.buckets.working, key)).toBeUndefined();
  });

  it('serves byte ranges exactly', async () => {
    const key = randomKey('range');
    await store.put(store.buckets.working, key, data.subarray(0, 1 * MiB));
    const r = await store.get(store.buckets.working, key, { start: 1000, end: 1999 });
    expect(r.contentLength).toBe(1000);
    expect(r.totalSize).toBe(1 * MiB);
    expect(r.contentRange).toBe(`bytes 1000-1999/${1 * MiB}`);
    expect((await buffer(r.body)).equals(data.subarray(1000, 2000))).toBe(true);

    const tail = await store.get(store.buckets.working, key, { start: MiB - 10 });
    expect((await buffer(tail.body)).equals(data.subarray(MiB - 10, MiB))).toBe(true);

    await expect(store.get(store.buckets.working, key, { start: 2 * MiB })).rejects.toMatchObject({ code: 'RANGE_NOT_SATISFIABLE', status: 416 });
    await expect(store.get(store.buckets.working, key, { start: 10, end: 5 })).rejects.toMatchObject({ code: 'INVALID_RANGE' });
  });

  it('heads, copies, lists with pagination and deletes', async () => {
    const prefix = randomKey('list');
    for (let i = 0; i < 5; i++) {
      await store.put(store.buckets.working, `${prefix}/obj-${i}`, Buffer.from(`object ${i}`), {
        contentType: 'text/plain',
        metadata: { index: String(i) },
      });
    }
    const head = await store.head(store.buckets.working, `${prefix}/obj-3`);
    expect(head).toMatchObject({ size: 8, contentType: 'text/plain', metadata: { index: '3' } });
    expect(await store.head(store.buckets.working, `${prefix}/absent`)).toBeUndefined();

    const copied = await store.copy({ bucket: store.buckets.working, key: `${prefix}/obj-1` }, { bucket: store.buckets.working, key: `${prefix}/copy of 1` });
    expect(copied.size).toBe(8);
    expect((await buffer((await store.get(store.buckets.working, `${prefix}/copy of 1`)).body)).toString()).toBe('object 1');

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await store.list(store.buckets.working, `${prefix}/`, { pageSize: 2, token });
      seen.push(...page.entries.map((e) => e.key));
      token = page.nextToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([`${prefix}/copy of 1`, ...[0, 1, 2, 3, 4].map((i) => `${prefix}/obj-${i}`)].sort());

    await store.delete(store.buckets.working, `${prefix}/obj-0`);
    expect(await store.head(store.buckets.working, `${prefix}/obj-0`)).toBeUndefined();
  });

  it('makes a presigned GET that plain HTTP can fetch, with the download name', async () => {
    const key = randomKey('presign');
    const body = randomBytes(300 * 1024);
    await store.put(store.buckets.working, key, body);
    const url = await store.presignGet(store.buckets.working, key, { expiresInSeconds: 60, downloadName: 'JS_1 clip.mp4' });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain("JS_1%20clip.mp4");
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(body));

    const tampered = url.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000');
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('answers a missing object with a stable error code', async () => {
    const err = await store.get(store.buckets.working, randomKey('missing')).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'OBJECT_NOT_FOUND', status: 404 });
  });

  it('fails a put whose source breaks midway and leaves no object behind', async () => {
    const key = randomKey('broken');
    let sent = 0;
    const broken = new Readable({
      read() {
        if (sent >= 7 * MiB) return this.destroy(new Error('connection dropped'));
        this.push(data.subarray(sent, sent + MiB));
        sent += MiB;
      },
    });
    await expect(store.put(store.buckets.originals, key, broken)).rejects.toThrow();
    expect(await store.head(store.buckets.originals, key)).toBeUndefined();
  });
});
