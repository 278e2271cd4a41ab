// One DPT row, from spreadsheet cells to a voter (SPEC §3): header names in Indonesian or English, dates in the
// three formats committees use, L/P and B/S/P, eligibility on the voting day, the TPS by its code, and every
// problem reported with its column, code and a message a committee member can act on.

import { CONTROL_CHARACTER } from "./csv-reader.js";
import { type NikFacts, type NikParse, nikFacts, parseIdentityNumber } from "./nik.js";

export const ROLL_COLUMNS = [
  "nik",
  "nkk",
  "nama",
  "tempat_lahir",
  "tanggal_lahir",
  "jenis_kelamin",
  "status_kawin",
  "alamat",
  "dusun",
  "rt",
  "rw",
  "tps",
  "disabilitas",
  "keterangan",
] as const;
export type RollColumn = (typeof ROLL_COLUMNS)[number];

export const REQUIRED_COLUMNS: readonly RollColumn[] = [
  "nik",
  "nama",
  "tanggal_lahir",
  "jenis_kelamin",
  "status_kawin",
  "tps",
];

const ALIASES: Record<string, RollColumn> = {
  nik: "nik",
  no_nik: "nik",
  nkk: "nkk",
  no_kk: "nkk",
  nomor_kk: "nkk",
  kk: "nkk",
  nama: "nama",
  name: "nama",
  nama_lengkap: "nama",
  full_name: "nama",
  tempat_lahir: "tempat_lahir",
  birth_place: "tempat_lahir",
  place_of_birth: "tempat_lahir",
  tanggal_lahir: "tanggal_lahir",
  tgl_lahir: "tanggal_lahir",
  birth_date: "tanggal_lahir",
  date_of_birth: "tanggal_lahir",
  jenis_kelamin: "jenis_kelamin",
  jk: "jenis_kelamin",
  sex: "jenis_kelamin",
  gender: "jenis_kelamin",
  status_kawin: "status_kawin",
  status_perkawinan: "status_kawin",
  kawin: "status_kawin",
  marital_status: "status_kawin",
  alamat: "alamat",
  address: "alamat",
  dusun: "dusun",
  hamlet: "dusun",
  rt: "rt",
  rw: "rw",
  tps: "tps",
  polling_station: "tps",
  disabilitas: "disabilitas",
  difabel: "disabilitas",
  disability: "disabilitas",
  keterangan: "keterangan",
  ket: "keterangan",
  note: "keterangan",
  notes: "keterangan",
};

export type Severity = "error" | "warning";

export interface RollProblem {
  line: number;
  column: string | null;
  code: string;
  severity: Severity;
  message: string;
}

export interface HeaderMap {
  index: Partial<Record<RollColumn, number>>;
  fieldCount: number;
  unknown: string[];
  missing: RollColumn[];
  duplicated: string[];
}

export function normaliseHeaderName(name: string): string {
  return name
    .replace(/^\uFEFF/, "")
    .trim()
    .toLowerCase()
    .replace(/[\s.\-/]+/g, "_");
}

export function resolveHeader(fields: string[]): HeaderMap {
  const index: Partial<Record<RollColumn, number>> = {};
  const unknown: string[] = [];
  const duplicated: string[] = [];
  fields.forEach((raw, i) => {
    const name = normaliseHeaderName(raw);
    const column = ALIASES[name];
    if (column === undefined) {
      if (name !== "") unknown.push(raw.trim());
    } else if (index[column] !== undefined) {
      duplicated.push(raw.trim());
    } else {
      index[column] = i;
    }
  });
  const missing = REQUIRED_COLUMNS.filter((c) => index[c] === undefined);
  return { index, fieldCount: fields.length, unknown, missing, duplicated };
}

export interface RollContext {
  /** YYYY-MM-DD, the election's voting day: eligibility is judged on it. */
  votingDay: string;
  /** Digits 1–6 expected in NIKs of this village (province, regency, district of its region code). */
  regionPrefix: string;
  tpsByCode: ReadonlyMap<string, string>;
}

export interface VoterRow {
  nik: string;
  nkk: string | null;
  name: string;
  birth_place: string | null;
  birth_date: string;
  sex: "L" | "P";
  marital_status: "B" | "S" | "P";
  address: string | null;
  dusun: string | null;
  rt: string | null;
  rw: string | null;
  tps_id: string;
  disability: string | null;
  note: string | null;
}

export const MAX_LENGTH: Partial<Record<RollColumn, number>> = {
  nama: 200,
  tempat_lahir: 100,
  alamat: 500,
  dusun: 100,
  rt: 10,
  rw: 10,
  disabilitas: 100,
  keterangan: 500,
};

// Control characters other than tab and line breaks never belong in a roll (and break COPY's text format).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Parses YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY into YYYY-MM-DD, checking that the day exists. */
export function parseDate(raw: string): string | null {
  const value = raw.trim();
  let y: number;
  let m: number;
  let d: number;
  let match = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(value);
  if (match) {
    y = Number(match[1]);
    m = Number(match[2]);
    d = Number(match[3]);
  } else {
    match = /^(\d{1,2})([-/])(\d{1,2})\2(\d{4})$/.exec(value);
    if (!match) return null;
    d = Number(match[1]);
    m = Number(match[3]);
    y = Number(match[4]);
  }
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return null;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Whole years between two YYYY-MM-DD days. */
export function ageOn(birthDate: string, day: string): number {
  const by = Number(birthDate.slice(0, 4));
  const bmd = birthDate.slice(5);
  const y = Number(day.slice(0, 4));
  return y - by - (day.slice(5) < bmd ? 1 : 0);
}

const SEX: Record<string, "L" | "P"> = {
  L: "L",
  P: "P",
  "LAKI-LAKI": "L",
  LAKI: "L",
  PEREMPUAN: "P",
  WANITA: "P",
};
const MARITAL: Record<string, "B" | "S" | "P"> = {
  B: "B",
  S: "S",
  P: "P",
  "BELUM KAWIN": "B",
  KAWIN: "S",
  "SUDAH KAWIN": "S",
  "CERAI HIDUP": "P",
  "CERAI MATI": "P",
  "PERNAH KAWIN": "P",
};
export const NO_DISABILITY: ReadonlySet<string> = new Set([
  "",
  "-",
  "0",
  "N",
  "TIDAK",
  "TIDAK ADA",
  "NO",
  "NONE",
  "BUKAN",
]);

/** Looks a TPS up by code, forgiving "1", "01", "TPS 01" for the code "001". */
export function resolveTps(raw: string, tpsByCode: ReadonlyMap<string, string>): string | undefined {
  const value = raw.trim();
  const exact = tpsByCode.get(value);
  if (exact !== undefined) return exact;
  const digits = /^(?:TPS\s*)?0*(\d+)$/i.exec(value)?.[1];
  if (digits === undefined) return undefined;
  for (const [code, id] of tpsByCode) {
    if (/^\d+$/.test(code) && Number(code) === Number(digits)) return id;
  }
  return undefined;
}

const LENGTH_LIMITED = ROLL_COLUMNS.filter((c) => MAX_LENGTH[c] !== undefined);
const IRREGULAR_SPACE = /\s\s|[^\S ]/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const SIXTEEN_DIGITS = /^\d{16}$/;

/**
 * Validates data rows against one header and election. Built once per import: on a million-row roll this is
 * the hot loop, so it allocates nothing per row but the voter and its problems.
 */
export class RowValidator {
  private readonly at: Record<RollColumn, number>;

  constructor(
    private readonly header: HeaderMap,
    private readonly ctx: RollContext,
  ) {
    this.at = Object.fromEntries(ROLL_COLUMNS.map((c) => [c, header.index[c] ?? -1])) as Record<
      RollColumn,
      number
    >;
    this.limited = LENGTH_LIMITED.filter((c) => this.at[c] >= 0).map((c) => [
      this.at[c],
      MAX_LENGTH[c] as number,
      c,
    ]);
  }

  private readonly limited: Array<[number, number, RollColumn]>;

  private cell(fields: string[], column: RollColumn): string {
    const i = this.at[column];
    return i < 0 ? "" : (fields[i] ?? "");
  }

  private optional(fields: string[], column: RollColumn): string | null {
    const value = this.cell(fields, column).trim();
    return value === "" ? null : value;
  }

  /**
   * Errors reject the row; warnings accompany an accepted row. `flags` are the CSV reader's findings
   * (CONTROL_CHARACTER); without them every field is checked for control characters.
   */
  validate(
    line: number,
    fields: string[],
    flags = CONTROL_CHARACTER,
  ): { voter: VoterRow | null; problems: RollProblem[] } {
    const problems: RollProblem[] = [];
    const ctx = this.ctx;
    if (fields.length > this.header.fieldCount) {
      problems.push(
        rowProblem(
          line,
          null,
          "ROW_TOO_MANY_FIELDS",
          `the row has ${fields.length} fields but the header has ${this.header.fieldCount}: a separator inside an unquoted field?`,
        ),
      );
    }
    for (let k = 0; k < this.limited.length; k++) {
      const [index, max, column] = this.limited[k] as [number, number, RollColumn];
      if ((fields[index]?.length ?? 0) > max) {
        problems.push(
          rowProblem(line, column, "FIELD_TOO_LONG", `${column} is longer than ${max} characters`),
        );
      }
    }
    if ((flags & CONTROL_CHARACTER) !== 0) {
      for (const column of ROLL_COLUMNS) {
        if (CONTROL.test(this.cell(fields, column))) {
          problems.push(
            rowProblem(line, column, "FIELD_CONTROL_CHARACTER", `${column} contains a control character`),
          );
        }
      }
    }

    // NIK: the common case (16 digits, nothing else) skips the spreadsheet repairs.
    const nikRaw = this.cell(fields, "nik");
    let nik: string | null = null;
    let facts: NikFacts | null = null;
    const parsed: NikParse = SIXTEEN_DIGITS.test(nikRaw)
      ? { ok: true, nik: nikRaw }
      : parseIdentityNumber(nikRaw, "NIK");
    if (!parsed.ok) {
      problems.push(rowProblem(line, "nik", parsed.code, parsed.message));
    } else {
      const structure = nikFacts(parsed.nik);
      if ("error" in structure) problems.push(rowProblem(line, "nik", "NIK_MALFORMED", structure.error));
      else {
        nik = parsed.nik;
        facts = structure.facts;
      }
    }

    let nkk: string | null = null;
    const nkkRaw = this.cell(fields, "nkk");
    if (SIXTEEN_DIGITS.test(nkkRaw)) nkk = nkkRaw;
    else if (nkkRaw.trim() !== "") {
      const nkkParsed = parseIdentityNumber(nkkRaw, "NKK");
      if (nkkParsed.ok) nkk = nkkParsed.nik;
      else {
        const code = nkkParsed.code === "NIK_SCIENTIFIC" ? "NKK_SCIENTIFIC" : "NKK_MALFORMED";
        problems.push(rowProblem(line, "nkk", code, nkkParsed.message));
      }
    }

    const nameRaw = this.cell(fields, "nama").trim();
    const name = IRREGULAR_SPACE.test(nameRaw) ? nameRaw.replace(/\s+/g, " ") : nameRaw;
    if (name === "") problems.push(rowProblem(line, "nama", "NAME_MISSING", "nama is empty"));

    const birthRaw = this.cell(fields, "tanggal_lahir");
    const birthDate = ISO_DATE.test(birthRaw) && isCalendarDate(birthRaw) ? birthRaw : parseDate(birthRaw);
    if (birthDate === null) {
      const empty = birthRaw.trim() === "";
      problems.push(
        rowProblem(
          line,
          "tanggal_lahir",
          empty ? "BIRTH_DATE_MISSING" : "BIRTH_DATE_INVALID",
          empty
            ? "tanggal_lahir is empty"
            : `tanggal_lahir "${birthRaw.trim()}" is not a date in YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY`,
        ),
      );
    } else if (birthDate > ctx.votingDay) {
      problems.push(
        rowProblem(line, "tanggal_lahir", "BIRTH_DATE_INVALID", "tanggal_lahir is after the voting day"),
      );
    }

    const sexRaw = this.cell(fields, "jenis_kelamin");
    const sex = sexRaw === "L" || sexRaw === "P" ? sexRaw : SEX[sexRaw.trim().toUpperCase()];
    if (sex === undefined) {
      problems.push(
        rowProblem(
          line,
          "jenis_kelamin",
          "SEX_INVALID",
          `jenis_kelamin must be L or P, not "${sexRaw.trim()}"`,
        ),
      );
    }
    const maritalRaw = this.cell(fields, "status_kawin");
    const marital =
      maritalRaw === "B" || maritalRaw === "S" || maritalRaw === "P"
        ? maritalRaw
        : MARITAL[maritalRaw.trim().toUpperCase()];
    if (marital === undefined) {
      problems.push(
        rowProblem(
          line,
          "status_kawin",
          "MARITAL_STATUS_INVALID",
          `status_kawin must be B (belum), S (sudah) or P (pernah), not "${maritalRaw.trim()}"`,
        ),
      );
    }

    if (birthDate !== null && birthDate <= ctx.votingDay && marital !== undefined) {
      const age = ageOn(birthDate, ctx.votingDay);
      if (age < 17 && marital === "B") {
        problems.push(
          rowProblem(
            line,
            "tanggal_lahir",
            "NOT_ELIGIBLE",
            `${age} years old on the voting day (${ctx.votingDay}) and never married: not yet a voter`,
          ),
        );
      }
      if (age > 130) {
        problems.push(
          rowProblem(line, "tanggal_lahir", "BIRTH_DATE_INVALID", `${age} years old on the voting day`),
        );
      }
    }

    const tpsRaw = this.cell(fields, "tps");
    const tpsId =
      ctx.tpsByCode.get(tpsRaw) ?? (tpsRaw.trim() === "" ? undefined : resolveTps(tpsRaw, ctx.tpsByCode));
    if (tpsId === undefined) {
      const empty = tpsRaw.trim() === "";
      problems.push(
        rowProblem(
          line,
          "tps",
          empty ? "TPS_MISSING" : "TPS_UNKNOWN",
          empty ? "tps is empty" : `TPS "${tpsRaw.trim()}" is not one of this election's TPS`,
        ),
      );
    }

    // A NIK never changes, so disagreement with the other columns is only a warning (SPEC §3).
    if (facts !== null) {
      if (facts.region !== ctx.regionPrefix) {
        problems.push(
          rowProblem(
            line,
            "nik",
            "NIK_REGION_MISMATCH",
            `NIK region ${facts.region} is not this village's district ${ctx.regionPrefix}`,
            "warning",
          ),
        );
      }
      if (sex !== undefined && facts.sex !== sex) {
        problems.push(
          rowProblem(
            line,
            "nik",
            "NIK_SEX_MISMATCH",
            `NIK says ${facts.sex === "P" ? "female" : "male"}, jenis_kelamin says ${sex}`,
            "warning",
          ),
        );
      }
      if (
        birthDate !== null &&
        (Number(birthDate.slice(8, 10)) !== facts.day ||
          Number(birthDate.slice(5, 7)) !== facts.month ||
          Number(birthDate.slice(2, 4)) !== facts.yy)
      ) {
        problems.push(
          rowProblem(
            line,
            "nik",
            "NIK_BIRTH_DATE_MISMATCH",
            `NIK birth date digits disagree with tanggal_lahir ${birthDate}`,
            "warning",
          ),
        );
      }
    }

    if (
      nik === null ||
      name === "" ||
      birthDate === null ||
      sex === undefined ||
      marital === undefined ||
      tpsId === undefined
    ) {
      return { voter: null, problems };
    }
    if (problems.length > 0 && problems.some((p) => p.severity === "error")) return { voter: null, problems };
    const disabilityRaw = this.cell(fields, "disabilitas").trim();
    return {
      voter: {
        nik,
        nkk,
        name,
        birth_place: this.optional(fields, "tempat_lahir"),
        birth_date: birthDate,
        sex,
        marital_status: marital,
        address: this.optional(fields, "alamat"),
        dusun: this.optional(fields, "dusun"),
        rt: this.optional(fields, "rt"),
        rw: this.optional(fields, "rw"),
        tps_id: tpsId,
        disability:
          disabilityRaw === "" || NO_DISABILITY.has(disabilityRaw.toUpperCase()) ? null : disabilityRaw,
        note: this.optional(fields, "keterangan"),
      },
      problems,
    };
  }
}

function rowProblem(
  line: number,
  column: string | null,
  code: string,
  message: string,
  severity: Severity = "error",
): RollProblem {
  return { line, column, code, severity, message };
}

function isCalendarDate(iso: string): boolean {
  const m = Number(iso.slice(5, 7));
  const d = Number(iso.slice(8, 10));
  return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(Number(iso.slice(0, 4)), m);
}

/** One-off validation of a row (tests, small callers); importers build a RowValidator once. */
export function validateRow(
  line: number,
  fields: string[],
  header: HeaderMap,
  ctx: RollContext,
): { voter: VoterRow | null; problems: RollProblem[] } {
  return new RowValidator(header, ctx).validate(line, fields);
}

/** True for a row of empty cells, as spreadsheets leave below the data (`;;;;;`). */
export function isBlankRow(fields: string[]): boolean {
  return fields.every((f) => f.trim() === "");
}
