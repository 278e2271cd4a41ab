// The binary COPY reader the tally uses (src/modules/tally/log-stream.ts) gives the same rows however the
// stream is cut into chunks, and refuses a stream that is not a well-formed (int8, bytea) COPY.
import { describe, expect, it } from "vitest";
import { BinaryCopyReader } from "../../src/modules/tally/log-stream.js";

function copyStream(rows: Array<{ seq: number; leaf: Uint8Array }>): Buffer {
  const parts: Buffer[] = [Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)];
  for (const row of rows) {
    const head = Buffer.alloc(2 + 4 + 8 + 4);
    head.writeInt16BE(2, 0);
    head.writeInt32BE(8, 2);
    head.writeBigInt64BE(BigInt(row.seq), 6);
    head.writeInt32BE(row.leaf.length, 14);
    parts.push(head, Buffer.from(row.leaf));
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  parts.push(trailer);
  return Buffer.concat(parts);
}

const rows = Array.from({ length: 5 }, (_, i) => ({
  seq: i + 1,
  leaf: Uint8Array.from({ length: 40 + i * 7 }, (_, j) => (i * 31 + j) & 0xff),
}));

describe("the binary COPY reader", () => {
  it("reads the same rows whatever the chunk size, down to one byte", () => {
    const stream = copyStream(rows);
    for (const size of [1, 2, 3, 5, 17, 64, stream.length]) {
      const reader = new BinaryCopyReader();
      const read = [];
      for (let at = 0; at < stream.length; at += size)
        read.push(...reader.push(stream.subarray(at, at + size)));
      expect(read.map((r) => ({ seq: r.seq, leaf: Uint8Array.from(r.leaf) }))).toEqual(rows);
      expect(reader.finished).toBe(true);
    }
  });

  it("is not finished before the trailer", () => {
    const stream = copyStream(rows);
    const reader = new BinaryCopyReader();
    expect(
      reader
        .push(stream.subarray(0, stream.length - 2))
        .map((r) => ({ seq: r.seq, leaf: Uint8Array.from(r.leaf) })),
    ).toEqual(rows);
    expect(reader.finished).toBe(false);
  });

  it("refuses a stream without the COPY signature or with rows of another shape", () => {
    expect(() => new BinaryCopyReader().push(Buffer.alloc(64))).toThrow("not a binary COPY stream");
    const stream = copyStream(rows);
    stream.writeInt16BE(3, 19);
    expect(() => new BinaryCopyReader().push(stream)).toThrow("binary COPY row has 3 fields, expected 2");
  });
});
