// Owns the kiosk's cryptography, on tweetnacl so that it runs unchanged in the booth's browser: the kiosk's
// Ed25519 key pair, signing, verification, and sealing a ballot choice to the election's X25519 tally key with
// NaCl box under a fresh ephemeral key pair. Uint8Array only, no node: imports. The server opens and verifies
// the same bytes with libsodium (sealed-ballot.ts, ed25519.ts); the cross-tests keep the two in agreement.

import nacl from "tweetnacl";
import { type BallotContent, canonicalBallotBytes, encodeBallotChoice, type SealedBallot } from "./ballot.js";
import { copyBytes } from "./bytes.js";

export type KioskKeyPair = { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };

/** The ballot as the kiosk submits it: the signed content plus its signature. */
export type SignedBallot = BallotContent & { readonly kioskSignature: Uint8Array };

// L, the order of the Ed25519 base point, little-endian. tweetnacl accepts S ≥ L (a second, malleated encoding
// of the same signature) where libsodium refuses it; checking here keeps both sides' answers identical.
const GROUP_ORDER_LE = Uint8Array.of(
  0xed,
  0xd3,
  0xf5,
  0x5c,
  0x1a,
  0x63,
  0x12,
  0x58,
  0xd6,
  0x9c,
  0xf7,
  0xa2,
  0xde,
  0xf9,
  0xde,
  0x14,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
  0x10,
);

export function generateKioskKeyPair(): KioskKeyPair {
  const { publicKey, secretKey } = nacl.sign.keyPair();
  return { publicKey, secretKey };
}

export function kioskKeyPairFromSeed(seed: Uint8Array): KioskKeyPair {
  if (seed.length !== nacl.sign.seedLength) throw new RangeError("an Ed25519 seed is 32 bytes");
  const { publicKey, secretKey } = nacl.sign.keyPair.fromSeed(seed);
  return { publicKey, secretKey };
}

export function signAsKiosk(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== nacl.sign.secretKeyLength)
    throw new RangeError("an Ed25519 secret key is 64 bytes");
  return nacl.sign.detached(message, secretKey);
}

/** True when S (the signature's second half, little-endian) is below the group order L. */
export function hasCanonicalScalar(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i] ?? 0;
    const l = GROUP_ORDER_LE[i] ?? 0;
    if (s !== l) return s < l;
  }
  return false;
}

/**
 * RFC 8032 verification plus the canonical-S rule. Unlike libsodium it does not refuse small-order public keys:
 * the kiosk only verifies against keys it was configured with (the service's log key), never attacker-chosen ones.
 */
export function verifyOnKiosk(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== nacl.sign.signatureLength || publicKey.length !== nacl.sign.publicKeyLength) {
    return false;
  }
  return hasCanonicalScalar(signature) && nacl.sign.detached.verify(message, signature, publicKey);
}

/** Seals to the tally key with a fresh ephemeral key pair, whose secret half is wiped before returning. */
export function sealBallotChoice(plaintext: Uint8Array, tallyPublicKey: Uint8Array): SealedBallot {
  const ephemeral = nacl.box.keyPair();
  try {
    return sealWith(plaintext, tallyPublicKey, ephemeral, nacl.randomBytes(nacl.box.nonceLength));
  } finally {
    ephemeral.secretKey.fill(0);
  }
}

/**
 * FOR TEST VECTORS ONLY. A fixed ephemeral secret key and nonce make the box deterministic, which is what
 * docs/record-format.md needs; reusing an ephemeral key in production would link ballots and, with a repeated
 * nonce, expose their contents.
 */
export function sealBallotWithFixedEphemeralForTestVectors(
  plaintext: Uint8Array,
  tallyPublicKey: Uint8Array,
  ephemeralSecretKey: Uint8Array,
  nonce: Uint8Array,
): SealedBallot {
  if (ephemeralSecretKey.length !== nacl.box.secretKeyLength)
    throw new RangeError("an X25519 secret key is 32 bytes");
  return sealWith(plaintext, tallyPublicKey, nacl.box.keyPair.fromSecretKey(ephemeralSecretKey), nonce);
}

function sealWith(
  plaintext: Uint8Array,
  tallyPublicKey: Uint8Array,
  ephemeral: nacl.BoxKeyPair,
  nonce: Uint8Array,
): SealedBallot {
  if (tallyPublicKey.length !== nacl.box.publicKeyLength)
    throw new RangeError("an X25519 public key is 32 bytes");
  if (nonce.length !== nacl.box.nonceLength) throw new RangeError("a box nonce is 24 bytes");
  const ciphertext = nacl.box(plaintext, nonce, tallyPublicKey, ephemeral.secretKey);
  return { ephemeralPublicKey: copyBytes(ephemeral.publicKey), nonce: copyBytes(nonce), ciphertext };
}

export type BallotToCast = {
  readonly electionId: string;
  readonly ballotId: string;
  readonly tpsId: string;
  readonly candidateNumber: number;
};

/** What the kiosk does when the voter confirms: seal the choice, then sign the canonical ballot bytes. */
export function prepareSignedBallot(
  ballot: BallotToCast,
  tallyPublicKey: Uint8Array,
  kioskSecretKey: Uint8Array,
): SignedBallot {
  const sealed = sealBallotChoice(encodeBallotChoice(ballot), tallyPublicKey);
  return signSealedBallot({ ...ids(ballot), ...sealed }, kioskSecretKey);
}

export function signSealedBallot(content: BallotContent, kioskSecretKey: Uint8Array): SignedBallot {
  return { ...content, kioskSignature: signAsKiosk(canonicalBallotBytes(content), kioskSecretKey) };
}

function ids(ballot: BallotToCast): { electionId: string; ballotId: string; tpsId: string } {
  return { electionId: ballot.electionId, ballotId: ballot.ballotId, tpsId: ballot.tpsId };
}
