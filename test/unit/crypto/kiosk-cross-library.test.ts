import { readFileSync } from "node:fs";
import fc from "fast-check";
import nacl from "tweetnacl";
import { describe, expect, it } from "vitest";
import {
  canonicalBallotBytes,
  decodeBallotChoice,
  SEALED_BALLOT_CHOICE_BYTES,
} from "../../../src/crypto/ballot.js";
import { fromHex, toHex } from "../../../src/crypto/bytes.js";
import {
  ed25519KeyPairFromSeed,
  generateEd25519KeyPair,
  signEd25519,
  verifyEd25519,
} from "../../../src/crypto/ed25519.js";
import {
  generateKioskKeyPair,
  hasCanonicalScalar,
  kioskKeyPairFromSeed,
  prepareSignedBallot,
  sealBallotChoice,
  sealBallotWithFixedEphemeralForTestVectors,
  signAsKiosk,
  verifyOnKiosk,
} from "../../../src/crypto/kiosk-nacl.js";
import {
  generateTallyKeyPair,
  openSealedBallot,
  sealBallotChoiceWithSodium,
  tallyKeyPairFromSecretKey,
} from "../../../src/crypto/sealed-ballot.js";
import { flipBit, malleate } from "./fixtures.js";

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ maxLength: 200 });

describe("kiosk (tweetnacl) and server (libsodium) signatures", () => {
  it("derive the same Ed25519 key pair from the same seed", () => {
    fc.assert(
      fc.property(seed, (s) => {
        const kiosk = kioskKeyPairFromSeed(s);
        const server = ed25519KeyPairFromSeed(s);
        expect(toHex(kiosk.publicKey)).toBe(toHex(server.publicKey));
        expect(toHex(kiosk.secretKey)).toBe(toHex(server.secretKey));
      }),
      { numRuns: 50 },
    );
  });

  it("a kiosk signature verifies on the server and is byte-identical to libsodium's", () => {
    fc.assert(
      fc.property(seed, message, (s, msg) => {
        const keys = kioskKeyPairFromSeed(s);
        const signature = signAsKiosk(msg, keys.secretKey);
        expect(verifyEd25519(signature, msg, keys.publicKey)).toBe(true);
        expect(toHex(signature)).toBe(toHex(signEd25519(msg, keys.secretKey)));
      }),
      { numRuns: 50 },
    );
  });

  it("a server signature verifies on the kiosk", () => {
    fc.assert(
      fc.property(seed, message, (s, msg) => {
        const keys = ed25519KeyPairFromSeed(s);
        expect(verifyOnKiosk(signEd25519(msg, keys.secretKey), msg, keys.publicKey)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it("both sides reject the same tampered signatures", () => {
    const keys = generateKioskKeyPair();
    const msg = Buffer.from("ballot");
    const signature = signAsKiosk(msg, keys.secretKey);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 511 }), (bit) => {
        const tampered = flipBit(signature, bit);
        expect(verifyOnKiosk(tampered, msg, keys.publicKey)).toBe(false);
        expect(verifyEd25519(tampered, msg, keys.publicKey)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("both sides reject the non-canonical twin S + L, which bare tweetnacl would accept", () => {
    const keys = generateKioskKeyPair();
    const msg = Buffer.from("ballot");
    const twin = malleate(signAsKiosk(msg, keys.secretKey));
    expect(nacl.sign.detached.verify(msg, twin, keys.publicKey)).toBe(true); // why the extra check exists
    expect(hasCanonicalScalar(twin)).toBe(false);
    expect(verifyOnKiosk(twin, msg, keys.publicKey)).toBe(false);
    expect(verifyEd25519(twin, msg, keys.publicKey)).toBe(false);
  });

  it("the kiosk rejects wrong-length signatures and keys without throwing", () => {
    const keys = generateKioskKeyPair();
    const msg = Buffer.from("ballot");
    const signature = signAsKiosk(msg, keys.secretKey);
    expect(verifyOnKiosk(signature.subarray(0, 63), msg, keys.publicKey)).toBe(false);
    expect(verifyOnKiosk(new Uint8Array([...signature, 0]), msg, keys.publicKey)).toBe(false);
    expect(verifyOnKiosk(signature, msg, keys.publicKey.subarray(1))).toBe(false);
  });
});

describe("sealed ballots across the two libraries", () => {
  const plaintext = fc.uint8Array({ minLength: 1, maxLength: 100 });

  it("a box sealed on the kiosk opens on the server with the tally secret key", () => {
    const tally = generateTallyKeyPair();
    fc.assert(
      fc.property(plaintext, (p) => {
        const sealed = sealBallotChoice(p, tally.publicKey);
        expect(toHex(openSealedBallot(sealed, tally.secretKey) ?? new Uint8Array())).toBe(toHex(p));
      }),
      { numRuns: 50 },
    );
  });

  it("a box sealed with libsodium opens with tweetnacl", () => {
    const tally = nacl.box.keyPair();
    fc.assert(
      fc.property(plaintext, (p) => {
        const sealed = sealBallotChoiceWithSodium(p, tally.publicKey);
        const opened = nacl.box.open(
          sealed.ciphertext,
          sealed.nonce,
          sealed.ephemeralPublicKey,
          tally.secretKey,
        );
        expect(toHex(opened ?? new Uint8Array())).toBe(toHex(p));
      }),
      { numRuns: 50 },
    );
  });

  it("a box does not open after any bit flip, with another tally key, or with a wrong-length field", () => {
    const tally = generateTallyKeyPair();
    const sealed = sealBallotChoice(Buffer.from("choice"), tally.publicKey);
    fc.assert(
      fc.property(fc.nat(), (bit) => {
        expect(
          openSealedBallot({ ...sealed, ciphertext: flipBit(sealed.ciphertext, bit) }, tally.secretKey),
        ).toBeNull();
        expect(
          openSealedBallot({ ...sealed, nonce: flipBit(sealed.nonce, bit) }, tally.secretKey),
        ).toBeNull();
        const pk = flipBit(sealed.ephemeralPublicKey, bit % 255); // bit 255 of an X25519 key is ignored
        expect(openSealedBallot({ ...sealed, ephemeralPublicKey: pk }, tally.secretKey)).toBeNull();
      }),
      { numRuns: 100 },
    );
    expect(openSealedBallot(sealed, generateTallyKeyPair().secretKey)).toBeNull();
    expect(openSealedBallot({ ...sealed, nonce: sealed.nonce.subarray(1) }, tally.secretKey)).toBeNull();
    expect(
      openSealedBallot({ ...sealed, ciphertext: sealed.ciphertext.subarray(0, 15) }, tally.secretKey),
    ).toBeNull();
  });

  it("every seal uses a fresh ephemeral key and nonce, so equal choices give unlinkable ciphertexts", () => {
    const tally = generateTallyKeyPair();
    const a = sealBallotChoice(Buffer.from("1"), tally.publicKey);
    const b = sealBallotChoice(Buffer.from("1"), tally.publicKey);
    expect(toHex(a.ephemeralPublicKey)).not.toBe(toHex(b.ephemeralPublicKey));
    expect(toHex(a.nonce)).not.toBe(toHex(b.nonce));
    expect(toHex(a.ciphertext)).not.toBe(toHex(b.ciphertext));
  });

  it("the fixed-ephemeral test-vector sealer is deterministic and agrees with libsodium", () => {
    const tally = tallyKeyPairFromSecretKey(fromHex("40".repeat(32)));
    const ephemeralSecret = fromHex("71".repeat(32));
    const nonce = fromHex("91".repeat(24));
    const first = sealBallotWithFixedEphemeralForTestVectors(
      Buffer.from("x"),
      tally.publicKey,
      ephemeralSecret,
      nonce,
    );
    const again = sealBallotWithFixedEphemeralForTestVectors(
      Buffer.from("x"),
      tally.publicKey,
      ephemeralSecret,
      nonce,
    );
    expect(toHex(first.ciphertext)).toBe(toHex(again.ciphertext));
    expect(toHex(first.ephemeralPublicKey)).toBe(toHex(tallyKeyPairFromSecretKey(ephemeralSecret).publicKey));
    expect(toHex(openSealedBallot(first, tally.secretKey) ?? new Uint8Array())).toBe(toHex(Buffer.from("x")));
  });

  it("a ballot prepared on the kiosk carries a signature the server accepts and a choice the tally opens", () => {
    const tally = generateTallyKeyPair();
    const kiosk = generateEd25519KeyPair();
    const ballot = {
      electionId: "0f8e2a4c-6b1d-4e3f-9a5b-7c8d9e0f1a2b",
      ballotId: "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
      tpsId: "1b2c3d4e-5f60-4718-a9b0-c1d2e3f4a5b6",
      candidateNumber: 3,
    };
    const signed = prepareSignedBallot(ballot, tally.publicKey, kiosk.secretKey);
    expect(signed.ciphertext).toHaveLength(SEALED_BALLOT_CHOICE_BYTES);
    expect(verifyEd25519(signed.kioskSignature, canonicalBallotBytes(signed), kiosk.publicKey)).toBe(true);
    const opened = openSealedBallot(signed, tally.secretKey);
    expect(opened).not.toBeNull();
    expect(decodeBallotChoice(opened ?? new Uint8Array())).toEqual({
      electionId: ballot.electionId,
      ballotId: ballot.ballotId,
      candidateNumber: 3,
    });
  });
});

describe("the kiosk module", () => {
  it("stays browser-safe: no node: imports and no Buffer, in it or in what it imports", () => {
    for (const file of [
      "kiosk-nacl.ts",
      "ballot.ts",
      "bytes.ts",
      "errors.ts",
      "tracking-code.ts",
      "vote-record.ts",
    ]) {
      const source = readFileSync(new URL(`../../../src/crypto/${file}`, import.meta.url), "utf8");
      const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
      expect(code, file).not.toMatch(/from "node:|require\(|\bBuffer\b/);
    }
  });
});
