import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromHex } from "../../../src/crypto/bytes.js";
import { CryptoFormatError } from "../../../src/crypto/errors.js";
import { normalizeTrackingCode, trackingCodeFromLeafHash } from "../../../src/crypto/tracking-code.js";

describe("tracking codes", () => {
  it("are the first 50 bits of the leaf hash in Crockford base32, as two groups of five", () => {
    expect(trackingCodeFromLeafHash(new Uint8Array(32))).toBe("00000-00000");
    expect(trackingCodeFromLeafHash(new Uint8Array(32).fill(0xff))).toBe("ZZZZZ-ZZZZZ");
    // 0x08 0x86 0x42 0x98 … = 00001 00010 00011 00100 00101 00110 … : symbols 1, 2, …, 9, A (ten)
    const hash = fromHex(`08864298e84a80${"00".repeat(25)}`);
    expect(trackingCodeFromLeafHash(hash)).toBe("12345-6789A");
  });

  it("depend only on the first 50 bits", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 50, max: 255 }),
        (hash, bit) => {
          const flipped = Uint8Array.from(hash);
          flipped[Math.floor(bit / 8)] = (flipped[Math.floor(bit / 8)] ?? 0) ^ (0x80 >> (bit % 8));
          expect(trackingCodeFromLeafHash(flipped)).toBe(trackingCodeFromLeafHash(hash));
        },
      ),
    );
  });

  it("are read back from any spelling a person might type", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (hash) => {
        const code = trackingCodeFromLeafHash(hash);
        expect(normalizeTrackingCode(code)).toBe(code);
        expect(normalizeTrackingCode(code.toLowerCase().replace("-", " "))).toBe(code);
        expect(normalizeTrackingCode(code.replace("-", ""))).toBe(code);
      }),
    );
    expect(normalizeTrackingCode("o1il0-OOOOO")).toBe("01110-00000");
  });

  it("refuse anything that is not ten Crockford symbols", () => {
    for (const input of ["", "12345-6789", "12345-67890A", "12345-6789U", "12345_67890"]) {
      expect(() => normalizeTrackingCode(input), input).toThrow(CryptoFormatError);
    }
  });
});
