// Check-in and ballot tokens at the TPS (SPEC §4, §5). An officer checks a voter in by NIK and gets a one-time
// token for the kiosk, with a precise answer for every other case; adds a resident as DPK; voids a token the
// voter did not use; re-issues after a void, with a reason. Secrecy by construction: the check-in row says only
// that the voter was checked in (no time, no token); the token row has no voter; audit events name the officer
// and the TPS, never the voter.
import { sql, type Transaction } from "kysely";
import {
  ballotTokenHash,
  ballotTokenQrPayload,
  generateBallotToken,
  normalizeBallotToken,
} from "../../crypto/ballot-token.js";
import { randomBytesFor } from "../../crypto/random.js";
import type { DB, Db, Election, Executor } from "../../db/database.js";
import { AppError, notFound } from "../../lib/errors.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import { nikFacts, parseIdentityNumber } from "../roll/nik.js";
import { ensureVoterPartition } from "../roll/roll.partition.js";
import { ageOn } from "../roll/roll-row.js";

export interface TokenSettings {
  /** The HMAC key tokens are stored under. */
  key: Buffer;
  ttlSeconds: number;
}

/** The token HMAC key: configured, or made once and kept in the database (SPEC §4: "a server secret"). */
export async function loadTokenKey(db: Db, configured: string | undefined): Promise<Buffer> {
  if (configured !== undefined) return Buffer.from(configured, "utf8");
  await db
    .insertInto("service_secrets")
    .values({ name: "ballot_token_hmac", value: randomBytesFor(32) })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const row = await db
    .selectFrom("service_secrets")
    .select("value")
    .where("name", "=", "ballot_token_hmac")
    .executeTakeFirstOrThrow();
  return row.value;
}

/** Polls are open: the election is open and now is within its schedule, whatever the state says (SPEC §2). */
export function assertPollsOpen(election: Election, now = new Date()): void {
  if (election.status !== "open") {
    throw new AppError("ELECTION_NOT_OPEN", `the election is ${election.status}, not open`, {
      status: election.status,
    });
  }
  const opens = new Date(election.opens_at);
  const closes = new Date(election.closes_at);
  if (now < opens || now >= closes) {
    throw new AppError(
      "OUTSIDE_SCHEDULE",
      `polls are open from ${opens.toISOString()} to ${closes.toISOString()}`,
      {
        opens_at: opens.toISOString(),
        closes_at: closes.toISOString(),
      },
    );
  }
}

async function electionForPolling(tx: Transaction<DB>, electionId: string): Promise<Election> {
  // A shared lock: many check-ins proceed together, while closing (which takes the row for update) waits for
  // them and they wait for it — no token is issued after the close commits.
  const election = await tx
    .selectFrom("elections")
    .selectAll()
    .where("id", "=", electionId)
    .forShare()
    .executeTakeFirst();
  if (!election) throw notFound("election");
  assertPollsOpen(election);
  return election;
}

function cleanNik(raw: string): string {
  const parsed = parseIdentityNumber(raw, "NIK");
  if (!parsed.ok) throw new AppError("VALIDATION_FAILED", parsed.message, { field: "nik" });
  return parsed.nik;
}

async function issueToken(
  tx: Transaction<DB>,
  settings: TokenSettings,
  electionId: string,
  tpsId: string,
  reissue: boolean,
): Promise<{ token: string; qr_payload: string; expires_at: string }> {
  const token = generateBallotToken();
  const canonical = normalizeBallotToken(token) as string;
  const expiresAt = new Date(Date.now() + settings.ttlSeconds * 1000);
  await tx
    .insertInto("ballot_tokens")
    .values({
      election_id: electionId,
      token_hash: ballotTokenHash(settings.key, electionId, canonical),
      tps_id: tpsId,
      expires_at: expiresAt,
      reissue,
    })
    .execute();
  return { token, qr_payload: ballotTokenQrPayload(electionId, token), expires_at: expiresAt.toISOString() };
}

export async function checkInVoter(
  db: Db,
  settings: TokenSettings,
  actor: Actor,
  electionId: string,
  tpsId: string,
  nikInput: string,
) {
  const nik = cleanNik(nikInput);
  return db.transaction().execute(async (tx) => {
    await electionForPolling(tx, electionId);
    const voter = await tx
      .selectFrom("voters")
      .innerJoin("tps", (j) =>
        j.onRef("tps.election_id", "=", "voters.election_id").onRef("tps.id", "=", "voters.tps_id"),
      )
      .select(["voters.tps_id", "tps.code", "tps.name as tps_name"])
      .where("voters.election_id", "=", electionId)
      .where("voters.nik", "=", nik)
      .executeTakeFirst();
    if (!voter) {
      throw new AppError(
        "VOTER_NOT_ON_ROLL",
        "this NIK is not on the roll: a resident of the village may be added as DPK",
      );
    }
    if (voter.tps_id !== tpsId) {
      throw new AppError("WRONG_TPS", `this voter is registered at ${voter.tps_name} (TPS ${voter.code})`, {
        tps_id: voter.tps_id,
        tps_code: voter.code,
        tps_name: voter.tps_name,
      });
    }
    const checkedIn = await tx
      .insertInto("checkins")
      .values({ election_id: electionId, nik, tps_id: tpsId })
      .onConflict((oc) => oc.columns(["election_id", "nik"]).doNothing())
      .returning("nik")
      .executeTakeFirst();
    if (!checkedIn) throw new AppError("ALREADY_CHECKED_IN", "this voter has already been checked in");
    const token = await issueToken(tx, settings, electionId, tpsId, false);
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "checkin.token_issued",
      targetType: "tps",
      targetId: tpsId,
    });
    return token;
  });
}

export interface DpkInput {
  nik: string;
  name: string;
  birth_date: string;
  sex: "L" | "P";
  marital_status: "B" | "S" | "P";
  address?: string | undefined;
  reason: string;
}

/** Adds a resident who is not on the roll (DPK) to this TPS, with the officer's reason; audited. */
export async function addDpkVoter(db: Db, actor: Actor, electionId: string, tpsId: string, input: DpkInput) {
  const nik = cleanNik(input.nik);
  const facts = nikFacts(nik);
  if ("error" in facts) throw new AppError("VALIDATION_FAILED", facts.error, { field: "nik" });
  return db.transaction().execute(async (tx) => {
    const election = await electionForPolling(tx, electionId);
    const village = election.region_code.split(".").slice(0, 3).join("");
    if (facts.facts.region !== village) {
      throw new AppError(
        "DPK_NOT_RESIDENT",
        `the NIK is from district ${facts.facts.region}, not this village's ${village}`,
      );
    }
    const age = ageOn(input.birth_date, election.voting_day);
    if (age < 17 && input.marital_status === "B") {
      throw new AppError(
        "VOTER_INELIGIBLE",
        `${age} years old on the voting day and never married: not yet a voter`,
      );
    }
    await ensureVoterPartition(tx, electionId);
    const added = await tx
      .insertInto("voters")
      .values({
        election_id: electionId,
        nik,
        name: input.name,
        birth_date: input.birth_date,
        sex: input.sex,
        marital_status: input.marital_status,
        address: input.address ?? null,
        tps_id: tpsId,
        origin: "dpk",
        note: input.reason,
      })
      .onConflict((oc) => oc.columns(["election_id", "nik"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    if (!added)
      throw new AppError("ALREADY_ON_ROLL", "this NIK is already on the roll: check the voter in instead");
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "dpk.added",
      targetType: "tps",
      targetId: tpsId,
      details: { reason: input.reason },
    });
    return { voter_id: added.id };
  });
}

/** Voids an unredeemed token of this TPS (the voter left without voting). */
export async function voidToken(
  db: Db,
  settings: TokenSettings,
  actor: Actor,
  electionId: string,
  tpsId: string,
  tokenInput: string,
) {
  const canonical = normalizeBallotToken(tokenInput);
  if (canonical === null)
    throw new AppError("VALIDATION_FAILED", "not a ballot token (check the last symbol)", { field: "token" });
  return db.transaction().execute(async (tx) => {
    await electionForPolling(tx, electionId);
    const voided = await tx
      .updateTable("ballot_tokens")
      .set({ state: "voided" })
      .where("election_id", "=", electionId)
      .where("token_hash", "=", ballotTokenHash(settings.key, electionId, canonical))
      .where("tps_id", "=", tpsId)
      .where("state", "=", "issued")
      .returning("tps_id")
      .executeTakeFirst();
    if (!voided)
      throw new AppError(
        "TOKEN_NOT_VOIDABLE",
        "no unused token of this TPS matches: it may be used, voided or mistyped",
      );
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "token.voided",
      targetType: "tps",
      targetId: tpsId,
    });
  });
}

/**
 * A new token for a checked-in voter whose token was voided or expired, with a reason. Tokens carry no voter,
 * so the rule is kept per TPS: re-issues never outnumber the tokens that died unused there.
 */
export async function reissueToken(
  db: Db,
  settings: TokenSettings,
  actor: Actor,
  electionId: string,
  tpsId: string,
  nikInput: string,
  reason: string,
) {
  const nik = cleanNik(nikInput);
  return db.transaction().execute(async (tx) => {
    await electionForPolling(tx, electionId);
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`reissue:${electionId}:${tpsId}`}, 0))`.execute(
      tx,
    );
    const checkin = await tx
      .selectFrom("checkins")
      .select("tps_id")
      .where("election_id", "=", electionId)
      .where("nik", "=", nik)
      .executeTakeFirst();
    if (!checkin || checkin.tps_id !== tpsId)
      throw new AppError("NOT_CHECKED_IN", "this voter has not been checked in at this TPS");
    const tally = await tx
      .selectFrom("ballot_tokens")
      .select([
        sql<number>`count(*) FILTER (WHERE reissue)::int`.as("reissued"),
        sql<number>`count(*) FILTER (WHERE state = 'voided' OR (state = 'issued' AND expires_at <= now()))::int`.as(
          "dead",
        ),
      ])
      .where("election_id", "=", electionId)
      .where("tps_id", "=", tpsId)
      .executeTakeFirstOrThrow();
    if (tally.reissued >= tally.dead) {
      throw new AppError(
        "REISSUE_NOT_ALLOWED",
        "void the voter's unused token first (or let it expire): a new token replaces one that can no longer be used",
      );
    }
    const token = await issueToken(tx, settings, electionId, tpsId, true);
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "token.reissued",
      targetType: "tps",
      targetId: tpsId,
      details: { reason },
    });
    return token;
  });
}

/** Who has been checked in (never when), by name, for the committee; optionally one TPS. */
export async function attendance(db: Executor, electionId: string, tpsId?: string) {
  let query = db
    .selectFrom("checkins")
    .innerJoin("voters", (j) =>
      j.onRef("voters.election_id", "=", "checkins.election_id").onRef("voters.nik", "=", "checkins.nik"),
    )
    .select(["voters.id", "voters.name", "voters.nik", "voters.origin", "checkins.tps_id"])
    .where("checkins.election_id", "=", electionId);
  if (tpsId !== undefined) query = query.where("checkins.tps_id", "=", tpsId);
  return query.orderBy("voters.name").orderBy("voters.id").execute();
}
