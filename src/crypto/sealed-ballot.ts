// Owns the server side of sealed ballots on libsodium: the election's X25519 tally key pair and opening a box
// that a kiosk sealed with tweetnacl (crypto_box_open_easy is the same construction: X25519 + XSalsa20-Poly1305).
// Also a sodium-backed sealer for simulators and benchmarks that need thousands of ballots per second.

import sodium from "sodium-native";
import { BOX_MAC_BYTES, BOX_NONCE_BYTES, EPHEMERAL_PUBLIC_KEY_BYTES, type SealedBallot } from "./ballot.js";
import { asBuffer } from "./ed25519.js";

export const X25519_PUBLIC_KEY_BYTES = 32;
export const X25519_SECRET_KEY_BYTES = 32;

export type TallyKeyPair = { readonly publicKey: Buffer; readonly secretKey: Buffer };

export function generateTallyKeyPair(): TallyKeyPair {
  const publicKey = Buffer.alloc(X25519_PUBLIC_KEY_BYTES);
  const secretKey = Buffer.alloc(X25519_SECRET_KEY_BYTES);
  sodium.crypto_box_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}

/** Recomputes the public half, e.g. to check a secret reconstructed from Shamir shares against the stored key. */
export function tallyKeyPairFromSecretKey(secretKey: Uint8Array): TallyKeyPair {
  return { publicKey: x25519PublicKeyOf(secretKey), secretKey: Buffer.from(secretKey) };
}

/** The public half of an X25519 secret key, without copying the secret (nothing is left to wipe). */
export function x25519PublicKeyOf(secretKey: Uint8Array): Buffer {
  if (secretKey.length !== X25519_SECRET_KEY_BYTES) throw new RangeError("an X25519 secret key is 32 bytes");
  const publicKey = Buffer.alloc(X25519_PUBLIC_KEY_BYTES);
  sodium.crypto_scalarmult_base(publicKey, asBuffer(secretKey));
  return publicKey;
}

/** The plaintext, or null if the box does not open (wrong key, tampered bytes, malformed lengths). */
export function openSealedBallot(sealed: SealedBallot, tallySecretKey: Uint8Array): Buffer | null {
  const { ephemeralPublicKey, nonce, ciphertext } = sealed;
  if (
    ephemeralPublicKey.length !== EPHEMERAL_PUBLIC_KEY_BYTES ||
    nonce.length !== BOX_NONCE_BYTES ||
    ciphertext.length < BOX_MAC_BYTES ||
    tallySecretKey.length !== X25519_SECRET_KEY_BYTES
  ) {
    return null;
  }
  const plaintext = Buffer.alloc(ciphertext.length - BOX_MAC_BYTES);
  const opened = sodium.crypto_box_open_easy(
    plaintext,
    asBuffer(ciphertext),
    asBuffer(nonce),
    asBuffer(ephemeralPublicKey),
    asBuffer(tallySecretKey),
  );
  return opened ? plaintext : null;
}

/** Seals like the kiosk does, on libsodium: a fresh ephemeral key pair per ballot, wiped after use. */
export function sealBallotChoiceWithSodium(plaintext: Uint8Array, tallyPublicKey: Uint8Array): SealedBallot {
  if (tallyPublicKey.length !== X25519_PUBLIC_KEY_BYTES)
    throw new RangeError("an X25519 public key is 32 bytes");
  const ephemeralPublicKey = Buffer.alloc(X25519_PUBLIC_KEY_BYTES);
  const ephemeralSecretKey = Buffer.alloc(X25519_SECRET_KEY_BYTES);
  sodium.crypto_box_keypair(ephemeralPublicKey, ephemeralSecretKey);
  const nonce = Buffer.alloc(BOX_NONCE_BYTES);
  sodium.randombytes_buf(nonce);
  const ciphertext = Buffer.alloc(plaintext.length + BOX_MAC_BYTES);
  try {
    sodium.crypto_box_easy(
      ciphertext,
      asBuffer(plaintext),
      nonce,
      asBuffer(tallyPublicKey),
      ephemeralSecretKey,
    );
  } finally {
    sodium.sodium_memzero(ephemeralSecretKey);
  }
  return { ephemeralPublicKey, nonce, ciphertext };
}
