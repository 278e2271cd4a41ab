// A one-line progress bar for commands run by people (the offline verifier): drawn on a terminal only, redrawn at
// most every 100 ms, ended with a newline. On anything that is not a terminal (a pipe, a file, CI) it writes
// nothing, so machine output stays clean.

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressBar {
  update(done: number): void;
  finish(done: number): void;
  /** Ends the bar's line, if one was drawn, so that a message can follow on its own line. */
  abort(): void;
}

const WIDTH = 30;

/** `total` is what 100% means (0 when unknown: the bar shows the count only). */
export function progressBar(
  total: number,
  what: string,
  stream: ProgressStream = process.stderr,
  now: () => number = Date.now,
): ProgressBar {
  const tty = stream.isTTY === true;
  let last = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const draw = (done: number) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const bar = `${"█".repeat(filled)}${"░".repeat(WIDTH - filled)}`;
    const of = total > 0 ? ` / ${total.toLocaleString("en")}` : "";
    const percent = String(Math.round(fraction * 100)).padStart(3);
    stream.write(`\r  [${bar}] ${percent}%  ${done.toLocaleString("en")}${of} ${what}`);
    drawn = true;
  };
  return {
    update(done) {
      if (!tty || now() - last < 100) return;
      last = now();
      draw(done);
    },
    finish(done) {
      if (!tty) return;
      draw(done);
      stream.write("\n");
      drawn = false;
    },
    abort() {
      if (drawn) stream.write("\n");
      drawn = false;
    },
  };
}
