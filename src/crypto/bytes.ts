// Owns byte-level plumbing shared by every binary format: concatenation, comparison, hex, UUIDs and a strict
// big-endian reader/writer. Browser-safe on purpose (Uint8Array and TextEncoder only, no node: imports) because
// the kiosk builds the same canonical ballot bytes the server checks.

import { CryptoFormatError } from "./errors.js";

const textEncoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/**
 * A copy as a plain Uint8Array. Never `bytes.slice()`: on a Node Buffer, slice() is a view, not a copy, and a
 * view of a pooled Buffer also exposes unrelated memory through `.buffer`.
 */
export function copyBytes(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Plain equality for public data (hashes, ids). Not constant-time: never use it on secrets or MACs. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Lower-case hex only, even length: hex is used for ids that are compared as strings, so one spelling each. */
export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) {
    throw new CryptoFormatError("MALFORMED_BYTES", "expected lower-case hex with an even number of digits");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The 16 bytes of a UUID in its textual (RFC 9562) order. Accepts upper case, always formats lower case. */
export function uuidToBytes(uuid: string): Uint8Array {
  const lower = uuid.toLowerCase();
  if (!UUID_PATTERN.test(lower)) throw new CryptoFormatError("MALFORMED_BYTES", "not a UUID");
  return fromHex(lower.replaceAll("-", ""));
}

export function bytesToUuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new CryptoFormatError("MALFORMED_BYTES", "a UUID is 16 bytes");
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function requireLength(bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (bytes.length !== length) {
    throw new CryptoFormatError("MALFORMED_BYTES", `${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

/** Appends fixed-width big-endian fields; the output layout is exactly the call order. */
export class ByteWriter {
  private readonly parts: Uint8Array[] = [];

  bytes(value: Uint8Array): this {
    this.parts.push(value);
    return this;
  }

  fixed(value: Uint8Array, length: number, what: string): this {
    return this.bytes(requireLength(value, length, what));
  }

  uint8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) {
      throw new CryptoFormatError("MALFORMED_BYTES", "uint8 out of range");
    }
    return this.bytes(Uint8Array.of(value));
  }

  uint32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new CryptoFormatError("MALFORMED_BYTES", "uint32 out of range");
    }
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value, false);
    return this.bytes(out);
  }

  /** Written as uint64; JavaScript numbers limit the value to 2^53 - 1, far beyond any election. */
  uint64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new CryptoFormatError("MALFORMED_BYTES", "uint64 must be a non-negative safe integer");
    }
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(value), false);
    return this.bytes(out);
  }

  /** uint32 length prefix, then the bytes: the only way variable-length data enters a canonical encoding. */
  lengthPrefixed(value: Uint8Array): this {
    return this.uint32(value.length).bytes(value);
  }

  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

/** Reads what ByteWriter wrote; every read is bounds-checked and `end()` insists nothing is left over. */
export class ByteReader {
  private offset = 0;

  constructor(
    private readonly input: Uint8Array,
    private readonly what: string,
  ) {}

  private fail(message: string): never {
    throw new CryptoFormatError("MALFORMED_BYTES", `${this.what}: ${message}`);
  }

  fixed(length: number): Uint8Array {
    if (this.input.length - this.offset < length) this.fail(`truncated at byte ${this.offset}`);
    const out = copyBytes(this.input, this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  uint8(): number {
    return this.fixed(1)[0] ?? this.fail("truncated");
  }

  uint32(): number {
    return new DataView(this.fixed(4).buffer).getUint32(0, false);
  }

  uint64(): number {
    const value = new DataView(this.fixed(8).buffer).getBigUint64(0, false);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail("uint64 beyond 2^53 - 1");
    return Number(value);
  }

  lengthPrefixed(min: number, max: number): Uint8Array {
    const length = this.uint32();
    if (length < min || length > max) this.fail(`length ${length} outside ${min}..${max}`);
    return this.fixed(length);
  }

  end(): void {
    if (this.offset !== this.input.length) this.fail(`${this.input.length - this.offset} trailing bytes`);
  }
}
