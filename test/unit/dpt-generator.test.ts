// The synthetic DPT generator that importer tests, the demo and the benchmarks stand on: it must be
// deterministic, follow the NIK rules of SPEC §3 in every valid row, break each bad row in exactly the way its
// kind says, write CSV that an RFC 4180 reader gets back cell for cell, and stream without holding the file.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { parseCommand } from "../../scripts/generate-dpt.js";
import {
  BAD_ROW_KINDS,
  type BadRowKind,
  type CsvFormat,
  DPT_COLUMNS,
  type DptOptions,
  type DptRow,
  expectedOutcome,
  generateDptRows,
  planTps,
  toCsvLines,
  WARNING_ROW_KINDS,
  writeDptFile,
} from "../../scripts/lib/dpt-generator.js";

const VOTING_DAY = "2027-03-14";
const VILLAGE = "160705";
const ALL_KINDS: readonly BadRowKind[] = [...BAD_ROW_KINDS, ...WARNING_ROW_KINDS];

function everyKind(share: number): Partial<Record<BadRowKind, number>> {
  return Object.fromEntries(ALL_KINDS.map((kind) => [kind, share]));
}

function csvText(options: DptOptions, format: CsvFormat = {}): string {
  return [...toCsvLines(generateDptRows(options), { seed: options.seed, ...format })].join("");
}

// --- A reference reading of a row, written independently of the generator --------------------------------

function isRealDate(iso: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === iso;
}

function ageOn(birth: string, day: string): number {
  return Number(day.slice(0, 4)) - Number(birth.slice(0, 4)) - (day.slice(5) < birth.slice(5) ? 1 : 0);
}

interface NikFacts {
  region: string;
  day: number;
  month: number;
  yy: number;
  sex: "L" | "P";
}

function nikFacts(nik: string): NikFacts {
  const dd = Number(nik.slice(6, 8));
  return {
    region: nik.slice(0, 6),
    day: dd > 40 ? dd - 40 : dd,
    month: Number(nik.slice(8, 10)),
    yy: Number(nik.slice(10, 12)),
    sex: dd > 40 ? "P" : "L",
  };
}

/** Every defect an importer following SPEC §3 would find in this row on its own (duplicates need the file). */
function defectsOf(row: DptRow, tpsCodes: ReadonlySet<string>): BadRowKind[] {
  const found: BadRowKind[] = [];
  let nikIsWellFormed = false;
  if (/^\d(?:\.\d+)?E\+\d+$/.test(row.nik)) found.push("nik_scientific");
  else if (/[^0-9]/.test(row.nik)) found.push("nik_letters");
  else if (row.nik.length === 15) found.push("nik_short");
  else if (row.nik.length === 17) found.push("nik_long");
  else if (row.nik.endsWith("0000")) found.push("nik_zero_serial");
  else nikIsWellFormed = row.nik.length === 16;

  const dateIsReal = isRealDate(row.tanggal_lahir);
  if (/^\d{4}-02-31$/.test(row.tanggal_lahir)) found.push("date_feb31");
  else if (!dateIsReal) found.push("date_garbage");
  const sexIsValid = row.jenis_kelamin === "L" || row.jenis_kelamin === "P";
  if (!sexIsValid) found.push("bad_sex");
  const maritalIsValid = ["B", "S", "P"].includes(row.status_kawin);
  if (!maritalIsValid) found.push("bad_marital");
  if (row.nama.trim() === "") found.push("missing_name");
  if (!tpsCodes.has(row.tps)) found.push("unknown_tps");
  if (dateIsReal && maritalIsValid && ageOn(row.tanggal_lahir, VOTING_DAY) < 17 && row.status_kawin === "B") {
    found.push("underage_unmarried");
  }

  if (nikIsWellFormed) {
    const facts = nikFacts(row.nik);
    if (facts.region !== VILLAGE) found.push("nik_region_mismatch");
    if (sexIsValid && facts.sex !== row.jenis_kelamin) found.push("nik_sex_mismatch");
    const [year, month, day] = row.tanggal_lahir.split("-").map(Number);
    if (dateIsReal && (facts.day !== day || facts.month !== month || facts.yy !== (year ?? 0) % 100)) {
      found.push("nik_birthdate_mismatch");
    }
  }
  return found;
}

/** A small RFC 4180 reader: quoted fields may hold separators, doubled quotes, CR and LF. */
function readCsv(text: string, separator: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === separator) {
      record.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[index + 1] === "\n") index++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += char;
  }
  if (field !== "" || record.length > 0) records.push([...record, field]);
  return records;
}

function isRealDateShape(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value);
}

function toIso(cell: string): string {
  const dmy = /^(\d{2})[-/](\d{2})[-/](\d{4})$/.exec(cell);
  return dmy ? `${dmy[3]}-${dmy[2]}-${dmy[1]}` : cell;
}

// ----------------------------------------------------------------------------------------------------------

describe("determinism", () => {
  const options: DptOptions = {
    rows: 3000,
    seed: 42,
    votingDay: VOTING_DAY,
    bad: everyKind(0.005),
    quotedMultiline: 0.02,
  };
  const format: CsvFormat = {
    separator: ";",
    lineEnding: "\r\n",
    bom: true,
    dateFormat: "mixed",
    apostropheNik: 0.1,
  };

  it("gives the same bytes for the same seed and different bytes for another seed", () => {
    const first = csvText(options, format);
    expect(csvText(options, format)).toBe(first);
    expect(csvText({ ...options, seed: 43 }, format)).not.toBe(first);
  });

  it("keeps the households, names and birth dates when only the damage requested changes", () => {
    const clean = [...generateDptRows({ ...options, bad: {}, quotedMultiline: false, marriedMinorShare: 0 })];
    const damaged = [...generateDptRows(options)];
    const same = damaged.filter((row, index) => row.kind === "valid" && row.nama === clean[index]?.nama);
    expect(same.length).toBeGreaterThan(damaged.filter((row) => row.kind === "valid").length * 0.95);
  });
});

describe("TPS plan", () => {
  it.each([
    [5000, [200, 600]],
    [1_000_000, [200, 600]],
    [12_000, [300, 300]],
    [777, [100, 150]],
  ] as const)("splits %i rows into TPS within %j that add up exactly", (rows, [min, max]) => {
    const plan = planTps({ rows, seed: 7, tpsSize: [min, max] });
    expect(plan.reduce((sum, tps) => sum + tps.voters, 0)).toBe(rows);
    for (const tps of plan) {
      expect(tps.voters).toBeGreaterThanOrEqual(min);
      expect(tps.voters).toBeLessThanOrEqual(max);
    }
    expect(plan.map((tps) => tps.code)).toEqual(plan.map((_, index) => String(index + 1).padStart(3, "0")));
  });

  it("gives a roll smaller than one TPS a single TPS, and an empty roll none", () => {
    expect(planTps({ rows: 150, seed: 1 })).toEqual([{ code: "001", voters: 150 }]);
    expect(planTps({ rows: 0, seed: 1 })).toEqual([]);
  });

  it("assigns rows to TPS in order and keeps each family (NKK) together at one TPS", () => {
    const options: DptOptions = { rows: 20_000, seed: 5, votingDay: VOTING_DAY };
    const plan = planTps(options);
    const rows = [...generateDptRows(options)];
    const expectedTps = plan.flatMap((tps) => Array<string>(tps.voters).fill(tps.code));
    expect(rows.map((row) => row.tps)).toEqual(expectedTps);

    const families = new Map<string, { tps: Set<string>; members: number; first: number; last: number }>();
    rows.forEach((row, index) => {
      const family = families.get(row.nkk) ?? { tps: new Set(), members: 0, first: index, last: index };
      family.tps.add(row.tps);
      family.members++;
      family.last = index;
      families.set(row.nkk, family);
    });
    for (const family of families.values()) {
      expect(family.tps.size).toBe(1);
      expect(family.members).toBeGreaterThanOrEqual(2);
      expect(family.members).toBeLessThanOrEqual(6);
      expect(family.last - family.first + 1).toBe(family.members); // listed together
    }
  });
});

describe("valid rows", () => {
  const rows = [
    ...generateDptRows({ rows: 30_000, seed: 11, votingDay: VOTING_DAY, marriedMinorShare: 0.01 }),
  ];
  const valid = rows.filter((row) => row.kind === "valid");

  it("carry a 16-digit NIK of the village's district, birth date (day + 40 for women) and a non-zero serial", () => {
    const wrong = valid.filter((row) => {
      const facts = nikFacts(row.nik);
      const [year, month, day] = row.tanggal_lahir.split("-").map(Number);
      return !(
        /^\d{16}$/.test(row.nik) &&
        facts.region === VILLAGE &&
        facts.day === day &&
        facts.month === month &&
        facts.yy === (year ?? 0) % 100 &&
        facts.sex === row.jenis_kelamin &&
        row.nik.slice(12) !== "0000" &&
        /^160705\d{10}$/.test(row.nkk)
      );
    });
    expect(valid.length).toBeGreaterThan(29_000);
    expect(wrong).toEqual([]);
  });

  it("are voters aged 17 to 90 on the voting day, except married 16-year-olds (status S)", () => {
    const ages = valid.map((row) =>
      isRealDate(row.tanggal_lahir) ? ageOn(row.tanggal_lahir, VOTING_DAY) : -1,
    );
    expect(Math.min(...ages)).toBe(17);
    expect(Math.max(...ages)).toBe(90);
    const minors = rows.filter((row) => row.kind === "married_minor");
    expect(minors).toHaveLength(300);
    for (const row of minors) {
      expect(ageOn(row.tanggal_lahir, VOTING_DAY)).toBe(16);
      expect(row.status_kawin).toBe("S");
      expect(defectsOf(row, new Set([row.tps]))).toEqual([]);
    }
  });

  it("look like a Banyuasin village: both sexes, all marital statuses, RT/RW codes, varied names", () => {
    const share = (predicate: (row: DptRow) => boolean) => valid.filter(predicate).length / valid.length;
    expect(share((row) => row.jenis_kelamin === "P")).toBeGreaterThan(0.4);
    expect(share((row) => row.jenis_kelamin === "P")).toBeLessThan(0.6);
    expect(share((row) => row.status_kawin === "S")).toBeGreaterThan(0.45);
    expect(share((row) => row.status_kawin === "B")).toBeGreaterThan(0.15);
    expect(share((row) => row.status_kawin === "P")).toBeGreaterThan(0.03);
    expect(share((row) => row.disabilitas !== "")).toBeLessThan(0.05);
    expect(share((row) => row.disabilitas !== "")).toBeGreaterThan(0.01);
    expect(valid.filter((row) => !/^\d{3}$/.test(row.rt) || !/^\d{3}$/.test(row.rw))).toEqual([]);
    expect(valid.filter((row) => row.nama.trim() === "")).toEqual([]);
    expect(new Set(valid.map((row) => row.nama.split(" ")[0])).size).toBeGreaterThan(100);
    expect(new Set(valid.map((row) => row.dusun)).size).toBe(6);
  });
});

describe("bad and warning rows", () => {
  const rowCount = 40_000;
  const share = 0.004;
  const options: DptOptions = { rows: rowCount, seed: 3, votingDay: VOTING_DAY, bad: everyKind(share) };
  const rows = [...generateDptRows(options)];
  const tpsCodes = new Set(planTps(options).map((tps) => tps.code));

  it.each(ALL_KINDS)("%s appears at the requested share", (kind) => {
    const count = rows.filter((row) => row.kind === kind).length;
    expect(Math.abs(count - share * rowCount)).toBeLessThanOrEqual(2);
  });

  it("each have exactly the defect their kind names, and valid rows none", () => {
    const wrong = rows.flatMap((row) => {
      const clean = row.kind === "valid" || row.kind === "married_minor" || row.kind === "duplicate_nik";
      const defects = defectsOf(row, tpsCodes);
      const expected = clean ? [] : [row.kind];
      return defects.join() === expected.join() ? [] : [{ row, defects }];
    });
    expect(wrong).toEqual([]);
  });

  it("are labelled with what the importer must do", () => {
    expect(expectedOutcome("nik_scientific")).toBe("rejected");
    expect(expectedOutcome("duplicate_nik")).toBe("rejected");
    expect(expectedOutcome("nik_sex_mismatch")).toBe("warning");
    expect(expectedOutcome("married_minor")).toBe("accepted");
    expect(expectedOutcome("valid")).toBe("accepted");
  });

  it("repeat NIKs only in duplicate_nik pairs, each an earlier row repeated in another family", () => {
    const seen = new Map<string, number[]>();
    rows.forEach((row, index) => {
      if (!/^\d{16}$/.test(row.nik)) return;
      const indexes = seen.get(row.nik);
      if (indexes) indexes.push(index);
      else seen.set(row.nik, [index]);
    });
    const repeated = [...seen].filter(([, indexes]) => indexes.length > 1);
    expect(repeated.length).toBe(Math.round((share * rowCount) / 2));
    for (const [nik, indexes] of repeated) {
      const kinds = indexes.map((index) => rows[index]?.kind);
      expect({ nik, kinds }).toEqual({ nik, kinds: ["duplicate_nik", "duplicate_nik"] });
      const [first, second] = indexes.map((index) => rows[index]);
      expect(first?.nkk).not.toBe(second?.nkk);
      expect(second?.nama).toBe(first?.nama);
      expect(second?.tanggal_lahir).toBe(first?.tanggal_lahir);
    }
    expect(
      rows.filter((row) => row.kind === "duplicate_nik").every((row) => seen.get(row.nik)?.length === 2),
    ).toBe(true);
  });

  it("write scientific NIKs the way Excel shows them", () => {
    const scientific = rows.filter((row) => row.kind === "nik_scientific");
    expect(scientific.length).toBeGreaterThan(0);
    for (const row of scientific) expect(row.nik).toMatch(/^[1-9](\.\d{1,5})?E\+15$/);
  });

  it("refuses shares that add up to more than every row", () => {
    expect(() =>
      generateDptRows({ rows: 100, seed: 1, votingDay: VOTING_DAY, bad: { bad_sex: 0.7, nik_long: 0.4 } }),
    ).toThrow(RangeError);
    expect(() => generateDptRows({ rows: 100, seed: 1, votingDay: "2027-02-30" })).toThrow(/votingDay/);
  });
});

describe("CSV", () => {
  const options: DptOptions = {
    rows: 4000,
    seed: 9,
    votingDay: VOTING_DAY,
    bad: everyKind(0.003),
    quotedMultiline: 0.05,
  };
  const rows = [...generateDptRows(options)];

  it.each([
    [{}],
    [{ separator: ";", lineEnding: "\r\n", bom: true, dateFormat: "mixed", apostropheNik: 0.2 }],
    [{ separator: ",", lineEnding: "\r\n", dateFormat: "dmy-slash" }],
    [{ separator: ";", dateFormat: "dmy-dash", apostropheNik: 1 }],
  ] satisfies [CsvFormat][])("round-trips through an RFC 4180 reader with %j", (format: CsvFormat) => {
    const lines = [...toCsvLines(rows, format)];
    const ending = format.lineEnding ?? "\n";
    for (const line of lines) expect(line.endsWith(ending)).toBe(true);
    let text = lines.join("");
    expect(text.startsWith("\uFEFF")).toBe(format.bom === true);
    if (format.bom) text = text.slice(1);

    const [header, ...records] = readCsv(text, format.separator ?? ",");
    expect(header).toEqual([...DPT_COLUMNS]);
    expect(records).toHaveLength(rows.length);
    const differing = records.flatMap((record, index) => {
      const row = rows[index];
      if (row === undefined) throw new Error("more records than rows");
      const unquoted = DPT_COLUMNS.map((column, at) => {
        const cell = record[at] ?? "";
        if (column === "nik" || column === "nkk") return cell.replace(/^'/, "");
        // Garbage dates are written as they are, whatever the format.
        if (column === "tanggal_lahir" && isRealDateShape(row.tanggal_lahir)) return toIso(cell);
        return cell;
      });
      const written = DPT_COLUMNS.map((column) => row[column]);
      return unquoted.join("\u0000") === written.join("\u0000") ? [] : [{ index, unquoted, written }];
    });
    expect(differing).toEqual([]);
  });

  it("quotes fields with separators, quotes and line breaks, doubling inner quotes", () => {
    const awkward = rows.filter((row) => /[",;\r\n]/.test(row.alamat + row.keterangan));
    expect(awkward.some((row) => (row.alamat + row.keterangan).includes("\n"))).toBe(true);
    const row = rows.find((candidate) => candidate.alamat.includes('"'));
    if (row === undefined) throw new Error("no alamat with a quote");
    const [, line] = [...toCsvLines([row])];
    expect(line).toContain(`"${row.alamat.replaceAll('"', '""')}"`);
  });

  it("writes dates in the requested format, rotating through all three when mixed", () => {
    const clean = rows.filter((row) => row.kind === "valid").slice(0, 3);
    const dates = (dateFormat: CsvFormat["dateFormat"]) =>
      [...toCsvLines(clean, { dateFormat })].slice(1).map((line) => line.split(",")[4]);
    const [year, month, day] = (clean[0]?.tanggal_lahir ?? "").split("-");
    expect(dates("iso")[0]).toBe(`${year}-${month}-${day}`);
    expect(dates("dmy-dash")[0]).toBe(`${day}-${month}-${year}`);
    expect(dates("dmy-slash")[0]).toBe(`${day}/${month}/${year}`);
    expect(dates("mixed").map((date) => (date?.includes("/") ? "/" : date?.indexOf("-")))).toEqual([
      4,
      2,
      "/",
    ]);
  });
});

describe("streaming to a file", () => {
  it("writes 200,000 rows with bounded live heap and reports rows, TPS and bytes", async () => {
    const folder = await mkdtemp(join(tmpdir(), "dpt-"));
    try {
      const path = join(folder, "dpt.csv");
      const options: DptOptions = {
        rows: 200_000,
        seed: 1,
        votingDay: VOTING_DAY,
        bad: { nik_short: 0.001 },
      };
      // Measure what is live, not garbage V8 has not bothered to collect yet: collect, then read.
      setFlagsFromString("--expose-gc");
      const collect = runInNewContext("gc") as () => void;
      const live = () => {
        collect();
        return process.memoryUsage().heapUsed;
      };
      const before = live();
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, live());
      }, 250);
      const started = performance.now();
      const summary = await writeDptFile(path, options, { separator: ";", lineEnding: "\r\n" });
      const seconds = (performance.now() - started) / 1000;
      clearInterval(sampler);

      expect(summary.rows).toBe(200_000);
      expect(summary.tps).toEqual(planTps(options));
      const file = await readFile(path);
      expect(file.length).toBe(summary.bytes);
      expect(summary.bytes).toBeGreaterThan(20_000_000); // so that holding the file would show in the heap
      expect(file.toString("utf8").split("\r\n")).toHaveLength(200_002); // header, rows, final empty piece
      // The file is ~24 MB; holding it (or its rows) would show. Streaming keeps ~1 MB of chunks in flight.
      expect(peak - before).toBeLessThan(16 * 1024 * 1024);
      expect(seconds).toBeLessThan(20);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("command line", () => {
  it("spreads --bad-share evenly over the rejected kinds and lets --bad name particular kinds", () => {
    const command = parseCommand([
      "--rows",
      "5000",
      "--seed",
      "42",
      "--voting-day",
      VOTING_DAY,
      "--bad-share",
      "0.013",
      "--bad",
      "nik_scientific=0.002,nik_sex_mismatch=0.01",
      "--separator",
      ";",
      "--crlf",
      "--date-format",
      "mixed",
      "--tps-size",
      "300-400",
    ]);
    if (command === "help") throw new Error("expected a command");
    expect(command.options.bad?.bad_sex).toBeCloseTo(0.001);
    expect(command.options.bad?.nik_scientific).toBe(0.002);
    expect(command.options.bad?.nik_sex_mismatch).toBe(0.01);
    expect(command.options.bad?.nik_region_mismatch).toBeUndefined();
    expect(command.options.tpsSize).toEqual([300, 400]);
    expect(command.format).toMatchObject({ separator: ";", lineEnding: "\r\n", dateFormat: "mixed" });
    expect(command.out).toBeUndefined();
  });

  it("refuses unknown kinds and missing required options", () => {
    expect(() => parseCommand(["--rows", "10", "--voting-day", VOTING_DAY, "--bad", "nik_typo=0.1"])).toThrow(
      /unknown kind/,
    );
    expect(() => parseCommand(["--rows", "10"])).toThrow(/voting-day/);
  });
});
