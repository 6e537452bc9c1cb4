import { hash } from 'node:crypto';

/**
 * RFC 6962 §2.1 / RFC 9162 §2.1 Merkle Tree Hash over SHA-256, with proof generation that reads
 * only stored *perfect, aligned* subtrees.
 *
 * Storage model: node (level k, index i) is the hash of leaves [i·2^k, (i+1)·2^k); level 0 holds
 * the leaf hashes. Any other subtree the RFC needs (the ragged right edge of a tree whose size is
 * not a power of two) is recomputed from the maximal perfect subtrees that tile it, so every proof
 * and root costs O(log n) reads however large the log grows.
 *
 * Sizes and indices are JavaScript numbers limited to Number.MAX_SAFE_INTEGER, and all index
 * arithmetic uses division rather than bitwise operators, which would truncate to 32 bits.
 */

export const HASH_SIZE = 32;

/** A stored perfect subtree: level k, index i covers leaves [i·2^k, (i+1)·2^k). */
export interface NodeId {
  level: number;
  index: number;
}

export interface StoredNode extends NodeId {
  hash: Buffer;
}

/** Reads one stored perfect-subtree hash; must reject (throw) if the node does not exist. */
export type NodeReader = (level: number, index: number) => Promise<Buffer>;

/** A NodeReader that counts how many nodes were read through it. */
export type CountingNodeReader = NodeReader & { reads: number };

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

// One-shot crypto.hash is 2-3x faster than a createHash object for these tiny inputs, and
// appends and proofs are dominated by hashing.
function sha256(...parts: Uint8Array[]): Buffer {
  return hash('sha256', parts.length === 1 ? parts[0] : Buffer.concat(parts), 'buffer');
}

/** RFC 6962 leaf hash: SHA-256(0x00 || data). The prefix keeps leaves and nodes in separate domains. */
export function leafHash(data: Buffer | Uint8Array | string): Buffer {
  return sha256(LEAF_PREFIX, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return sha256(NODE_PREFIX, left, right);
}

/** MTH({}) = SHA-256() — the root of the empty tree. A fresh Buffer each call, since Buffers are mutable. */
export function emptyRoot(): Buffer {
  return sha256();
}

function isHash(h: unknown): h is Buffer {
  return Buffer.isBuffer(h) && h.length === HASH_SIZE;
}

function assertSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${n}`);
}

/** The largest power of two strictly less than n (n >= 2): the RFC's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

/**
 * Reference Merkle Tree Hash straight from the RFC's recursive definition. Linear in the number of
 * leaves: meant for tests and for verifying small trees, not for serving proofs.
 */
export function rootFromLeafHashes(leafHashes: Buffer[]): Buffer {
  const mth = (lo: number, hi: number): Buffer => {
    const n = hi - lo;
    if (n === 0) return emptyRoot();
    if (n === 1) return Buffer.from(leafHashes[lo]);
    const k = splitPoint(n);
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return mth(0, leafHashes.length);
}

/**
 * Tiles [start, end) with maximal aligned perfect subtrees, left to right. For the ranges the RFC
 * recursion produces (start aligned to a power of two ≥ the range's length) the sizes strictly
 * decrease, one per set bit of the length, so there are at most ⌊log2 n⌋ + 1 of them.
 */
export function perfectSubtrees(start: number, end: number): NodeId[] {
  assertSize('start', start);
  assertSize('end', end);
  const out: NodeId[] = [];
  let at = start;
  while (at < end) {
    let level = 0;
    let width = 1;
    while (at % (width * 2) === 0 && at + width * 2 <= end) {
      width *= 2;
      level += 1;
    }
    out.push({ level, index: at / width });
    at += width;
  }
  return out;
}

/**
 * A proof plan: each entry is one proof hash, given as the perfect subtrees whose right fold
 * (h1 ⊕ (h2 ⊕ (… ⊕ hj))) is that hash. Keeping planning separate from reading lets a store fetch
 * every node of a proof in one round trip.
 */
export type ProofPlan = NodeId[][];

/** Nodes needed for the inclusion proof of leafIndex in a tree of treeSize leaves (RFC 9162 §2.1.3.1 PATH). */
export function inclusionProofPlan(leafIndex: number, treeSize: number): ProofPlan {
  assertSize('leafIndex', leafIndex);
  assertSize('treeSize', treeSize);
  if (leafIndex >= treeSize) throw new RangeError(`leafIndex ${leafIndex} is not in a tree of size ${treeSize}`);
  const topDown: ProofPlan = [];
  let lo = 0;
  let hi = treeSize;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (leafIndex < lo + k) {
      topDown.push(perfectSubtrees(lo + k, hi));
      hi = lo + k;
    } else {
      topDown.push(perfectSubtrees(lo, lo + k));
      lo += k;
    }
  }
  // The RFC lists the path leaf-side first.
  return topDown.reverse();
}

/**
 * Nodes needed for the consistency proof from size1 to size2 (RFC 9162 §2.1.4.1 SUBPROOF).
 * size1 == size2 gives the empty proof; size1 == 0 is rejected because the RFC defines proofs
 * only for 0 < size1 (an empty tree is trivially a prefix of everything — nothing to prove).
 */
export function consistencyProofPlan(size1: number, size2: number): ProofPlan {
  assertSize('size1', size1);
  assertSize('size2', size2);
  if (size1 > size2) throw new RangeError(`size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === size2) return [];
  if (size1 === 0) throw new RangeError('a consistency proof needs size1 > 0');
  const topDown: ProofPlan = [];
  let lo = 0;
  let hi = size2;
  let wholeOldTree = true; // the RFC's flag b: still at the root of the old tree
  while (size1 !== hi) {
    const k = splitPoint(hi - lo);
    if (size1 - lo <= k) {
      topDown.push(perfectSubtrees(lo + k, hi));
      hi = lo + k;
    } else {
      topDown.push(perfectSubtrees(lo, lo + k));
      lo += k;
      wholeOldTree = false;
    }
  }
  // SUBPROOF(m, D[m], false) = {MTH(D[m])}: only emitted when the old tree's root is not
  // something the verifier already holds.
  if (!wholeOldTree) topDown.push(perfectSubtrees(lo, hi));
  return topDown.reverse();
}

/** Nodes whose right fold is the root of a tree of treeSize leaves (empty for the empty tree). */
export function rootPlan(treeSize: number): NodeId[] {
  assertSize('treeSize', treeSize);
  return perfectSubtrees(0, treeSize);
}

function foldRight(hashes: Buffer[]): Buffer {
  let acc = hashes[hashes.length - 1];
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i], acc);
  return acc;
}

function checkedNode(level: number, index: number, hash: unknown): Buffer {
  if (!isHash(hash)) throw new Error(`merkle: node (${level}, ${index}) read from storage is not a ${HASH_SIZE}-byte hash`);
  return hash;
}

async function readAll(ids: NodeId[], read: NodeReader): Promise<Buffer[]> {
  // Reads are independent, so let the store serve them concurrently.
  return Promise.all(ids.map(async ({ level, index }) => checkedNode(level, index, await read(level, index))));
}

async function executePlan(plan: ProofPlan, read: NodeReader): Promise<Buffer[]> {
  const hashes = await readAll(plan.flat(), read);
  const out: Buffer[] = [];
  let at = 0;
  for (const entry of plan) {
    out.push(foldRight(hashes.slice(at, at + entry.length)));
    at += entry.length;
  }
  return out;
}

function executePlanSync(plan: ProofPlan, get: (level: number, index: number) => Buffer): Buffer[] {
  return plan.map((entry) => foldRight(entry.map(({ level, index }) => checkedNode(level, index, get(level, index)))));
}

/** RFC 9162 inclusion proof (leaf side first); O(log n) reads. */
export async function inclusionProof(leafIndex: number, treeSize: number, read: NodeReader): Promise<Buffer[]> {
  return executePlan(inclusionProofPlan(leafIndex, treeSize), read);
}

/** RFC 9162 consistency proof from size1 to size2; O(log n) reads. */
export async function consistencyProof(size1: number, size2: number, read: NodeReader): Promise<Buffer[]> {
  return executePlan(consistencyProofPlan(size1, size2), read);
}

/** Root of the tree made of the first treeSize leaves; at most ⌊log2 n⌋ + 1 reads. */
export async function rootAt(treeSize: number, read: NodeReader): Promise<Buffer> {
  const ids = rootPlan(treeSize);
  if (ids.length === 0) return emptyRoot();
  return foldRight(await readAll(ids, read));
}

/**
 * The left siblings that appending a leaf at index treeSize needs: one per trailing 1 bit of
 * treeSize, i.e. one per perfect subtree the new leaf completes.
 */
/** The stored nodes an append at index treeSize combines with (fetch them in one query). */
export function appendSiblings(treeSize: number): NodeId[] {
  const out: NodeId[] = [];
  let index = treeSize;
  let level = 0;
  while (index % 2 === 1) {
    out.push({ level, index: index - 1 });
    index = (index - 1) / 2;
    level += 1;
  }
  return out;
}

function completedNodes(treeSize: number, leaf: Buffer, siblings: Buffer[]): StoredNode[] {
  const out: StoredNode[] = [{ level: 0, index: treeSize, hash: Buffer.from(leaf) }];
  let hash = leaf;
  let index = treeSize;
  for (let level = 0; level < siblings.length; level++) {
    hash = nodeHash(siblings[level], hash);
    index = (index - 1) / 2;
    out.push({ level: level + 1, index, hash });
  }
  return out;
}

/**
 * Every stored node that becomes complete when a leaf is appended at index treeSize: the leaf
 * itself (level 0) and, while the new node is a right child, each parent perfect subtree.
 */
export async function nodesCompletedByAppend(treeSize: number, leaf: Buffer, read: NodeReader): Promise<StoredNode[]> {
  assertSize('treeSize', treeSize);
  if (!isHash(leaf)) throw new TypeError(`leaf hash must be a ${HASH_SIZE}-byte Buffer`);
  return completedNodes(treeSize, leaf, await readAll(appendSiblings(treeSize), read));
}

/** Wraps a NodeReader so callers can report how many nodes a proof cost. */
export function countReads(read: NodeReader): CountingNodeReader {
  const counting = Object.assign(
    async (level: number, index: number): Promise<Buffer> => {
      counting.reads += 1;
      return read(level, index);
    },
    { reads: 0 },
  );
  return counting;
}

/**
 * RFC 9162 §2.1.3.2: verifies that leafHash is at leafIndex in the tree of treeSize leaves whose
 * root is root. Never throws on bad input; any malformed argument simply fails verification.
 */
export function verifyInclusion(leafIndex: number, treeSize: number, leaf: Buffer, proof: Buffer[], root: Buffer): boolean {
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize) || leafIndex < 0) return false;
  if (leafIndex >= treeSize) return false;
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false; // proof longer than the path
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        // fn == sn on the right edge: skip levels where this node has no right sibling.
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/**
 * RFC 9162 §2.1.4.2: verifies that the tree (size1, root1) is a prefix of (size2, root2).
 * size1 == size2 holds only with an empty proof and equal roots (so a same-size fork fails).
 * size1 == 0 fails: the RFC defines consistency proofs only for 0 < size1 < size2, and a verifier
 * with no earlier checkpoint has nothing to be consistent with.
 */
export function verifyConsistency(size1: number, size2: number, proof: Buffer[], root1: Buffer, root2: Buffer): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size1 > size2) return false;
  if (!isHash(root1) || !isHash(root2) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  if (size1 === 0) return false;
  if (proof.length === 0) return false; // step 1
  // Step 2: when the old tree is a perfect subtree the proof omits its root; the verifier has it.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(root1) && sr.equals(root2);
}

/**
 * An in-memory node store in the stored-perfect-subtrees model: for tests, for tools, and for a
 * verifier that rebuilds a tree from its leaves. Reads hand out copies so a caller mutating a
 * proof cannot corrupt the store.
 */
export class MemoryNodeStore {
  private readonly levels: Buffer[][] = [];

  /** Reads one stored node; rejects for a node that is not (yet) complete. */
  readonly reader: NodeReader = async (level, index) => Buffer.from(this.node(level, index));

  static fromLeafHashes(leafHashes: Iterable<Buffer>): MemoryNodeStore {
    const store = new MemoryNodeStore();
    for (const h of leafHashes) store.append(h);
    return store;
  }

  get size(): number {
    return this.levels[0]?.length ?? 0;
  }

  /** Appends a leaf hash and returns the nodes it completed (same result as nodesCompletedByAppend). */
  append(leaf: Buffer): StoredNode[] {
    if (!isHash(leaf)) throw new TypeError(`leaf hash must be a ${HASH_SIZE}-byte Buffer`);
    const size = this.size;
    const siblings = appendSiblings(size).map(({ level, index }) => this.node(level, index));
    const nodes = completedNodes(size, leaf, siblings);
    for (const n of nodes) {
      const row = (this.levels[n.level] ??= []);
      if (row.length !== n.index) throw new Error(`merkle: store out of order at (${n.level}, ${n.index})`);
      row.push(n.hash);
    }
    return nodes.map((n) => ({ ...n, hash: Buffer.from(n.hash) }));
  }

  /** The stored hash of a complete perfect subtree (not a copy: do not mutate). */
  node(level: number, index: number): Buffer {
    const hash = this.levels[level]?.[index];
    if (!hash) throw new RangeError(`merkle: no stored node (${level}, ${index})`);
    return hash;
  }

  /** Root at any size up to the current one, synchronously. */
  root(treeSize: number = this.size): Buffer {
    this.assertWithin(treeSize);
    const ids = rootPlan(treeSize);
    if (ids.length === 0) return emptyRoot();
    return foldRight(ids.map(({ level, index }) => this.node(level, index)));
  }

  inclusionProof(leafIndex: number, treeSize: number = this.size): Buffer[] {
    this.assertWithin(treeSize);
    return executePlanSync(inclusionProofPlan(leafIndex, treeSize), (l, i) => this.node(l, i));
  }

  consistencyProof(size1: number, size2: number = this.size): Buffer[] {
    this.assertWithin(size2);
    return executePlanSync(consistencyProofPlan(size1, size2), (l, i) => this.node(l, i));
  }

  private assertWithin(treeSize: number): void {
    assertSize('treeSize', treeSize);
    if (treeSize > this.size) throw new RangeError(`tree size ${treeSize} exceeds the store's ${this.size} leaves`);
  }
}
