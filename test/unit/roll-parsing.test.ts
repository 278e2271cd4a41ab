// The pieces of the roll import that need no database: the CSV reader (whatever the chunking), NIK rules,
// dates, TPS codes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CONTROL_CHARACTER,
  COPY_SPECIAL,
  CsvFormatError,
  CsvReader,
  type CsvRecord,
} from "../../src/modules/roll/csv-reader.js";
import { maskNik, nikFacts, parseIdentityNumber } from "../../src/modules/roll/nik.js";
import { ageOn, normaliseHeaderName, parseDate, resolveTps } from "../../src/modules/roll/roll-row.js";

function readAll(chunks: string[]): CsvRecord[] {
  const reader = new CsvReader();
  const out: CsvRecord[] = [];
  for (const chunk of chunks) out.push(...reader.push(chunk));
  out.push(...reader.end());
  return out;
}

function splitAt(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(text.slice(last, p));
    last = p;
  }
  parts.push(text.slice(last));
  return parts;
}

const SAMPLE = 'a;b;c\r\n1;"x; y";3\r\n"multi\r\nline";"say ""hi""";\r\n\r\nlast;row;end';

describe("the CSV reader", () => {
  it("reads quoted separators, doubled quotes, multi-line fields and records' start lines", () => {
    expect(readAll([SAMPLE]).map(({ line, fields }) => ({ line, fields }))).toEqual([
      { line: 1, fields: ["a", "b", "c"] },
      { line: 2, fields: ["1", "x; y", "3"] },
      { line: 3, fields: ["multi\r\nline", 'say "hi"', ""] },
      { line: 5, fields: [""] },
      { line: 6, fields: ["last", "row", "end"] },
    ]);
  });

  it("gives the same records however the text is cut into chunks", () => {
    const whole = readAll([SAMPLE]);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        expect(readAll(splitAt(SAMPLE, cuts))).toEqual(whole);
      }),
      { seed: 6962, numRuns: 500 },
    );
  });

  it("round-trips any table written with RFC 4180 quoting, with CRLF, LF or CR line ends", () => {
    const cell = fc.string({ unit: fc.constantFrom("a", "b", ",", '"', "\n", "\r", " ", "é", "1") });
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom("\r\n", "\n", "\r"),
        fc.array(fc.nat(), { maxLength: 6 }),
        (rows, eol, cuts) => {
          const table = [["h1", "h2", "h3"], ...rows];
          const text =
            table.map((r) => r.map((c) => `"${c.replaceAll('"', '""')}"`).join(",")).join(eol) + eol;
          expect(readAll(splitAt(text, cuts)).map((r) => r.fields)).toEqual(table);
        },
      ),
      { seed: 4180, numRuns: 300 },
    );
  });

  it("flags control characters and the characters COPY must escape, wherever they are", () => {
    const flagsOf = (text: string) => readAll([text]).map((r) => r.flags);
    expect(flagsOf("a,b\nx,y\n")).toEqual([0, 0]);
    expect(flagsOf("a,b\nx\u0007,y\n")).toEqual([0, CONTROL_CHARACTER]);
    expect(flagsOf('a,b\n"x\u0000",y\n')).toEqual([0, CONTROL_CHARACTER]);
    expect(flagsOf("a,b\nx\\y,z\n")).toEqual([0, COPY_SPECIAL]);
    expect(flagsOf("a,b\nx\ty,z\n")).toEqual([0, COPY_SPECIAL]);
    expect(flagsOf('a,b\n"two\nlines",z\nnext,row\n')).toEqual([0, COPY_SPECIAL, 0]);
  });

  it("detects ';' from the header line, and ',' otherwise", () => {
    const semi = new CsvReader();
    semi.push("nik;nama;tps\n1;a;001\n");
    expect(semi.delimiter).toBe(";");
    const comma = new CsvReader();
    comma.push("nik,nama,tps\n");
    expect(comma.delimiter).toBe(",");
  });

  it("refuses an unclosed quote, naming the line it opened on, and a stray quote", () => {
    expect(() => readAll(['a,b\n1,"never closed\n2,3\n'])).toThrow(CsvFormatError);
    let caught: unknown;
    try {
      readAll(['a,b\n1,2\n3,"open\nstill\n']);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CsvFormatError);
    expect((caught as CsvFormatError).line).toBe(3);
    expect(() => readAll(['a,b\n1,x"y\n'])).toThrow(/quote inside an unquoted field/);
    expect(() => readAll(['a,b\n"1"x,2\n'])).toThrow(/after a closing quote/);
  });
});

describe("NIK", () => {
  it("strips Excel's apostrophe and blanks, and explains scientific notation", () => {
    expect(parseIdentityNumber(" '1607054307850002 ", "NIK")).toEqual({ ok: true, nik: "1607054307850002" });
    const sci = parseIdentityNumber("1.60705E+15", "NIK");
    expect(sci).toMatchObject({ ok: false, code: "NIK_SCIENTIFIC" });
    expect(parseIdentityNumber("1,60705E+15", "NIK")).toMatchObject({ code: "NIK_SCIENTIFIC" });
    expect(parseIdentityNumber("160705430785000", "NIK")).toMatchObject({ code: "NIK_MALFORMED" });
    expect(parseIdentityNumber("16070543078500021", "NIK")).toMatchObject({ code: "NIK_MALFORMED" });
    expect(parseIdentityNumber("1607-0543-0785-0002", "NIK")).toMatchObject({ code: "NIK_MALFORMED" });
    expect(parseIdentityNumber("", "NIK")).toMatchObject({ code: "NIK_MISSING" });
  });

  it("reads region, birth date and sex (day + 40 for women), and refuses what cannot be a NIK", () => {
    expect(nikFacts("1607054307850002")).toEqual({
      facts: { region: "160705", day: 3, month: 7, yy: 85, sex: "P" },
    });
    expect(nikFacts("1607051501800001")).toMatchObject({ facts: { day: 15, sex: "L" } });
    expect(nikFacts("1607053501800001")).toHaveProperty("error"); // day 35
    expect(nikFacts("1607051513800001")).toHaveProperty("error"); // month 13
    expect(nikFacts("1607051501800000")).toHaveProperty("error"); // serial 0000
    expect(nikFacts("0007051501800001")).toHaveProperty("error"); // province 00
  });

  it("is masked in lists with its birth date hidden", () => {
    expect(maskNik("1607054307850002")).toBe("1607xxxxxxxx0002");
  });
});

describe("dates, ages, TPS codes and headers", () => {
  it("reads the three date formats and refuses days that do not exist", () => {
    expect(parseDate("1985-07-03")).toBe("1985-07-03");
    expect(parseDate("03-07-1985")).toBe("1985-07-03");
    expect(parseDate("3/7/1985")).toBe("1985-07-03");
    expect(parseDate("31/02/1980")).toBeNull();
    expect(parseDate("29/02/2000")).toBe("2000-02-29");
    expect(parseDate("29/02/1900")).toBeNull();
    expect(parseDate("03-07/1985")).toBeNull();
    expect(parseDate("1985/07/03")).toBeNull();
  });

  it("counts age in whole years on the voting day", () => {
    expect(ageOn("2010-03-14", "2027-03-14")).toBe(17);
    expect(ageOn("2010-03-15", "2027-03-14")).toBe(16);
  });

  it("finds a TPS by its code, forgiving leading zeros and a 'TPS' prefix", () => {
    const codes = new Map([
      ["001", "a"],
      ["002", "b"],
      ["KHUSUS-1", "c"],
    ]);
    expect(resolveTps("001", codes)).toBe("a");
    expect(resolveTps("2", codes)).toBe("b");
    expect(resolveTps("TPS 02", codes)).toBe("b");
    expect(resolveTps("KHUSUS-1", codes)).toBe("c");
    expect(resolveTps("3", codes)).toBeUndefined();
  });

  it("normalises header names", () => {
    expect(normaliseHeaderName("\uFEFFNo. KK")).toBe("no_kk");
    expect(normaliseHeaderName(" Tanggal Lahir ")).toBe("tanggal_lahir");
  });
});
