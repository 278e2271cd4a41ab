import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../../src/crypto/bytes.js";
import {
  ed25519KeyPairFromSeed,
  ed25519PublicKeyOf,
  generateEd25519KeyPair,
  KIOSK_KEY_ID_DOMAIN,
  kioskKeyId,
  signEd25519,
  verifyEd25519,
} from "../../../src/crypto/ed25519.js";
import { sha256 } from "../../../src/crypto/hash.js";
import { flipBit, malleate } from "./fixtures.js";

const message = Buffer.from("suara: one voter, one vote");

describe("Ed25519 on libsodium", () => {
  it("reproduces RFC 8032 test 1 (empty message) byte for byte", () => {
    const keys = ed25519KeyPairFromSeed(
      fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
    );
    expect(toHex(keys.publicKey)).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    const signature = signEd25519(new Uint8Array(0), keys.secretKey);
    expect(toHex(signature)).toBe(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
    expect(verifyEd25519(signature, new Uint8Array(0), keys.publicKey)).toBe(true);
  });

  it("verifies what it signs, for any message", () => {
    const keys = generateEd25519KeyPair();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (msg) => {
        expect(verifyEd25519(signEd25519(msg, keys.secretKey), msg, keys.publicKey)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("rejects a signature after any single bit flip in signature, message or key", () => {
    const keys = generateEd25519KeyPair();
    const signature = signEd25519(message, keys.secretKey);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * 512 - 1 }), (bit) => {
        if (bit < 512) expect(verifyEd25519(flipBit(signature, bit), message, keys.publicKey)).toBe(false);
        else if (bit < 1024)
          expect(verifyEd25519(signature, flipBit(message, bit - 512), keys.publicKey)).toBe(false);
        else expect(verifyEd25519(signature, message, flipBit(keys.publicKey, bit - 1024))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects truncated, extended and empty signatures and keys without throwing", () => {
    const keys = generateEd25519KeyPair();
    const signature = signEd25519(message, keys.secretKey);
    expect(verifyEd25519(signature.subarray(0, 63), message, keys.publicKey)).toBe(false);
    expect(verifyEd25519(Buffer.concat([signature, Buffer.from([0])]), message, keys.publicKey)).toBe(false);
    expect(verifyEd25519(new Uint8Array(0), message, keys.publicKey)).toBe(false);
    expect(verifyEd25519(signature, message, keys.publicKey.subarray(0, 31))).toBe(false);
    expect(verifyEd25519(signature, message, new Uint8Array(0))).toBe(false);
  });

  it("rejects the non-canonical twin S + L of a valid signature", () => {
    const keys = generateEd25519KeyPair();
    const signature = signEd25519(message, keys.secretKey);
    expect(verifyEd25519(signature, message, keys.publicKey)).toBe(true);
    expect(verifyEd25519(malleate(signature), message, keys.publicKey)).toBe(false);
  });

  it("rejects the small-order key trick where (R = identity, S = 0) 'verifies' every message", () => {
    const identity = fromHex(`01${"00".repeat(31)}`);
    const forged = Uint8Array.from([...identity, ...new Uint8Array(32)]);
    expect(verifyEd25519(forged, message, identity)).toBe(false);
    expect(verifyEd25519(new Uint8Array(64), message, new Uint8Array(32))).toBe(false);
  });

  it("derives the same key pair from the same seed and the public key from the secret key", () => {
    const seed = fromHex(`${"00".repeat(31)}01`);
    expect(toHex(ed25519KeyPairFromSeed(seed).secretKey)).toBe(toHex(ed25519KeyPairFromSeed(seed).secretKey));
    const keys = generateEd25519KeyPair();
    expect(toHex(ed25519PublicKeyOf(keys.secretKey))).toBe(toHex(keys.publicKey));
    expect(() => ed25519KeyPairFromSeed(new Uint8Array(31))).toThrow(RangeError);
  });

  it("names a kiosk key by SHA-256 of a domain string and the public key, all 32 bytes", () => {
    const keys = generateEd25519KeyPair();
    expect(toHex(kioskKeyId(keys.publicKey))).toBe(
      toHex(sha256(Buffer.from(KIOSK_KEY_ID_DOMAIN), keys.publicKey)),
    );
    expect(KIOSK_KEY_ID_DOMAIN).toBe("suara/kiosk-key-id/v1\n");
    expect(kioskKeyId(keys.publicKey)).toHaveLength(32);
    expect(() => kioskKeyId(new Uint8Array(33))).toThrow(RangeError);
  });
});
