// One DPT row, from spreadsheet cells to a voter (SPEC §3): header names in Indonesian or English, dates in the
// three formats committees use, L/P and B/S/P, eligibility on the voting day, the TPS by its code, and every
// problem reported with its column, code and a message a committee member can act on.

import { nikFacts, parseIdentityNumber } from "./nik.js";

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

const MAX_LENGTH: Partial<Record<RollColumn, number>> = {
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

function daysInMonth(year: number, month: number): number {
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
const NO_DISABILITY = new Set(["", "-", "0", "N", "TIDAK", "TIDAK ADA", "NO", "NONE", "BUKAN"]);

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

/** Validates one data row. Errors reject the row; warnings accompany an accepted row. */
export function validateRow(
  line: number,
  fields: string[],
  header: HeaderMap,
  ctx: RollContext,
): { voter: VoterRow | null; problems: RollProblem[] } {
  const problems: RollProblem[] = [];
  const problem = (column: RollColumn | null, code: string, message: string, severity: Severity = "error") =>
    problems.push({ line, column, code, severity, message });
  const cell = (column: RollColumn): string => {
    const i = header.index[column];
    return i === undefined ? "" : (fields[i] ?? "");
  };
  const optional = (column: RollColumn): string | null => {
    const value = cell(column).trim();
    return value === "" ? null : value;
  };

  if (fields.length > header.fieldCount) {
    problem(
      null,
      "ROW_TOO_MANY_FIELDS",
      `the row has ${fields.length} fields but the header has ${header.fieldCount}: a separator inside an unquoted field?`,
    );
  }
  for (const column of ROLL_COLUMNS) {
    const value = cell(column);
    const max = MAX_LENGTH[column];
    if (max !== undefined && value.length > max) {
      problem(column, "FIELD_TOO_LONG", `${column} is longer than ${max} characters`);
    }
    if (CONTROL.test(value))
      problem(column, "FIELD_CONTROL_CHARACTER", `${column} contains a control character`);
  }

  const nik = parseIdentityNumber(cell("nik"), "NIK");
  let nikValue: string | null = null;
  if (!nik.ok) {
    problem("nik", nik.code, nik.message);
  } else {
    const structure = nikFacts(nik.nik);
    if ("error" in structure) problem("nik", "NIK_MALFORMED", structure.error);
    else nikValue = nik.nik;
  }

  let nkk: string | null = null;
  if (cell("nkk").trim() !== "") {
    const parsed = parseIdentityNumber(cell("nkk"), "NKK");
    if (parsed.ok) nkk = parsed.nik;
    else
      problem("nkk", parsed.code === "NIK_SCIENTIFIC" ? "NKK_SCIENTIFIC" : "NKK_MALFORMED", parsed.message);
  }

  const name = cell("nama").trim().replace(/\s+/g, " ");
  if (name === "") problem("nama", "NAME_MISSING", "nama is empty");

  const birthRaw = cell("tanggal_lahir");
  const birthDate = parseDate(birthRaw);
  if (birthDate === null) {
    problem(
      "tanggal_lahir",
      birthRaw.trim() === "" ? "BIRTH_DATE_MISSING" : "BIRTH_DATE_INVALID",
      birthRaw.trim() === ""
        ? "tanggal_lahir is empty"
        : `tanggal_lahir "${birthRaw.trim()}" is not a date in YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY`,
    );
  } else if (birthDate > ctx.votingDay) {
    problem("tanggal_lahir", "BIRTH_DATE_INVALID", "tanggal_lahir is after the voting day");
  }

  const sex = SEX[cell("jenis_kelamin").trim().toUpperCase()];
  if (sex === undefined) {
    problem(
      "jenis_kelamin",
      "SEX_INVALID",
      `jenis_kelamin must be L or P, not "${cell("jenis_kelamin").trim()}"`,
    );
  }
  const marital = MARITAL[cell("status_kawin").trim().toUpperCase()];
  if (marital === undefined) {
    problem(
      "status_kawin",
      "MARITAL_STATUS_INVALID",
      `status_kawin must be B (belum), S (sudah) or P (pernah), not "${cell("status_kawin").trim()}"`,
    );
  }

  if (birthDate !== null && birthDate <= ctx.votingDay && marital !== undefined) {
    const age = ageOn(birthDate, ctx.votingDay);
    if (age < 17 && marital === "B") {
      problem(
        "tanggal_lahir",
        "NOT_ELIGIBLE",
        `${age} years old on the voting day (${ctx.votingDay}) and never married: not yet a voter`,
      );
    }
    if (age > 130) problem("tanggal_lahir", "BIRTH_DATE_INVALID", `${age} years old on the voting day`);
  }

  const tpsRaw = cell("tps").trim();
  const tpsId = tpsRaw === "" ? undefined : resolveTps(tpsRaw, ctx.tpsByCode);
  if (tpsId === undefined) {
    problem(
      "tps",
      tpsRaw === "" ? "TPS_MISSING" : "TPS_UNKNOWN",
      tpsRaw === "" ? "tps is empty" : `TPS "${tpsRaw}" is not one of this election's TPS`,
    );
  }

  // A NIK never changes, so disagreement with the other columns is only a warning (SPEC §3).
  if (nikValue !== null) {
    const structure = nikFacts(nikValue);
    if ("facts" in structure) {
      const facts = structure.facts;
      if (facts.region !== ctx.regionPrefix) {
        problem(
          "nik",
          "NIK_REGION_MISMATCH",
          `NIK region ${facts.region} is not this village's district ${ctx.regionPrefix}`,
          "warning",
        );
      }
      if (sex !== undefined && facts.sex !== sex) {
        problem(
          "nik",
          "NIK_SEX_MISMATCH",
          `NIK says ${facts.sex === "P" ? "female" : "male"}, jenis_kelamin says ${sex}`,
          "warning",
        );
      }
      if (
        birthDate !== null &&
        (Number(birthDate.slice(8, 10)) !== facts.day ||
          Number(birthDate.slice(5, 7)) !== facts.month ||
          Number(birthDate.slice(2, 4)) !== facts.yy)
      ) {
        problem(
          "nik",
          "NIK_BIRTH_DATE_MISMATCH",
          `NIK birth date digits disagree with tanggal_lahir ${birthDate}`,
          "warning",
        );
      }
    }
  }

  if (problems.some((p) => p.severity === "error")) return { voter: null, problems };
  const disabilityRaw = cell("disabilitas").trim();
  return {
    voter: {
      nik: nikValue as string,
      nkk,
      name,
      birth_place: optional("tempat_lahir"),
      birth_date: birthDate as string,
      sex: sex as "L" | "P",
      marital_status: marital as "B" | "S" | "P",
      address: optional("alamat"),
      dusun: optional("dusun"),
      rt: optional("rt"),
      rw: optional("rw"),
      tps_id: tpsId as string,
      disability: NO_DISABILITY.has(disabilityRaw.toUpperCase()) ? null : disabilityRaw,
      note: optional("keterangan"),
    },
    problems,
  };
}

/** True for a row of empty cells, as spreadsheets leave below the data (`;;;;;`). */
export function isBlankRow(fields: string[]): boolean {
  return fields.every((f) => f.trim() === "");
}
