import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../../src/crypto/bytes.js";
import { CompactRange } from "../../../src/crypto/compact-range.js";
import { CryptoFormatError } from "../../../src/crypto/errors.js";
import { emptyTreeRoot, leafHash } from "../../../src/crypto/hash.js";
import { InMemoryMerkleTree, rootOfLeafHashes } from "../../../src/crypto/merkle.js";

function leafHashesFor(size: number): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
}

function appendAll(range: CompactRange, hashes: readonly Uint8Array[]): CompactRange {
  for (const hash of hashes) range.append(hash);
  return range;
}

describe("compact range", () => {
  it("has the root of the full tree after every append, at random sizes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 700 }), (size) => {
        const hashes = leafHashesFor(size);
        const range = appendAll(CompactRange.empty(), hashes);
        expect(range.size).toBe(size);
        expect(toHex(range.root())).toBe(toHex(rootOfLeafHashes(hashes)));
      }),
      { numRuns: 80 },
    );
  });

  it("push (the verifier's append) reaches the same roots and state as append, at random sizes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 700 }), (size) => {
        const hashes = leafHashesFor(size);
        const appended = appendAll(CompactRange.empty(), hashes);
        const pushed = CompactRange.empty();
        for (const [i, hash] of hashes.entries()) {
          pushed.push(Uint8Array.from(hash));
          if (i % 37 === 0)
            expect(toHex(pushed.root())).toBe(toHex(rootOfLeafHashes(hashes.slice(0, i + 1))));
        }
        expect(pushed.size).toBe(size);
        expect(toHex(pushed.root())).toBe(toHex(appended.root()));
        expect(toHex(pushed.encode())).toBe(toHex(appended.encode()));
      }),
      { numRuns: 60 },
    );
    expect(() => CompactRange.empty().push(new Uint8Array(31))).toThrow(RangeError);
  });

  it("starts as the empty tree", () => {
    expect(toHex(CompactRange.empty().root())).toBe(toHex(emptyTreeRoot()));
  });

  it("keeps exactly one hash per set bit of the size", () => {
    const range = appendAll(CompactRange.empty(), leafHashesFor(0b1011001));
    expect(range.state().hashes).toHaveLength(4);
  });

  it("survives a save and restore, in object and in byte form, and keeps growing identically", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 50 }), (first, more) => {
        const hashes = leafHashesFor(first + more);
        const original = appendAll(CompactRange.empty(), hashes.slice(0, first));
        const fromState = CompactRange.restore(original.state());
        const fromBytes = CompactRange.decode(original.encode());
        for (const range of [fromState, fromBytes]) {
          appendAll(range, hashes.slice(first));
          expect(toHex(range.root())).toBe(toHex(rootOfLeafHashes(hashes)));
        }
      }),
      { numRuns: 60 },
    );
  });

  it("reports each completed perfect subtree so storage can serve proofs from it", () => {
    const hashes = leafHashesFor(37);
    const tree = InMemoryMerkleTree.fromLeafHashes(hashes);
    const range = CompactRange.empty();
    const completed = hashes.flatMap((hash) => range.append(hash));
    // Every complete subtree of a 37-leaf tree: 37 + 18 + 9 + 4 + 2 + 1 nodes.
    expect(completed).toHaveLength(37 + 18 + 9 + 4 + 2 + 1);
    for (const node of completed) expect(toHex(node.hash)).toBe(toHex(tree.hashAt(node.level, node.index)));
  });

  it("can be rebuilt from stored subtree hashes in O(log n) reads", () => {
    const tree = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(1000));
    let reads = 0;
    const range = CompactRange.fromHashSource((level, index) => {
      reads++;
      return tree.hashAt(level, index);
    }, 1000);
    expect(reads).toBe(6); // 1000 = 0b1111101000
    expect(toHex(range.root())).toBe(toHex(tree.root()));
  });

  it("refuses a saved state whose hashes do not match its size", () => {
    const state = appendAll(CompactRange.empty(), leafHashesFor(5)).state();
    expect(() => CompactRange.restore({ size: 7, hashes: state.hashes })).toThrow(CryptoFormatError);
    expect(() =>
      CompactRange.restore({ size: 5, hashes: [new Uint8Array(31), ...state.hashes.slice(1)] }),
    ).toThrow(CryptoFormatError);
    expect(() => CompactRange.restore({ size: -1, hashes: [] })).toThrow(CryptoFormatError);
    const bytes = CompactRange.restore(state).encode();
    expect(() => CompactRange.decode(bytes.subarray(0, bytes.length - 1))).toThrow(CryptoFormatError);
    expect(() => CompactRange.decode(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(CryptoFormatError);
  });

  it("does not let a caller mutate its state through returned hashes", () => {
    const range = appendAll(CompactRange.empty(), leafHashesFor(3));
    const before = toHex(range.root());
    for (const hash of range.state().hashes) (hash as Uint8Array).fill(0);
    expect(toHex(range.root())).toBe(before);
  });
});
