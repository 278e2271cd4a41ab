// The importer against the synthetic DPT generator: thousands of rows with every kind of defect in known
// numbers, in Excel's Indonesian dialect, uploaded over HTTP. Every defect is found with its own code, on the
// row the generator put it in, and exactly the good rows land on the roll.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BAD_ROW_KINDS,
  type DptRow,
  generateDptRows,
  planTps,
  toCsvLines,
  WARNING_ROW_KINDS,
} from "../../scripts/lib/dpt-generator.js";
import { addMember, bearer, buildTestApp, createUser, login } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const CODE_OF_KIND: Record<string, string> = {
  nik_scientific: "NIK_SCIENTIFIC",
  nik_short: "NIK_MALFORMED",
  nik_long: "NIK_MALFORMED",
  nik_zero_serial: "NIK_MALFORMED",
  nik_letters: "NIK_MALFORMED",
  date_feb31: "BIRTH_DATE_INVALID",
  date_garbage: "BIRTH_DATE_INVALID",
  underage_unmarried: "NOT_ELIGIBLE",
  duplicate_nik: "DUPLICATE_NIK",
  unknown_tps: "TPS_UNKNOWN",
  bad_sex: "SEX_INVALID",
  bad_marital: "MARITAL_STATUS_INVALID",
  missing_name: "NAME_MISSING",
  nik_region_mismatch: "NIK_REGION_MISMATCH",
  nik_birthdate_mismatch: "NIK_BIRTH_DATE_MISMATCH",
  nik_sex_mismatch: "NIK_SEX_MISMATCH",
};

const OPTIONS = {
  rows: 6000,
  seed: 14032027,
  votingDay: "2027-03-14",
  tpsSize: [200, 600] as [number, number],
  quotedMultiline: true,
  bad: Object.fromEntries([...BAD_ROW_KINDS, ...WARNING_ROW_KINDS].map((k) => [k, 0.002])),
};

let database: TestDatabase;
let app: FastifyInstance;
let token: string;
let electionId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  const committee = await createUser(database.db, "panitia");
  const adminToken = await login(app, "admin");
  const created = await app.inject({
    method: "POST",
    url: "/elections",
    headers: bearer(adminToken),
    payload: {
      name: "Pilkades Desa Sungai Rengit 2027",
      village_name: "Sungai Rengit",
      region_code: "16.07.05.2001",
      voting_day: OPTIONS.votingDay,
      time_zone: "WIB",
    },
  });
  electionId = created.json().id;
  for (const tps of planTps(OPTIONS)) {
    await app.inject({
      method: "POST",
      url: `/elections/${electionId}/tps`,
      headers: bearer(adminToken),
      payload: { code: tps.code, name: `TPS ${tps.code}` },
    });
  }
  await addMember(database.db, electionId, committee.id, "committee");
  token = await login(app, "panitia");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe("a generated DPT with every kind of defect", () => {
  it("rejects exactly the defective rows, each with its code and line, warns on NIK mismatches, and loads the rest", async () => {
    // Remember each data row's kind and the physical line it starts on (quoted fields may span lines).
    const rows: DptRow[] = [...generateDptRows(OPTIONS)];
    const lines = [
      ...toCsvLines(rows, { separator: ";", lineEnding: "\r\n", bom: true, dateFormat: "mixed" }),
    ];
    const startLine: number[] = [];
    let line = 1;
    for (const text of lines) {
      startLine.push(line);
      line += (text.match(/\r\n|\r|\n/g) ?? []).length;
    }
    const body = `\uFEFF${lines.join("").replace(/^\uFEFF/, "")}`;
    const response = await app.inject({
      method: "POST",
      url: `/elections/${electionId}/roll?mode=partial`,
      headers: { ...bearer(token), "content-type": "text/csv" },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    const report = response.json();

    const rejected = rows.filter((r) => (BAD_ROW_KINDS as readonly string[]).includes(r.kind));
    const warned = rows.filter((r) => (WARNING_ROW_KINDS as readonly string[]).includes(r.kind));
    expect(rejected.length).toBeGreaterThan(100);
    expect(report.counts).toMatchObject({
      read: rows.length,
      inserted: rows.length - rejected.length,
      rejected: rejected.length,
      warnings: warned.length,
    });

    // Each defective row is reported on its own line with the code its defect calls for.
    const reported = new Map<number, string[]>();
    for (const p of report.problems as Array<{ line: number; code: string }>) {
      reported.set(p.line, [...(reported.get(p.line) ?? []), p.code]);
    }
    rows.forEach((row, i) => {
      const expected = CODE_OF_KIND[row.kind];
      const at = startLine[i + 1] as number;
      if (expected) expect(reported.get(at), `${row.kind} on line ${at}`).toContain(expected);
      else expect(reported.get(at), `${row.kind} on line ${at}`).toBeUndefined();
    });

    const stored = await database.db
      .selectFrom("voters")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("election_id", "=", electionId)
      .executeTakeFirstOrThrow();
    expect(Number(stored.n)).toBe(rows.length - rejected.length);
    const minors = rows.filter((r) => r.kind === "married_minor");
    expect(minors.length).toBeGreaterThan(0);
    const minorNiks = await database.db
      .selectFrom("voters")
      .select("nik")
      .where("election_id", "=", electionId)
      .where(
        "nik",
        "in",
        minors.map((m) => m.nik),
      )
      .execute();
    expect(minorNiks).toHaveLength(minors.length);
  });
});
