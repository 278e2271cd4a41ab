// Ballot tokens (SPEC §4): at least 50 random bits, Crockford base32 with a check symbol, grouped for reading,
// forgiving of how people type, exact about which token is meant.
import { describe, expect, it } from "vitest";
import {
  ballotTokenHash,
  generateBallotToken,
  normalizeBallotToken,
  TOKEN_BITS,
} from "../../../src/crypto/ballot-token.js";

describe("ballot tokens", () => {
  it("carry at least 50 random bits, grouped XXXXX-XXXXX-C, and differ", () => {
    expect(TOKEN_BITS).toBeGreaterThanOrEqual(50);
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const token = generateBallotToken();
      expect(token).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z*~$=U]$/);
      expect(normalizeBallotToken(token)).toBe(token.replaceAll("-", "").slice(0, 10));
      seen.add(token);
    }
    expect(seen.size).toBe(5000);
  });

  it("are read in any case, without separators, with look-alike letters", () => {
    const token = generateBallotToken();
    const canonical = normalizeBallotToken(token);
    const sloppy = token.toLowerCase().replaceAll("-", " ").replaceAll("0", "o").replaceAll("1", "l");
    expect(normalizeBallotToken(sloppy)).toBe(canonical);
  });

  it("a single mistyped symbol, a wrong length or a foreign character is refused", () => {
    const token = generateBallotToken().replaceAll("-", "");
    let refused = 0;
    for (let i = 0; i < 10; i++) {
      const c = token[i] as string;
      const other = c === "7" ? "8" : "7";
      if (normalizeBallotToken(token.slice(0, i) + other + token.slice(i + 1)) === null) refused++;
    }
    expect(refused).toBe(10);
    expect(normalizeBallotToken(token.slice(1))).toBeNull();
    expect(normalizeBallotToken(`${token}7`)).toBeNull();
    expect(normalizeBallotToken("!".repeat(11))).toBeNull();
  });

  it("are stored as a keyed hash bound to the election", () => {
    const key = Buffer.alloc(32, 1);
    const canonical = normalizeBallotToken(generateBallotToken()) as string;
    const a = ballotTokenHash(key, "0b7c3a52-5d8e-4b8f-9a51-0c2f7e1d9a10", canonical);
    expect(a).toHaveLength(32);
    expect(ballotTokenHash(key, "7d2e1f00-1111-4222-8333-444455556666", canonical)).not.toEqual(a);
    expect(
      ballotTokenHash(Buffer.alloc(32, 2), "0b7c3a52-5d8e-4b8f-9a51-0c2f7e1d9a10", canonical),
    ).not.toEqual(a);
  });
});
