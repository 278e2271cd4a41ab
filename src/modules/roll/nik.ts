// The NIK (Nomor Induk Kependudukan), as SPEC §3 describes it: 16 digits — 1–6 the region (province, regency,
// district), 7–12 the birth date DDMMYY with 40 added to the day for women, 13–16 a serial that is never 0000.
// A NIK never changes even when it disagrees with the other columns, so disagreement is a warning; only a NIK
// that cannot be one is an error. Spreadsheet damage is recognised and explained.

export type NikProblemCode = "NIK_MISSING" | "NIK_SCIENTIFIC" | "NIK_MALFORMED";

export type NikParse = { ok: true; nik: string } | { ok: false; code: NikProblemCode; message: string };

const SCIENTIFIC = /^[0-9](?:[.,][0-9]+)?e\+?[0-9]+$/i;

/** Cleans what a spreadsheet makes of an identity number: surrounding blanks and Excel's text apostrophe. */
function clean(raw: string): string {
  let value = raw.trim();
  if (value.startsWith("'")) value = value.slice(1).trim();
  return value;
}

/** Parses a 16-digit identity number (NIK, or NKK with `what` = "NKK"). */
export function parseIdentityNumber(raw: string, what: "NIK" | "NKK"): NikParse {
  const value = clean(raw);
  if (value === "") return { ok: false, code: "NIK_MISSING", message: `${what} is empty` };
  if (SCIENTIFIC.test(value)) {
    return {
      ok: false,
      code: "NIK_SCIENTIFIC",
      message:
        `${what} "${value}" is in Excel's scientific notation, which has lost the last digits: format the ` +
        `${what} column as Text in the spreadsheet and export again`,
    };
  }
  if (!/^[0-9]+$/.test(value)) {
    return {
      ok: false,
      code: "NIK_MALFORMED",
      message: `${what} must be 16 digits; it contains other characters`,
    };
  }
  if (value.length !== 16) {
    return {
      ok: false,
      code: "NIK_MALFORMED",
      message: `${what} must be 16 digits; this one has ${value.length}`,
    };
  }
  return { ok: true, nik: value };
}

export interface NikFacts {
  region: string;
  /** Day of birth (1–31), month (1–12), two-digit year. */
  day: number;
  month: number;
  yy: number;
  sex: "L" | "P";
}

/** The structure a NIK must have to be one at all; null with a reason when it cannot be a NIK. */
export function nikFacts(nik: string): { facts: NikFacts } | { error: string } {
  const province = Number(nik.slice(0, 2));
  // Province codes run from 11 (Aceh) to 96 (Papua Barat Daya, 2022); new provinces take the next numbers.
  if (province < 11) return { error: `NIK province code ${nik.slice(0, 2)} does not exist` };
  const dd = Number(nik.slice(6, 8));
  const month = Number(nik.slice(8, 10));
  const yy = Number(nik.slice(10, 12));
  const female = dd > 40;
  const day = female ? dd - 40 : dd;
  if (day < 1 || day > 31 || month < 1 || month > 12) {
    return { error: `NIK digits 7–12 (${nik.slice(6, 12)}) are not a birth date DDMMYY` };
  }
  if (nik.slice(12) === "0000") return { error: "NIK serial (last 4 digits) 0000 is never issued" };
  return { facts: { region: nik.slice(0, 6), day, month, yy, sex: female ? "P" : "L" } };
}

/** Masks a NIK for lists: region and serial visible, birth date hidden (`1607xxxxxxxx0003`). */
export function maskNik(nik: string): string {
  return `${nik.slice(0, 4)}xxxxxxxx${nik.slice(12)}`;
}
