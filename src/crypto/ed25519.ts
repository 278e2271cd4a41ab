// Owns server-side Ed25519 through libsodium (sodium-native): key pairs, detached signatures, verification,
// and the kiosk key id. libsodium is the authority on what a valid signature is: besides the RFC 8032 equation it
// rejects a non-canonical S (S ≥ L), small-order R and small-order or non-canonical public keys, which closes
// the malleability and "signs everything" key tricks that bare RFC 8032 verification allows.

import sodium from "sodium-native";
import { utf8 } from "./bytes.js";
import { sha256 } from "./hash.js";

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 64;
export const ED25519_SEED_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** Kiosk key ids are namespaced so they can never be confused with another hash of the same key. */
export const KIOSK_KEY_ID_DOMAIN = "suara/kiosk-key-id/v1\n";
export const KIOSK_KEY_ID_BYTES = 32;

/** libsodium layout: `secretKey` is seed ‖ public key (64 bytes), as in tweetnacl. */
export type Ed25519KeyPair = { readonly publicKey: Buffer; readonly secretKey: Buffer };

/** A Buffer view of the same memory: sodium-native's types ask for Buffer, callers may hold Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  const publicKey = Buffer.alloc(ED25519_PUBLIC_KEY_BYTES);
  const secretKey = Buffer.alloc(ED25519_SECRET_KEY_BYTES);
  sodium.crypto_sign_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}

/** Deterministic key pair from a 32-byte seed (RFC 8032 private key); for stored keys and test vectors. */
export function ed25519KeyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (seed.length !== ED25519_SEED_BYTES) throw new RangeError("an Ed25519 seed is 32 bytes");
  const publicKey = Buffer.alloc(ED25519_PUBLIC_KEY_BYTES);
  const secretKey = Buffer.alloc(ED25519_SECRET_KEY_BYTES);
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, asBuffer(seed));
  return { publicKey, secretKey };
}

export function ed25519PublicKeyOf(secretKey: Uint8Array): Buffer {
  if (secretKey.length !== ED25519_SECRET_KEY_BYTES)
    throw new RangeError("an Ed25519 secret key is 64 bytes");
  const publicKey = Buffer.alloc(ED25519_PUBLIC_KEY_BYTES);
  sodium.crypto_sign_ed25519_sk_to_pk(publicKey, asBuffer(secretKey));
  return publicKey;
}

export function signEd25519(message: Uint8Array, secretKey: Uint8Array): Buffer {
  if (secretKey.length !== ED25519_SECRET_KEY_BYTES)
    throw new RangeError("an Ed25519 secret key is 64 bytes");
  const signature = Buffer.alloc(ED25519_SIGNATURE_BYTES);
  sodium.crypto_sign_detached(signature, asBuffer(message), asBuffer(secretKey));
  return signature;
}

/** False for any wrong-length input instead of throwing: a malformed signature is simply not a valid one. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES)
    return false;
  return sodium.crypto_sign_verify_detached(asBuffer(signature), asBuffer(message), asBuffer(publicKey));
}

/**
 * The id a vote record carries for the kiosk key that signed it: SHA-256(KIOSK_KEY_ID_DOMAIN ‖ public key), all
 * 32 bytes. Full length because kiosks generate their own keys: a truncated id could be ground to collide with
 * another kiosk's and make "which key signed this" ambiguous for the verifier.
 */
export function kioskKeyId(publicKey: Uint8Array): Buffer {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES)
    throw new RangeError("an Ed25519 public key is 32 bytes");
  return sha256(utf8(KIOSK_KEY_ID_DOMAIN), publicKey);
}
