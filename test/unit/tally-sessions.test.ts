// SPEC §8, §13: the tally's crypto threads start when an election's first share arrives, so their start-up
// overlaps the other holders' submissions instead of delaying the tally; threads nobody uses do not linger.
import os from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { TallySessions } from "../../src/modules/tally/tally.service.js";
import { WARM_UP_ENTRIES } from "../../src/modules/tally/warm-up.js";
import type { CryptoPool } from "../../src/verify/crypto-pool.js";

const threads = os.availableParallelism();
const sessions = new TallySessions();

afterEach(async () => {
  await sessions.close();
});

/** Waits until every thread of the pool has exited. */
async function stopped(pool: CryptoPool): Promise<void> {
  for (let i = 0; i < 300 && pool.runningThreads() > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(pool.runningThreads()).toBe(0);
}

describe("crypto threads prepared ahead of the tally", () => {
  it("start once per election however many shares arrive, and the tally takes those same threads", async () => {
    const first = sessions.prepareCrypto("e1");
    expect(sessions.prepareCrypto("e1")).toBe(first);
    expect(sessions.preparedThreads("e1")).toBe(threads);
    const pool = await sessions.takeCrypto("e1");
    expect(pool).toBe(first);
    expect(sessions.preparedThreads("e1")).toBe(0);
    expect(pool.runningThreads()).toBe(threads);
    // The taken pool works and is the caller's to close: the service's stopping does not touch it.
    await sessions.close();
    expect(await pool.verifyAndOpen({ tasks: [], tallySecretKey: null })).toEqual([]);
    await pool.close();
    expect(pool.runningThreads()).toBe(0);
  });

  it("a tally with nothing prepared starts its own threads", async () => {
    const pool = await sessions.takeCrypto("e2");
    expect(pool.runningThreads()).toBe(threads);
    await pool.close();
  });

  it("are shut down when unused for the idle time", async () => {
    const pool = sessions.prepareCrypto("idle", 50);
    expect(pool.runningThreads()).toBe(threads);
    await stopped(pool);
    expect(sessions.preparedThreads("idle")).toBe(0);
    // A later share prepares fresh threads.
    const again = sessions.prepareCrypto("idle");
    expect(again).not.toBe(pool);
    expect(again.runningThreads()).toBe(threads);
  });

  it("are shut down when the session is forgotten and when the service stops", async () => {
    const forgotten = sessions.prepareCrypto("forgotten");
    sessions.forget("forgotten");
    await stopped(forgotten);
    const a = sessions.prepareCrypto("a");
    const b = sessions.prepareCrypto("b");
    await sessions.close();
    expect(a.runningThreads() + b.runningThreads()).toBe(0);
  });

  it("warm the tally's code with a throwaway log that verifies clean, and the tally waits for the warm-up", async () => {
    const logged: Array<{ level: string; message: string }> = [];
    const watched = new TallySessions({
      logger: {
        info: (_details: unknown, message: string) => logged.push({ level: "info", message }),
        warn: (_details: unknown, message: string) => logged.push({ level: "warn", message }),
      } as never,
    });
    const prepared = watched.prepareCrypto("w");
    // Taken at once, as when the last share follows the first within the warm-up: handed over after it.
    const pool = await watched.takeCrypto("w");
    expect(pool).toBe(prepared);
    const report = await watched.lastWarmUp("w");
    expect(report).toMatchObject({ ok: true, entries: WARM_UP_ENTRIES });
    expect(logged).toEqual([
      { level: "info", message: "tally code warmed up on the prepared crypto threads" },
    ]);
    // The warmed threads still do real work for the caller.
    expect(await pool.verifyAndOpen({ tasks: [], tallySecretKey: null })).toEqual([]);
    await pool.close();
  });

  it("a warm-up cut short by the threads' shutdown ends quietly", async () => {
    const logged: string[] = [];
    const watched = new TallySessions({
      logger: { info: () => logged.push("info"), warn: () => logged.push("warn") } as never,
    });
    const pool = watched.prepareCrypto("cut");
    const warmUp = watched.lastWarmUp("cut");
    await watched.close();
    expect(await warmUp).toBeNull();
    expect(pool.runningThreads()).toBe(0);
    expect(logged).toEqual([]);
  });

  it("a warm-up that fails (its read of the log, say) is logged and leaves the threads to the tally", async () => {
    const warned: string[] = [];
    const watched = new TallySessions({
      logger: {
        info: () => undefined,
        warn: (_details: unknown, message: string) => warned.push(message),
      } as never,
    });
    // biome-ignore lint/correctness/useYield: the read fails before its first page
    async function* unreadable(): AsyncGenerator<unknown[]> {
      throw new Error("connection refused");
    }
    const prepared = watched.prepareCrypto("unreadable", 60_000, unreadable);
    expect(await watched.lastWarmUp("unreadable")).toBeNull();
    expect(warned).toEqual(["the tally warm-up failed"]);
    const pool = await watched.takeCrypto("unreadable");
    expect(pool).toBe(prepared);
    expect(await pool.verifyAndOpen({ tasks: [], tallySecretKey: null })).toEqual([]);
    await pool.close();
  });
});
