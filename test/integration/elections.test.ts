// SPEC §2: an election is defined in draft — schedule, candidates, TPS, people — and moves through its
// lifecycle only when the preconditions hold; every refusal names its reason with a stable code and leaves the
// election exactly as it was.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLogKeyring } from "../../src/modules/log/log.keys.js";
import { appendVotes } from "../../src/modules/log/log.service.js";
import { ensureVoterPartition } from "../../src/modules/roll/roll.partition.js";
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
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { makeKiosk, makeVote } from "../helpers/votes.js";

let database: TestDatabase;
let app: FastifyInstance;
let adminToken: string;
let committeeToken: string;
let committeeId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  committeeId = (await createUser(database.db, "panitia")).id;
  adminToken = await login(app, "admin");
  committeeToken = await login(app, "panitia");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function electionWithCommittee(
  options: Parameters<typeof createElection>[2] & { voters?: boolean; tallyKey?: boolean } = {},
): Promise<ElectionFixture> {
  const election = await createElection(app, adminToken, options);
  await addMember(database.db, election.id, committeeId, "committee");
  if (options.voters !== false && election.tpsIds.length > 0) await addVoters(database.db, election);
  if (options.tallyKey !== false) await addTallyKey(database.db, election.id);
  return election;
}

const call = (
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  payload?: Record<string, unknown>,
  token = committeeToken,
) => app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload }) });

async function statusOf(id: string): Promise<string> {
  const row = await database.db
    .selectFrom("elections")
    .select("status")
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  return row.status;
}

async function lastAuditEvent(electionId: string) {
  return database.db
    .selectFrom("audit_events")
    .selectAll()
    .where("election_id", "=", electionId)
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirstOrThrow();
}

describe("defining an election in draft", () => {
  it("stores the schedule in the village's time zone and shows it back both ways", async () => {
    const response = await call(
      "POST",
      "/elections",
      {
        name: "Pilkades Desa Merah Mata",
        village_name: "Merah Mata",
        region_code: "16.07.05.2003",
        voting_day: "2099-06-07",
        time_zone: "WITA",
        opens_at_local: "08:00",
        closes_at_local: "14:30",
      },
      adminToken,
    );
    expect(response.statusCode).toBe(201);
    const election = response.json();
    expect(election).toMatchObject({
      status: "draft",
      time_zone: "WITA",
      voting_day: "2099-06-07",
      opens_at: "2099-06-07T00:00:00.000Z",
      closes_at: "2099-06-07T06:30:00.000Z",
      opens_at_local: "08:00",
      closes_at_local: "14:30",
    });
    const row = await database.db
      .selectFrom("elections")
      .selectAll()
      .where("id", "=", election.id)
      .executeTakeFirst();
    expect(row?.voting_day).toBe("2099-06-07");
    expect(row?.created_by).toBeDefined();
  });

  it("refuses a schedule that closes before it opens, a 31 February, and a malformed region code", async () => {
    const base = {
      name: "X",
      village_name: "X",
      region_code: "16.07.05.2003",
      voting_day: "2099-06-07",
      time_zone: "WIB",
    };
    const backwards = await call(
      "POST",
      "/elections",
      { ...base, opens_at_local: "13:00", closes_at_local: "07:00" },
      adminToken,
    );
    expect(backwards.statusCode).toBe(422);
    expect(errorCode(backwards)).toBe("SCHEDULE_INVALID");
    const feb31 = await call("POST", "/elections", { ...base, voting_day: "2099-02-31" }, adminToken);
    expect(errorCode(feb31)).toBe("VALIDATION_FAILED");
    const region = await call("POST", "/elections", { ...base, region_code: "1607052003" }, adminToken);
    expect(errorCode(region)).toBe("VALIDATION_FAILED");
    const { count } = await database.db
      .selectFrom("elections")
      .select((eb) => eb.fn.countAll<string>().as("count"))
      .where("name", "=", "X")
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(0);
  });

  it("keeps ballot numbers and TPS codes unique within an election", async () => {
    const election = await electionWithCommittee({ candidates: 2, tps: 1 });
    const dupNumber = await call("POST", `/elections/${election.id}/candidates`, {
      ballot_number: 2,
      name: "Another",
    });
    expect(dupNumber.statusCode).toBe(409);
    expect(errorCode(dupNumber)).toBe("BALLOT_NUMBER_TAKEN");
    const dupCode = await call("POST", `/elections/${election.id}/tps`, { code: "001", name: "Again" });
    expect(errorCode(dupCode)).toBe("TPS_CODE_TAKEN");
    const photo = await call("POST", `/elections/${election.id}/candidates`, {
      ballot_number: 3,
      name: "Photo",
      photo_url: "javascript:alert(1)",
    });
    expect(errorCode(photo)).toBe("VALIDATION_FAILED");
    const candidates = await call("GET", `/elections/${election.id}/candidates`);
    expect(
      candidates.json<{ items: Array<{ ballot_number: number }> }>().items.map((c) => c.ballot_number),
    ).toEqual([1, 2]);
  });

  it("lets the committee add officers and witnesses but not committee members", async () => {
    const election = await electionWithCommittee();
    await createUser(database.db, "kpps-01");
    await createUser(database.db, "saksi-1");
    await createUser(database.db, "panitia-2");
    const officer = await call("POST", `/elections/${election.id}/members`, {
      username: "kpps-01",
      role: "officer",
      tps_id: election.tpsIds[0],
    });
    expect(officer.statusCode).toBe(201);
    const noTps = await call("POST", `/elections/${election.id}/members`, {
      username: "saksi-1",
      role: "officer",
    });
    expect(errorCode(noTps)).toBe("VALIDATION_FAILED");
    const witness = await call("POST", `/elections/${election.id}/members`, {
      username: "saksi-1",
      role: "witness",
    });
    expect(witness.statusCode).toBe(201);
    const twice = await call("POST", `/elections/${election.id}/members`, {
      username: "saksi-1",
      role: "witness",
    });
    expect(errorCode(twice)).toBe("ALREADY_MEMBER");
    const committee = await call("POST", `/elections/${election.id}/members`, {
      username: "panitia-2",
      role: "committee",
    });
    expect(committee.statusCode).toBe(403);
    const byAdmin = await call(
      "POST",
      `/elections/${election.id}/members`,
      { username: "panitia-2", role: "committee" },
      adminToken,
    );
    expect(byAdmin.statusCode).toBe(201);
    const members = await call("GET", `/elections/${election.id}/members`);
    expect(members.json<{ items: Array<{ username: string; role: string }> }>().items).toEqual([
      expect.objectContaining({ username: "panitia", role: "committee" }),
      expect.objectContaining({ username: "panitia-2", role: "committee" }),
      expect.objectContaining({ username: "kpps-01", role: "officer", tps_id: election.tpsIds[0] }),
      expect.objectContaining({ username: "saksi-1", role: "witness" }),
    ]);
    const inUse = await call("DELETE", `/elections/${election.id}/tps/${election.tpsIds[0]}`);
    expect(errorCode(inUse)).toBe("TPS_IN_USE");
  });
});

describe("opening: each precondition refused with its own code", () => {
  const cases: Array<{
    code: string;
    setup: () => Promise<ElectionFixture>;
  }> = [
    { code: "CANDIDATES_TOO_FEW", setup: () => electionWithCommittee({ candidates: 1 }) },
    {
      code: "CANDIDATE_NUMBERS_NOT_CONSECUTIVE",
      setup: async () => {
        const e = await electionWithCommittee({ candidates: 2 });
        await call("PATCH", `/elections/${e.id}/candidates/${e.candidateIds[1]}`, { ballot_number: 4 });
        return e;
      },
    },
    { code: "TPS_MISSING", setup: () => electionWithCommittee({ tps: 0 }) },
    { code: "ROLL_EMPTY", setup: () => electionWithCommittee({ voters: false }) },
    { code: "TALLY_KEY_MISSING", setup: () => electionWithCommittee({ tallyKey: false }) },
    {
      code: "LOG_NOT_EMPTY",
      setup: async () => {
        const e = await electionWithCommittee();
        const keyring = await loadLogKeyring(database.db, "suara.local");
        await database.db
          .transaction()
          .execute((tx) =>
            appendVotes(tx, keyring, e.id, [makeVote(e.id, e.tpsIds[0] as string, makeKiosk())]),
          );
        return e;
      },
    },
    { code: "SCHEDULE_PASSED", setup: () => electionWithCommittee({ votingDay: "2020-01-05" }) },
  ];

  for (const { code, setup } of cases) {
    it(`${code}: refused, the election stays draft, and the refusal is audited`, async () => {
      const election = await setup();
      const response = await call("POST", `/elections/${election.id}/open`);
      expect(response.statusCode).toBe(409);
      expect(errorCode(response)).toBe(code);
      expect(response.json().error.details.unmet).toContain(code);
      expect(await statusOf(election.id)).toBe("draft");
      const event = await lastAuditEvent(election.id);
      expect(event).toMatchObject({ action: "election.opened", outcome: "refused", actor_id: committeeId });
      expect(event.details).toMatchObject({ code });
    });
  }

  it("an election meeting every precondition opens, freezes its definition, and closes", async () => {
    const election = await electionWithCommittee();
    const opened = await call("POST", `/elections/${election.id}/open`);
    expect(opened.statusCode).toBe(200);
    expect(opened.json().status).toBe("open");
    expect(await statusOf(election.id)).toBe("open");

    const again = await call("POST", `/elections/${election.id}/open`);
    expect(errorCode(again)).toBe("ELECTION_NOT_DRAFT");
    const edit = await call("PATCH", `/elections/${election.id}`, { name: "Renamed" });
    expect(errorCode(edit)).toBe("ELECTION_NOT_DRAFT");
    const candidate = await call("POST", `/elections/${election.id}/candidates`, {
      ballot_number: 4,
      name: "Late",
    });
    expect(errorCode(candidate)).toBe("ELECTION_NOT_DRAFT");
    const tps = await call("DELETE", `/elections/${election.id}/tps/${election.tpsIds[1]}`);
    expect(errorCode(tps)).toBe("ELECTION_NOT_DRAFT");
    expect((await call("GET", `/elections/${election.id}/candidates`)).json().items).toHaveLength(3);

    const closed = await call("POST", `/elections/${election.id}/close`);
    expect(closed.json().status).toBe("closed");
    const cancel = await call("POST", `/elections/${election.id}/cancel`, { reason: "too late" });
    expect(errorCode(cancel)).toBe("ELECTION_NOT_CANCELLABLE");
    expect(await statusOf(election.id)).toBe("closed");

    const actions = await database.db
      .selectFrom("audit_events")
      .select(["action", "outcome", "actor_role"])
      .where("election_id", "=", election.id)
      .where("action", "like", "election.%")
      .orderBy("seq")
      .execute();
    expect(actions).toEqual([
      { action: "election.created", outcome: "success", actor_role: "admin" },
      { action: "election.opened", outcome: "success", actor_role: "committee" },
      { action: "election.opened", outcome: "refused", actor_role: "committee" },
      { action: "election.closed", outcome: "success", actor_role: "committee" },
      { action: "election.cancelled", outcome: "refused", actor_role: "committee" },
    ]);
  });

  it("moving the voting day earlier, so that a voter on the roll is not yet 17 and unmarried, blocks opening", async () => {
    const election = await electionWithCommittee({ votingDay: "2099-03-14" });
    await database.db.transaction().execute((tx) => ensureVoterPartition(tx, election.id));
    await database.db
      .insertInto("voters")
      .values({
        election_id: election.id,
        nik: "1607050103820009",
        name: "Baru Tujuh Belas",
        birth_date: "2082-03-01",
        sex: "L",
        marital_status: "B",
        tps_id: election.tpsIds[0] as string,
      })
      .execute();
    const moved = await call("PATCH", `/elections/${election.id}`, { voting_day: "2099-02-01" });
    expect(moved.statusCode).toBe(200);
    const response = await call("POST", `/elections/${election.id}/open`);
    expect(errorCode(response)).toBe("ROLL_HAS_INELIGIBLE");
    expect(await statusOf(election.id)).toBe("draft");
  });

  it("a draft election cannot be closed", async () => {
    const election = await electionWithCommittee();
    const response = await call("POST", `/elections/${election.id}/close`);
    expect(errorCode(response)).toBe("ELECTION_NOT_OPEN");
    expect(await statusOf(election.id)).toBe("draft");
  });

  it("cancelling needs a reason, records it, and ends every change", async () => {
    const election = await electionWithCommittee();
    const noReason = await call("POST", `/elections/${election.id}/cancel`, {});
    expect(errorCode(noReason)).toBe("VALIDATION_FAILED");
    const cancelled = await call("POST", `/elections/${election.id}/cancel`, {
      reason: "Sengketa batas desa: ditunda oleh Bupati",
    });
    expect(cancelled.json()).toMatchObject({
      status: "cancelled",
      cancel_reason: "Sengketa batas desa: ditunda oleh Bupati",
    });
    const open = await call("POST", `/elections/${election.id}/open`);
    expect(errorCode(open)).toBe("ELECTION_NOT_DRAFT");
    await createUser(database.db, "late-witness");
    const member = await call("POST", `/elections/${election.id}/members`, {
      username: "late-witness",
      role: "witness",
    });
    expect(errorCode(member)).toBe("ELECTION_CANCELLED");
  });

  it("two committee members opening at once: one opens it, the other is told it is no longer draft", async () => {
    const election = await electionWithCommittee();
    const other = await createUser(database.db, "panitia-b");
    await addMember(database.db, election.id, other.id, "committee");
    const otherToken = await login(app, "panitia-b");
    const [a, b] = await Promise.all([
      call("POST", `/elections/${election.id}/open`),
      call("POST", `/elections/${election.id}/open`, undefined, otherToken),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    expect([errorCode(a), errorCode(b)]).toContain("ELECTION_NOT_DRAFT");
  });
});
