// The record reader (docs/record-format.md, appendix A): a v2 record's lines in their order, each strict; every
// other file is refused with a RecordFormatError that names the line and what is wrong with it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_LINE_BYTES,
  RecordFormatError,
  readElectionRecord,
  recordLines,
} from "../../../src/verify/record-file.js";
import { asLines, buildElectionRecord } from "./record-fixture.js";

const { lines } = buildElectionRecord({ ballots: 6 });
const at = (type: string) => lines.findIndex((line) => line.startsWith(`{"type":"${type}"`));

async function refusal(changed: string[]): Promise<string> {
  try {
    const record = await readElectionRecord(asLines(changed));
    for await (const _ of record.entries) {
      // Entries are read lazily: a bad entry line is refused while streaming.
    }
  } catch (error) {
    expect(error).toBeInstanceOf(RecordFormatError);
    return (error as Error).message;
  }
  throw new Error("the record was read");
}

describe("the record reader", () => {
  it("reads the header, checkpoints, result and approvals first, then streams the entries", async () => {
    const record = await readElectionRecord(asLines(["", ...lines, ""]));
    expect(record.checkpoints).toHaveLength(2);
    expect(record.claimedTreeSize).toBe(5);
    expect(record.result?.type).toBe("result");
    expect(record.approvals).toHaveLength(2);
    const seqs: number[] = [];
    for await (const entry of record.entries) seqs.push(entry.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("refuses a version 1 record, naming both versions", async () => {
    const header = JSON.parse(lines[0] as string);
    expect(await refusal([JSON.stringify({ ...header, format: "suara-election-record/v1" })])).toBe(
      'line 1: the record is "suara-election-record/v1"; this verifier reads suara-election-record/v2',
    );
  });

  it("refuses an empty file, a first line that is not a header, and a header with an unknown member", async () => {
    expect(await refusal([])).toBe("the record is empty");
    expect(await refusal(lines.slice(1))).toBe("line 1 is not a record header");
    const header = JSON.parse(lines[0] as string);
    expect(await refusal([JSON.stringify({ ...header, extra: 1 }), ...lines.slice(1)])).toMatch(
      /^line 1 is not a valid record header: /,
    );
  });

  it("refuses lines out of their order, an unknown type, a second result and an approval without a result", async () => {
    const moved = [...lines];
    moved.splice(at("checkpoint"), 0, moved.splice(at("result"), 1)[0] as string);
    expect(await refusal(moved)).toMatch(/a checkpoint line comes after a result line/);
    expect(await refusal([lines[0] as string, '{"type":"comment"}'])).toBe(
      'line 2 has an unknown type "comment"',
    );
    const twice = [...lines];
    twice.splice(at("result"), 0, lines[at("result")] as string);
    expect(await refusal(twice)).toMatch(/a second result$/);
    expect(await refusal(lines.filter((_, i) => i !== at("result")))).toMatch(
      /an approval without a result$/,
    );
  });

  it("refuses, while streaming, an entry line that is not an entry or whose leaf is not canonical base64", async () => {
    const stray = [...lines, lines[at("checkpoint")] as string];
    expect(await refusal(stray)).toBe(`line ${stray.length}: a checkpoint line among the entries`);
    const entry = JSON.parse(lines[at("entry")] as string);
    const padded = [...lines];
    // Decodes to the same bytes, but is not the one canonical text of them.
    padded[at("entry")] = JSON.stringify({ ...entry, leaf: `${entry.leaf}\n` });
    expect(await refusal(padded)).toMatch(/is not a valid entry at leaf: canonical base64/);
  });
});

async function collect(chunks: Array<Uint8Array | string>): Promise<string[]> {
  const out: string[] = [];
  async function* source() {
    yield* chunks;
  }
  for await (const line of recordLines(source())) out.push(line);
  return out;
}

describe("the record's line splitter", () => {
  it("gives the same lines however the bytes are chunked, with LF or CRLF, across multi-byte characters", async () => {
    const text = `${lines.slice(0, 3).join("\r\n")}\n{"name":"Désa — Sungai Rengit 🗳"}\n\nlast line without LF`;
    const bytes = Buffer.from(text, "utf8");
    const expected = text.split(/\r?\n/);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 20 }),
        async (cuts) => {
          const at = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
          const chunks = at.slice(1).map((end, i) => new Uint8Array(bytes.subarray(at[i], end)));
          expect(await collect(chunks)).toEqual(expected);
        },
      ),
      { seed: 20261202, numRuns: 200 },
    );
  });

  it("refuses a line longer than any record line without holding more of it", async () => {
    const chunk = Buffer.alloc(1 << 20, 0x41);
    const endless = Array.from({ length: MAX_LINE_BYTES / chunk.length + 1 }, () => chunk);
    await expect(collect(["{}\n", ...endless])).rejects.toThrow("line 2 is longer than any record line");
  });
});
