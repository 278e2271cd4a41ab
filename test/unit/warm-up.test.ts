// The tally's warm-up (src/modules/tally/warm-up.ts) really does a tally's work on the threads it is given: it
// reads the election's log to the end, and verifies and opens every entry of its throwaway log on each pass, with
// every signature valid and every ballot opened — nothing it reports is taken on trust.
import { afterAll, describe, expect, it } from "vitest";
import { warmUpTally } from "../../src/modules/tally/warm-up.js";
import { type CryptoPool, createCryptoPool } from "../../src/verify/crypto-pool.js";
import { isLeafTask } from "../../src/verify/verifier.js";

const threads = createCryptoPool({ threads: 2 });

afterAll(async () => {
  await threads.close();
});

describe("the tally warm-up", () => {
  it("reads the log, then verifies and opens every throwaway entry on every pass, on the threads given", async () => {
    const seen = { leaves: 0, valid: 0, opened: 0, checkpoints: 0 };
    const counting: CryptoPool = {
      ...threads,
      async verifyAndOpen(batch) {
        const results = await threads.verifyAndOpen(batch);
        batch.tasks.forEach((task, i) => {
          const result = results[i];
          if (isLeafTask(task)) {
            seen.leaves++;
            if (result?.plaintext) seen.opened++;
          } else seen.checkpoints++;
          if (result?.signatureValid) seen.valid++;
        });
        return results;
      },
    };
    let pagesRead = 0;
    async function* log(): AsyncGenerator<unknown[]> {
      for (let page = 0; page < 3; page++) {
        pagesRead++;
        yield new Array(100).fill(null);
      }
    }
    const report = await warmUpTally(counting, { entries: 150, passes: 2, readLog: log });
    expect(report).toMatchObject({ ok: true, entries: 150, passes: 2, logRows: 300 });
    expect(pagesRead).toBe(3);
    expect(seen.leaves).toBe(300);
    expect(seen.opened).toBe(300);
    // A checkpoint every 100 entries and one at the end: two per pass.
    expect(seen.checkpoints).toBe(4);
    expect(seen.valid).toBe(304);
  });

  it("fails when the threads it was given are shut down", async () => {
    const closed = createCryptoPool({ threads: 1 });
    await closed.close();
    await expect(warmUpTally(closed, { entries: 10, passes: 1 })).rejects.toThrow();
  });
});
