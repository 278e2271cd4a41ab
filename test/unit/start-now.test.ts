// startNow (src/modules/tally/log-stream.ts): the tally asks for the log's first rows and checkpoints beside the
// election's metadata; a stream started early still yields everything once, in order, and closes when told.
import { describe, expect, it } from "vitest";
import { startNow } from "../../src/modules/tally/log-stream.js";

function counting() {
  const seen = { started: false, closed: false };
  async function* source(): AsyncGenerator<number> {
    seen.started = true;
    try {
      for (let i = 1; i <= 3; i++) yield i;
    } finally {
      seen.closed = true;
    }
  }
  return { seen, source };
}

describe("startNow", () => {
  it("starts the source at once and then yields every item once, in order", async () => {
    const { seen, source } = counting();
    const stream = startNow(source());
    await Promise.resolve();
    expect(seen.started).toBe(true);
    const items: number[] = [];
    for await (const item of stream) items.push(item);
    expect(items).toEqual([1, 2, 3]);
    expect(seen.closed).toBe(true);
  });

  it("closes a source nobody read, and one read only in part", async () => {
    const unread = counting();
    await startNow(unread.source()).return(undefined);
    expect(unread.seen.closed).toBe(true);
    const partial = counting();
    const stream = startNow(partial.source());
    expect(await stream.next()).toEqual({ value: 1, done: false });
    await stream.return(undefined);
    expect(partial.seen.closed).toBe(true);
  });

  it("a failure before the first item surfaces when it is read, not before", async () => {
    // biome-ignore lint/correctness/useYield: the source fails before its first item
    async function* failing(): AsyncGenerator<number> {
      throw new Error("no connection");
    }
    const stream = startNow(failing());
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(stream.next()).rejects.toThrow("no connection");
  });
});
