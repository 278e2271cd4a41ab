import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canonicalBallotBytes, encodeBallotChoice } from "../../../src/crypto/ballot.js";
import { fromHex, toHex } from "../../../src/crypto/bytes.js";
import {
  electionLogOrigin,
  formatCheckpoint,
  openCheckpoint,
  signCheckpoint,
} from "../../../src/crypto/checkpoint.js";
import { ed25519KeyPairFromSeed, kioskKeyId, verifyEd25519 } from "../../../src/crypto/ed25519.js";
import { leafHash } from "../../../src/crypto/hash.js";
import {
  kioskKeyPairFromSeed,
  sealBallotWithFixedEphemeralForTestVectors,
  signAsKiosk,
} from "../../../src/crypto/kiosk-nacl.js";
import { InMemoryMerkleTree, verifyConsistency, verifyInclusion } from "../../../src/crypto/merkle.js";
import { openSealedBallot, tallyKeyPairFromSecretKey } from "../../../src/crypto/sealed-ballot.js";
import {
  ed25519NoteKeyId,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatEd25519VerifierKey,
} from "../../../src/crypto/signed-note.js";
import { trackingCodeFromLeafHash } from "../../../src/crypto/tracking-code.js";
import { decodeVoteRecord, encodeVoteRecord, genesisPrevHash } from "../../../src/crypto/vote-record.js";

// docs/record-format.md prints these vectors; vectors/record-v1.json holds them. This test recomputes them from
// the fixed inputs with the production code and checks both the JSON and the document, so neither can drift.
// Regenerate after an intended format change with: SUARA_WRITE_VECTORS=1 npx vitest run record-vectors
const vectorsUrl = new URL("./vectors/record-v1.json", import.meta.url);
const docUrl = new URL("../../../docs/record-format.md", import.meta.url);

/** 32 (or n) bytes counting up from `first`: easy to type into another implementation's test. */
function counting(first: number, length = 32): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (first + i) & 0xff);
}

function buildVectors() {
  const inputs = {
    serviceOrigin: "suara.example",
    electionId: "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    tpsId: "2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8091",
    kioskSeed: toHex(counting(0x01)),
    logKeySeed: toHex(counting(0x21)),
    tallySecretKey: toHex(counting(0x41)),
    ballots: [1, 2, 3].map((n, i) => ({
      seq: n,
      ballotId: `b0000000-0000-4000-8000-00000000000${n}`,
      candidateNumber: [1, 2, 1][i] as number,
      ephemeralSecretKey: toHex(new Uint8Array(32).fill(0x70 + n)),
      nonce: toHex(new Uint8Array(24).fill(0x90 + n)),
    })),
  };

  const kiosk = kioskKeyPairFromSeed(fromHex(inputs.kioskSeed));
  const tally = tallyKeyPairFromSecretKey(fromHex(inputs.tallySecretKey));
  const logKey = ed25519KeyPairFromSeed(fromHex(inputs.logKeySeed));
  const origin = electionLogOrigin(inputs.serviceOrigin, inputs.electionId);

  let prevHash = genesisPrevHash();
  const tree = new InMemoryMerkleTree();
  const records = inputs.ballots.map((ballot) => {
    const choice = encodeBallotChoice({
      electionId: inputs.electionId,
      ballotId: ballot.ballotId,
      candidateNumber: ballot.candidateNumber,
    });
    const sealed = sealBallotWithFixedEphemeralForTestVectors(
      choice,
      tally.publicKey,
      fromHex(ballot.ephemeralSecretKey),
      fromHex(ballot.nonce),
    );
    const content = {
      electionId: inputs.electionId,
      ballotId: ballot.ballotId,
      tpsId: inputs.tpsId,
      ...sealed,
    };
    const ballotBytes = canonicalBallotBytes(content);
    const kioskSignature = signAsKiosk(ballotBytes, kiosk.secretKey);
    const recordBytes = encodeVoteRecord({
      ...content,
      seq: ballot.seq,
      kioskKeyId: kioskKeyId(kiosk.publicKey),
      kioskSignature,
      prevHash,
    });
    const hash = leafHash(recordBytes);
    tree.append(hash);
    const out = {
      seq: ballot.seq,
      choicePlaintext: toHex(choice),
      ephemeralPublicKey: toHex(sealed.ephemeralPublicKey),
      ciphertext: toHex(sealed.ciphertext),
      ballotBytes: toHex(ballotBytes),
      kioskSignature: toHex(kioskSignature),
      prevHash: toHex(prevHash),
      recordBytes: toHex(recordBytes),
      leafHash: toHex(hash),
      trackingCode: trackingCodeFromLeafHash(hash),
    };
    prevHash = hash;
    return out;
  });

  const checkpoint = { origin, size: 3, rootHash: tree.root(3), extensions: [] };
  const outputs = {
    kioskPublicKey: toHex(kiosk.publicKey),
    kioskKeyId: toHex(kioskKeyId(kiosk.publicKey)),
    tallyPublicKey: toHex(tally.publicKey),
    logPublicKey: toHex(logKey.publicKey),
    origin,
    logNoteKeyId: ed25519NoteKeyId(origin, logKey.publicKey).toString(16).padStart(8, "0"),
    logVerifierKey: formatEd25519VerifierKey(origin, logKey.publicKey),
    records,
    tree: {
      rootSize1: toHex(tree.root(1)),
      rootSize2: toHex(tree.root(2)),
      rootSize3: toHex(tree.root(3)),
      inclusionProofSeq2Size3: tree.inclusionProof(1, 3).map(toHex),
      consistencyProof2To3: tree.consistencyProof(2, 3).map(toHex),
    },
    checkpointText: formatCheckpoint(checkpoint),
    checkpointNote: signCheckpoint(checkpoint, [ed25519NoteSigner(origin, logKey.secretKey)]),
  };
  return { description: "Suara vote record v1 test vectors; see docs/record-format.md", inputs, outputs };
}

type Vectors = ReturnType<typeof buildVectors>;

const computed = buildVectors();
if (process.env.SUARA_WRITE_VECTORS === "1")
  writeFileSync(vectorsUrl, `${JSON.stringify(computed, null, 2)}\n`);
const stored = JSON.parse(readFileSync(vectorsUrl, "utf8")) as Vectors;

function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(allStrings);
  return [];
}

describe("record format v1 test vectors", () => {
  it("are reproduced exactly by the code from their fixed inputs", () => {
    expect(computed).toEqual(stored);
  });

  it("are all printed in docs/record-format.md", () => {
    expect(existsSync(docUrl)).toBe(true);
    // The document wraps long hex over several lines of a code block; compare without whitespace.
    const doc = readFileSync(docUrl, "utf8").replace(/\s+/g, "");
    const quoted = [...allStrings(stored.inputs), ...allStrings(stored.outputs)].map((s) =>
      s.replace(/\s+/g, ""),
    );
    const missing = quoted.filter((value) => !doc.includes(value));
    expect(missing).toEqual([]);
  });

  it("describe a log that verifies end to end", () => {
    const { outputs, inputs } = stored;
    const records = outputs.records.map((r) => decodeVoteRecord(fromHex(r.recordBytes)));
    records.forEach((record, i) => {
      const vector = outputs.records[i];
      expect(record.seq).toBe(i + 1);
      expect(toHex(record.prevHash)).toBe(i === 0 ? "00".repeat(32) : outputs.records[i - 1]?.leafHash);
      expect(
        verifyEd25519(
          record.kioskSignature,
          fromHex(vector?.ballotBytes ?? ""),
          fromHex(outputs.kioskPublicKey),
        ),
      ).toBe(true);
      const opened = openSealedBallot(record, fromHex(inputs.tallySecretKey));
      expect(toHex(opened ?? new Uint8Array())).toBe(vector?.choicePlaintext);
    });
    const root3 = fromHex(outputs.tree.rootSize3);
    const proof = outputs.tree.inclusionProofSeq2Size3.map(fromHex);
    const leaf2 = fromHex(outputs.records[1]?.leafHash ?? "");
    expect(verifyInclusion({ leafHash: leaf2, index: 1, size: 3, proof, root: root3 })).toBe(true);
    const root2 = fromHex(outputs.tree.rootSize2);
    const consistency = outputs.tree.consistencyProof2To3.map(fromHex);
    expect(verifyConsistency({ size1: 2, size2: 3, root1: root2, root2: root3, proof: consistency })).toBe(
      true,
    );
    const verifier = ed25519NoteVerifier(outputs.origin, fromHex(outputs.logPublicKey));
    expect(openCheckpoint(outputs.checkpointNote, [verifier], outputs.origin).size).toBe(3);
  });
});
