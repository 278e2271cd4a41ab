// Owns standard base64 (RFC 4648 §4) with one spelling per value. Node's decoder silently skips junk and accepts
// missing padding or stray low bits; a signed format must not, or one signature gets many encodings.

import { CryptoFormatError } from "./errors.js";

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Decodes padded standard base64, refusing anything that would not re-encode to the same text. */
export function decodeBase64Strict(text: string, what: string): Buffer {
  const decoded = STANDARD_BASE64.test(text) ? Buffer.from(text, "base64") : undefined;
  if (decoded === undefined || decoded.toString("base64") !== text) {
    throw new CryptoFormatError("MALFORMED_BYTES", `${what} is not canonical standard base64`);
  }
  return decoded;
}
