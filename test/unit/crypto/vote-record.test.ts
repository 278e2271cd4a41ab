import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BALLOT_CHOICE_BYTES,
  canonicalBallotBytes,
  decodeBallotChoice,
  encodeBallotChoice,
} from "../../../src/crypto/ballot.js";
import { bytesToUuid, toHex, utf8 } from "../../../src/crypto/bytes.js";
import { CryptoFormatError } from "../../../src/crypto/errors.js";
import {
  ballotContentOf,
  decodeVoteRecord,
  encodeVoteRecord,
  genesisPrevHash,
  VOTE_RECORD_DOMAIN,
  type VoteRecord,
} from "../../../src/crypto/vote-record.js";

const uuid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(bytesToUuid);
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

const voteRecord: fc.Arbitrary<VoteRecord> = fc.record({
  electionId: uuid,
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  ballotId: uuid,
  tpsId: uuid,
  kioskKeyId: bytes(32),
  ephemeralPublicKey: bytes(32),
  nonce: bytes(24),
  ciphertext: fc.uint8Array({ minLength: 16, maxLength: 300 }),
  kioskSignature: bytes(64),
  prevHash: bytes(32),
});

const hexFields = (record: VoteRecord) => ({
  ...record,
  kioskKeyId: toHex(record.kioskKeyId),
  ephemeralPublicKey: toHex(record.ephemeralPublicKey),
  nonce: toHex(record.nonce),
  ciphertext: toHex(record.ciphertext),
  kioskSignature: toHex(record.kioskSignature),
  prevHash: toHex(record.prevHash),
});

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof CryptoFormatError ? error.code : "NOT_A_FORMAT_ERROR";
  }
  return undefined;
}

describe("vote record encoding", () => {
  it("decodes to exactly the record that was encoded", () => {
    fc.assert(
      fc.property(voteRecord, (record) => {
        expect(hexFields(decodeVoteRecord(encodeVoteRecord(record)))).toEqual(hexFields(record));
      }),
    );
  });

  it("is canonical: re-encoding a decoded record gives the same bytes", () => {
    fc.assert(
      fc.property(voteRecord, (record) => {
        const encoded = encodeVoteRecord(record);
        expect(toHex(encodeVoteRecord(decodeVoteRecord(encoded)))).toBe(toHex(encoded));
      }),
    );
  });

  it("has a fixed layout: 21-byte domain, 245 bytes of fixed fields and the ciphertext", () => {
    fc.assert(
      fc.property(voteRecord, (record) => {
        expect(encodeVoteRecord(record)).toHaveLength(
          21 + 16 + 8 + 16 + 16 + 32 + 32 + 24 + 4 + record.ciphertext.length + 64 + 32,
        );
      }),
      { numRuns: 20 },
    );
  });

  it("rejects every truncation", () => {
    fc.assert(
      fc.property(voteRecord, fc.nat(), (record, cut) => {
        const encoded = encodeVoteRecord(record);
        expect(codeOf(() => decodeVoteRecord(encoded.subarray(0, cut % encoded.length)))).toMatch(
          /MALFORMED_RECORD/,
        );
      }),
    );
  });

  it("rejects trailing bytes", () => {
    fc.assert(
      fc.property(voteRecord, fc.uint8Array({ minLength: 1, maxLength: 40 }), (record, extra) => {
        const extended = new Uint8Array([...encodeVoteRecord(record), ...extra]);
        expect(codeOf(() => decodeVoteRecord(extended))).toBe("MALFORMED_RECORD");
      }),
    );
  });

  it("rejects another version as unsupported, and other data as not a record", () => {
    fc.assert(
      fc.property(voteRecord, (record) => {
        const encoded = encodeVoteRecord(record);
        const v2 = new Uint8Array(encoded);
        v2.set(utf8("suara/vote-record/v2\n"));
        expect(codeOf(() => decodeVoteRecord(v2))).toBe("UNSUPPORTED_RECORD_VERSION");
        const ballot = canonicalBallotBytes(ballotContentOf(record));
        expect(codeOf(() => decodeVoteRecord(ballot))).toBe("MALFORMED_RECORD");
      }),
      { numRuns: 20 },
    );
  });

  it("rejects a ciphertext length prefix that disagrees with the bytes", () => {
    fc.assert(
      fc.property(
        voteRecord,
        fc.integer({ min: -5, max: 5 }).filter((d) => d !== 0),
        (record, delta) => {
          const encoded = encodeVoteRecord(record);
          const lengthAt = VOTE_RECORD_DOMAIN.length + 16 + 8 + 16 + 16 + 32 + 32 + 24;
          const view = new DataView(encoded.buffer, encoded.byteOffset);
          view.setUint32(lengthAt, record.ciphertext.length + delta);
          expect(codeOf(() => decodeVoteRecord(encoded))).toBe("MALFORMED_RECORD");
        },
      ),
    );
  });

  it("refuses to encode seq 0, a non-integer seq or fields of the wrong size", () => {
    const record = fc.sample(voteRecord, 1)[0] as VoteRecord;
    expect(codeOf(() => encodeVoteRecord({ ...record, seq: 0 }))).toBe("MALFORMED_RECORD");
    expect(codeOf(() => encodeVoteRecord({ ...record, seq: 1.5 }))).toBe("MALFORMED_RECORD");
    expect(codeOf(() => encodeVoteRecord({ ...record, nonce: new Uint8Array(23) }))).toBe("MALFORMED_BYTES");
    expect(codeOf(() => encodeVoteRecord({ ...record, ciphertext: new Uint8Array(15) }))).toBe(
      "MALFORMED_BYTES",
    );
    expect(codeOf(() => encodeVoteRecord({ ...record, electionId: "not-a-uuid" }))).toBe("MALFORMED_BYTES");
  });

  it("starts the chain with 32 zero bytes", () => {
    expect(toHex(genesisPrevHash())).toBe("00".repeat(32));
  });
});

describe("canonical ballot bytes", () => {
  it("are domain-separated from vote records and cover every field the kiosk knows", () => {
    fc.assert(
      fc.property(voteRecord, (record) => {
        const ballot = canonicalBallotBytes(ballotContentOf(record));
        expect(new TextDecoder().decode(ballot.subarray(0, 16))).toBe("suara/ballot/v1\n");
        expect(ballot).toHaveLength(16 + 16 + 16 + 16 + 32 + 24 + 4 + record.ciphertext.length);
      }),
      { numRuns: 20 },
    );
  });

  it("change when any field changes, so the kiosk signature binds all of them", () => {
    const record = fc.sample(voteRecord, 1)[0] as VoteRecord;
    const base = toHex(canonicalBallotBytes(record));
    const changed = [
      { ...record, electionId: "00000000-0000-4000-8000-000000000000" },
      { ...record, ballotId: "00000000-0000-4000-8000-000000000000" },
      { ...record, tpsId: "00000000-0000-4000-8000-000000000000" },
      { ...record, ephemeralPublicKey: new Uint8Array(32) },
      { ...record, nonce: new Uint8Array(24) },
      { ...record, ciphertext: new Uint8Array([...record.ciphertext, 0]) },
    ];
    for (const ballot of changed) expect(toHex(canonicalBallotBytes(ballot))).not.toBe(base);
  });
});

describe("ballot choice plaintext", () => {
  it("round-trips and is the same length for every candidate", () => {
    fc.assert(
      fc.property(uuid, uuid, fc.integer({ min: 1, max: 255 }), (electionId, ballotId, candidateNumber) => {
        const encoded = encodeBallotChoice({ electionId, ballotId, candidateNumber });
        expect(encoded).toHaveLength(BALLOT_CHOICE_BYTES);
        expect(decodeBallotChoice(encoded)).toEqual({ electionId, ballotId, candidateNumber });
      }),
    );
  });

  it("carries a blank vote as 0, and rejects numbers outside 0..255, a wrong length and a wrong domain", () => {
    const electionId = "0f8e2a4c-6b1d-4e3f-9a5b-7c8d9e0f1a2b";
    const encoded = encodeBallotChoice({ electionId, ballotId: electionId, candidateNumber: 1 });
    const blank = encodeBallotChoice({ electionId, ballotId: electionId, candidateNumber: 0 });
    expect(decodeBallotChoice(blank).candidateNumber).toBe(0);
    expect(blank.length).toBe(BALLOT_CHOICE_BYTES);
    for (const bad of [-1, 256, 1.5]) {
      expect(
        codeOf(() => encodeBallotChoice({ electionId, ballotId: electionId, candidateNumber: bad })),
      ).toBe("MALFORMED_BALLOT_CHOICE");
    }
    expect(codeOf(() => decodeBallotChoice(encoded.subarray(1)))).toBe("MALFORMED_BALLOT_CHOICE");
    const otherDomain = new Uint8Array(encoded);
    otherDomain[0] = 0;
    expect(codeOf(() => decodeBallotChoice(otherDomain))).toBe("MALFORMED_BALLOT_CHOICE");
  });
});
