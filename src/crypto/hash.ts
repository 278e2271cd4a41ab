// Owns the hashing of the vote log's Merkle tree: SHA-256 with the RFC 6962 / RFC 9162 domain-separation
// prefixes, so that a leaf can never be passed off as an interior node (second-preimage protection).

import { createHash } from "node:crypto";

export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export function sha256(...parts: readonly Uint8Array[]): Buffer {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** SHA-256(0x00 ‖ leaf): the hash of one log entry's canonical bytes. */
export function leafHash(leaf: Uint8Array): Buffer {
  return sha256(LEAF_PREFIX, leaf);
}

/** SHA-256(0x01 ‖ left ‖ right): an interior node of the tree. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(NODE_PREFIX, left, right);
}

/** The root of the empty tree is the hash of the empty string (RFC 9162 §2.1.1). A fresh copy each call. */
export function emptyTreeRoot(): Buffer {
  return sha256();
}

export function isHash(value: Uint8Array): boolean {
  return value.length === HASH_SIZE;
}
