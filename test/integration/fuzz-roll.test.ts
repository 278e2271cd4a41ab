// SPEC §3, §10: the voter-roll importer, fuzzed through its HTTP route. Files are CSV-ish — a header of known,
// unknown and missing columns, rows of plausible and hostile fields (quotes, separators and line breaks inside
// fields, unbalanced quotes, U+0000 and other controls, bytes that are not UTF-8, Excel's apostrophes and
// scientific notation, formulas, very long values), any separator and line ending, with or without a BOM — or
// arbitrary bytes. Whatever comes in: never a 5xx; a refusal in the error envelope; an all-or-nothing import
// with a rejected row, a dry run and any refusal leave the roll exactly as it was; an applied import changes the
// roll by exactly what its report counts; every problem names a line that exists in the file.
//
// CI runs a fixed seed and a bounded number of files (ten times FUZZ_RUNS: 200). Longer runs:
//   FUZZ_RUNS=500 FUZZ_SEED=$RANDOM npx vitest run --project integration test/integration/fuzz-roll.test.ts
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS } from "../../src/lib/errors.js";
import { ROLL_COLUMNS } from "../../src/modules/roll/roll-row.js";
import {
  addMember,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20270314);
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 20);
/** Shrinking replays a failure hundreds of times against the database: only when asked (FUZZ_SHRINK=1). */
const endOnFailure = process.env.FUZZ_SHRINK !== "1";
const UPLOAD_LIMIT = 32 * 1024;

let database: TestDatabase;
let app: FastifyInstance;
let committeeToken: string;
let election: ElectionFixture;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database, { ROLL_UPLOAD_MAX_BYTES: String(UPLOAD_LIMIT) }));
  await createUser(database.db, "admin", { isAdmin: true });
  const adminToken = await login(app, "admin");
  election = await createElection(app, adminToken, { tps: 2, votingDay: "2027-03-14" });
  const committee = await createUser(database.db, "panitia");
  await addMember(database.db, election.id, committee.id, "committee");
  committeeToken = await login(app, "panitia");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

interface Report {
  applied: boolean;
  counts: { read: number; inserted: number; updated: number; unchanged: number; rejected: number };
  problems: Array<{ line: number; code: string }>;
}

/** The roll as rows of text, and the applied-import audit events. */
async function rollState(): Promise<{ voters: string[]; imports: number }> {
  const voters = await database.pool.query<{ row: string }>(
    "SELECT v::text AS row FROM voters v WHERE election_id = $1 ORDER BY nik",
    [election.id],
  );
  const imports = await database.pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM audit_events WHERE election_id = $1 AND outcome = 'success'",
    [election.id],
  );
  return { voters: voters.rows.map((r) => r.row), imports: Number(imports.rows[0]?.n) };
}

// ---------------------------------------------------------------------------------------------------------------
// CSV-ish files

const digits = (n: number) => fc.stringMatching(new RegExp(`^\\d{${n}}$`));
const plausible: Record<string, fc.Arbitrary<string>> = {
  nik: fc.oneof(
    digits(16).map((d) => `1607${d.slice(4, 6)}${d.slice(6)}`),
    fc.constantFrom("1607051501800001", "1607054307850002", "'1607051501800003", "1.60705E+15", "160705"),
    digits(16),
  ),
  nkk: fc.oneof(digits(16), fc.constant("")),
  nama: fc.oneof(fc.constantFrom("Ahmad Fauzi", "Siti Rahmawati", "Nyoman", "O'Brien"), fc.string()),
  tanggal_lahir: fc.oneof(
    fc.date({ min: new Date("1900-01-01"), max: new Date("2015-12-31"), noInvalidDate: true }).map((d) => {
      const [y, m, day] = d.toISOString().slice(0, 10).split("-");
      return [`${y}-${m}-${day}`, `${day}/${m}/${y}`, `${day}-${m}-${y}`][d.getUTCDate() % 3] as string;
    }),
    fc.constantFrom("31/02/1980", "1980-13-01", "00-00-0000", "44927"),
  ),
  jenis_kelamin: fc.constantFrom("L", "P", "l", "X", ""),
  status_kawin: fc.constantFrom("S", "B", "P", "K", "belum kawin", ""),
  tps: fc.constantFrom("001", "002", "1", "003", "TPS 001", ""),
};

const hostileField = fc.oneof(
  fc.constantFrom(
    '"',
    '""',
    'a"b',
    '"unterminated',
    "a,b",
    "a;b",
    "line\nbreak",
    "cr\ronly",
    "\u0000",
    "\u0001\u007f",
    "\\N",
    "\\.",
    "\t",
    '=HYPERLINK("x")',
    "+1",
    "\ud800",
    "\ufeff",
    "🌾",
  ),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.integer({ min: 300, max: 5000 }).map((n) => "x".repeat(n)),
);

function quote(field: string, separator: string): string {
  return /["\r\n]/.test(field) || field.includes(separator) ? `"${field.replaceAll('"', '""')}"` : field;
}

interface CsvFile {
  bytes: Buffer;
  description: string;
}

const csvFile: fc.Arbitrary<CsvFile> = fc
  .record({
    header: fc.oneof(
      { weight: 4, arbitrary: fc.constant([...ROLL_COLUMNS] as string[]) },
      fc.shuffledSubarray([...ROLL_COLUMNS, "umur", "NIK", "No. KK", ""], { minLength: 1 }),
      fc.array(fc.string(), { minLength: 1, maxLength: 6 }),
    ),
    separator: fc.constantFrom(",", ";", "\t", "|"),
    newline: fc.constantFrom("\n", "\r\n", "\r"),
    bom: fc.boolean(),
    rows: fc.array(
      fc.record({
        // Most rows plausible, some with one hostile field.
        hostileAt: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, fc.nat(15)),
        hostileValue: hostileField,
        other: fc.string({ maxLength: 12 }),
        values: fc.record(plausible),
        quoteAll: fc.boolean(),
        rawBreak: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
      }),
      { maxLength: 12 },
    ),
    trailer: fc.constantFrom("", "", "\n", "\n", "\n\n", ",,,,\n", '"'),
    latin1: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
  })
  .map((f) => {
    const lines: string[] = [f.header.map((h) => quote(h, f.separator)).join(f.separator)];
    for (const row of f.rows) {
      const fields = f.header.map((column, i) => {
        if (row.hostileAt === i) return row.hostileValue;
        return (row.values as Record<string, string>)[column] ?? row.other;
      });
      // Sometimes a field is written raw (no quoting): broken quoting and stray breaks as spreadsheets make them.
      lines.push(
        fields
          .map((v) =>
            row.rawBreak ? v : row.quoteAll ? `"${v.replaceAll('"', '""')}"` : quote(v, f.separator),
          )
          .join(f.separator),
      );
    }
    const text = `${f.bom ? "\ufeff" : ""}${lines.join(f.newline)}${f.trailer}`;
    return {
      bytes: f.latin1 ? Buffer.from(text, "latin1") : Buffer.from(text, "utf8"),
      description: `${f.rows.length} rows, separator ${JSON.stringify(f.separator)}, newline ${JSON.stringify(f.newline)}${f.latin1 ? ", latin-1 bytes" : ""}`,
    };
  });

const anyFile: fc.Arbitrary<CsvFile> = fc.oneof(
  { weight: 4, arbitrary: csvFile },
  fc.uint8Array({ maxLength: 2000 }).map((b) => ({ bytes: Buffer.from(b), description: "random bytes" })),
  fc.integer({ min: UPLOAD_LIMIT + 1, max: UPLOAD_LIMIT * 2 }).map((n) => ({
    bytes: Buffer.from(`${ROLL_COLUMNS.join(",")}\n${"1,".repeat(n / 2)}`),
    description: "over the upload limit",
  })),
);

const validQuery = fc
  .record({
    mode: fc.constantFrom(undefined, "partial", "all-or-nothing"),
    dry_run: fc.constantFrom(undefined, undefined, "true", "false"),
    encoding: fc.constantFrom(undefined, undefined, "utf-8", "windows-1252"),
  })
  .map((q) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) search.set(k, v);
    return search.toString() === "" ? "" : `?${search}`;
  });
const query = fc.oneof(
  { weight: 9, arbitrary: validQuery },
  fc.constantFrom("?mode=bogus", "?dry_run=yes", "?encoding=ebcdic", "?mode=partial&mode=partial", "?x=1"),
);

/** Physical lines of a file, counting CRLF, LF and a lone CR each as one break. */
function physicalLines(bytes: Buffer): number {
  return (bytes.toString("latin1").match(/\r\n|\n|\r/g)?.length ?? 0) + 1;
}

describe("the voter-roll importer, fuzzed", () => {
  it(
    "any file: never a 5xx, never half-applied, every problem on a line of the file",
    async () => {
      const upload = (bytes: Buffer, search: string, contentType = "text/csv") =>
        app.inject({
          method: "POST",
          url: `/elections/${election.id}/roll${search}`,
          headers: { ...bearer(committeeToken), "content-type": contentType },
          payload: bytes,
        });
      let applied = 0;
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(anyFile, query, async (file, search) => {
          const label = `${file.description}, query ${search || "(none)"}`;
          const before = await rollState();
          const response = await upload(file.bytes, search);
          expect(response.statusCode, `${label}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
          const body = response.json();
          const after = await rollState();
          if (response.statusCode !== 200) {
            refused++;
            expect(ERROR_STATUS[body.error?.code as keyof typeof ERROR_STATUS], label).toBe(
              response.statusCode,
            );
            expect(typeof body.error.message).toBe("string");
            expect(after, `${label}: refused but the roll changed`).toEqual(before);
          }
          const report: Report | undefined = response.statusCode === 200 ? body : body.error?.details?.report;
          if (report) {
            const lines = physicalLines(file.bytes);
            for (const p of report.problems) {
              expect(p.line, `${label}: ${p.code} on line ${p.line} of ${lines}`).toBeGreaterThanOrEqual(1);
              expect(p.line, `${label}: ${p.code} on line ${p.line} of ${lines}`).toBeLessThanOrEqual(lines);
            }
            const partial = search.includes("mode=partial");
            if (!partial && report.counts.rejected > 0) expect(report.applied, label).toBe(false);
            if (!report.applied) expect(after, `${label}: not applied but the roll changed`).toEqual(before);
            else {
              applied++;
              expect(after.voters.length - before.voters.length, label).toBe(report.counts.inserted);
              expect(after.imports, `${label}: an applied import is audited`).toBe(before.imports + 1);
            }
          }
        }),
        { seed: FUZZ_SEED, numRuns: FUZZ_RUNS * 10, endOnFailure },
      );
      // The generator reaches both outcomes, or the property says little.
      expect(refused).toBeGreaterThan(0);
      expect(applied).toBeGreaterThan(0);
    },
    120_000 + FUZZ_RUNS * 3_000,
  );
});
