// Elections (SPEC §2): the definition set up in draft (schedule, candidates, TPS, memberships) and the lifecycle
// draft → open → closed → tallied → certified, or cancelled. Every change locks the election row first, so an
// edit and a transition of the same election never interleave, and writes its audit event in the same
// transaction. A refused transition is recorded too, in its own transaction, so witnesses see attempts.
import { sql, type Transaction } from "kysely";
import { newId } from "../../crypto/random.js";
import type { DB, Db, Election, ElectionStatus, Executor, MemberRole, TimeZone } from "../../db/database.js";
import { decodeCursor, encodeCursor } from "../../lib/cursor.js";
import { AppError, type ErrorCode, notFound } from "../../lib/errors.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import type { LogKeyring } from "../log/log.keys.js";
import { signFinalCheckpoint } from "../log/log.service.js";
import type { TieBreakRules } from "../tally/winner.js";

const UTC_OFFSET: Record<TimeZone, string> = { WIB: "+07:00", WITA: "+08:00", WIT: "+09:00" };
const UTC_OFFSET_HOURS: Record<TimeZone, number> = { WIB: 7, WITA: 8, WIT: 9 };

export function localToInstant(day: string, time: string, zone: TimeZone): Date {
  return new Date(`${day}T${time}:00${UTC_OFFSET[zone]}`);
}

function instantToLocal(instant: Date, zone: TimeZone): string {
  const shifted = new Date(instant.getTime() + UTC_OFFSET_HOURS[zone] * 3600_000);
  return shifted.toISOString().slice(11, 16);
}

export function electionView(e: Election) {
  const opens = new Date(e.opens_at);
  const closes = new Date(e.closes_at);
  return {
    id: e.id,
    name: e.name,
    village_name: e.village_name,
    region_code: e.region_code,
    voting_day: e.voting_day,
    time_zone: e.time_zone,
    opens_at: opens.toISOString(),
    closes_at: closes.toISOString(),
    opens_at_local: instantToLocal(opens, e.time_zone),
    closes_at_local: instantToLocal(closes, e.time_zone),
    status: e.status,
    cancel_reason: e.cancel_reason,
    tie_break: tieBreakOf(e),
    certification_quorum: e.certification_quorum,
    created_at: new Date(e.created_at).toISOString(),
    updated_at: new Date(e.updated_at).toISOString(),
  };
}

/** The election's tie-break rules as stored (validated on the way in). */
export function tieBreakOf(e: Election): TieBreakRules {
  return e.tie_break as TieBreakRules;
}

function schedule(day: string, zone: TimeZone, opensLocal: string, closesLocal: string) {
  const opens_at = localToInstant(day, opensLocal, zone);
  const closes_at = localToInstant(day, closesLocal, zone);
  if (opens_at >= closes_at) {
    throw new AppError("SCHEDULE_INVALID", "polls must open before they close on the voting day", {
      opens_at_local: opensLocal,
      closes_at_local: closesLocal,
    });
  }
  return { opens_at, closes_at };
}

export async function getElection(db: Executor, id: string): Promise<Election> {
  const election = await db.selectFrom("elections").selectAll().where("id", "=", id).executeTakeFirst();
  if (!election) throw notFound("election");
  return election;
}

/** Refuses (404) a TPS id that is not one of this election's TPS. */
export async function requireTps(db: Executor, electionId: string, tpsId: string): Promise<void> {
  const tps = await db
    .selectFrom("tps")
    .select("id")
    .where("election_id", "=", electionId)
    .where("id", "=", tpsId)
    .executeTakeFirst();
  if (!tps) throw notFound("TPS");
}

/** Locks the election row for the rest of the transaction; every change to an election starts here. */
export async function lockElection(tx: Transaction<DB>, id: string): Promise<Election> {
  const election = await tx
    .selectFrom("elections")
    .selectAll()
    .where("id", "=", id)
    .forUpdate()
    .executeTakeFirst();
  if (!election) throw notFound("election");
  return election;
}

function assertDraft(election: Election): void {
  if (election.status !== "draft") {
    throw new AppError("ELECTION_NOT_DRAFT", `the election is ${election.status}: its definition is frozen`, {
      status: election.status,
    });
  }
}

/** Runs a change to a draft election: lock, check draft, change, audit — one transaction. */
async function changeDraft<T>(
  db: Db,
  electionId: string,
  fn: (tx: Transaction<DB>, election: Election) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (tx) => {
    const election = await lockElection(tx, electionId);
    assertDraft(election);
    return fn(tx, election);
  });
}

export interface ElectionInput {
  name: string;
  village_name: string;
  region_code: string;
  voting_day: string;
  time_zone: TimeZone;
  opens_at_local: string;
  closes_at_local: string;
  tie_break: TieBreakRules;
  certification_quorum: number | null;
}

export async function createElection(
  db: Db,
  actor: Actor & { id: string },
  input: ElectionInput,
): Promise<Election> {
  const times = schedule(input.voting_day, input.time_zone, input.opens_at_local, input.closes_at_local);
  return db.transaction().execute(async (tx) => {
    const election = await tx
      .insertInto("elections")
      .values({
        id: newId(),
        name: input.name,
        village_name: input.village_name,
        region_code: input.region_code,
        voting_day: input.voting_day,
        time_zone: input.time_zone,
        ...times,
        tie_break: JSON.stringify(input.tie_break),
        certification_quorum: input.certification_quorum,
        status: "draft",
        created_by: actor.id,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAuditEvent(tx, actor, {
      electionId: election.id,
      action: "election.created",
      targetType: "election",
      targetId: election.id,
    });
    return election;
  });
}

export async function updateElection(
  db: Db,
  actor: Actor,
  electionId: string,
  change: Partial<ElectionInput>,
): Promise<Election> {
  return changeDraft(db, electionId, async (tx, current) => {
    const view = electionView(current);
    const merged = {
      voting_day: change.voting_day ?? current.voting_day,
      time_zone: change.time_zone ?? current.time_zone,
      opens_at_local: change.opens_at_local ?? view.opens_at_local,
      closes_at_local: change.closes_at_local ?? view.closes_at_local,
    };
    const times = schedule(
      merged.voting_day,
      merged.time_zone,
      merged.opens_at_local,
      merged.closes_at_local,
    );
    const updated = await tx
      .updateTable("elections")
      .set({
        ...(change.name !== undefined ? { name: change.name } : {}),
        ...(change.village_name !== undefined ? { village_name: change.village_name } : {}),
        ...(change.region_code !== undefined ? { region_code: change.region_code } : {}),
        ...(change.tie_break !== undefined ? { tie_break: JSON.stringify(change.tie_break) } : {}),
        ...(change.certification_quorum !== undefined
          ? { certification_quorum: change.certification_quorum }
          : {}),
        voting_day: merged.voting_day,
        time_zone: merged.time_zone,
        ...times,
        updated_at: sql`now()`,
      })
      .where("id", "=", electionId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "election.updated",
      targetType: "election",
      targetId: electionId,
      details: { fields: Object.keys(change).sort() },
    });
    return updated;
  });
}

/** Admins see every election; everyone else the elections they are a member of. Newest first. */
export async function listElections(
  db: Executor,
  viewer: { userId: string; isAdmin: boolean },
  page: { cursor?: string | undefined; limit: number },
) {
  let query = db.selectFrom("elections").selectAll("elections");
  if (!viewer.isAdmin) {
    query = query.where("elections.id", "in", (eb) =>
      eb
        .selectFrom("memberships")
        .select("memberships.election_id")
        .where("memberships.user_id", "=", viewer.userId),
    );
  }
  if (page.cursor !== undefined) {
    const [createdAt, id] = String(decodeCursor(page.cursor, "c")).split("|");
    if (
      createdAt === undefined ||
      id === undefined ||
      Number.isNaN(new Date(createdAt).getTime()) ||
      !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)
    ) {
      throw new AppError("VALIDATION_FAILED", "cursor is not one this service issued");
    }
    query = query.where((eb) =>
      eb.or([
        eb("elections.created_at", "<", new Date(createdAt)),
        eb.and([eb("elections.created_at", "=", new Date(createdAt)), eb("elections.id", "<", id)]),
      ]),
    );
  }
  const rows = await query
    .orderBy("elections.created_at", "desc")
    .orderBy("elections.id", "desc")
    .limit(page.limit + 1)
    .execute();
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items: items.map(electionView),
    next_cursor:
      rows.length > page.limit && last
        ? encodeCursor("c", `${new Date(last.created_at).toISOString()}|${last.id}`)
        : null,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Candidates and TPS

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === "23505" && e.constraint === constraint;
}

export interface CandidateInput {
  ballot_number: number;
  name: string;
  photo_url?: string | null | undefined;
  vision?: string | null | undefined;
}

export function listCandidates(db: Executor, electionId: string) {
  return db
    .selectFrom("candidates")
    .select(["id", "ballot_number", "name", "photo_url", "vision"])
    .where("election_id", "=", electionId)
    .orderBy("ballot_number")
    .execute();
}

async function translateUnique<T>(
  work: () => Promise<T>,
  constraint: string,
  error: () => AppError,
): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (isUniqueViolation(e, constraint)) throw error();
    throw e;
  }
}

const numberTaken = (n: number | undefined) =>
  new AppError("BALLOT_NUMBER_TAKEN", `ballot number ${n} already belongs to another candidate`, {
    ballot_number: n,
  });

export async function addCandidate(db: Db, actor: Actor, electionId: string, input: CandidateInput) {
  return translateUnique(
    () =>
      changeDraft(db, electionId, async (tx) => {
        const candidate = await tx
          .insertInto("candidates")
          .values({
            election_id: electionId,
            id: newId(),
            ballot_number: input.ballot_number,
            name: input.name,
            photo_url: input.photo_url ?? null,
            vision: input.vision ?? null,
          })
          .returning(["id", "ballot_number", "name", "photo_url", "vision"])
          .executeTakeFirstOrThrow();
        await recordAuditEvent(tx, actor, {
          electionId,
          action: "candidate.added",
          targetType: "candidate",
          targetId: candidate.id,
          details: { ballot_number: candidate.ballot_number },
        });
        return candidate;
      }),
    "candidates_election_id_ballot_number_key",
    () => numberTaken(input.ballot_number),
  );
}

export async function updateCandidate(
  db: Db,
  actor: Actor,
  electionId: string,
  candidateId: string,
  change: Partial<CandidateInput>,
) {
  return translateUnique(
    () =>
      changeDraft(db, electionId, async (tx) => {
        const candidate = await tx
          .updateTable("candidates")
          .set(change)
          .where("election_id", "=", electionId)
          .where("id", "=", candidateId)
          .returning(["id", "ballot_number", "name", "photo_url", "vision"])
          .executeTakeFirst();
        if (!candidate) throw notFound("candidate");
        await recordAuditEvent(tx, actor, {
          electionId,
          action: "candidate.updated",
          targetType: "candidate",
          targetId: candidateId,
          details: { fields: Object.keys(change).sort() },
        });
        return candidate;
      }),
    "candidates_election_id_ballot_number_key",
    () => numberTaken(change.ballot_number),
  );
}

export async function removeCandidate(db: Db, actor: Actor, electionId: string, candidateId: string) {
  await changeDraft(db, electionId, async (tx) => {
    const removed = await tx
      .deleteFrom("candidates")
      .where("election_id", "=", electionId)
      .where("id", "=", candidateId)
      .executeTakeFirst();
    if (removed.numDeletedRows === 0n) throw notFound("candidate");
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "candidate.removed",
      targetType: "candidate",
      targetId: candidateId,
    });
  });
}

export interface TpsInput {
  code: string;
  name: string;
  address?: string | null | undefined;
  area?: string | null | undefined;
}

export function listTps(db: Executor, electionId: string) {
  return db
    .selectFrom("tps")
    .select(["id", "code", "name", "address", "area"])
    .where("election_id", "=", electionId)
    .orderBy("code")
    .execute();
}

const codeTaken = (code: string | undefined) =>
  new AppError("TPS_CODE_TAKEN", `a TPS with code ${code} already exists in this election`, { code });

export async function addTps(db: Db, actor: Actor, electionId: string, input: TpsInput) {
  return translateUnique(
    () =>
      changeDraft(db, electionId, async (tx) => {
        const tps = await tx
          .insertInto("tps")
          .values({
            election_id: electionId,
            id: newId(),
            code: input.code,
            name: input.name,
            address: input.address ?? null,
            area: input.area ?? null,
          })
          .returning(["id", "code", "name", "address", "area"])
          .executeTakeFirstOrThrow();
        await recordAuditEvent(tx, actor, {
          electionId,
          action: "tps.added",
          targetType: "tps",
          targetId: tps.id,
          details: { code: tps.code },
        });
        return tps;
      }),
    "tps_election_id_code_key",
    () => codeTaken(input.code),
  );
}

export async function updateTps(
  db: Db,
  actor: Actor,
  electionId: string,
  tpsId: string,
  change: Partial<TpsInput>,
) {
  return translateUnique(
    () =>
      changeDraft(db, electionId, async (tx) => {
        const tps = await tx
          .updateTable("tps")
          .set(change)
          .where("election_id", "=", electionId)
          .where("id", "=", tpsId)
          .returning(["id", "code", "name", "address", "area"])
          .executeTakeFirst();
        if (!tps) throw notFound("TPS");
        await recordAuditEvent(tx, actor, {
          electionId,
          action: "tps.updated",
          targetType: "tps",
          targetId: tpsId,
          details: { fields: Object.keys(change).sort() },
        });
        return tps;
      }),
    "tps_election_id_code_key",
    () => codeTaken(change.code),
  );
}

export async function removeTps(db: Db, actor: Actor, electionId: string, tpsId: string) {
  try {
    await changeDraft(db, electionId, async (tx) => {
      const voter = await tx
        .selectFrom("voters")
        .select("id")
        .where("election_id", "=", electionId)
        .where("tps_id", "=", tpsId)
        .limit(1)
        .executeTakeFirst();
      if (voter) throw new AppError("TPS_IN_USE", "voters on the roll belong to this TPS: move them first");
      const removed = await tx
        .deleteFrom("tps")
        .where("election_id", "=", electionId)
        .where("id", "=", tpsId)
        .executeTakeFirst();
      if (removed.numDeletedRows === 0n) throw notFound("TPS");
      await recordAuditEvent(tx, actor, {
        electionId,
        action: "tps.removed",
        targetType: "tps",
        targetId: tpsId,
      });
    });
  } catch (e) {
    if ((e as { code?: string }).code === "23503") {
      throw new AppError("TPS_IN_USE", "officers (or voters) are assigned to this TPS: reassign them first");
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Memberships

export function listMembers(db: Executor, electionId: string) {
  return db
    .selectFrom("memberships")
    .innerJoin("users", "users.id", "memberships.user_id")
    .select([
      "memberships.user_id",
      "users.username",
      "users.display_name",
      "memberships.role",
      "memberships.tps_id",
    ])
    .where("memberships.election_id", "=", electionId)
    .orderBy("memberships.role")
    .orderBy("users.username")
    .execute();
}

/** Admins manage every role; a committee member manages only officers and witnesses of their election. */
function assertMayManage(actor: Actor, role: MemberRole): void {
  if (actor.role !== "admin" && role === "committee") {
    throw new AppError("FORBIDDEN", "only an administrator assigns committee members");
  }
}

export async function addMember(
  db: Db,
  actor: Actor,
  electionId: string,
  input: {
    user_id?: string | undefined;
    username?: string | undefined;
    role: MemberRole;
    tps_id?: string | undefined;
  },
) {
  assertMayManage(actor, input.role);
  return db.transaction().execute(async (tx) => {
    const election = await lockElection(tx, electionId);
    if (election.status === "cancelled")
      throw new AppError("ELECTION_CANCELLED", "the election was cancelled");
    let userQuery = tx.selectFrom("users").select(["id", "username", "display_name", "disabled_at"]);
    userQuery =
      input.user_id !== undefined
        ? userQuery.where("id", "=", input.user_id)
        : userQuery.where("username", "=", input.username ?? "");
    const user = await userQuery.executeTakeFirst();
    if (!user) throw notFound("user");
    if (user.disabled_at !== null) throw new AppError("USER_DISABLED", "that account is disabled");
    if (input.tps_id !== undefined) await requireTps(tx, electionId, input.tps_id);
    const inserted = await tx
      .insertInto("memberships")
      .values({ election_id: electionId, user_id: user.id, role: input.role, tps_id: input.tps_id ?? null })
      .onConflict((oc) => oc.columns(["election_id", "user_id"]).doNothing())
      .returning(["user_id", "role", "tps_id"])
      .executeTakeFirst();
    if (!inserted) throw new AppError("ALREADY_MEMBER", "this user already has a role in this election");
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "member.added",
      targetType: "user",
      targetId: user.id,
      details: { role: input.role, tps_id: input.tps_id ?? null },
    });
    return { ...inserted, username: user.username, display_name: user.display_name };
  });
}

export async function removeMember(db: Db, actor: Actor, electionId: string, userId: string) {
  await db.transaction().execute(async (tx) => {
    await lockElection(tx, electionId);
    const member = await tx
      .selectFrom("memberships")
      .select(["role"])
      .where("election_id", "=", electionId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!member) throw notFound("membership");
    assertMayManage(actor, member.role);
    await tx
      .deleteFrom("memberships")
      .where("election_id", "=", electionId)
      .where("user_id", "=", userId)
      .execute();
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "member.removed",
      targetType: "user",
      targetId: userId,
      details: { role: member.role },
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Lifecycle

export interface Unmet {
  code: ErrorCode;
  message: string;
}

/**
 * The preconditions of opening (SPEC §2) that exist so far, in the order a committee would fix them. Each
 * capability that adds a precondition (roll, tally key, empty log) adds its check here.
 */
export async function openingPreconditions(tx: Executor, election: Election, now: Date): Promise<Unmet[]> {
  const unmet: Unmet[] = [];
  const candidates = await tx
    .selectFrom("candidates")
    .select("ballot_number")
    .where("election_id", "=", election.id)
    .orderBy("ballot_number")
    .execute();
  if (candidates.length < 2) {
    unmet.push({
      code: "CANDIDATES_TOO_FEW",
      message: `2 to 5 candidates are needed; there are ${candidates.length}`,
    });
  } else if (candidates.length > 5) {
    unmet.push({
      code: "CANDIDATES_TOO_MANY",
      message: `at most 5 candidates; there are ${candidates.length}`,
    });
  } else if (candidates.some((c, i) => c.ballot_number !== i + 1)) {
    unmet.push({
      code: "CANDIDATE_NUMBERS_NOT_CONSECUTIVE",
      message: `ballot numbers must run 1..${candidates.length}; they are ${candidates.map((c) => c.ballot_number).join(", ")}`,
    });
  }
  const tps = await tx
    .selectFrom("tps")
    .select(["code", "area"])
    .where("election_id", "=", election.id)
    .execute();
  if (tps.length === 0) unmet.push({ code: "TPS_MISSING", message: "add at least one TPS" });
  // The wider-area rule by area needs every TPS in an area, or ties would be judged on a partial map (SPEC §8).
  const withoutArea = tps.filter((t) => t.area === null).map((t) => t.code);
  if (tieBreakOf(election).area_unit === "area" && withoutArea.length > 0) {
    unmet.push({
      code: "TPS_AREA_MISSING",
      message: `ties are broken by area, but TPS ${withoutArea.join(", ")} ${withoutArea.length > 1 ? "have" : "has"} no area (dusun): set it, or break ties by TPS`,
    });
  }
  if (election.certification_quorum !== null) {
    const committee = await tx
      .selectFrom("memberships")
      .select((eb) => eb.fn.countAll<string>().as("count"))
      .where("election_id", "=", election.id)
      .where("role", "=", "committee")
      .executeTakeFirstOrThrow();
    if (Number(committee.count) < election.certification_quorum) {
      unmet.push({
        code: "QUORUM_UNREACHABLE",
        message: `certification needs ${election.certification_quorum} committee approvals but the committee has ${committee.count} members`,
      });
    }
  }
  // Every voter's TPS exists by construction (a foreign key), so an empty roll is the one thing left to check.
  const voter = await tx
    .selectFrom("voters")
    .select("id")
    .where("election_id", "=", election.id)
    .limit(1)
    .execute();
  if (voter.length === 0) unmet.push({ code: "ROLL_EMPTY", message: "import the voter roll (DPT) first" });
  const tallyKey = await tx
    .selectFrom("tally_keys")
    .select("election_id")
    .where("election_id", "=", election.id)
    .executeTakeFirst();
  if (!tallyKey) unmet.push({ code: "TALLY_KEY_MISSING", message: "hold the tally-key ceremony first" });
  const log = await tx
    .selectFrom("log_heads")
    .select("tree_size")
    .where("election_id", "=", election.id)
    .executeTakeFirst();
  if ((log?.tree_size ?? 0) > 0) {
    unmet.push({ code: "LOG_NOT_EMPTY", message: `the vote log already has ${log?.tree_size} entries` });
  }
  // Eligibility was judged on the voting day at import; the day may have moved since (SPEC §3: 17, or married).
  const minors = await tx
    .selectFrom("voters")
    .select((eb) => eb.fn.countAll<string>().as("count"))
    .where("election_id", "=", election.id)
    .where("marital_status", "=", "B")
    .where("birth_date", ">", sql<string>`(${election.voting_day}::date - interval '17 years')::date`)
    .executeTakeFirstOrThrow();
  if (Number(minors.count) > 0) {
    unmet.push({
      code: "ROLL_HAS_INELIGIBLE",
      message: `${minors.count} unmarried voters are under 17 on the voting day ${election.voting_day}: correct the roll or the day`,
    });
  }
  // No foreign key ties voters to TPS (see the voter_roll migration), so check it here, as SPEC §2 asks.
  const stranded = await tx
    .selectFrom("voters")
    .select((eb) => eb.fn.countAll<string>().as("count"))
    .where("voters.election_id", "=", election.id)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("tps")
            .select("tps.id")
            .whereRef("tps.election_id", "=", "voters.election_id")
            .whereRef("tps.id", "=", "voters.tps_id"),
        ),
      ),
    )
    .executeTakeFirstOrThrow();
  if (Number(stranded.count) > 0) {
    unmet.push({
      code: "ROLL_TPS_MISSING",
      message: `${stranded.count} voters belong to a TPS that does not exist`,
    });
  }
  if (new Date(election.closes_at) <= now) {
    unmet.push({ code: "SCHEDULE_PASSED", message: "the polls' closing time has passed: fix the schedule" });
  }
  return unmet;
}

async function transition(
  db: Db,
  actor: Actor,
  electionId: string,
  action: string,
  decide: (
    tx: Transaction<DB>,
    election: Election,
  ) => Promise<{ status: ElectionStatus; cancel_reason?: string }>,
  details: Record<string, unknown> = {},
): Promise<Election> {
  try {
    return await db.transaction().execute(async (tx) => {
      const election = await lockElection(tx, electionId);
      const next = await decide(tx, election);
      const updated = await tx
        .updateTable("elections")
        .set({ ...next, updated_at: sql`now()` })
        .where("id", "=", electionId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordAuditEvent(tx, actor, {
        electionId,
        action,
        targetType: "election",
        targetId: electionId,
        details: { from: election.status, to: next.status, ...details },
      });
      return updated;
    });
  } catch (error) {
    if (error instanceof AppError && error.code !== "NOT_FOUND") {
      await db.transaction().execute((tx) =>
        recordAuditEvent(tx, actor, {
          electionId,
          action,
          targetType: "election",
          targetId: electionId,
          outcome: "refused",
          details: { code: error.code, ...(error.details ?? {}) },
        }),
      );
    }
    throw error;
  }
}

export function openElection(db: Db, actor: Actor, electionId: string, now = new Date()) {
  return transition(db, actor, electionId, "election.opened", async (tx, election) => {
    assertDraft(election);
    const unmet = await openingPreconditions(tx, election, now);
    const first = unmet[0];
    if (first) {
      throw new AppError(first.code, first.message, { unmet: unmet.map((u) => u.code) });
    }
    return { status: "open" };
  });
}

/**
 * Closes the polls: no more tokens or ballots (both check the status under a shared lock on the election row,
 * which this takes for update, so none commits after the close), and a final checkpoint is signed (SPEC §2).
 */
export function closeElection(db: Db, actor: Actor, electionId: string, keyring: LogKeyring) {
  return transition(db, actor, electionId, "election.closed", async (tx, election) => {
    if (election.status !== "open") {
      throw new AppError(
        "ELECTION_NOT_OPEN",
        `only an open election can be closed; this one is ${election.status}`,
        {
          status: election.status,
        },
      );
    }
    await signFinalCheckpoint(tx, keyring, electionId);
    return { status: "closed" };
  });
}

export function cancelElection(db: Db, actor: Actor, electionId: string, reason: string) {
  return transition(
    db,
    actor,
    electionId,
    "election.cancelled",
    async (_tx, election) => {
      if (election.status !== "draft" && election.status !== "open") {
        throw new AppError(
          "ELECTION_NOT_CANCELLABLE",
          `only a draft or open election can be cancelled; this one is ${election.status}`,
          { status: election.status },
        );
      }
      return { status: "cancelled", cancel_reason: reason };
    },
    { reason },
  );
}
