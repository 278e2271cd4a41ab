// Shared helpers for the crypto unit tests (not a test file itself).

import { fromHex } from "../../../src/crypto/bytes.js";

/** The Ed25519 group order L, little-endian. */
const GROUP_ORDER_LE = fromHex(`edd3f55c1a631258d69cf7a2def9de14${"00".repeat(15)}10`);

/** S + L: the non-canonical twin of a valid signature, which bare RFC 8032 verification still accepts. */
export function malleate(signature: Uint8Array): Uint8Array {
  const out = Uint8Array.from(signature);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = (out[32 + i] ?? 0) + (GROUP_ORDER_LE[i] ?? 0) + carry;
    out[32 + i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const at = Math.floor(bit / 8) % copy.length;
  copy[at] = (copy[at] ?? 0) ^ (1 << (bit % 8));
  return copy;
}
