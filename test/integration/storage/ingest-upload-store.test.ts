import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Upload } from '@tus/utils';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createIngestUploadStore, UPLOAD_KEY_PREFIX, type IngestUploadStore } from '../../../libs/storage/index.js';
import { testConfig } from '../../support/test-env.js';

const MiB = 1024 * 1024;
const digest = (algorithm: string, b: Buffer) => createHash(algorithm).update(b).digest('hex');

/** The bytes in chunks of uneven sizes, as a network upload delivers them. */
function uneven(data: Buffer, sizes = [7777, 65536, 300 * 1024, 1, 4096]): Readable {
  let offset = 0;
  let i = 0;
  return new Readable({
    read() {
      if (offset >= data.length) return this.push(null);
      const n = sizes[i++ % sizes.length];
      this.push(data.subarray(offset, offset + n));
      offset += n;
    },
  });
}

/** A stream that delivers `good` bytes in 64 KiB chunks, and fails once they have had time to be taken. */
function failingAfter(good: Buffer): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset < good.length) {
        this.push(good.subarray(offset, offset + 64 * 1024));
        offset += 64 * 1024;
      } else setTimeout(() => this.destroy(new Error('connection reset by the client')), 300);
    },
  });
}

/**
 * The ingest store's own part staging (IngestUploadStore.uploadParts: gathered writes into temp
 * files, 1 MiB reads back) against the real local S3, with the smallest S3 part size so part
 * boundaries, the short "incomplete part" between requests and the final part are all crossed.
 */
describe('IngestUploadStore part staging against the real local S3', () => {
  let store: IngestUploadStore;
  let staging: string;

  beforeAll(() => {
    // A staging folder of this test's own shows what is left behind.
    staging = mkdtempSync(path.join(tmpdir(), 'dems-staging-test-'));
    store = createIngestUploadStore(testConfig({ INGEST_PART_SIZE_MB: 5, INGEST_PARTS_IN_FLIGHT: 2, INGEST_STAGING_DIR: staging }));
  });
  afterAll(() => {
    store.destroy();
    rmSync(staging, { recursive: true, force: true });
  });
  afterEach(() => {
    // The store stages in a folder of its own under it (named after this process); no file may be left there.
    expect(readdirSync(staging, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => e.name)).toEqual([]);
    expect(readdirSync(staging)).toEqual([expect.stringMatching(/^dems-ingest-.+-\d+-[0-9a-f]{8}$/)]);
  });

  async function created(size: number): Promise<string> {
    const id = `${UPLOAD_KEY_PREFIX}${randomUUID()}`;
    await store.create(new Upload({ id, size, offset: 0, metadata: {} }));
    return id;
  }

  it('stores the exact bytes over several parts and two requests, with the running hashes of them', async () => {
    const data = randomBytes(13 * MiB + 4321);
    const id = await created(data.length);
    // First request stops 2 MiB + a bit into the third part: that tail is kept as an incomplete part.
    const cut = 12 * MiB + 999;
    expect(await store.write(uneven(data.subarray(0, cut)), id, 0)).toBe(cut);
    expect((await store.getUpload(id)).offset).toBe(cut);
    expect(await store.write(uneven(data.subarray(cut)), id, cut)).toBe(data.length);

    const stored = await buffer((await store.read(id)) as Readable);
    expect(stored.length).toBe(data.length);
    expect(digest('sha256', stored)).toBe(digest('sha256', data));
    const d = await store.takeDigests(id);
    expect(d).toEqual({ size: data.length, sha256: digest('sha256', data), sha1: digest('sha1', data), md5: digest('md5', data) });
  });

  it('keeps what arrived before a request broke, leaves no temp file, and resumes to the exact bytes', async () => {
    const data = randomBytes(11 * MiB + 17);
    const id = await created(data.length);
    const before = 7 * MiB + 5; // one whole part and a short tail, then the connection fails
    await expect(store.write(failingAfter(data.subarray(0, before)), id, 0)).rejects.toThrow(/connection reset/);
    // The whole first part reached S3; the broken request's short tail is not claimed as stored.
    const offset = (await store.getUpload(id)).offset;
    expect(offset).toBe(5 * MiB);

    expect(await store.write(uneven(data.subarray(offset)), id, offset)).toBe(data.length);
    const stored = await buffer((await store.read(id)) as Readable);
    expect(digest('sha256', stored)).toBe(digest('sha256', data));
    // The stream was not seen whole in order by this process: no running digests are offered.
    expect(await store.takeDigests(id)).toBeUndefined();
  });
});
