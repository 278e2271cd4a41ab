// The import's fast path (src/modules/roll/roll-fast-path.ts) may only ever agree with the general path: a row it
// takes must be one the validator accepts without a problem, encoded into exactly the same COPY tuple. Checked
// row by row on generated rolls with every kind of bad and warning row, on random lines, and file by file with
// random chunking (line numbers, quoted cells across lines, BOM, CRLF, invalid UTF-8).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BAD_ROW_KINDS,
  type CsvFormat,
  type DptRow,
  generateDptRows,
  planTps,
  toCsvLines,
  WARNING_ROW_KINDS,
} from "../../scripts/lib/dpt-generator.js";
import { CsvReader, type CsvRecord } from "../../src/modules/roll/csv-reader.js";
import {
  BinaryCopyBuffer,
  daysFromCivil,
  type IdSource,
  pgDate,
  randomIds,
  TUPLE_FIXED_BYTES,
  uuidBytes,
} from "../../src/modules/roll/roll-copy.js";
import { FastRowEncoder, RollInput } from "../../src/modules/roll/roll-fast-path.js";
import {
  isBlankRow,
  ROLL_COLUMNS,
  type RollContext,
  type RollProblem,
  RowValidator,
  resolveHeader,
} from "../../src/modules/roll/roll-row.js";

const VOTING_DAY = "2027-03-14";
const ALL_KINDS = [...BAD_ROW_KINDS, ...WARNING_ROW_KINDS];
const GENERATED = {
  rows: 3000,
  seed: 31,
  votingDay: VOTING_DAY,
  quotedMultiline: 0.02,
  bad: Object.fromEntries(ALL_KINDS.map((k) => [k, 0.01])),
};

function contextFor(rows: number, seed: number): RollContext {
  const tps = planTps({ rows, seed });
  // A few TPS codes the fast path cannot pack (too long, a blank, non-ASCII) must still be found by the other.
  const codes = [...tps.map((t) => t.code), "KHUSUS-RSUD", "TPS 9", "Ä1"];
  return {
    votingDay: VOTING_DAY,
    regionPrefix: "160705",
    tpsByCode: new Map(
      codes.map((code, i) => [code, `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`]),
    ),
  };
}

/** Ids 0, 1, 2 … so two encodings of the same rows can be compared byte for byte. */
function countingIds(): IdSource {
  let n = 0;
  return (out, at) => {
    out.fill(0, at, at + 16);
    out.writeUInt32BE(n++, at + 12);
  };
}

/** The general path's verdict on one record, and the tuple it encodes (empty when it rejects the row). */
function general(validator: RowValidator, record: CsvRecord) {
  const result = validator.validate(record.line, record.fields, record.flags);
  const out = new BinaryCopyBuffer(1024, countingIds());
  out.take(); // drop the file header
  if (result.voter) out.voter(record.line, result.voter, uuidBytes(result.voter.tps_id));
  return { problems: result.problems, tuple: Buffer.from(out.take()) };
}

/** The fast path's tuple for one line, or null when it declines it. */
function fast(encoder: FastRowEncoder, line: number, text: string): Buffer | null {
  const bytes = Buffer.from(text.replace(/\r?\n$/, ""), "utf8");
  if (!encoder.check(bytes, 0, bytes.length)) return null;
  const out = new BinaryCopyBuffer(1024, countingIds());
  out.take();
  encoder.write(line, out);
  return Buffer.from(out.take());
}

/** The header and the one-line data rows of a CSV text, as the reader sees them. */
function records(lines: string[]): { header: string[]; rows: Array<{ text: string; record: CsvRecord }> } {
  const reader = new CsvReader();
  const header = reader.push(lines[0] as string)[0]?.fields as string[];
  const rows: Array<{ text: string; record: CsvRecord }> = [];
  for (const text of lines.slice(1)) {
    const got = reader.push(text);
    // A quoted cell with a line break makes a record of several lines; the fast path never sees those.
    if (got.length === 1 && !/[\r\n]./.test(text)) rows.push({ text, record: got[0] as CsvRecord });
  }
  return { header, rows };
}

describe("the fast path agrees with the general path", () => {
  const formats: CsvFormat[] = [
    {},
    { separator: ";", lineEnding: "\r\n", dateFormat: "mixed" },
    { dateFormat: "dmy-slash", apostropheNik: 0.1, seed: 5 },
  ];
  for (const format of formats) {
    it(`row by row on a generated roll with every kind of bad row (${JSON.stringify(format)})`, () => {
      const ctx = contextFor(GENERATED.rows, GENERATED.seed);
      const rows: DptRow[] = [...generateDptRows(GENERATED)];
      const lines = [...toCsvLines(rows, format)];
      const { header, rows: data } = records(lines);
      const map = resolveHeader(header);
      const validator = new RowValidator(map, ctx);
      const encoder = new FastRowEncoder(map, ctx, (format.separator ?? ",").charCodeAt(0));
      // Each row's kind by the physical line it starts on (quoted cells may span lines).
      const kinds = new Map<number, string>();
      let at = 1;
      lines.forEach((text, i) => {
        if (i > 0) kinds.set(at, (rows[i - 1] as DptRow).kind);
        at += (text.match(/\r\n|\r|\n/g) ?? []).length;
      });
      let validRows = 0;
      let taken = 0;
      for (const { text, record } of data) {
        const mine = fast(encoder, record.line, text);
        const theirs = general(validator, record);
        const kind = kinds.get(record.line);
        if (mine !== null) {
          expect(theirs.problems, `line ${record.line}`).toEqual([]);
          expect(mine.equals(theirs.tuple), `line ${record.line}`).toBe(true);
          // A duplicate NIK is found after loading, by the roll's key, whichever path loaded the rows.
          expect(ALL_KINDS.filter((k) => k !== "duplicate_nik") as string[]).not.toContain(kind);
          taken++;
        }
        if (kind === "valid") validRows++;
      }
      // The path is worth having only if it takes the common row; apostrophe NIKs are left to the other.
      expect(taken).toBeGreaterThan(validRows * (format.apostropheNik ? 0.8 : 0.95));
    });
  }

  it("on the edges of the rules: eligibility, the voting day, leap days, TPS codes, disability words", () => {
    const ctx = contextFor(1000, 7);
    const header = "nik,nkk,nama,tanggal_lahir,jenis_kelamin,status_kawin,tps,disabilitas".split(",");
    const map = resolveHeader(header);
    const validator = new RowValidator(map, ctx);
    const encoder = new FastRowEncoder(map, ctx, 44);
    const row = (nik: string, date: string, sex: string, marital: string, tps = "001", disability = "") =>
      `${nik},,Nama,${date},${sex},${marital},${tps},${disability}`;
    // [line, whether the fast path must take it]; every line taken must agree with the general path.
    const cases: Array<[string, boolean]> = [
      [row("1607051403110001", "2011-03-14", "L", "S"), true], // 16, married: a voter
      [row("1607051403110001", "2011-03-14", "L", "B"), false], // 16, never married: not yet
      [row("1607051403100001", "2010-03-14", "L", "B"), true], // 17 on the day
      [row("1607051503100001", "2010-03-15", "L", "B"), false], // 17 the day after
      [row("1607051503270001", "2027-03-15", "L", "S"), false], // born after the voting day
      [row("1607051403270001", "2027-03-14", "L", "S"), true], // born on it (married: eligible, odd but legal)
      [row("1607051403960001", "1896-03-14", "L", "S"), false], // 131 years old
      [row("1607051403970001", "1897-03-14", "L", "S"), true], // 130
      [row("1607052902000001", "2000-02-29", "L", "S"), true],
      [row("1607052902000001", "29-02-2000", "L", "S"), true],
      [row("1607052902010001", "2001-02-29", "L", "S"), false],
      [row("1607056902000001", "2000-02-29", "P", "S"), true],
      [row("1607056902000001", "2000-02-29", "L", "S"), false], // NIK says female
      [row("1607052902000001", "2000-02-29", "L", "S", "1"), false], // found only by forgiving the zeros
      [row("1607052902000001", "2000-02-29", "L", "S", "TPS 9"), false], // a code with a blank
      [row("1607052902000001", "2000-02-29", "L", "S", "001", "Tidak Ada"), true],
      [row("1607052902000001", "2000-02-29", "L", "S", "001", " tidak"), false], // to be trimmed
      [row("1607052902000001", "2000-02-29", "L", "S", "001", "tidak"), true],
      [row("1607052902000001", "2000-02-29", "L", "S", "001", "-"), true],
      [row("1607052902000001", "2000-02-29", "L", "S", "001", "Tunanetra"), true],
    ];
    const reader = new CsvReader();
    reader.push(`${header.join(",")}\n`);
    for (const [text, taken] of cases) {
      const record = reader.push(`${text}\n`)[0] as CsvRecord;
      const mine = fast(encoder, record.line, text);
      expect(mine !== null, text).toBe(taken);
      if (mine !== null) {
        const theirs = general(validator, record);
        expect(theirs.problems, text).toEqual([]);
        expect(mine.equals(theirs.tuple), text).toBe(true);
      }
    }
  });

  it("on random lines near the valid ones", () => {
    const ctx = contextFor(1000, 7);
    const header = [...ROLL_COLUMNS, "extra"];
    const map = resolveHeader(header);
    const validator = new RowValidator(map, ctx);
    const encoder = new FastRowEncoder(map, ctx, 44);
    let taken = 0;
    const noise = fc.string({
      unit: fc.constantFrom(
        "a",
        "Z",
        " ",
        "  ",
        "\t",
        "\u00a0",
        "\u3000",
        "é",
        "'",
        "-",
        "/",
        "0",
        "9",
        "\\",
        ";",
      ),
      maxLength: 6,
    });
    // Mostly a cell's first (clean) value, so that whole lines are often clean; sometimes another, or noise.
    const cell = (...values: string[]) =>
      fc.oneof(
        { weight: 17, arbitrary: fc.constant(values[0] as string) },
        { weight: 2, arbitrary: fc.constantFrom(...values) },
        { weight: 1, arbitrary: noise },
      );
    const digits = (n: number) =>
      fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: n, maxLength: n });
    const dates = [
      "1973-11-18",
      "18-11-1973",
      "18/11/1973",
      "1973-02-29",
      "2011-01-01",
      "2027-03-15",
      "1890-01-01",
    ];
    const line = fc
      .tuple(
        fc.constantFrom("160705", "160706"),
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom("0001", "0203") },
          { weight: 1, arbitrary: digits(4) },
        ),
        fc.oneof(digits(16), cell("", " ", "1607050902170001")),
        cell("Andi Halim", "Nurul", " Nurul", "Nurul  Putri", "Ni Ketut Ayu", "Ayu\u00a0Sari", "Zoë"),
        cell("", "Palembang", " Palembang", "Palembang "),
        cell(...dates),
        cell("L", "P", "l", "Laki-laki"),
        cell("B", "S", "P", "b"),
        cell("", "Jl. Tanggul No. 2", "Jl.  Tanggul"),
        cell("", "Dusun I"),
        cell("", "001", "00000000001"),
        cell("", "002"),
        cell("001", "002", "1", "TPS 9", "KHUSUS-RSUD", "Ä1", "999", " 001"),
        cell("", "-", "tidak", "Tidak Ada", "1", "Tunanetra", "tıdak", "NONE "),
        cell("", "Pindah datang"),
        cell("", "x"),
        fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: noise }),
        fc.constantFrom(0, 0, 0, 0, 1, 100),
      )
      .map(([region, serial, ...rest]) => {
        // Now and then the NIK's year digits are off by one (or a century, which is the same digits).
        const shift = rest.pop() as unknown as number;
        // Mostly a NIK that agrees with the row's birth date and sex (else it is only a warning's worth).
        const [date, sex] = [rest[3] as string, rest[4] as string];
        const iso = /^\d{4}/.test(date) ? date : `${date.slice(6)}-${date.slice(3, 5)}-${date.slice(0, 2)}`;
        const day = Number(iso.slice(8, 10)) + (sex === "P" ? 40 : 0);
        const yy = String((Number(iso.slice(2, 4)) + shift) % 100).padStart(2, "0");
        const nik = `${region}${String(day).padStart(2, "0")}${iso.slice(5, 7)}${yy}${serial}`;
        const noisyNik = rest.pop();
        return [noisyNik ?? nik, ...rest] as string[];
      });
    fc.assert(
      fc.property(line, fc.constantFrom("", ",", ",,"), (cells, tail) => {
        const text = cells.join(",") + tail;
        const reader = new CsvReader();
        reader.push(`${header.join(",")}\n`);
        const got = [...reader.push(`${text}\n`), ...reader.end()];
        if (got.length !== 1) return;
        const record = got[0] as CsvRecord;
        const mine = fast(encoder, record.line, text);
        if (mine === null) return;
        taken++;
        const theirs = general(validator, record);
        expect(theirs.problems).toEqual([]);
        expect(mine.equals(theirs.tuple)).toBe(true);
      }),
      { seed: 2027, numRuns: 20_000 },
    );
    expect(taken).toBeGreaterThan(200); // the property was tested on lines the fast path took, not only declined
  });
});

/** The importer's loop in small: every record through the validator, or lines through the fast path too. */
function encodeFile(bytes: Buffer, cuts: number[], withFastPath: boolean) {
  const ctx = contextFor(GENERATED.rows, GENERATED.seed);
  const out = new BinaryCopyBuffer(1 << 16, countingIds());
  const reader = new CsvReader();
  const problems: RollProblem[] = [];
  const lines: number[] = [];
  let validator: RowValidator | null = null;
  const handle = (records: CsvRecord[]) => {
    for (const record of records) {
      if (validator === null) {
        const header = resolveHeader(record.fields);
        validator = new RowValidator(header, ctx);
        if (withFastPath)
          input.fast = new FastRowEncoder(header, ctx, (reader.delimiter as string).charCodeAt(0));
        continue;
      }
      if (isBlankRow(record.fields)) continue;
      const result = validator.validate(record.line, record.fields, record.flags);
      problems.push(...result.problems);
      if (result.voter) {
        out.voter(record.line, result.voter, uuidBytes(result.voter.tps_id));
        lines.push(record.line);
      }
    }
  };
  const input = new RollInput(reader, "utf-8", out, handle, () => lines.push(-1));
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let last = 0;
  for (const p of [...points, bytes.length]) {
    input.push(bytes.subarray(last, p));
    last = p;
  }
  input.end();
  out.trailer();
  return {
    copy: Buffer.from(out.take()),
    problems,
    rows: lines.length,
    general: lines.filter((l) => l > 0).length,
  };
}

describe("routing a file's lines", () => {
  it("gives the same COPY data and problems with and without the fast path, however the bytes are chunked", () => {
    const small = { ...GENERATED, rows: 400, quotedMultiline: 0.05 };
    const rows = [...generateDptRows(small)];
    const files = [
      Buffer.from([...toCsvLines(rows)].join("")),
      Buffer.from(
        [...toCsvLines(rows, { separator: ";", lineEnding: "\r\n", bom: true, dateFormat: "mixed" })].join(
          "",
        ),
      ),
      // No final line break, and a CR-only line end in the middle.
      Buffer.from([...toCsvLines(rows)].join("").replace(/\n$/, "").replace("\n", "\r")),
    ];
    for (const file of files) {
      const whole = encodeFile(file, [], false);
      expect(whole.rows).toBeGreaterThan(300);
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 8 }), (cuts) => {
          const routed = encodeFile(file, cuts, true);
          expect(routed.problems).toEqual(whole.problems);
          expect(routed.rows).toBe(whole.rows);
          expect(routed.general).toBeLessThan(whole.rows / 2); // the fast path did take most rows
          expect(routed.copy.equals(whole.copy)).toBe(true);
        }),
        { seed: 99, numRuns: 40 },
      );
    }
  });

  it("refuses invalid UTF-8 wherever it is, as the decoder does", () => {
    const file = Buffer.from([...toCsvLines([...generateDptRows({ ...GENERATED, rows: 50 })])].join(""));
    for (const at of [10, file.length >> 1, file.length - 2]) {
      const bad = Buffer.concat([file.subarray(0, at), Buffer.from([0xff]), file.subarray(at)]);
      expect(() => encodeFile(bad, [at + 1], true)).toThrow(
        expect.objectContaining({ code: "ERR_ENCODING_INVALID_ENCODED_DATA" }),
      );
    }
  });
});

describe("binary COPY values", () => {
  it("counts dates in days from 2000-01-01 as PostgreSQL does", () => {
    expect(pgDate(2000, 1, 1)).toBe(0);
    expect(pgDate(1999, 12, 31)).toBe(-1);
    expect(pgDate(2027, 3, 14)).toBe(9934);
    expect(daysFromCivil(1970, 1, 1)).toBe(0);
    expect(pgDate(1900, 3, 1) - pgDate(1900, 2, 28)).toBe(1);
  });

  it("hands out chunks that later writes never touch, whether the buffer goes on or is replaced", () => {
    // The same tuples written into a buffer taken from every 300 bytes (going on in it while 1,000 bytes are
    // left, growing when one tuple does not fit) and into one never taken from until the end.
    const write = (out: BinaryCopyBuffer, i: number) => {
      const text = Buffer.from("x".repeat(i % 97 === 0 ? 5000 : i % 40));
      out.ensure(TUPLE_FIXED_BYTES + text.length);
      out.beginTuple(i);
      out.bytes(text, 0, text.length);
      out.null();
    };
    const chunked = new BinaryCopyBuffer(4096, countingIds(), 1000);
    const taken: Buffer[] = [];
    const whole = new BinaryCopyBuffer(1 << 20, countingIds());
    for (let i = 0; i < 2000; i++) {
      write(chunked, i);
      write(whole, i);
      if (chunked.pending >= 300) taken.push(chunked.take());
    }
    taken.push(chunked.take());
    expect(chunked.pending).toBe(0);
    expect(taken.length).toBeGreaterThan(100);
    expect(Buffer.concat(taken).equals(whole.take())).toBe(true);
  });

  it("makes random version-4 ids", () => {
    const next = randomIds();
    const out = Buffer.alloc(16 * 5000);
    for (let i = 0; i < 5000; i++) next(out, i * 16);
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = out.subarray(i * 16, i * 16 + 16);
      expect((id[6] as number) >> 4).toBe(4);
      expect((id[8] as number) >> 6).toBe(2);
      ids.add(id.toString("hex"));
    }
    expect(ids.size).toBe(5000);
  });
});
