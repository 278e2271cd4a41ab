// Owns the compact range: the log's running state as the roots of the perfect subtrees covering [0, size) —
// one hash per set bit of `size`. Appending a leaf is O(log n), the current root is O(log n), and the state is
// small enough to keep in one row, so the service can sign a checkpoint after every append without reading
// the whole tree.

import { ByteReader, ByteWriter, copyBytes } from "./bytes.js";
import { CryptoFormatError } from "./errors.js";
import { emptyTreeRoot, HASH_SIZE, isHash, nodeHash } from "./hash.js";
import { foldSubtrees, type HashSource, perfectSubtrees } from "./merkle.js";

/** A perfect subtree completed by an append; storage may keep these as the tree's nodes. */
export type CompletedNode = { readonly level: number; readonly index: number; readonly hash: Uint8Array };

/** Serializable state: `hashes` are the perfect-subtree roots left to right (largest first). */
export type CompactRangeState = { readonly size: number; readonly hashes: readonly Uint8Array[] };

function countOfSetBits(size: number): number {
  let count = 0;
  for (let v = size; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

export class CompactRange {
  private constructor(
    private currentSize: number,
    private readonly hashes: Uint8Array[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** Restores a saved state, refusing any whose shape does not match its size. */
  static restore(state: CompactRangeState): CompactRange {
    const { size, hashes } = state;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new CryptoFormatError("MALFORMED_TREE_STATE", "tree size must be a non-negative safe integer");
    }
    if (hashes.length !== countOfSetBits(size) || !hashes.every(isHash)) {
      throw new CryptoFormatError(
        "MALFORMED_TREE_STATE",
        `a tree of size ${size} needs ${countOfSetBits(size)} hashes`,
      );
    }
    return new CompactRange(
      size,
      hashes.map((hash) => copyBytes(hash)),
    );
  }

  /** Rebuilds the state of the first `size` leaves from stored subtree hashes: O(log n) reads. */
  static fromHashSource(source: HashSource, size: number): CompactRange {
    const hashes = perfectSubtrees(0, size).map((node) => source(node.level, node.index));
    return CompactRange.restore({ size, hashes });
  }

  get size(): number {
    return this.currentSize;
  }

  /** Adds one leaf hash; returns the leaf and every perfect subtree it completed, lowest level first. */
  append(leafHash: Uint8Array): CompletedNode[] {
    if (!isHash(leafHash)) throw new RangeError("a leaf hash is 32 bytes");
    const newSize = this.currentSize + 1;
    const completed: CompletedNode[] = [{ level: 0, index: this.currentSize, hash: copyBytes(leafHash) }];
    let hash: Uint8Array = copyBytes(leafHash);
    // Each trailing 1 bit of the old size is a subtree of the same height waiting for a right sibling.
    let level = 0;
    let width = 1;
    for (let old = this.currentSize; old % 2 === 1; old = Math.floor(old / 2)) {
      const left = this.hashes.pop();
      if (left === undefined) throw new Error("compact range state is corrupt");
      hash = nodeHash(left, hash);
      level++;
      width *= 2;
      completed.push({ level, index: newSize / width - 1, hash: copyBytes(hash) });
    }
    this.hashes.push(hash);
    this.currentSize = newSize;
    return completed;
  }

  /**
   * Adds one leaf hash like append, without reporting the completed subtrees: the verifier's path, one node hash
   * per merge and no copies. The range keeps `leafHash` itself, so the caller must not change it afterwards.
   */
  push(leafHash: Uint8Array): void {
    if (!isHash(leafHash)) throw new RangeError("a leaf hash is 32 bytes");
    let hash = leafHash;
    for (let old = this.currentSize; old % 2 === 1; old = Math.floor(old / 2)) {
      const left = this.hashes.pop();
      if (left === undefined) throw new Error("compact range state is corrupt");
      hash = nodeHash(left, hash);
    }
    this.hashes.push(hash);
    this.currentSize++;
  }

  root(): Uint8Array {
    return this.hashes.length === 0 ? emptyTreeRoot() : copyBytes(foldSubtrees(this.hashes));
  }

  state(): CompactRangeState {
    return { size: this.currentSize, hashes: this.hashes.map((hash) => copyBytes(hash)) };
  }

  /** uint64 size ‖ the hashes, 32 bytes each: the form kept in the database next to the log. */
  encode(): Uint8Array {
    const writer = new ByteWriter().uint64(this.currentSize);
    for (const hash of this.hashes) writer.fixed(hash, HASH_SIZE, "subtree hash");
    return writer.finish();
  }

  static decode(bytes: Uint8Array): CompactRange {
    const reader = new ByteReader(bytes, "compact range");
    const size = reader.uint64();
    const hashes = Array.from({ length: countOfSetBits(size) }, () => reader.fixed(HASH_SIZE));
    reader.end();
    return CompactRange.restore({ size, hashes });
  }
}
