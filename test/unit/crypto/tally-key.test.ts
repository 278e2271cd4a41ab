// The tally key's k-of-n split (SPEC §7): every k-subset rebuilds the key, no (k−1)-subset does, and shares are
// sealed so that only their holder opens them.
import sodium from "sodium-native";
import { describe, expect, it } from "vitest";
import { openSealedShare, recombineTallySecret, runTallyKeyCeremony } from "../../../src/crypto/tally-key.js";

function holder() {
  const publicKey = Buffer.alloc(32);
  const secretKey = Buffer.alloc(32);
  sodium.crypto_box_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}

function subsets<T>(items: T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, size - 1).map((s) => [first, ...s]), ...subsets(rest, size)];
}

describe("the tally key ceremony's split", () => {
  for (const [k, n] of [
    [2, 3],
    [3, 5],
    [4, 4],
  ] as const) {
    it(`${k} of ${n}: every ${k} shares rebuild the key, no ${k - 1} do`, async () => {
      const holders = Array.from({ length: n }, holder);
      const result = await runTallyKeyCeremony(
        holders.map((h) => h.publicKey),
        k,
      );
      const shares = result.sealedShares.map(({ holder: i, sealedShare }) => {
        const h = holders[i] as ReturnType<typeof holder>;
        return openSealedShare(sealedShare, h.publicKey, h.secretKey) as Buffer;
      });
      expect(shares.every((s) => s !== null)).toBe(true);
      for (const subset of subsets(shares, k)) {
        expect(await recombineTallySecret(subset, result.publicKey)).not.toBeNull();
      }
      for (const subset of subsets(shares, k - 1)) {
        expect(await recombineTallySecret(subset, result.publicKey)).toBeNull();
      }
    });
  }

  it("refuses thresholds below 2 or above the number of holders", async () => {
    const keys = [holder().publicKey, holder().publicKey];
    await expect(runTallyKeyCeremony(keys, 1)).rejects.toThrow(RangeError);
    await expect(runTallyKeyCeremony(keys, 3)).rejects.toThrow(RangeError);
  });
});
