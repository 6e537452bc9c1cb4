import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { AppError } from '../core/index.js';
import { generateSignerKey, parseVerifierKey, verifierKeyFromSigner } from '../ledger/index.js';
import type { ListPage, ObjectStore } from '../storage/index.js';
import { checkpointObjectKey, checkpointPrefix, parseCheckpointObjectName, publishedCheckpoints, type PublishedCheckpoint } from './published-checkpoints.js';

const key = verifierKeyFromSigner(generateSignerKey('spec.local/ledger'));
const keyId = parseVerifierKey(key).keyId;
const root = (b: number) => Buffer.alloc(32, b);

/** Just enough of an object store: keys listed in the order given, a page at a time, bodies from the map. */
function fakeStore(objects: [string, string][], pageSize = 2): { store: ObjectStore; reads: string[] } {
  const reads: string[] = [];
  const store = {
    buckets: { originals: 'originals', working: 'working' },
    async list(_bucket: string, prefix = '', options: { token?: string } = {}): Promise<ListPage> {
      const keys = objects.map(([k]) => k).filter((k) => k.startsWith(prefix));
      const start = Number(options.token ?? 0);
      const entries = keys.slice(start, start + pageSize).map((k) => ({ key: k, size: objects.find(([o]) => o === k)![1].length }));
      return { entries, nextToken: start + pageSize < keys.length ? String(start + pageSize) : undefined };
    },
    async get(_bucket: string, k: string) {
      reads.push(k);
      const found = objects.find(([o]) => o === k);
      if (!found) throw new AppError('OBJECT_NOT_FOUND', `No object at ${k}`, 404);
      return { body: Readable.from([Buffer.from(found[1])]), contentLength: found[1].length, totalSize: found[1].length };
    },
  } as unknown as ObjectStore;
  return { store, reads };
}

async function all(it: AsyncIterable<PublishedCheckpoint>): Promise<PublishedCheckpoint[]> {
  const out: PublishedCheckpoint[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('published checkpoints', () => {
  it('names objects so that key order is tree-size order', () => {
    const small = checkpointObjectKey(keyId, 9, root(1));
    const large = checkpointObjectKey(keyId, 10, root(1));
    expect(small < large).toBe(true);
    expect(small).toBe(`${checkpointPrefix(keyId)}00000000000000000009-${'01'.repeat(32)}.note`);
    expect(parseCheckpointObjectName(small.slice(checkpointPrefix(keyId).length))).toEqual({ size: 9, root: '01'.repeat(32) });
    expect(parseCheckpointObjectName('9-abc.note')).toBeUndefined();
  });

  it('lists every page in order with the bodies, and marks a name that is not a checkpoint with the size before it', async () => {
    const prefix = checkpointPrefix(keyId);
    const objects: [string, string][] = [
      [checkpointObjectKey(keyId, 3, root(1)), 'three'],
      [checkpointObjectKey(keyId, 7, root(2)), 'seven'],
      [checkpointObjectKey(keyId, 7, root(3)), 'seven, forked'],
      [`${prefix}notes.txt`, 'hello'],
      ['ledger/ffffffff/checkpoints/00000000000000000001-x.note', 'another key'],
    ];
    const { store } = fakeStore(objects);
    const listed = await all(publishedCheckpoints(store, key, { readAhead: 2 }).list());
    expect(listed.map((p) => [p.size, p.root?.slice(0, 2), p.text])).toEqual([
      [3, '01', 'three'],
      [7, '02', 'seven'],
      [7, '03', 'seven, forked'],
      [7, undefined, 'hello'],
    ]);
  });

  it('refuses a listing out of order, which the single pass could not merge', async () => {
    const { store } = fakeStore([
      [checkpointObjectKey(keyId, 7, root(1)), 'seven'],
      [checkpointObjectKey(keyId, 3, root(1)), 'three'],
    ]);
    await expect(all(publishedCheckpoints(store, key).list())).rejects.toMatchObject({ code: 'CHECKPOINT_LISTING_UNORDERED' });
  });

  it('reads one object directly, and answers undefined for a missing one', async () => {
    const k = checkpointObjectKey(keyId, 3, root(1));
    const { store } = fakeStore([[k, 'three']]);
    const published = publishedCheckpoints(store, key);
    expect(await published.read(k)).toBe('three');
    expect(await published.read(`${k}.gone`)).toBeUndefined();
    expect(published.location).toBe(`originals/${checkpointPrefix(keyId)}`);
  });
});
