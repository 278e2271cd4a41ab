import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { verifyConsistency, verifyInclusion } from "../../../src/crypto/merkle.js";

// The transparency-dev/merkle proof vectors shipped beside the repository; every case says whether a correct
// verifier must accept it. They are read at test time so that the shared copy stays the only copy.
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const vectorRoot = path.resolve(repoRoot, "../shared/testdata/rfc6962");

type InclusionCase = {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
};

type ConsistencyCase = {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
};

function loadCases<T>(kind: "inclusion" | "consistency"): { name: string; vector: T }[] {
  const dir = path.join(vectorRoot, kind);
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => ({ name: file, vector: JSON.parse(readFileSync(path.join(dir, file), "utf8")) as T }));
}

const b64 = (text: string): Uint8Array => Buffer.from(text, "base64");

const inclusionCases = loadCases<InclusionCase>("inclusion");
const consistencyCases = loadCases<ConsistencyCase>("consistency");

describe("RFC 6962 inclusion proof vectors", () => {
  it("are all present", () => {
    expect(inclusionCases.length).toBeGreaterThanOrEqual(80);
  });

  it.each(inclusionCases)("$name is accepted exactly when the vector says so", ({ vector }) => {
    const verified = verifyInclusion({
      leafHash: b64(vector.leafHash),
      // An index of 2^64 - 1 arrives as an unsafe float; the verifier must refuse it rather than round it.
      index: vector.leafIdx,
      size: vector.treeSize,
      proof: (vector.proof ?? []).map(b64),
      root: b64(vector.root),
    });
    expect(verified).toBe(!vector.wantErr);
  });
});

describe("RFC 6962 consistency proof vectors", () => {
  it("are all present", () => {
    expect(consistencyCases.length).toBeGreaterThanOrEqual(80);
  });

  it.each(consistencyCases)("$name is accepted exactly when the vector says so", ({ vector }) => {
    const verified = verifyConsistency({
      size1: vector.size1,
      size2: vector.size2,
      root1: b64(vector.root1),
      root2: b64(vector.root2),
      proof: (vector.proof ?? []).map(b64),
    });
    expect(verified).toBe(!vector.wantErr);
  });
});
