// Small pure pieces the rest stands on: canonical JSON, password hashing, one-time passwords, log masking,
// and the error mapping.
import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "../../src/crypto/password.js";
import { generateOneTimePassword } from "../../src/crypto/random.js";
import { canonicalJson } from "../../src/lib/canonical-json.js";
import { AppError } from "../../src/lib/errors.js";
import { isAllowed, type Principal } from "../../src/plugins/auth.js";
import { toAppError } from "../../src/plugins/errors.js";
import { maskUrl } from "../../src/plugins/logging.js";

describe("canonical JSON", () => {
  it("sorts keys at every depth and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
  it("refuses values JSON cannot represent exactly", () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
    expect(() => canonicalJson({ f: () => 1 })).toThrow();
  });
});

describe("passwords", () => {
  it("are stored as salted scrypt hashes that verify only the right password", async () => {
    const a = await hashPassword("Tps01-pagi-hari-cerah");
    const b = await hashPassword("Tps01-pagi-hari-cerah");
    expect(a).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("Tps01-pagi-hari-cerah", a)).toBe(true);
    expect(await verifyPassword("Tps01-pagi-hari-cerah ", a)).toBe(false);
    expect(await verifyPassword("anything", "not-a-hash")).toBe(false);
  });

  it("one-time passwords are 16 Crockford base32 characters in four groups, and differ", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const otp = generateOneTimePassword();
      expect(otp).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
      seen.add(otp);
    }
    expect(seen.size).toBe(1000);
  });
});

describe("logs", () => {
  it("mask NIK-length digit runs in URLs and keep the rest", () => {
    expect(maskUrl("/elections/x/voters/1607054101900003?x=1")).toBe("/elections/x/voters/[masked]?x=1");
    expect(maskUrl("/elections/5f1c/tps/001")).toBe("/elections/5f1c/tps/001");
  });
});

describe("errors", () => {
  it("keep their code and status and serialise to the §10 shape", () => {
    const error = new AppError("ELECTION_NOT_DRAFT", "frozen", { status: "open" });
    expect(error.statusCode).toBe(409);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      error: { code: "ELECTION_NOT_DRAFT", message: "frozen", details: { status: "open" } },
    });
  });

  it("a lost database connection becomes a retryable 503, an unknown error stays unmapped (500)", () => {
    expect(toAppError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))?.code).toBe(
      "SERVICE_UNAVAILABLE",
    );
    expect(
      toAppError(Object.assign(new Error("terminating connection"), { code: "57P01" }))?.statusCode,
    ).toBe(503);
    expect(toAppError(new Error("boom"))).toBeNull();
  });
});

describe("the access decision", () => {
  const election = "0b7c3a52-5d8e-4b8f-9a51-0c2f7e1d9a10";
  const other = "7d2e1f00-1111-4222-8333-444455556666";
  const principal = (role: "committee" | "witness" | "officer" | null, isAdmin = false): Principal => ({
    userId: "u",
    username: "u",
    isAdmin,
    mustChangePassword: false,
    memberships: new Map(role ? [[election, { role, tpsId: role === "officer" ? "tps-1" : null }]] : []),
  });
  const rule = { kind: "roles", roles: ["admin", "committee"] } as const;

  it("admits an administrator everywhere the rule names admin, and no further", () => {
    expect(isAllowed(rule, principal(null, true), { electionId: other })).toBe(true);
    expect(
      isAllowed({ kind: "roles", roles: ["committee"] }, principal(null, true), { electionId: other }),
    ).toBe(false);
  });

  it("admits a member only in their own election and only in a named role", () => {
    expect(isAllowed(rule, principal("committee"), { electionId: election })).toBe(true);
    expect(isAllowed(rule, principal("committee"), { electionId: other })).toBe(false);
    expect(isAllowed(rule, principal("witness"), { electionId: election })).toBe(false);
    expect(isAllowed(rule, principal("committee"), { electionId: "not-a-uuid" })).toBe(false);
    expect(isAllowed(rule, principal("committee"), {})).toBe(false);
  });
});
