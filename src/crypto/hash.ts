// Owns the hashing of the vote log's Merkle tree: SHA-256 with the RFC 6962 / RFC 9162 domain-separation
// prefixes, so that a leaf can never be passed off as an interior node (second-preimage protection).

import { createHash } from "node:crypto";
import sodium from "sodium-native";

export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export function sha256(...parts: readonly Uint8Array[]): Buffer {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
}

// Leaf and node hashes are the verifier's and the log's hot path (two per entry): one libsodium call over the
// prefixed bytes laid out in a reused scratch buffer costs about half of a node:crypto Hash object's three calls.
// The digest is the same SHA-256 (the RFC 6962 vectors in test/unit/crypto check both functions).
// The views of the scratch buffer for the last two lengths hashed (a log's leaves are all one length, and nodes
// another) are kept too, so that a hash makes no object but its digest.
let scratch = Buffer.alloc(1024);
let views: [Buffer, Buffer] = [scratch.subarray(0, 0), scratch.subarray(0, 0)];

function scratchOf(length: number): Buffer {
  if (length > scratch.length) {
    scratch = Buffer.alloc(Math.max(length, scratch.length * 2));
    views = [scratch.subarray(0, 0), scratch.subarray(0, 0)];
  }
  if (views[0].length === length) return views[0];
  if (views[1].length === length) return views[1];
  const view = scratch.subarray(0, length);
  views = [view, views[0]];
  return view;
}

function prefixedSha256(prefix: number, first: Uint8Array, second?: Uint8Array): Buffer {
  const input = scratchOf(1 + first.length + (second?.length ?? 0));
  input[0] = prefix;
  input.set(first, 1);
  if (second !== undefined) input.set(second, 1 + first.length);
  const digest = Buffer.allocUnsafe(HASH_SIZE);
  sodium.crypto_hash_sha256(digest, input);
  return digest;
}

/** SHA-256(0x00 ‖ leaf): the hash of one log entry's canonical bytes. */
export function leafHash(leaf: Uint8Array): Buffer {
  return prefixedSha256(LEAF_PREFIX[0] as number, leaf);
}

/** SHA-256(0x01 ‖ left ‖ right): an interior node of the tree. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return prefixedSha256(NODE_PREFIX[0] as number, left, right);
}

/** The root of the empty tree is the hash of the empty string (RFC 9162 §2.1.1). A fresh copy each call. */
export function emptyTreeRoot(): Buffer {
  return sha256();
}

export function isHash(value: Uint8Array): boolean {
  return value.length === HASH_SIZE;
}
