// The offline verifier's progress bar: drawn on a terminal only, at most every 100 ms, capped at 100%.
import { describe, expect, it } from "vitest";
import { progressBar } from "../../scripts/lib/progress-bar.js";

function terminal(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, write: (text: string) => written.push(text) }, written };
}

describe("the progress bar", () => {
  it("draws on a terminal, at most every 100 ms, and ends its line", () => {
    const { stream, written } = terminal(true);
    let clock = 0;
    const bar = progressBar(200, "entries", stream, () => clock);
    bar.update(50);
    clock = 50;
    bar.update(100); // too soon: not drawn
    clock = 150;
    bar.update(150);
    bar.finish(200);
    expect(written).toEqual([
      `\r  [${"█".repeat(8)}${"░".repeat(22)}]  25%  50 / 200 entries`,
      `\r  [${"█".repeat(23)}${"░".repeat(7)}]  75%  150 / 200 entries`,
      `\r  [${"█".repeat(30)}] 100%  200 / 200 entries`,
      "\n",
    ]);
  });

  it("caps at 100% when there are more than announced, and shows a count when the total is unknown", () => {
    const { stream, written } = terminal(true);
    progressBar(10, "entries", stream).finish(12);
    progressBar(0, "entries", stream).finish(1234);
    expect(written[0]).toContain("100%  12 / 10 entries");
    expect(written[2]).toBe(`\r  [${"█".repeat(30)}] 100%  1,234 entries`);
  });

  it("ends a drawn line when the work is aborted, and writes nothing if none was drawn", () => {
    const { stream, written } = terminal(true);
    progressBar(10, "entries", stream).abort();
    expect(written).toEqual([]);
    const bar = progressBar(10, "entries", stream);
    bar.update(3);
    bar.abort();
    expect(written.at(-1)).toBe("\n");
  });

  it("writes nothing when the output is not a terminal", () => {
    const { stream, written } = terminal(false);
    const bar = progressBar(10, "entries", stream);
    bar.update(5);
    bar.finish(10);
    expect(written).toEqual([]);
  });
});
