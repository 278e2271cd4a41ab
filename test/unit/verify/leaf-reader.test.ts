// The verifier reads each leaf in place (readCanonicalLeaf) instead of decoding and re-encoding it: it must
// accept exactly the leaves decodeVoteRecord accepts, and read the same fields — including the exact bytes the
// kiosk signed (canonicalBallotBytes).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalBallotBytes } from "../../../src/crypto/ballot.js";
import { uuidToBytes } from "../../../src/crypto/bytes.js";
import { ballotContentOf, decodeVoteRecord } from "../../../src/crypto/vote-record.js";
import { readCanonicalLeaf } from "../../../src/verify/verifier.js";
import { buildElectionLog } from "./fixtures.js";

const election = buildElectionLog({ ballots: 40 });
const leaves = election.entries.map((entry) => entry.leaf);

function decodes(leaf: Uint8Array): boolean {
  try {
    decodeVoteRecord(leaf);
    return true;
  } catch {
    return false;
  }
}

describe("the verifier's in-place leaf reader", () => {
  it("reads every field of a valid leaf as decodeVoteRecord does, and the bytes the kiosk signed", () => {
    for (const leaf of leaves) {
      const record = decodeVoteRecord(leaf);
      const fields = readCanonicalLeaf(leaf);
      expect(fields).not.toBeNull();
      if (fields === null) continue;
      expect(fields.seq).toBe(record.seq);
      expect(fields.electionIdBytes).toEqual(uuidToBytes(record.electionId));
      expect(fields.ballotIdBytes).toEqual(uuidToBytes(record.ballotId));
      expect(fields.tpsId).toBe(record.tpsId);
      expect(fields.kioskKeyIdHex).toBe(Buffer.from(record.kioskKeyId).toString("hex"));
      expect(fields.ephemeralPublicKey).toEqual(record.ephemeralPublicKey);
      expect(fields.nonce).toEqual(record.nonce);
      expect(fields.ciphertext).toEqual(record.ciphertext);
      expect(fields.kioskSignature).toEqual(record.kioskSignature);
      expect(fields.prevHash).toEqual(record.prevHash);
      expect(Uint8Array.from(Buffer.concat(fields.message))).toEqual(
        canonicalBallotBytes(ballotContentOf(record)),
      );
    }
  });

  it("accepts a changed leaf exactly when decodeVoteRecord does", () => {
    const mutation = fc.oneof(
      // A byte anywhere set to any value (domain, seq, length prefix, fields).
      fc.record({ kind: fc.constant("set" as const), at: fc.nat(400), value: fc.nat(255) }),
      // The leaf cut short or extended.
      fc.record({ kind: fc.constant("cut" as const), at: fc.nat(400), value: fc.constant(0) }),
      fc.record({ kind: fc.constant("extend" as const), at: fc.nat(40), value: fc.nat(255) }),
      // The seq's high bytes or the ciphertext length, where the bounds are.
      fc.record({
        kind: fc.constant("set" as const),
        at: fc.integer({ min: 37, max: 44 }),
        value: fc.nat(255),
      }),
      fc.record({
        kind: fc.constant("set" as const),
        at: fc.integer({ min: 165, max: 168 }),
        value: fc.nat(255),
      }),
    );
    fc.assert(
      fc.property(
        fc.nat(leaves.length - 1),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (i, changes) => {
          let leaf = Uint8Array.from(leaves[i] as Uint8Array);
          for (const change of changes) {
            if (change.kind === "set" && change.at < leaf.length) leaf[change.at] = change.value;
            if (change.kind === "cut") leaf = leaf.subarray(0, Math.min(change.at, leaf.length));
            if (change.kind === "extend")
              leaf = Uint8Array.from([...leaf, ...new Array(change.at + 1).fill(change.value)]);
          }
          expect(readCanonicalLeaf(leaf) !== null).toBe(decodes(leaf));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
