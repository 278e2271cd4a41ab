// Owns the receipt's tracking code: a short, read-aloud-able name for a log entry. It is the first 50 bits of
// the entry's leaf hash in Crockford base32 — 10 symbols, shown as two groups of five ("7K3QF-9XJ2M"). 50 bits
// keep accidental collisions rare even in a million-entry log (expected ≈ n²/2⁵¹ ≈ 0.0005 pairs), but a code is
// a lookup key, not a proof: lookups must allow several matches, and the receipt also carries the full hash.
// Browser-safe, so a kiosk or a voter's phone can show or check it.

import { CryptoFormatError } from "./errors.js";

const CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const TRACKING_CODE_BITS = 50;
const SYMBOLS = TRACKING_CODE_BITS / 5;
const GROUP = 5;

function bitAt(bytes: Uint8Array, bit: number): number {
  const byte = bytes[Math.floor(bit / 8)] ?? 0;
  return (byte >> (7 - (bit % 8))) & 1;
}

export function trackingCodeFromLeafHash(leafHash: Uint8Array): string {
  if (leafHash.length !== 32) throw new RangeError("a leaf hash is 32 bytes");
  let symbols = "";
  for (let s = 0; s < SYMBOLS; s++) {
    let value = 0;
    for (let b = 0; b < 5; b++) value = value * 2 + bitAt(leafHash, s * 5 + b);
    symbols += CROCKFORD_ALPHABET[value];
  }
  return `${symbols.slice(0, GROUP)}-${symbols.slice(GROUP)}`;
}

/**
 * Reads a code as a person may type it: any case, with or without the hyphen or spaces, and with Crockford's
 * look-alikes (O→0, I/L→1). Returns the canonical "XXXXX-XXXXX" form.
 */
export function normalizeTrackingCode(input: string): string {
  const symbols = input.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  if (symbols.length !== SYMBOLS || ![...symbols].every((c) => CROCKFORD_ALPHABET.includes(c))) {
    throw new CryptoFormatError("MALFORMED_TRACKING_CODE", "a tracking code is 10 Crockford base32 symbols");
  }
  return `${symbols.slice(0, GROUP)}-${symbols.slice(GROUP)}`;
}
