// SPEC §4, §5: check-in at the TPS. Every outcome is precise; one voter gets one token however many officers
// try at once; tokens are kept only as keyed hashes with no voter; check-ins carry no time; audit events and
// logs name the officer and the TPS, never the voter.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addMember,
  addTallyKey,
  addVoters,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  errorCode,
  login,
  openPollsNow,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;
let logs: string[];
let election: ElectionFixture;
const tokens: Record<string, string> = {};

// addVoters puts NIKs 160705010180000{1,2,3} at TPS 001 and …{4,5,6} at TPS 002.
const nikAt = (serial: number) => `160705010180${String(serial).padStart(4, "0")}`;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app, logs } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  election = await createElection(app, await login(app, "admin"), { votingDay: "2099-03-14" });
  await addVoters(database.db, election);
  await addTallyKey(database.db, election.id);
  await openPollsNow(database.db, election.id);
  for (const [name, role, tps] of [
    ["kpps-1a", "officer", 0],
    ["kpps-1b", "officer", 0],
    ["kpps-2", "officer", 1],
    ["panitia", "committee", null],
  ] as const) {
    const user = await createUser(database.db, name);
    await addMember(
      database.db,
      election.id,
      user.id,
      role,
      tps === null ? null : (election.tpsIds[tps] as string),
    );
    tokens[name] = await login(app, name);
  }
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const tps = (i: number) => election.tpsIds[i] as string;
const post = (officer: string, path: string, payload: Record<string, unknown>, electionId = election.id) =>
  app.inject({
    method: "POST",
    url: `/elections/${electionId}${path}`,
    headers: bearer(tokens[officer] as string),
    payload,
  });
const checkIn = (officer: string, tpsIndex: number, nik: string) =>
  post(officer, `/tps/${tps(tpsIndex)}/checkins`, { nik });

describe("checking voters in", () => {
  it("a voter on the roll at this TPS gets a one-time token, kept only as a keyed hash with no voter", async () => {
    const response = await checkIn("kpps-1a", 0, nikAt(1));
    expect(response.statusCode).toBe(201);
    const { token, qr_payload, expires_at } = response.json();
    expect(token).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-.$/);
    expect(qr_payload).toBe(`SUARA1:${election.id}:${token}`);
    expect(new Date(expires_at).getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);

    const columns = async (table: string) =>
      (
        await database.superuser<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
          [table],
        )
      ).rows.map((r) => r.column_name);
    // No time, no token on the check-in; no voter, no ballot on the token.
    expect(await columns("checkins")).toEqual(["election_id", "nik", "tps_id"]);
    expect(await columns("ballot_tokens")).toEqual([
      "election_id",
      "token_hash",
      "tps_id",
      "expires_at",
      "state",
      "reissue",
    ]);
    const dump = (
      await database.superuser<{ t: string }>("SELECT row_to_json(b)::text AS t FROM ballot_tokens b")
    ).rows
      .map((r) => r.t)
      .join("\n");
    expect(dump).not.toContain(token.replaceAll("-", "").slice(0, 10));
    expect(dump).not.toContain(nikAt(1));
  });

  it("answers each other case precisely", async () => {
    const notOnRoll = await checkIn("kpps-1a", 0, "1607050101800099");
    expect([notOnRoll.statusCode, errorCode(notOnRoll)]).toEqual([404, "VOTER_NOT_ON_ROLL"]);
    const wrongTps = await checkIn("kpps-1a", 0, nikAt(4));
    expect([wrongTps.statusCode, errorCode(wrongTps)]).toEqual([409, "WRONG_TPS"]);
    expect(wrongTps.json().error.details).toMatchObject({ tps_code: "002", tps_name: "TPS 002" });
    const again = await checkIn("kpps-1b", 0, nikAt(1));
    expect([again.statusCode, errorCode(again)]).toEqual([409, "ALREADY_CHECKED_IN"]);
    const malformed = await checkIn("kpps-1a", 0, "1.60705E+15");
    expect(errorCode(malformed)).toBe("VALIDATION_FAILED");
    const otherTps = await checkIn("kpps-1a", 1, nikAt(4));
    expect(otherTps.statusCode).toBe(403);
  });

  it("refuses check-in when the election is not open, or outside its hours whatever its state", async () => {
    const draft = await createElection(app, await login(app, "admin"), { name: "Belum dibuka" });
    const officer = await createUser(database.db, "kpps-draft");
    await addMember(database.db, draft.id, officer.id, "officer", draft.tpsIds[0]);
    tokens["kpps-draft"] = await login(app, "kpps-draft");
    const notOpen = await post("kpps-draft", `/tps/${draft.tpsIds[0]}/checkins`, { nik: nikAt(1) }, draft.id);
    expect(errorCode(notOpen)).toBe("ELECTION_NOT_OPEN");
    await database.db
      .updateTable("elections")
      .set({
        status: "open",
        opens_at: new Date(Date.now() - 7200_000),
        closes_at: new Date(Date.now() - 3600_000),
      })
      .where("id", "=", draft.id)
      .execute();
    const late = await post("kpps-draft", `/tps/${draft.tpsIds[0]}/checkins`, { nik: nikAt(1) }, draft.id);
    expect(errorCode(late)).toBe("OUTSIDE_SCHEDULE");
  });

  it("one voter checked in by officers at once gets exactly one token", async () => {
    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => checkIn(i % 2 === 0 ? "kpps-1a" : "kpps-1b", 0, nikAt(2))),
    );
    const statuses = attempts.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(attempts.filter((r) => errorCode(r) === "ALREADY_CHECKED_IN")).toHaveLength(19);
    const rows = await database.db
      .selectFrom("ballot_tokens")
      .select("token_hash")
      .where("election_id", "=", election.id)
      .execute();
    expect(rows).toHaveLength(2); // voters 1 and 2
  });
});

describe("DPK, voiding and re-issuing", () => {
  it("an officer adds a resident as DPK with a reason, then checks them in; a non-resident is refused", async () => {
    const added = await post("kpps-2", `/tps/${tps(1)}/dpk`, {
      nik: "1607054506950007",
      name: "Nurhayati",
      birth_date: "05/06/1995",
      sex: "P",
      marital_status: "S",
      reason: "pindah datang, e-KTP desa ini",
    });
    expect(added.statusCode).toBe(201);
    expect((await checkIn("kpps-2", 1, "1607054506950007")).statusCode).toBe(201);
    const outsider = await post("kpps-2", `/tps/${tps(1)}/dpk`, {
      nik: "1671014506950007",
      name: "Orang Kota",
      birth_date: "1995-06-05",
      sex: "P",
      marital_status: "S",
      reason: "mengaku warga",
    });
    expect(errorCode(outsider)).toBe("DPK_NOT_RESIDENT");
    const twice = await post("kpps-2", `/tps/${tps(1)}/dpk`, {
      nik: nikAt(5),
      name: "Sudah Terdaftar",
      birth_date: "1980-01-01",
      sex: "L",
      marital_status: "S",
      reason: "x",
    });
    expect(errorCode(twice)).toBe("ALREADY_ON_ROLL");
    const event = await database.db
      .selectFrom("audit_events")
      .select(["details", "target_id"])
      .where("election_id", "=", election.id)
      .where("action", "=", "dpk.added")
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({ target_id: tps(1), details: { reason: "pindah datang, e-KTP desa ini" } });
  });

  it("a re-issue needs a dead token first: void, then re-issue once, with a reason", async () => {
    const issued = await checkIn("kpps-1a", 0, nikAt(3));
    const token = issued.json().token as string;
    const early = await post("kpps-1a", `/tps/${tps(0)}/tokens/reissue`, {
      nik: nikAt(3),
      reason: "lupa kode",
    });
    expect(errorCode(early)).toBe("REISSUE_NOT_ALLOWED");
    const wrong = await post("kpps-1a", `/tps/${tps(0)}/tokens/void`, { token: "AAAAA-AAAAA-A" });
    expect(errorCode(wrong)).toBe("VALIDATION_FAILED");
    const otherTps = await post("kpps-2", `/tps/${tps(1)}/tokens/void`, { token });
    expect(errorCode(otherTps)).toBe("TOKEN_NOT_VOIDABLE");
    expect(
      (await post("kpps-1a", `/tps/${tps(0)}/tokens/void`, { token: token.toLowerCase() })).statusCode,
    ).toBe(204);
    const reissued = await post("kpps-1b", `/tps/${tps(0)}/tokens/reissue`, {
      nik: nikAt(3),
      reason: "pemilih kembali",
    });
    expect(reissued.statusCode).toBe(201);
    expect(reissued.json().token).not.toBe(token);
    const again = await post("kpps-1b", `/tps/${tps(0)}/tokens/reissue`, { nik: nikAt(3), reason: "lagi" });
    expect(errorCode(again)).toBe("REISSUE_NOT_ALLOWED");
    const notCheckedIn = await post("kpps-2", `/tps/${tps(1)}/tokens/reissue`, {
      nik: nikAt(6),
      reason: "x",
    });
    expect(errorCode(notCheckedIn)).toBe("NOT_CHECKED_IN");
  });
});

describe("secrecy of check-in", () => {
  it("attendance lists who was checked in by name — never when — to the committee only", async () => {
    const response = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/attendance`,
      headers: bearer(tokens.panitia as string),
    });
    const items = response.json().items as Array<{ name: string; nik_masked: string; origin: string }>;
    expect(items.map((i) => i.name)).toEqual([...items.map((i) => i.name)].sort());
    expect(items.map((i) => i.name)).toEqual(
      expect.arrayContaining(["Nurhayati", "Pemilih 1", "Pemilih 2", "Pemilih 3"]),
    );
    expect(items.find((i) => i.name === "Nurhayati")).toMatchObject({
      origin: "dpk",
      nik_masked: "1607xxxxxxxx0007",
    });
    expect(Object.keys(items[0] as object).sort()).toEqual([
      "name",
      "nik_masked",
      "origin",
      "tps_id",
      "voter_id",
    ]);
    const byOfficer = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/attendance`,
      headers: bearer(tokens["kpps-1a"] as string),
    });
    expect(byOfficer.statusCode).toBe(403);
  });

  it("check-in audit events name the officer and the TPS, never the voter; logs hold no NIK or token", async () => {
    const events = await database.db
      .selectFrom("audit_events")
      .selectAll()
      .where("election_id", "=", election.id)
      .where("action", "in", ["checkin.token_issued", "token.voided", "token.reissued", "dpk.added"])
      .execute();
    expect(events.length).toBeGreaterThanOrEqual(5);
    for (const e of events) {
      expect(e.target_type).toBe("tps");
      expect(JSON.stringify(e)).not.toMatch(/16070[0-9]{11}/);
    }
    const text = logs.join("\n");
    expect(text).not.toMatch(/16070[0-9]{11}/);
    expect(text).not.toMatch(/[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-/);
  });
});
