import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../../src/crypto/bytes.js";
import { emptyTreeRoot, leafHash, nodeHash } from "../../../src/crypto/hash.js";
import {
  consistencyProof,
  InMemoryMerkleTree,
  inclusionProof,
  perfectSubtrees,
  planConsistencyProof,
  planInclusionProof,
  rootFromSource,
  rootOfLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from "../../../src/crypto/merkle.js";
import { flipBit } from "./fixtures.js";

function leafHashesFor(size: number): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
}

const hexes = (list: readonly Uint8Array[]): string[] => list.map(toHex);

// The eight leaves of the RFC 6962 reference tests (certificate-transparency / transparency-dev) and the
// roots of their prefixes.
const REFERENCE_LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map((hex) => Buffer.from(hex, "hex"));
const REFERENCE_ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const sizeAndIndex = fc
  .integer({ min: 1, max: 300 })
  .chain((size) => fc.record({ size: fc.constant(size), index: fc.integer({ min: 0, max: size - 1 }) }));

const twoSizes = fc
  .integer({ min: 1, max: 300 })
  .chain((size2) => fc.record({ size1: fc.integer({ min: 1, max: size2 }), size2: fc.constant(size2) }));

describe("Merkle tree hashing", () => {
  it("hashes leaves as SHA-256(0x00 ‖ leaf) and nodes as SHA-256(0x01 ‖ left ‖ right)", () => {
    expect(toHex(leafHash(new Uint8Array(0)))).toBe(REFERENCE_ROOTS[0]);
    const left = leafHash(Buffer.from("a"));
    const right = leafHash(Buffer.from("b"));
    const expected = createHash("sha256")
      .update(Buffer.from([0x01]))
      .update(left)
      .update(right)
      .digest();
    expect(toHex(nodeHash(left, right))).toBe(toHex(expected));
    // The prefixes are what stop an interior node from passing as a leaf.
    expect(toHex(nodeHash(left, right))).not.toBe(toHex(leafHash(Buffer.concat([left, right]))));
  });

  it("gives the empty tree the root SHA-256 of the empty string", () => {
    expect(toHex(emptyTreeRoot())).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(toHex(rootOfLeafHashes([]))).toBe(toHex(emptyTreeRoot()));
    expect(toHex(new InMemoryMerkleTree().root())).toBe(toHex(emptyTreeRoot()));
  });

  it("reproduces the RFC 6962 reference roots for every prefix of the reference leaves", () => {
    const hashes = REFERENCE_LEAVES.map(leafHash);
    const tree = InMemoryMerkleTree.fromLeafHashes(hashes);
    REFERENCE_ROOTS.forEach((root, i) => {
      expect(toHex(rootOfLeafHashes(hashes.slice(0, i + 1)))).toBe(root);
      expect(toHex(tree.root(i + 1))).toBe(root);
    });
  });

  it("computes the same root from the in-memory tree as from the recursive definition, at every size", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), (size) => {
        const hashes = leafHashesFor(size);
        expect(toHex(InMemoryMerkleTree.fromLeafHashes(hashes).root())).toBe(toHex(rootOfLeafHashes(hashes)));
      }),
      { numRuns: 60 },
    );
  });

  it("decomposes a prefix [0, n) into one perfect subtree per set bit of n, largest first", () => {
    expect(perfectSubtrees(0, 13)).toEqual([
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    expect(perfectSubtrees(0, 0)).toEqual([]);
  });
});

describe("inclusion proofs", () => {
  it("verify for every leaf of random trees", () => {
    fc.assert(
      fc.property(sizeAndIndex, ({ size, index }) => {
        const hashes = leafHashesFor(size);
        const tree = InMemoryMerkleTree.fromLeafHashes(hashes);
        const proof = tree.inclusionProof(index, size);
        const root = rootOfLeafHashes(hashes);
        expect(verifyInclusion({ leafHash: hashes[index] as Uint8Array, index, size, proof, root })).toBe(
          true,
        );
      }),
      { numRuns: 200 },
    );
  });

  it("verify against older tree sizes served from the same tree", () => {
    const tree = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(100));
    for (let size = 1; size <= 100; size += 7) {
      for (let index = 0; index < size; index += 5) {
        const proof = tree.inclusionProof(index, size);
        const claim = { leafHash: tree.hashAt(0, index), index, size, proof, root: tree.root(size) };
        expect(verifyInclusion(claim)).toBe(true);
      }
    }
  });

  it("are rejected after any single bit flip in the leaf, a proof element or the root", () => {
    fc.assert(
      fc.property(sizeAndIndex, fc.nat(), fc.nat(), ({ size, index }, where, bit) => {
        const hashes = leafHashesFor(size);
        const proof = InMemoryMerkleTree.fromLeafHashes(hashes).inclusionProof(index, size);
        const claim = {
          leafHash: hashes[index] as Uint8Array,
          index,
          size,
          proof,
          root: rootOfLeafHashes(hashes),
        };
        const target = where % (proof.length + 2);
        if (target === 0)
          expect(verifyInclusion({ ...claim, leafHash: flipBit(claim.leafHash, bit) })).toBe(false);
        else if (target === 1)
          expect(verifyInclusion({ ...claim, root: flipBit(claim.root, bit) })).toBe(false);
        else {
          const tampered = proof.map((p, i) => (i === target - 2 ? flipBit(p, bit) : p));
          expect(verifyInclusion({ ...claim, proof: tampered })).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  // RFC 6962 proofs do not encode (index, size): a proof for leaf 0 of 9 leaves has the same siblings, on the
  // same sides, as one for leaf 0 of 10. The verifier can only — and must — refuse every claim whose path shape
  // (which side each sibling is on) differs from the proof's.
  it("are rejected for any other index or tree size whose path has a different shape", () => {
    const shape = (index: number, size: number): string =>
      planInclusionProof(index, size)
        .map((step) => ((step[0]?.index ?? 0) * 2 ** (step[0]?.level ?? 0) < index ? "L" : "R"))
        .join("");
    fc.assert(
      fc.property(
        sizeAndIndex,
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 400 }),
        (c, i, s) => {
          const hashes = leafHashesFor(c.size);
          const proof = InMemoryMerkleTree.fromLeafHashes(hashes).inclusionProof(c.index, c.size);
          const claim = { leafHash: hashes[c.index] as Uint8Array, proof, root: rootOfLeafHashes(hashes) };
          const sameShape = i < s && shape(i, s) === shape(c.index, c.size);
          expect(verifyInclusion({ ...claim, index: i, size: s })).toBe(sameShape);
          if (i !== c.index && i < c.size)
            expect(verifyInclusion({ ...claim, index: i, size: c.size })).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("are rejected with an element added, removed or of the wrong length", () => {
    const hashes = leafHashesFor(11);
    const tree = InMemoryMerkleTree.fromLeafHashes(hashes);
    const proof = tree.inclusionProof(4);
    const claim = { leafHash: hashes[4] as Uint8Array, index: 4, size: 11, proof, root: tree.root() };
    expect(verifyInclusion(claim)).toBe(true);
    expect(verifyInclusion({ ...claim, proof: [...proof, tree.root()] })).toBe(false);
    expect(verifyInclusion({ ...claim, proof: proof.slice(1) })).toBe(false);
    expect(
      verifyInclusion({
        ...claim,
        proof: [proof[0]?.subarray(0, 31) ?? new Uint8Array(), ...proof.slice(1)],
      }),
    ).toBe(false);
    expect(verifyInclusion({ ...claim, index: -1 })).toBe(false);
    expect(verifyInclusion({ ...claim, index: 4.5 })).toBe(false);
  });

  it("cannot be generated for a leaf outside the tree", () => {
    const tree = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(5));
    expect(() => tree.inclusionProof(5, 5)).toThrow(RangeError);
    expect(() => tree.inclusionProof(0, 6)).toThrow(RangeError);
    expect(() => planInclusionProof(0, 0)).toThrow(RangeError);
  });
});

describe("consistency proofs", () => {
  it("verify between every pair of random sizes", () => {
    fc.assert(
      fc.property(twoSizes, ({ size1, size2 }) => {
        const hashes = leafHashesFor(size2);
        const tree = InMemoryMerkleTree.fromLeafHashes(hashes);
        const proof = tree.consistencyProof(size1, size2);
        const claim = {
          size1,
          size2,
          root1: rootOfLeafHashes(hashes.slice(0, size1)),
          root2: tree.root(),
          proof,
        };
        expect(verifyConsistency(claim)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("are rejected after any single bit flip in a root or a proof element", () => {
    fc.assert(
      fc.property(twoSizes, fc.nat(), fc.nat(), ({ size1, size2 }, where, bit) => {
        const hashes = leafHashesFor(size2);
        const tree = InMemoryMerkleTree.fromLeafHashes(hashes);
        const proof = tree.consistencyProof(size1, size2);
        const claim = { size1, size2, root1: tree.root(size1), root2: tree.root(size2), proof };
        const target = where % (proof.length + 2);
        if (target === 0)
          expect(verifyConsistency({ ...claim, root1: flipBit(claim.root1, bit) })).toBe(false);
        else if (target === 1)
          expect(verifyConsistency({ ...claim, root2: flipBit(claim.root2, bit) })).toBe(false);
        else {
          const tampered = proof.map((p, i) => (i === target - 2 ? flipBit(p, bit) : p));
          expect(verifyConsistency({ ...claim, proof: tampered })).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("are rejected for any other pair of sizes that needs a proof of a different length", () => {
    fc.assert(
      fc.property(
        twoSizes,
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 400 }),
        (c, s1, s2) => {
          const tree = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(c.size2));
          const proof = tree.consistencyProof(c.size1, c.size2);
          const claim = { root1: tree.root(c.size1), root2: tree.root(), proof };
          const lengthFor = (a: number, b: number): number =>
            a <= b ? planConsistencyProof(a, b).length : -1;
          if (lengthFor(s1, c.size2) !== proof.length) {
            expect(verifyConsistency({ ...claim, size1: s1, size2: c.size2 })).toBe(false);
          }
          if (lengthFor(c.size1, s2) !== proof.length) {
            expect(verifyConsistency({ ...claim, size1: c.size1, size2: s2 })).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("are rejected when size1 moves inside the same proof length (6→8 proof claimed as 5→8 or 7→8)", () => {
    const tree = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(8));
    const claim = { size2: 8, root1: tree.root(6), root2: tree.root(8), proof: tree.consistencyProof(6, 8) };
    expect(verifyConsistency({ ...claim, size1: 6 })).toBe(true);
    expect(verifyConsistency({ ...claim, size1: 5 })).toBe(false);
    expect(verifyConsistency({ ...claim, size1: 7 })).toBe(false);
  });

  it("treat equal sizes as consistent only with an empty proof and equal roots", () => {
    const tree = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(6));
    const root = tree.root();
    expect(tree.consistencyProof(6, 6)).toEqual([]);
    expect(verifyConsistency({ size1: 6, size2: 6, root1: root, root2: root, proof: [] })).toBe(true);
    expect(verifyConsistency({ size1: 6, size2: 6, root1: root, root2: tree.root(5), proof: [] })).toBe(
      false,
    );
    expect(verifyConsistency({ size1: 6, size2: 6, root1: root, root2: root, proof: [root] })).toBe(false);
  });

  it("from the empty tree need an empty proof and the empty root", () => {
    const root2 = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(6)).root();
    expect(verifyConsistency({ size1: 0, size2: 6, root1: emptyTreeRoot(), root2, proof: [] })).toBe(true);
    expect(verifyConsistency({ size1: 0, size2: 6, root1: root2, root2, proof: [] })).toBe(false);
    expect(verifyConsistency({ size1: 0, size2: 6, root1: emptyTreeRoot(), root2, proof: [root2] })).toBe(
      false,
    );
  });

  it("cannot be generated from a larger tree to a smaller one", () => {
    expect(() => planConsistencyProof(5, 4)).toThrow(RangeError);
  });
});

describe("proofs from a hash source", () => {
  it("are the same whether the source is the in-memory tree or a map of stored nodes", () => {
    const tree = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(77));
    const stored = new Map<string, Uint8Array>();
    const remember = (level: number, index: number) => {
      stored.set(`${level}/${index}`, tree.hashAt(level, index));
    };
    // What storage would fetch in one batch: exactly the nodes the plans name.
    for (const step of [...planInclusionProof(30, 77), ...planConsistencyProof(21, 77)]) {
      for (const node of step) remember(node.level, node.index);
    }
    const fromMap = (level: number, index: number): Uint8Array => {
      const hash = stored.get(`${level}/${index}`);
      if (hash === undefined) throw new Error(`node ${level}/${index} was not fetched`);
      return hash;
    };
    expect(hexes(inclusionProof(fromMap, 30, 77))).toEqual(hexes(tree.inclusionProof(30, 77)));
    expect(hexes(consistencyProof(fromMap, 21, 77))).toEqual(hexes(tree.consistencyProof(21, 77)));
  });

  it("need at most log2(n) + 1 perfect subtrees per proof element and O(log n) nodes overall", () => {
    const size = 1_000_003;
    const nodes = [...planInclusionProof(123_456, size), ...planConsistencyProof(999_999, size)].flat();
    expect(nodes.length).toBeLessThanOrEqual(4 * Math.ceil(Math.log2(size)));
  });

  it("yield roots equal to the recursive definition", () => {
    const hashes = leafHashesFor(45);
    const tree = InMemoryMerkleTree.fromLeafHashes(hashes);
    for (let size = 0; size <= 45; size++) {
      expect(toHex(rootFromSource(tree.source, size))).toBe(toHex(rootOfLeafHashes(hashes.slice(0, size))));
    }
  });

  it("never hand out memory the tree keeps using", () => {
    const tree = InMemoryMerkleTree.fromLeafHashes(leafHashesFor(4));
    const before = tree.root();
    tree.root().fill(0);
    tree.inclusionProof(0)[0]?.fill(0);
    expect(toHex(tree.root())).toBe(toHex(before));
  });
});
