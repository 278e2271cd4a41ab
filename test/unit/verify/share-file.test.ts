// SPEC §7, §9: a holder turns the sealed share the ceremony handed them into a share file with their own key;
// k share files rebuild the tally key for the offline recount; fewer, repeated, foreign or wrong shares are
// refused with a plain reason that holds nothing of any share.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tallyKeyPairFromSecretKey } from "../../../src/crypto/sealed-ballot.js";
import { generateHolderKeyPair, runTallyKeyCeremony } from "../../../src/crypto/tally-key.js";
import {
  readShareFile,
  recombineShareFiles,
  ShareError,
  type ShareFile,
  shareFileFromSealed,
} from "../../../src/verify/share-file.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const dir = mkdtempSync(path.join(os.tmpdir(), "suara-shares-"));

const holders = [generateHolderKeyPair(), generateHolderKeyPair(), generateHolderKeyPair()];
let publicKey: string;
let sealedResponses: Array<Record<string, unknown>>;
let files: Array<{ name: string; share: ShareFile }>;

beforeAll(async () => {
  const ceremony = await runTallyKeyCeremony(
    holders.map((h) => h.publicKey),
    2,
  );
  publicKey = ceremony.publicKey.toString("base64");
  // What POST /elections/{id}/ceremony/share hands each holder.
  sealedResponses = ceremony.sealedShares.map((s) => ({
    share_index: s.holder + 1,
    sealed_share: s.sealedShare.toString("base64"),
    threshold: 2,
    holders: 3,
    tally_public_key: publicKey,
  }));
  files = sealedResponses.map((response, i) => ({
    name: `share-${i + 1}.json`,
    share: shareFileFromSealed(response, (holders[i] as { secretKey: Buffer }).secretKey),
  }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tallyKey = () => ({ public_key: publicKey, threshold: 2 });

describe("share files", () => {
  it("any two of three rebuild the election's tally key", async () => {
    for (const pair of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const secret = await recombineShareFiles(
        pair.map((i) => files[i] as { name: string; share: ShareFile }),
        tallyKey(),
      );
      expect(tallyKeyPairFromSecretKey(secret).publicKey.toString("base64")).toBe(publicKey);
    }
  });

  it("refuses one share, or the same share twice, as fewer than k", async () => {
    const one = files[0] as { name: string; share: ShareFile };
    await expect(recombineShareFiles([one], tallyKey())).rejects.toThrow(
      "2 different shares are needed to recount; 1 given",
    );
    await expect(recombineShareFiles([one, { ...one, name: "copy.json" }], tallyKey())).rejects.toThrow(
      "1 given",
    );
  });

  it("refuses a share of another election's key, and shares for a record without a ceremony", async () => {
    const foreign = { name: "foreign.json", share: { ...(files[1] as { share: ShareFile }).share } };
    foreign.share.tally_public_key = generateHolderKeyPair().publicKey.toString("base64");
    await expect(recombineShareFiles([files[0] as never, foreign], tallyKey())).rejects.toThrow(
      "foreign.json is a share of another tally key",
    );
    await expect(recombineShareFiles(files, null)).rejects.toThrow("the ceremony was never held");
  });

  it("refuses a corrupted share without a word of any share in the refusal", async () => {
    const good = files[1] as { name: string; share: ShareFile };
    const bytes = Buffer.from(good.share.share, "base64");
    bytes[0] = (bytes[0] as number) ^ 0x01;
    const bad = { name: "bad.json", share: { ...good.share, share: bytes.toString("base64") } };
    const refusal = await recombineShareFiles([files[0] as never, bad], tallyKey()).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ShareError);
    const message = (refusal as Error).message;
    expect(message).toBe(
      "the shares do not rebuild this election's tally key: one of them is wrong or corrupted",
    );
  });

  it("refuses a sealed share opened with another holder's key, and files that are not share files", () => {
    expect(() =>
      shareFileFromSealed(sealedResponses[0], (holders[1] as { secretKey: Buffer }).secretKey),
    ).toThrow("the sealed share does not open with this holder key");
    expect(() => readShareFile("{", "x.json")).toThrow("x.json is not a share file (not JSON)");
    expect(() => readShareFile(JSON.stringify({ format: "suara-tally-share/v1" }), "y.json")).toThrow(
      /y.json is not a suara-tally-share\/v1 file/,
    );
  });

  it("are read strictly: any text gives a share file or a ShareError, never another exception", () => {
    const good = JSON.stringify(files[0]?.share);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.tuple(fc.nat(), fc.string({ maxLength: 3 })).map(([i, junk]) => {
            const at = i % good.length;
            return `${good.slice(0, at)}${junk}${good.slice(at + 1)}`;
          }),
        ),
        (text) => {
          try {
            expect(readShareFile(text, "f.json").format).toBe("suara-tally-share/v1");
          } catch (error) {
            expect(error).toBeInstanceOf(ShareError);
          }
        },
      ),
      { seed: 20261202, numRuns: 300 },
    );
  });

  it("are made by the holder tool on the holder's own device, readable only by them", () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", "scripts/holder-share.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      });
    const keyFile = path.join(dir, "holder.key");
    const made = run(["keygen", "--out", keyFile]);
    expect(made.status, made.stderr).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const secret = Buffer.from(readFileSync(keyFile, "utf8").trim(), "base64");
    const printed = /holder public key \(register it\): (\S+)/.exec(made.stdout)?.[1];
    expect(printed).toBe(tallyKeyPairFromSecretKey(secret).publicKey.toString("base64"));
    expect(made.stdout).not.toContain(secret.toString("base64"));
    // A second keygen never overwrites the key.
    expect(run(["keygen", "--out", keyFile]).status).toBe(2);

    // The ceremony's sealed share for this holder, opened by the tool into a share file.
    const sealedFile = path.join(dir, "sealed.json");
    writeFileSync(sealedFile, JSON.stringify(sealedResponses[0]));
    const holderKeyFile = path.join(dir, "holder-1.key");
    writeFileSync(holderKeyFile, `${(holders[0] as { secretKey: Buffer }).secretKey.toString("base64")}\n`);
    const shareFile = path.join(dir, "share.json");
    const opened = run(["open", "--sealed", sealedFile, "--secret-key", holderKeyFile, "--out", shareFile]);
    expect(opened.status, opened.stderr).toBe(0);
    expect(opened.stdout).toBe(`share 1 of 3 (any 2 recount) written to ${shareFile}\n`);
    expect(statSync(shareFile).mode & 0o777).toBe(0o600);
    expect(readShareFile(readFileSync(shareFile, "utf8"), "share.json")).toEqual(files[0]?.share);
    // With the wrong key: refused, exit 2.
    const wrong = run([
      "open",
      "--sealed",
      sealedFile,
      "--secret-key",
      keyFile,
      "--out",
      path.join(dir, "w.json"),
    ]);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toBe("the sealed share does not open with this holder key\n");
  });
});
