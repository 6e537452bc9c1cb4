import { AppError } from '../core/index.js';
import { formatKeyId, parseVerifierKey, type VerifierKey } from '../ledger/index.js';
import type { ListEntry, ObjectStore } from '../storage/index.js';

/**
 * Checkpoints published to object storage, where a database superuser cannot reach them:
 *   ledger/<key id>/checkpoints/<tree size, 20 digits>-<root, hex>.note
 * The size is zero-padded so that the store's key order (S3 lists keys in UTF-8 byte order) is
 * tree-size order, and a verifier can merge the listing into its single pass over the events.
 */
const SIZE_DIGITS = 20;
const NAME = /^(\d{20})-([0-9a-f]{64})\.note$/;
/** A checkpoint note is a few hundred bytes; anything far larger is not one and is not read. */
const MAX_NOTE_BYTES = 64 * 1024;

export function checkpointPrefix(keyId: number): string {
  return `ledger/${formatKeyId(keyId)}/checkpoints/`;
}

export function checkpointObjectKey(keyId: number, size: number, root: Buffer): string {
  return `${checkpointPrefix(keyId)}${String(size).padStart(SIZE_DIGITS, '0')}-${root.toString('hex')}.note`;
}

/** Size and root a checkpoint object's name states, or undefined if the name is not a checkpoint's. */
export function parseCheckpointObjectName(name: string): { size: number; root: string } | undefined {
  const m = NAME.exec(name);
  if (!m || !Number.isSafeInteger(Number(m[1]))) return undefined;
  return { size: Number(m[1]), root: m[2] };
}

export interface PublishedCheckpoint {
  key: string;
  /** Tree size its name states; for a name that is not a checkpoint's, the size of the one listed before it. */
  size: number;
  /** Root (hex) its name states; undefined when the name is not a checkpoint's. */
  root?: string;
  /** The object's text; undefined if it is too large to be a note, or vanished after listing. */
  text?: string;
  bytes: number;
}

/** A published-checkpoint folder as the ledger verifier reads it. */
export interface PublishedCheckpoints {
  /** bucket/prefix, for messages. */
  readonly location: string;
  readonly prefix: string;
  /** Every object under the prefix, in tree-size order. */
  list(): AsyncIterable<PublishedCheckpoint>;
  /** One object's text; undefined if there is no such object. */
  read(key: string): Promise<string | undefined>;
}

/**
 * The checkpoints published under a verifier key's folder in the originals bucket. Listing is
 * paged and object bodies are read a few ahead, so the verifier's event scan rarely waits for
 * storage and memory stays bounded by a page whatever the number of checkpoints.
 */
export function publishedCheckpoints(store: ObjectStore, verifier: VerifierKey | string, options: { readAhead?: number; pageSize?: number } = {}): PublishedCheckpoints {
  const key = typeof verifier === 'string' ? parseVerifierKey(verifier) : verifier;
  const bucket = store.buckets.originals;
  const prefix = checkpointPrefix(key.keyId);
  const readAhead = options.readAhead ?? 16;

  const read = async (objectKey: string): Promise<string | undefined> => {
    try {
      const obj = await store.get(bucket, objectKey);
      const chunks: Buffer[] = [];
      for await (const c of obj.body) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    } catch (e) {
      if (e instanceof AppError && e.code === 'OBJECT_NOT_FOUND') return undefined;
      throw e;
    }
  };

  async function* list(): AsyncGenerator<PublishedCheckpoint> {
    const pending: Promise<PublishedCheckpoint>[] = [];
    let page: ListEntry[] = [];
    let token: string | undefined;
    let listed = false;
    let lastSize = 0;
    const load = async (entry: ListEntry, size: number, root: string | undefined): Promise<PublishedCheckpoint> => ({
      key: entry.key,
      size,
      root,
      bytes: entry.size,
      text: entry.size <= MAX_NOTE_BYTES ? await read(entry.key) : undefined,
    });
    for (;;) {
      while (pending.length < readAhead) {
        if (!page.length) {
          if (listed && !token) break;
          const next = await store.list(bucket, prefix, { pageSize: options.pageSize, token });
          page = next.entries;
          token = next.nextToken;
          listed = true;
          if (!page.length) continue;
        }
        const entry = page.shift()!;
        const named = parseCheckpointObjectName(entry.key.slice(prefix.length));
        if (named && named.size < lastSize) {
          // The merge with the events relies on this order; a store that breaks it cannot be checked this way.
          throw new AppError('CHECKPOINT_LISTING_UNORDERED', `The object store listed ${entry.key} after a checkpoint of size ${lastSize}: keys are not in order`, 502);
        }
        if (named) lastSize = named.size;
        const loading = load(entry, named?.size ?? lastSize, named?.root);
        // Awaited in order below; this only keeps a failure of a read the caller never reached from going unhandled.
        loading.catch(() => undefined);
        pending.push(loading);
      }
      const head = pending.shift();
      if (!head) return;
      yield await head;
    }
  }

  return { location: `${bucket}/${prefix}`, prefix, list, read };
}
