// Owns the RFC 6962 / RFC 9162 Merkle tree of the vote log: tree roots, inclusion and consistency proofs
// (generation and verification), and the in-memory tree used by the verifier and by tests.
//
// Proof generation is split in two so that storage can serve it: a *plan* lists, for each proof element, the
// perfect subtrees (level, index) whose right fold is that element; a HashSource then supplies those subtree
// hashes, from memory or from stored nodes/tiles fetched in one batch. Sizes and indexes are JavaScript numbers,
// so trees are limited to 2^53 - 1 leaves; the arithmetic below avoids 32-bit bitwise operators on purpose.

import { bytesEqual, copyBytes } from "./bytes.js";
import { emptyTreeRoot, HASH_SIZE, isHash, nodeHash } from "./hash.js";

/** A perfect subtree: at `level` L, node `index` i covers leaves [i·2^L, (i+1)·2^L). Level 0 is a leaf hash. */
export type NodeId = { readonly level: number; readonly index: number };

/** Supplies the hash of a perfect subtree; throws if it does not have it. */
export type HashSource = (level: number, index: number) => Uint8Array;

/** For each proof element, in proof order, the perfect subtrees whose right fold gives that element. */
export type ProofPlan = readonly (readonly NodeId[])[];

function isTreeSize(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function half(value: number): number {
  return Math.floor(value / 2);
}

function isOdd(value: number): boolean {
  return value % 2 === 1;
}

function isPowerOfTwo(value: number): boolean {
  let v = value;
  while (v > 1 && !isOdd(v)) v = half(v);
  return v === 1;
}

/** RFC 9162 §2.1.1: the largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Decomposes the leaf range [begin, end) into maximal aligned perfect subtrees, left to right. For the ranges
 * that occur in RFC 6962 (begin a multiple of a power of two ≥ end − begin) the sizes strictly decrease.
 */
export function perfectSubtrees(begin: number, end: number): NodeId[] {
  if (!isTreeSize(begin) || !isTreeSize(end) || begin > end) throw new RangeError("invalid leaf range");
  const nodes: NodeId[] = [];
  let position = begin;
  while (position < end) {
    let level = 0;
    let width = 1;
    while (position % (width * 2) === 0 && position + width * 2 <= end) {
      level++;
      width *= 2;
    }
    nodes.push({ level, index: position / width });
    position += width;
  }
  return nodes;
}

/** MTH of a range given its perfect subtrees (largest first): fold from the right, as RFC 6962 splits. */
export function foldSubtrees(hashes: readonly Uint8Array[]): Uint8Array {
  let acc = hashes[hashes.length - 1];
  if (acc === undefined) throw new RangeError("nothing to fold");
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i] as Uint8Array, acc);
  return acc;
}

/** The root of the tree of the first `size` leaves, read from a hash source. */
export function rootFromSource(source: HashSource, size: number): Uint8Array {
  if (!isTreeSize(size)) throw new RangeError("invalid tree size");
  if (size === 0) return emptyTreeRoot();
  return foldSubtrees(perfectSubtrees(0, size).map((node) => source(node.level, node.index)));
}

/** MTH(D[n]) straight from the RFC 6962 definition; the reference the faster paths are tested against. */
export function rootOfLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyTreeRoot();
  if (leafHashes.length === 1) return leafHashes[0] as Uint8Array;
  const k = splitPoint(leafHashes.length);
  return nodeHash(rootOfLeafHashes(leafHashes.slice(0, k)), rootOfLeafHashes(leafHashes.slice(k)));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]) as a plan, leaf-side element first. */
export function planInclusionProof(index: number, size: number): ProofPlan {
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size) {
    throw new RangeError(`no leaf ${index} in a tree of size ${size}`);
  }
  const topDown: NodeId[][] = [];
  let begin = 0;
  let end = size;
  while (end - begin > 1) {
    const mid = begin + splitPoint(end - begin);
    if (index < mid) {
      topDown.push(perfectSubtrees(mid, end));
      end = mid;
    } else {
      topDown.push(perfectSubtrees(begin, mid));
      begin = mid;
    }
  }
  return topDown.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as a plan, leaf-side element first. */
export function planConsistencyProof(size1: number, size2: number): ProofPlan {
  if (!isTreeSize(size1) || !isTreeSize(size2) || size1 > size2) {
    throw new RangeError(`no consistency proof from size ${size1} to size ${size2}`);
  }
  if (size1 === 0 || size1 === size2) return [];
  const topDown: NodeId[][] = [];
  let begin = 0;
  let end = size2;
  // False once the old tree's boundary falls inside a right subtree: its root is then not known to the
  // verifier and must be sent (the `b` flag of SUBPROOF).
  let oldRootIsKnown = true;
  while (size1 !== end) {
    const mid = begin + splitPoint(end - begin);
    if (size1 <= mid) {
      topDown.push(perfectSubtrees(mid, end));
      end = mid;
    } else {
      topDown.push(perfectSubtrees(begin, mid));
      begin = mid;
      oldRootIsKnown = false;
    }
  }
  if (!oldRootIsKnown) topDown.push(perfectSubtrees(begin, end));
  return topDown.reverse();
}

export function proofFromPlan(plan: ProofPlan, source: HashSource): Uint8Array[] {
  return plan.map((nodes) => foldSubtrees(nodes.map((node) => source(node.level, node.index))));
}

export function inclusionProof(source: HashSource, index: number, size: number): Uint8Array[] {
  return proofFromPlan(planInclusionProof(index, size), source);
}

export function consistencyProof(source: HashSource, size1: number, size2: number): Uint8Array[] {
  return proofFromPlan(planConsistencyProof(size1, size2), source);
}

export type InclusionClaim = {
  readonly leafHash: Uint8Array;
  readonly index: number;
  readonly size: number;
  readonly proof: readonly Uint8Array[];
  readonly root: Uint8Array;
};

/** RFC 9162 §2.1.3.2. Returns false for anything malformed (bad sizes, hash lengths) as well as wrong proofs. */
export function verifyInclusion(claim: InclusionClaim): boolean {
  const { leafHash, index, size, proof, root } = claim;
  if (!isTreeSize(index) || !isTreeSize(size) || index >= size) return false;
  if (!isHash(leafHash) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(r, root);
}

export type ConsistencyClaim = {
  readonly size1: number;
  readonly size2: number;
  readonly root1: Uint8Array;
  readonly root2: Uint8Array;
  readonly proof: readonly Uint8Array[];
};

/**
 * RFC 9162 §2.1.4.2, plus the two degenerate cases it leaves to the caller: equal sizes need an empty proof and
 * equal roots; from the empty tree, an empty proof and root1 = SHA-256("").
 */
export function verifyConsistency(claim: ConsistencyClaim): boolean {
  const { size1, size2, root1, root2, proof } = claim;
  if (!isTreeSize(size1) || !isTreeSize(size2) || size1 > size2) return false;
  if (!isHash(root1) || !isHash(root2) || !proof.every(isHash)) return false;
  if (size1 === size2) return proof.length === 0 && bytesEqual(root1, root2);
  if (size1 === 0) return proof.length === 0 && bytesEqual(root1, emptyTreeRoot());
  if (proof.length === 0) return false;

  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}

/**
 * Every perfect subtree hash of a growing tree, one packed buffer per level (32 bytes per node), so that a
 * million-leaf tree costs about 64 MB and any proof is O(log n) lookups plus at most O(log n) hashes.
 */
export class InMemoryMerkleTree {
  private readonly levels: { bytes: Uint8Array; count: number }[] = [];

  static fromLeafHashes(leafHashes: Iterable<Uint8Array>): InMemoryMerkleTree {
    const tree = new InMemoryMerkleTree();
    for (const hash of leafHashes) tree.append(hash);
    return tree;
  }

  get size(): number {
    return this.levels[0]?.count ?? 0;
  }

  append(leafHash: Uint8Array): void {
    if (!isHash(leafHash)) throw new RangeError("a leaf hash is 32 bytes");
    let level = 0;
    let hash = leafHash;
    for (;;) {
      const index = this.push(level, hash);
      if (!isOdd(index)) return;
      hash = nodeHash(this.hashAt(level, index - 1), hash);
      level++;
    }
  }

  hashAt(level: number, index: number): Uint8Array {
    const row = this.levels[level];
    if (row === undefined || !Number.isInteger(index) || index < 0 || index >= row.count) {
      throw new RangeError(`no complete subtree at level ${level}, index ${index}`);
    }
    return row.bytes.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  }

  /** Copies, so that callers holding a proof or root can never write into the tree. */
  readonly source: HashSource = (level, index) => copyBytes(this.hashAt(level, index));

  root(size: number = this.size): Uint8Array {
    this.requireSize(size);
    return rootFromSource(this.source, size);
  }

  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.requireSize(size);
    return inclusionProof(this.source, index, size);
  }

  consistencyProof(size1: number, size2: number = this.size): Uint8Array[] {
    this.requireSize(size2);
    return consistencyProof(this.source, size1, size2);
  }

  private requireSize(size: number): void {
    if (!isTreeSize(size) || size > this.size)
      throw new RangeError(`tree has ${this.size} leaves, not ${size}`);
  }

  private push(level: number, hash: Uint8Array): number {
    let row = this.levels[level];
    if (row === undefined) {
      row = { bytes: new Uint8Array(HASH_SIZE * 16), count: 0 };
      this.levels[level] = row;
    }
    if ((row.count + 1) * HASH_SIZE > row.bytes.length) {
      const grown = new Uint8Array(row.bytes.length * 2);
      grown.set(row.bytes);
      row.bytes = grown;
    }
    row.bytes.set(hash, row.count * HASH_SIZE);
    row.count++;
    return row.count - 1;
  }
}
