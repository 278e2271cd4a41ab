// SPEC §3: the DPT import takes the files committees really have, explains line by line what it cannot take,
// and never leaves a roll half-written. Every case is a real file in test/fixtures/roll/.
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { importRoll } from "../../src/modules/roll/roll.import.js";
import {
  addMember,
  addTallyKey,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  errorCode,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/roll/${name}`, import.meta.url));

let database: TestDatabase;
let app: FastifyInstance;
let logs: string[];
let adminToken: string;
let committeeToken: string;
let committeeId: string;
let election: ElectionFixture;

interface Report {
  applied: boolean;
  dry_run: boolean;
  delimiter: string | null;
  counts: {
    read: number;
    inserted: number;
    updated: number;
    unchanged: number;
    rejected: number;
    warnings: number;
  };
  problem_counts: Record<string, number>;
  problems: Array<{ line: number; column: string | null; code: string; severity: string; message: string }>;
}

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app, logs } = await buildTestApp(database, { ROLL_UPLOAD_MAX_BYTES: "4096" }));
  await createUser(database.db, "admin", { isAdmin: true });
  committeeId = (await createUser(database.db, "panitia")).id;
  adminToken = await login(app, "admin");
  committeeToken = await login(app, "panitia");
});

beforeEach(async () => {
  election = await createElection(app, adminToken, { tps: 2, votingDay: "2027-03-14" });
  await addMember(database.db, election.id, committeeId, "committee");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function upload(body: Buffer | string, query = "", contentType = "text/csv") {
  return app.inject({
    method: "POST",
    url: `/elections/${election.id}/roll${query}`,
    headers: { ...bearer(committeeToken), "content-type": contentType },
    payload: body,
  });
}

async function importFile(
  name: string,
  query = "",
): Promise<{ status: number; report: Report; code?: string }> {
  const response = await upload(fixture(name), query);
  const body = response.json();
  if (response.statusCode === 200) return { status: 200, report: body };
  return { status: response.statusCode, report: body.error?.details?.report, code: body.error?.code };
}

async function voters() {
  return database.db
    .selectFrom("voters")
    .innerJoin("tps", (j) =>
      j.onRef("tps.id", "=", "voters.tps_id").onRef("tps.election_id", "=", "voters.election_id"),
    )
    .select([
      "voters.nik",
      "voters.nkk",
      "voters.name",
      "voters.birth_date",
      "voters.sex",
      "voters.marital_status",
      "voters.address",
      "voters.note",
      "voters.disability",
      "tps.code as tps",
    ])
    .where("voters.election_id", "=", election.id)
    .orderBy("voters.nik")
    .execute();
}

const codesAt = (report: Report) => report.problems.map((p) => [p.line, p.column, p.code]);

describe("files as committees have them", () => {
  it("a plain UTF-8 file is imported whole, with every column stored", async () => {
    const { status, report } = await importFile("valid.csv");
    expect(status).toBe(200);
    expect(report).toMatchObject({
      applied: true,
      delimiter: ",",
      counts: { read: 6, inserted: 6, updated: 0, unchanged: 0, rejected: 0, warnings: 0 },
      problems: [],
    });
    const rows = await voters();
    expect(rows).toHaveLength(6);
    expect(rows.find((v) => v.name === "Budi Santoso")).toEqual({
      nik: "1607050909500004",
      nkk: "1607050101100002",
      name: "Budi Santoso",
      birth_date: "1950-09-09",
      sex: "L",
      marital_status: "P",
      address: "Jl. Sungai Rengit",
      note: "lansia",
      disability: "Tunanetra",
      tps: "002",
    });
    // "2" in the file is TPS 002.
    expect(rows.find((v) => v.name === "Nur Aisyah")?.tps).toBe("002");
  });

  it("Excel in the Indonesian locale: BOM, semicolons, CRLF, DD/MM/YYYY and DD-MM-YYYY", async () => {
    const { report } = await importFile("excel-bom-semicolon-crlf.csv");
    expect(report).toMatchObject({ applied: true, delimiter: ";", counts: { inserted: 6, rejected: 0 } });
    const rows = await voters();
    expect(rows.map((v) => v.birth_date).sort()).toEqual(
      ["1950-09-09", "1972-12-12", "1980-01-15", "1985-07-03", "1999-03-01", "2005-05-20"].sort(),
    );
    // The BOM belongs to the file, not to the first column's name or the first NIK.
    expect(rows.map((v) => v.nik)).toContain("1607051501800001");
    expect(rows.find((v) => v.name === "Budi Santoso")).toMatchObject({ note: "lansia", tps: "002" });
  });

  it("quoted fields with separators, quotes and newlines are kept, and later lines are numbered right", async () => {
    const { status, code, report } = await importFile("quoted-multiline.csv");
    expect(status).toBe(422);
    expect(code).toBe("ROLL_REJECTED");
    // The bad row starts on physical line 8, after two records that each span two lines.
    expect(codesAt(report)).toEqual([[8, "jenis_kelamin", "SEX_INVALID"]]);
    const partial = await importFile("quoted-multiline.csv", "?mode=partial");
    expect(partial.report.counts).toMatchObject({ inserted: 5, rejected: 1 });
    const rows = await voters();
    expect(rows.find((v) => v.name === "Ahmad Fauzi")?.address).toBe(
      'Jl. Lintas Timur, Km 12\nDepan Masjid "Al-Ikhlas"',
    );
    expect(rows.find((v) => v.name === "Siti Rahmawati")?.note).toBe("pindahan, dari\r\nPalembang");
  });

  it("a NIK or NKK with Excel's leading apostrophe is read without it", async () => {
    const { report } = await importFile("apostrophe-nik.csv");
    expect(report.counts).toMatchObject({ inserted: 6, rejected: 0 });
    const rows = await voters();
    expect(rows.map((v) => v.nik)).toContain("1607051501800001");
    expect(rows.find((v) => v.nik === "1607051501800001")?.nkk).toBe("1607050101100001");
  });

  it("a NIK in scientific notation, of 15 or of 17 digits is rejected, saying why", async () => {
    const { status, report } = await importFile("nik-damaged.csv");
    expect(status).toBe(422);
    expect(codesAt(report)).toEqual([
      [2, "nik", "NIK_SCIENTIFIC"],
      [3, "nik", "NIK_MALFORMED"],
      [4, "nik", "NIK_MALFORMED"],
    ]);
    expect(report.problems[0]?.message).toMatch(/scientific notation.*lost the last digits.*Text/);
    expect(report.problems[1]?.message).toMatch(/this one has 15/);
    expect(report.problems[2]?.message).toMatch(/this one has 17/);
    expect(await voters()).toEqual([]);
  });

  it("31 February is rejected; DD-MM-YYYY and DD/MM/YYYY are read", async () => {
    const { report } = await importFile("dates.csv", "?mode=partial");
    expect(codesAt(report)).toEqual([[2, "tanggal_lahir", "BIRTH_DATE_INVALID"]]);
    const rows = await voters();
    expect(rows.find((v) => v.name === "Siti Rahmawati")?.birth_date).toBe("1985-07-03");
    expect(rows.find((v) => v.name === "Muhammad Rizki")?.birth_date).toBe("2005-05-20");
  });

  it("an unmarried 16-year-old is rejected; a married 16-year-old is a voter", async () => {
    const { report } = await importFile("minors.csv", "?mode=partial");
    expect(codesAt(report)).toEqual([[4, "tanggal_lahir", "NOT_ELIGIBLE"]]);
    expect(report.problems[0]?.message).toMatch(
      /16 years old on the voting day \(2027-03-14\) and never married/,
    );
    const names = (await voters()).map((v) => v.name);
    expect(names).toContain("Putri Maharani");
    expect(names).not.toContain("Rina Anggraini");
  });

  it("a NIK twice in one file rejects both rows, each naming the other's line", async () => {
    const { report } = await importFile("duplicate-nik.csv", "?mode=partial");
    expect(codesAt(report).filter(([, , code]) => code === "DUPLICATE_NIK")).toEqual([
      [2, "nik", "DUPLICATE_NIK"],
      [5, "nik", "DUPLICATE_NIK"],
    ]);
    expect(report.problems[0]?.message).toMatch(/also on line 5/);
    expect(report.counts).toMatchObject({ read: 6, inserted: 4, rejected: 2 });
    expect((await voters()).map((v) => v.nik)).not.toContain("1607051501800001");
  });

  it("a file missing a required column is refused whole, naming the column", async () => {
    const response = await upload(fixture("missing-column.csv"));
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toMatchObject({
      code: "ROLL_COLUMNS_MISSING",
      details: { missing_columns: ["tanggal_lahir"] },
    });
    expect(response.json().error.message).toMatch(/no tanggal_lahir column/);
    expect(await voters()).toEqual([]);
  });

  it("English headers are understood; unknown columns and a blank trailing row are ignored with a warning", async () => {
    const { report } = await importFile("extra-columns.csv");
    expect(report.applied).toBe(true);
    expect(report.counts).toMatchObject({ read: 6, inserted: 6, warnings: 1 });
    expect(codesAt(report)).toEqual([[1, "Pekerjaan", "COLUMN_IGNORED"]]);
  });

  it("an empty file and a header-only file are answered plainly", async () => {
    const empty = await upload(fixture("empty.csv"));
    expect(empty.statusCode).toBe(422);
    expect(errorCode(empty)).toBe("ROLL_EMPTY_FILE");
    const headerOnly = await importFile("header-only.csv");
    expect(headerOnly.status).toBe(200);
    expect(headerOnly.report.counts).toMatchObject({ read: 0, inserted: 0, rejected: 0 });
  });

  it("a Windows-1252 file is refused with advice, never stored as mojibake, and read right when declared", async () => {
    const refused = await upload(fixture("windows-1252.csv"));
    expect(refused.statusCode).toBe(422);
    expect(errorCode(refused)).toBe("ROLL_ENCODING_INVALID");
    expect(refused.json().error.message).toMatch(/CSV UTF-8.*encoding=windows-1252/);
    expect(await voters()).toEqual([]);
    const declared = await importFile("windows-1252.csv", "?encoding=windows-1252");
    expect(declared.report.counts.inserted).toBe(6);
    expect((await voters()).map((v) => v.name)).toContain("Désy Ratnasari");
  });

  it("NIKs that disagree with region, sex or birth date are accepted with warnings", async () => {
    const { report } = await importFile("warnings.csv");
    expect(report.applied).toBe(true);
    expect(report.counts).toMatchObject({ inserted: 6, rejected: 0, warnings: 3 });
    expect(codesAt(report)).toEqual([
      [2, "nik", "NIK_REGION_MISMATCH"],
      [3, "nik", "NIK_SEX_MISMATCH"],
      [4, "nik", "NIK_BIRTH_DATE_MISMATCH"],
    ]);
    expect(report.problems.every((p) => p.severity === "warning")).toBe(true);
  });
});

describe("never half-applied", () => {
  it("a file whose last row is bad leaves the roll exactly as it was", async () => {
    await importFile("valid.csv");
    const before = await database.db
      .selectFrom("voters")
      .selectAll()
      .where("election_id", "=", election.id)
      .execute();
    const { status, report } = await importFile("last-row-bad.csv");
    expect(status).toBe(422);
    expect(codesAt(report)).toEqual([[8, "tps", "TPS_UNKNOWN"]]);
    expect(report.applied).toBe(false);
    const after = await database.db
      .selectFrom("voters")
      .selectAll()
      .where("election_id", "=", election.id)
      .execute();
    expect(after).toEqual(before);
  });

  it("re-importing the same file changes nothing; a corrected file updates only what changed", async () => {
    await importFile("valid.csv");
    const first = await database.db
      .selectFrom("voters")
      .select(["nik", "id", "updated_at"])
      .where("election_id", "=", election.id)
      .orderBy("nik")
      .execute();
    const again = await importFile("valid.csv");
    expect(again.report.counts).toMatchObject({ read: 6, inserted: 0, updated: 0, unchanged: 6 });
    const corrected = await importFile("valid-corrected.csv");
    expect(corrected.report.counts).toMatchObject({ read: 6, inserted: 0, updated: 2, unchanged: 4 });
    const after = await database.db
      .selectFrom("voters")
      .select(["nik", "id", "updated_at", "name"])
      .where("election_id", "=", election.id)
      .orderBy("nik")
      .execute();
    // Ids never change; only the two corrected voters were touched.
    expect(after.map((v) => v.id)).toEqual(first.map((v) => v.id));
    const touched = after.filter((v, i) => v.updated_at.getTime() !== first[i]?.updated_at.getTime());
    expect(touched.map((v) => v.name).sort()).toEqual(["Nur Aisyah", "Siti Rahmawati Putri"]);
  });

  it("a correction file with only the required columns changes what it names and erases nothing else", async () => {
    await importFile("valid.csv");
    const { report } = await importFile("correction-required-columns.csv");
    expect(report.counts).toMatchObject({ read: 2, inserted: 0, updated: 1, unchanged: 1 });
    const rows = await voters();
    expect(rows.find((v) => v.nik === "1607054307850002")).toMatchObject({
      name: "Siti Rahmawati Putri",
      nkk: "1607050101100001",
      address: "Jl. Lintas Timur",
    });
    expect(rows.find((v) => v.nik === "1607050909500004")).toMatchObject({
      nkk: "1607050101100002",
      note: "lansia",
      disability: "Tunanetra",
    });
  });

  it("a TPS removed while the file is read refuses the import, since its rows were judged against it", async () => {
    const [head, ...rest] = fixture("valid.csv").toString().split("\n");
    const importWhile = (change: () => Promise<unknown>) =>
      importRoll(
        database.db,
        database.pool,
        { id: committeeId, role: "committee" },
        election.id,
        (async function* () {
          yield `${head}\n${rest.slice(0, 3).join("\n")}\n`;
          await change(); // after the first rows are read, before the election is locked
          yield rest.slice(3).join("\n");
        })(),
        { mode: "all-or-nothing", dryRun: false, encoding: "utf-8" },
      );
    // A TPS no row names may go: the rows stand.
    const spare = await database.db
      .insertInto("tps")
      .values({
        election_id: election.id,
        id: crypto.randomUUID(),
        code: "009",
        name: "TPS 009",
        address: null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const report = await importWhile(() =>
      database.db.deleteFrom("tps").where("id", "=", spare.id).execute(),
    );
    expect(report).toMatchObject({ applied: true, counts: { inserted: 6 } });

    const next = await createElection(app, adminToken, { tps: 2, votingDay: "2027-03-14" });
    election = next;
    await addMember(database.db, election.id, committeeId, "committee");
    await expect(
      importWhile(() =>
        database.db
          .deleteFrom("tps")
          .where("election_id", "=", election.id)
          .where("code", "=", "002")
          .execute(),
      ),
    ).rejects.toMatchObject({ code: "ROLL_CONTEXT_CHANGED" });
    expect(await voters()).toEqual([]);
  });

  it("a NIK repeated thousands of times is reported quickly, each message naming a few of the other lines", async () => {
    const row = fixture("valid.csv").toString().split("\n")[1] as string;
    const body = `${fixture("valid.csv").toString().split("\n")[0]}\n${`${row}\n`.repeat(3000)}`;
    const started = Date.now();
    // Through the importer directly: this file is larger than this app's upload limit.
    const report = await importRoll(
      database.db,
      database.pool,
      { id: committeeId, role: "committee" },
      election.id,
      [body],
      {
        mode: "partial",
        dryRun: false,
        encoding: "utf-8",
      },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(report.counts).toMatchObject({ read: 3000, rejected: 3000, inserted: 0 });
    expect(report.problem_counts.DUPLICATE_NIK).toBe(3000);
    expect(report.problems).toHaveLength(1000);
    expect(report.problems_truncated).toBe(true);
    expect(report.problems[0]?.message).toMatch(/also on lines 3, 4, 5, 6, 7 and 2994 more/);
  });

  it("a dry run reports what would happen and writes nothing", async () => {
    const { report } = await importFile("valid.csv", "?dry_run=true");
    expect(report).toMatchObject({ applied: false, dry_run: true, counts: { inserted: 6 } });
    expect(await voters()).toEqual([]);
    const events = await database.db
      .selectFrom("audit_events")
      .select("action")
      .where("election_id", "=", election.id)
      .where("action", "=", "roll.imported")
      .execute();
    expect(events).toEqual([]);
  });

  it("an applied import is audited with its counts and no personal data", async () => {
    await importFile("valid.csv");
    const event = await database.db
      .selectFrom("audit_events")
      .selectAll()
      .where("election_id", "=", election.id)
      .where("action", "=", "roll.imported")
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({ actor_id: committeeId, actor_role: "committee" });
    expect(event.details).toMatchObject({ mode: "all-or-nothing", inserted: 6, rejected: 0 });
    expect(JSON.stringify(event.details)).not.toMatch(/\d{16}|Ahmad/);
  });

  it("two imports of the same election at once leave one consistent roll", async () => {
    const [a, b] = await Promise.all([upload(fixture("valid.csv")), upload(fixture("valid-corrected.csv"))]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    const rows = await voters();
    expect(rows).toHaveLength(6);
    const total = a.json().counts.inserted + b.json().counts.inserted;
    expect(total).toBe(6);
  });

  it("the roll is frozen once the election is open", async () => {
    await importFile("valid.csv");
    await addTallyKey(database.db, election.id);
    const opened = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/open`,
      headers: bearer(committeeToken),
    });
    expect(opened.statusCode).toBe(200);
    const late = await upload(fixture("valid-corrected.csv"));
    expect(late.statusCode).toBe(409);
    expect(errorCode(late)).toBe("ELECTION_NOT_DRAFT");
    expect((await voters()).map((v) => v.name)).toContain("Siti Rahmawati");
  });
});

describe("uploads", () => {
  it("a browser's multipart upload is imported the same way", async () => {
    const boundary = "----suara-test-boundary";
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="dpt.csv"\r\nContent-Type: text/csv\r\n\r\n`,
      ),
      fixture("valid.csv"),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const response = await upload(body, "", `multipart/form-data; boundary=${boundary}`);
    expect(response.statusCode).toBe(200);
    expect(response.json().counts.inserted).toBe(6);
  });

  it("a body over the upload limit is 413, naming the command-line importer, and nothing is written", async () => {
    const big = `${fixture("valid.csv").toString()}${"\n".repeat(5000)}`;
    const response = await upload(big);
    expect(response.statusCode).toBe(413);
    expect(errorCode(response)).toBe("ROLL_TOO_LARGE");
    expect(response.json().error.message).toMatch(/npm run import-roll/);
    expect(await voters()).toEqual([]);
  });

  it("an oversized multipart upload is 413 too", async () => {
    const boundary = "----b";
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="dpt.csv"\r\n\r\n`),
      fixture("valid.csv"),
      Buffer.from("\n".repeat(5000)),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const response = await upload(body, "", `multipart/form-data; boundary=${boundary}`);
    expect(response.statusCode).toBe(413);
    expect(errorCode(response)).toBe("ROLL_TOO_LARGE");
  });

  it("a body that is not CSV (JSON, or nothing) is refused with 415, not a server error", async () => {
    const json = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/roll`,
      headers: bearer(committeeToken),
      payload: { voters: [] },
    });
    expect(json.statusCode).toBe(415);
    expect(errorCode(json)).toBe("UNSUPPORTED_MEDIA_TYPE");
    const empty = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/roll`,
      headers: bearer(committeeToken),
    });
    expect(empty.statusCode).toBe(415);
  });

  it("only the election's committee imports; others are refused before a byte is read", async () => {
    const other = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/roll`,
      headers: { ...bearer(adminToken), "content-type": "text/csv" },
      payload: fixture("valid.csv"),
    });
    expect(other.statusCode).toBe(403);
    expect(await voters()).toEqual([]);
  });
});

describe("reading the roll", () => {
  it("the committee lists voters by name with NIKs masked, by TPS and by part of a name", async () => {
    await importFile("valid.csv");
    const list = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll?limit=4`,
      headers: bearer(committeeToken),
    });
    const page = list.json();
    expect(page.items.map((v: { name: string }) => v.name)).toEqual([
      "Ahmad Fauzi",
      "Budi Santoso",
      "Dewi Lestari",
      "Muhammad Rizki",
    ]);
    expect(page.items[0]).toMatchObject({
      nik_masked: "1607xxxxxxxx0001",
      tps_code: "001",
      birth_year: 1980,
    });
    expect(list.body).not.toMatch(/\d{16}/);
    const next = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll?limit=4&cursor=${page.next_cursor}`,
      headers: bearer(committeeToken),
    });
    expect(next.json().items.map((v: { name: string }) => v.name)).toEqual(["Nur Aisyah", "Siti Rahmawati"]);
    const byTps = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll?tps_id=${election.tpsIds[1]}`,
      headers: bearer(committeeToken),
    });
    expect(byTps.json().items).toHaveLength(3);
    const search = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll?q=rahma`,
      headers: bearer(committeeToken),
    });
    expect(search.json().items.map((v: { name: string }) => v.name)).toEqual(["Siti Rahmawati"]);
  });

  it("personal data goes only to the committee; the per-TPS summary to every role of the election", async () => {
    await importFile("valid.csv");
    const witness = await createUser(database.db, `saksi-${election.id.slice(0, 6)}`);
    await addMember(database.db, election.id, witness.id, "witness");
    const witnessToken = await login(app, `saksi-${election.id.slice(0, 6)}`);
    const list = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll`,
      headers: bearer(witnessToken),
    });
    expect(list.statusCode).toBe(403);
    const adminList = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll`,
      headers: bearer(adminToken),
    });
    expect(adminList.statusCode).toBe(403);
    const summary = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll/summary`,
      headers: bearer(witnessToken),
    });
    expect(summary.json()).toEqual({
      tps: [
        {
          tps_id: election.tpsIds[0],
          code: "001",
          name: "TPS 001",
          registered: 3,
          male: 2,
          female: 1,
          with_disability: 0,
          dpk: 0,
        },
        {
          tps_id: election.tpsIds[1],
          code: "002",
          name: "TPS 002",
          registered: 3,
          male: 1,
          female: 2,
          with_disability: 1,
          dpk: 0,
        },
      ],
      total: { registered: 6, male: 3, female: 3, with_disability: 1, dpk: 0 },
    });
  });

  it("a tampered cursor is a 400", async () => {
    const forged = Buffer.from(JSON.stringify({ v: "Ahmad|not-a-uuid" })).toString("base64url");
    const response = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll?cursor=${forged}`,
      headers: bearer(committeeToken),
    });
    expect(response.statusCode).toBe(400);
  });

  it("no NIK, name or birth date reaches the logs", () => {
    const text = logs.join("\n");
    for (const nik of fixture("valid.csv")
      .toString()
      .match(/\b16\d{14}\b/g) ?? [])
      expect(text).not.toContain(nik);
    expect(text).not.toContain("Rahmawati");
    expect(text).not.toContain("1985-07-03");
  });
});
