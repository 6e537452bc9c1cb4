import { describe, expect, it } from '@jest/globals';
import {
  MemoryNodeStore,
  consistencyProof,
  consistencyProofPlan,
  countReads,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  nodesCompletedByAppend,
  perfectSubtrees,
  rootAt,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
  type NodeReader,
} from './merkle.js';

const h = (hex: string): Buffer => Buffer.from(hex, 'hex');
const hexes = (bs: Buffer[]): string[] => bs.map((b) => b.toString('hex'));

// The RFC 6962 reference vectors shared by google/certificate-transparency and
// transparency-dev/merkle (proof/verify_test.go).
const LEAF_DATA = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(h);
const LEAVES = LEAF_DATA.map((d) => leafHash(d));
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const rootOf = (size: number): Buffer => h(ROOTS[size - 1]);

// Upstream lists these with 1-based leaf numbers; here leaf indices are 0-based as in RFC 9162.
const INCLUSION_VECTORS: { leafIndex: number; treeSize: number; proof: string[] }[] = [
  {
    leafIndex: 0,
    treeSize: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leafIndex: 5,
    treeSize: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leafIndex: 2, treeSize: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leafIndex: 1,
    treeSize: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CONSISTENCY_VECTORS: { size1: number; size2: number; proof: string[] }[] = [
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

/** Deterministic distinct leaves for the property tests. */
function leavesFor(n: number, tag = 'leaf'): Buffer[] {
  return Array.from({ length: n }, (_, i) => leafHash(`${tag}-${i}`));
}

/** A copy of proof with byte `at` of element `i` flipped (never mutates the input). */
function flipped(proof: Buffer[], i: number, at: number): Buffer[] {
  return proof.map((p, j) => {
    if (j !== i) return p;
    const c = Buffer.from(p);
    c[at] ^= 0x01;
    return c;
  });
}

function flipByte(b: Buffer, at = 0): Buffer {
  const c = Buffer.from(b);
  c[at] ^= 0x80;
  return c;
}

function swapped(proof: Buffer[], i: number): Buffer[] {
  const c = [...proof];
  [c[i], c[i + 1]] = [c[i + 1], c[i]];
  return c;
}

describe('Merkle tree hash (RFC 6962 §2.1)', () => {
  it('hashes the empty tree as SHA-256 of nothing', () => {
    expect(emptyRoot().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(rootFromLeafHashes([]).equals(emptyRoot())).toBe(true);
  });

  it('separates leaf and node domains with the 0x00 / 0x01 prefixes', () => {
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(ROOTS[0]);
    expect(nodeHash(LEAVES[0], LEAVES[1]).toString('hex')).toBe(ROOTS[1]);
  });

  it('matches the reference roots for sizes 1..8 (reference, stored and async implementations)', async () => {
    const store = new MemoryNodeStore();
    for (let n = 1; n <= 8; n++) {
      store.append(LEAVES[n - 1]);
      expect(rootFromLeafHashes(LEAVES.slice(0, n)).toString('hex')).toBe(ROOTS[n - 1]);
      expect(store.root().toString('hex')).toBe(ROOTS[n - 1]);
      expect((await rootAt(n, store.reader)).toString('hex')).toBe(ROOTS[n - 1]);
    }
    expect((await rootAt(0, store.reader)).equals(emptyRoot())).toBe(true);
  });

  it('tiles ranges with maximal aligned perfect subtrees', () => {
    expect(perfectSubtrees(0, 13)).toEqual([
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    expect(perfectSubtrees(8, 16)).toEqual([{ level: 3, index: 1 }]);
    expect(perfectSubtrees(4, 7)).toEqual([
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(perfectSubtrees(5, 5)).toEqual([]);
  });
});

describe('published proof vectors', () => {
  const store = MemoryNodeStore.fromLeafHashes(LEAVES);

  it.each(INCLUSION_VECTORS)('inclusion of leaf $leafIndex in size $treeSize: generated and verified', async ({ leafIndex, treeSize, proof }) => {
    expect(hexes(await inclusionProof(leafIndex, treeSize, store.reader))).toEqual(proof);
    expect(verifyInclusion(leafIndex, treeSize, LEAVES[leafIndex], proof.map(h), rootOf(treeSize))).toBe(true);
  });

  it.each(CONSISTENCY_VECTORS)('consistency $size1 -> $size2: generated and verified', async ({ size1, size2, proof }) => {
    expect(hexes(await consistencyProof(size1, size2, store.reader))).toEqual(proof);
    expect(verifyConsistency(size1, size2, proof.map(h), rootOf(size1), rootOf(size2))).toBe(true);
  });

  it('has empty proofs for a single-leaf tree and for equal sizes', async () => {
    expect(await inclusionProof(0, 1, store.reader)).toEqual([]);
    expect(verifyInclusion(0, 1, LEAVES[0], [], rootOf(1))).toBe(true);
    expect(await consistencyProof(5, 5, store.reader)).toEqual([]);
    expect(verifyConsistency(5, 5, [], rootOf(5), rootOf(5))).toBe(true);
  });
});

describe('verifyInclusion rejects', () => {
  const { leafIndex, treeSize } = INCLUSION_VECTORS[1];
  const proof = INCLUSION_VECTORS[1].proof.map(h);
  const leaf = LEAVES[leafIndex];
  const root = rootOf(treeSize);

  it('an index outside the tree and a bad tree size', () => {
    expect(verifyInclusion(treeSize, treeSize, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(0, 0, leaf, [], emptyRoot())).toBe(false);
    expect(verifyInclusion(-1, treeSize, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(1.5, treeSize, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(leafIndex, treeSize * 2, leaf, proof, root)).toBe(false);
    expect(verifyInclusion(leafIndex, treeSize / 2, leaf, proof, root)).toBe(false);
  });

  it('proofs of the wrong length and hashes of the wrong size', () => {
    expect(verifyInclusion(leafIndex, treeSize, leaf, proof.slice(0, 2), root)).toBe(false);
    expect(verifyInclusion(leafIndex, treeSize, leaf, [...proof, root], root)).toBe(false);
    expect(verifyInclusion(leafIndex, treeSize, leaf, [root, ...proof], root)).toBe(false);
    expect(verifyInclusion(leafIndex, treeSize, leaf, [...proof, Buffer.alloc(0)], root)).toBe(false);
    expect(verifyInclusion(leafIndex, treeSize, leaf.subarray(1), proof, root)).toBe(false);
    expect(verifyInclusion(0, 1, Buffer.from('WrongLeaf'), [], Buffer.from('WrongLeaf'))).toBe(false);
  });
});

describe('verifyConsistency edge cases', () => {
  const r1 = rootOf(1);
  const r8 = rootOf(8);

  it('rejects size1 > size2, size1 = 0 and an empty proof for different sizes', () => {
    expect(verifyConsistency(8, 1, [], r8, r1)).toBe(false);
    expect(verifyConsistency(0, 8, [], emptyRoot(), r8)).toBe(false);
    expect(verifyConsistency(1, 8, [], r1, r8)).toBe(false);
  });

  it('for equal sizes requires an empty proof and equal roots', () => {
    expect(verifyConsistency(0, 0, [], emptyRoot(), emptyRoot())).toBe(true);
    expect(verifyConsistency(1, 1, [], r1, r1)).toBe(true);
    expect(verifyConsistency(1, 1, [emptyRoot()], r1, r1)).toBe(false);
    expect(verifyConsistency(1, 1, [], r1, r8)).toBe(false);
  });

  it('refuses to generate proofs the RFC does not define', async () => {
    await expect(consistencyProof(0, 4, async () => emptyRoot())).rejects.toThrow(RangeError);
    expect(() => consistencyProofPlan(5, 4)).toThrow(RangeError);
    await expect(inclusionProof(4, 4, async () => emptyRoot())).rejects.toThrow(RangeError);
  });
});

describe('property: every proof for sizes 1..64 verifies, and every corruption fails', () => {
  const MAX = 64;
  const leaves = leavesFor(MAX);
  const store = MemoryNodeStore.fromLeafHashes(leaves);
  const roots = [emptyRoot(), ...Array.from({ length: MAX }, (_, i) => rootFromLeafHashes(leaves.slice(0, i + 1)))];

  it('stored roots equal the reference implementation', () => {
    for (let n = 0; n <= MAX; n++) expect(store.root(n).equals(roots[n])).toBe(true);
  });

  // Checks are collected rather than asserted one by one: tens of thousands of expect() calls
  // would dominate the run time, and a list of failures names exactly which case broke.
  it('inclusion proofs', async () => {
    const failures: string[] = [];
    const mustFail = (what: string, result: boolean): void => {
      if (result) failures.push(what);
    };
    let checked = 0;
    for (let n = 1; n <= MAX; n++) {
      for (let m = 0; m < n; m++) {
        const at = `leaf ${m} of ${n}`;
        const proof = await inclusionProof(m, n, store.reader);
        if (hexes(proof).join() !== hexes(store.inclusionProof(m, n)).join()) failures.push(`${at}: async and sync proofs differ`);
        const ok = (i: number, leaf: Buffer, p: Buffer[], root: Buffer): boolean => verifyInclusion(i, n, leaf, p, root);
        if (!ok(m, leaves[m], proof, roots[n])) failures.push(`${at}: valid proof rejected`);
        // Wrong index, in range and out of range (index >= size).
        for (const wrong of [m - 1, m + 1, m ^ 2, n, n + 1]) {
          if (wrong !== m && wrong >= 0) mustFail(`${at}: index ${wrong}`, ok(wrong, leaves[m], proof, roots[n]));
        }
        mustFail(`${at}: other leaf`, ok(m, leaves[(m + 1) % MAX], proof, roots[n]));
        mustFail(`${at}: flipped leaf`, ok(m, flipByte(leaves[m]), proof, roots[n]));
        mustFail(`${at}: flipped root`, ok(m, leaves[m], proof, flipByte(roots[n], 31)));
        // (A wrong tree size is not probed here: sizes whose path has the same shape legitimately
        // run the same computation, which is why a checkpoint signs the size with the root.)
        // A flipped byte in the proof: every position for small trees, a spread of them otherwise.
        for (let i = 0; i < proof.length; i++) {
          const positions = n <= 8 ? Array.from({ length: 32 }, (_, k) => k) : [(m + 7 * i) % 32];
          for (const b of positions) mustFail(`${at}: proof[${i}] byte ${b} flipped`, ok(m, leaves[m], flipped(proof, i, b), roots[n]));
        }
        for (let i = 0; i + 1 < proof.length; i++) {
          if (!proof[i].equals(proof[i + 1])) mustFail(`${at}: siblings ${i},${i + 1} swapped`, ok(m, leaves[m], swapped(proof, i), roots[n]));
        }
        if (proof.length > 0) mustFail(`${at}: truncated`, ok(m, leaves[m], proof.slice(0, -1), roots[n]));
        mustFail(`${at}: extended`, ok(m, leaves[m], [...proof, roots[n]], roots[n]));
        checked++;
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe((MAX * (MAX + 1)) / 2);
  });

  it('consistency proofs', async () => {
    const failures: string[] = [];
    const mustFail = (what: string, result: boolean): void => {
      if (result) failures.push(what);
    };
    let checked = 0;
    for (let n = 1; n <= MAX; n++) {
      for (let m = 1; m <= n; m++) {
        const at = `${m} -> ${n}`;
        const proof = await consistencyProof(m, n, store.reader);
        if (hexes(proof).join() !== hexes(store.consistencyProof(m, n)).join()) failures.push(`${at}: async and sync proofs differ`);
        const ok = (s1: number, p: Buffer[], r1: Buffer, r2: Buffer): boolean => verifyConsistency(s1, n, p, r1, r2);
        if (!ok(m, proof, roots[m], roots[n])) failures.push(`${at}: valid proof rejected`);
        checked++;
        if (m === n) {
          if (proof.length !== 0) failures.push(`${at}: equal sizes need an empty proof`);
          continue;
        }
        mustFail(`${at}: swapped roots`, ok(m, proof, roots[n], roots[m]));
        mustFail(`${at}: flipped root1`, ok(m, proof, flipByte(roots[m]), roots[n]));
        mustFail(`${at}: flipped root2`, ok(m, proof, roots[m], flipByte(roots[n])));
        mustFail(`${at}: empty proof`, ok(m, [], roots[m], roots[n]));
        for (const wrong of [m - 1, m + 1]) {
          if (wrong >= 1 && wrong < n) mustFail(`${at}: size1 ${wrong}`, ok(wrong, proof, roots[m], roots[n]));
        }
        for (let i = 0; i < proof.length; i++) {
          const positions = n <= 8 ? Array.from({ length: 32 }, (_, k) => k) : [(m + 5 * i) % 32];
          for (const b of positions) mustFail(`${at}: proof[${i}] byte ${b} flipped`, ok(m, flipped(proof, i, b), roots[m], roots[n]));
        }
        for (let i = 0; i + 1 < proof.length; i++) {
          if (!proof[i].equals(proof[i + 1])) mustFail(`${at}: nodes ${i},${i + 1} swapped`, ok(m, swapped(proof, i), roots[m], roots[n]));
        }
        mustFail(`${at}: truncated`, ok(m, proof.slice(0, -1), roots[m], roots[n]));
        mustFail(`${at}: extended`, ok(m, [...proof, roots[n]], roots[m], roots[n]));
        mustFail(`${at}: duplicated first node`, ok(m, [proof[0], ...proof], roots[m], roots[n]));
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe((MAX * (MAX + 1)) / 2);
  });
});

describe('forks', () => {
  // Two logs that agree on the first 20 leaves and then diverge.
  const honest = leavesFor(40);
  const forked = [...honest.slice(0, 20), ...leavesFor(20, 'forged')];
  const a = MemoryNodeStore.fromLeafHashes(honest);
  const b = MemoryNodeStore.fromLeafHashes(forked);

  it('same size, other root: detected by the equal-size consistency check', () => {
    expect(a.root(30).equals(b.root(30))).toBe(false);
    expect(verifyConsistency(30, 30, [], a.root(30), b.root(30))).toBe(false);
  });

  it('the fork cannot prove consistency with a checkpoint of the honest log, nor vice versa', () => {
    for (const size1 of [21, 25, 30]) {
      expect(verifyConsistency(size1, 40, b.consistencyProof(size1, 40), a.root(size1), b.root(40))).toBe(false);
      expect(verifyConsistency(size1, 40, a.consistencyProof(size1, 40), b.root(size1), a.root(40))).toBe(false);
    }
    // The shared prefix is still consistent with both.
    expect(verifyConsistency(20, 40, b.consistencyProof(20, 40), a.root(20), b.root(40))).toBe(true);
  });

  it("a forked leaf's inclusion proof fails against the honest root", () => {
    expect(verifyInclusion(25, 40, forked[25], b.inclusionProof(25, 40), a.root(40))).toBe(false);
    expect(verifyInclusion(25, 40, forked[25], b.inclusionProof(25, 40), b.root(40))).toBe(true);
  });
});

describe('appending', () => {
  it('nodesCompletedByAppend reports the leaf and every perfect subtree it completes', async () => {
    const store = MemoryNodeStore.fromLeafHashes(leavesFor(7));
    const leaf = leafHash('leaf-7');
    const nodes = await nodesCompletedByAppend(7, leaf, store.reader);
    expect(nodes.map(({ level, index }) => [level, index])).toEqual([
      [0, 7],
      [1, 3],
      [2, 1],
      [3, 0],
    ]);
    expect(nodes[3].hash.equals(rootFromLeafHashes(leavesFor(8)))).toBe(true);
    expect(hexes(store.append(leaf).map((n) => n.hash))).toEqual(hexes(nodes.map((n) => n.hash)));
  });

  it('an append at an even index completes only the leaf and reads nothing', async () => {
    const counted = countReads(new MemoryNodeStore().reader);
    const nodes = await nodesCompletedByAppend(0, leafHash('x'), counted);
    expect(nodes).toHaveLength(1);
    expect(counted.reads).toBe(0);
  });

  it('building a store through an async reader matches the in-memory store', async () => {
    // Simulates a database: a map of (level, index) -> hash filled only via nodesCompletedByAppend.
    const db = new Map<string, Buffer>();
    const read: NodeReader = async (level, index) => {
      const v = db.get(`${level}/${index}`);
      if (!v) throw new Error(`missing ${level}/${index}`);
      return v;
    };
    const leaves = leavesFor(37);
    for (let i = 0; i < leaves.length; i++) {
      for (const n of await nodesCompletedByAppend(i, leaves[i], read)) db.set(`${n.level}/${n.index}`, n.hash);
    }
    const mem = MemoryNodeStore.fromLeafHashes(leaves);
    expect((await rootAt(37, read)).equals(mem.root())).toBe(true);
    expect(hexes(await inclusionProof(20, 37, read))).toEqual(hexes(mem.inclusionProof(20)));
  });

  it('fails loudly when storage returns something that is not a hash', async () => {
    await expect(rootAt(3, async () => Buffer.alloc(31))).rejects.toThrow(/32-byte/);
  });

  it('hands out copies, so mutating a proof cannot corrupt the store', async () => {
    const store = MemoryNodeStore.fromLeafHashes(leavesFor(4));
    const before = store.root();
    const proof = await inclusionProof(0, 4, store.reader);
    proof[0].fill(0);
    expect(store.root().equals(before)).toBe(true);
  });
});

describe('sizes beyond 32 bits', () => {
  // A virtual tree whose leaves are all equal, so the perfect subtree at level k is known without
  // hashing 2^k leaves. It exercises index arithmetic that bitwise operators would truncate.
  const perfect: Buffer[] = [leafHash('same')];
  for (let k = 1; k <= 53; k++) perfect.push(nodeHash(perfect[k - 1], perfect[k - 1]));
  const read: NodeReader = async (level, index) => {
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`bad index ${index}`);
    return perfect[level];
  };
  /** MTH straight from the RFC recursion, memoised on size (all equal leaves). */
  const mth = (n: number): Buffer => {
    let k = 1;
    while (k * 2 < n) k *= 2;
    if (k * 2 === n || n === 1) return perfect[Math.log2(n)];
    return nodeHash(perfect[Math.log2(k)], mth(n - k));
  };

  it('roots, inclusion and consistency proofs agree with the RFC recursion', async () => {
    const size1 = 2 ** 33 + 5;
    const size2 = 2 ** 40 + 3;
    expect((await rootAt(size2, read)).equals(mth(size2))).toBe(true);
    for (const m of [0, 2 ** 32, 2 ** 32 + 1, size2 - 2, size2 - 1]) {
      expect(verifyInclusion(m, size2, perfect[0], await inclusionProof(m, size2, read), mth(size2))).toBe(true);
    }
    expect(verifyConsistency(size1, size2, await consistencyProof(size1, size2, read), mth(size1), mth(size2))).toBe(true);
    expect(verifyConsistency(size1 + 1, size2, await consistencyProof(size1, size2, read), mth(size1), mth(size2))).toBe(false);
  });
});

describe('read counts stay O(log n)', () => {
  const bound = (n: number): number => 3 * Math.ceil(Math.log2(n)) + 3;

  it.each([1000, 100_000])('n = %i', async (n) => {
    const store = new MemoryNodeStore();
    for (let i = 0; i < n; i++) store.append(leafHash(String(i)));
    const probes = [0, 1, n >> 1, n - 2, n - 1, 65_535 % n, 511, 777];
    let worst = 0;
    for (const m of probes) {
      const counted = countReads(store.reader);
      const proof = await inclusionProof(m, n, counted);
      expect(verifyInclusion(m, n, leafHash(String(m)), proof, store.root())).toBe(true);
      worst = Math.max(worst, counted.reads);
    }
    for (const m of [1, 2, 3, 511, 512, 513, n >> 1, n - 1]) {
      const counted = countReads(store.reader);
      const proof = await consistencyProof(m, n, counted);
      expect(verifyConsistency(m, n, proof, store.root(m), store.root())).toBe(true);
      worst = Math.max(worst, counted.reads);
    }
    const counted = countReads(store.reader);
    await rootAt(n, counted);
    expect(counted.reads).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
    expect(worst).toBeLessThanOrEqual(bound(n));
  });
});
