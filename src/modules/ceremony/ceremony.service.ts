// The tally-key ceremony (SPEC §7). Before it, each would-be holder (a committee member or a candidates'
// witness of the election) registers an X25519 public key made on their own device. The committee then runs the
// ceremony choosing k of n holders: the service makes the election's key pair, splits the secret, seals each
// share to its holder's key, keeps only the public key and the sealed shares, and forgets the secret. Each
// holder takes their sealed share once; after that the service holds nothing of it. Every step is audited —
// who registered, who received a share — never a share.

import { runTallyKeyCeremony } from "../../crypto/tally-key.js";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import { lockElection } from "../elections/elections.service.js";

export async function registerHolderKey(
  db: Db,
  actor: Actor & { id: string },
  electionId: string,
  publicKey: Buffer,
) {
  await db.transaction().execute(async (tx) => {
    const election = await lockElection(tx, electionId);
    if (election.status !== "draft") {
      throw new AppError("ELECTION_NOT_DRAFT", "holder keys are registered before the election opens");
    }
    const done = await tx
      .selectFrom("tally_keys")
      .select("election_id")
      .where("election_id", "=", electionId)
      .executeTakeFirst();
    if (done)
      throw new AppError("TALLY_KEY_EXISTS", "the ceremony has been held: holder keys can no longer change");
    await tx
      .insertInto("tally_key_holders")
      .values({ election_id: electionId, user_id: actor.id, holder_public_key: publicKey })
      .onConflict((oc) =>
        oc.columns(["election_id", "user_id"]).doUpdateSet({ holder_public_key: publicKey }),
      )
      .execute();
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "ceremony.holder_key_registered",
      targetType: "user",
      targetId: actor.id,
      details: { public_key: publicKey.toString("base64") },
    });
  });
}

export async function holdTallyKeyCeremony(
  db: Db,
  actor: Actor,
  electionId: string,
  input: { threshold: number; holders: string[] },
) {
  const holders = [...new Set(input.holders.map((h) => h.toLowerCase()))];
  if (holders.length !== input.holders.length)
    throw new AppError("CEREMONY_INVALID", "a holder is named twice");
  if (input.threshold < 2 || input.threshold > holders.length) {
    throw new AppError(
      "CEREMONY_INVALID",
      `the threshold must be between 2 and the number of holders (${holders.length})`,
      {
        threshold: input.threshold,
        holders: holders.length,
      },
    );
  }
  return db.transaction().execute(async (tx) => {
    const election = await lockElection(tx, electionId);
    if (election.status !== "draft")
      throw new AppError("ELECTION_NOT_DRAFT", "the ceremony is held before opening");
    const existing = await tx
      .selectFrom("tally_keys")
      .select("election_id")
      .where("election_id", "=", electionId)
      .executeTakeFirst();
    if (existing)
      throw new AppError(
        "TALLY_KEY_EXISTS",
        "this election's tally key was made already; there is no second ceremony",
      );
    const registered = await tx
      .selectFrom("tally_key_holders")
      .innerJoin("memberships", (j) =>
        j
          .onRef("memberships.election_id", "=", "tally_key_holders.election_id")
          .onRef("memberships.user_id", "=", "tally_key_holders.user_id"),
      )
      .select(["tally_key_holders.user_id", "tally_key_holders.holder_public_key", "memberships.role"])
      .where("tally_key_holders.election_id", "=", electionId)
      .where("tally_key_holders.user_id", "in", holders)
      .execute();
    const keyOf = new Map(
      registered.filter((r) => r.role !== "officer").map((r) => [r.user_id, r.holder_public_key]),
    );
    const missing = holders.filter((h) => !keyOf.has(h));
    if (missing.length > 0) {
      throw new AppError(
        "HOLDER_KEY_MISSING",
        "every holder must be a committee member or witness of this election with a registered key",
        { user_ids: missing },
      );
    }
    const result = await runTallyKeyCeremony(
      holders.map((h) => keyOf.get(h) as Buffer),
      input.threshold,
    );
    await tx
      .insertInto("tally_keys")
      .values({
        election_id: electionId,
        public_key: result.publicKey,
        threshold: input.threshold,
        holders: holders.length,
      })
      .execute();
    for (const { holder, sealedShare } of result.sealedShares) {
      await tx
        .updateTable("tally_key_holders")
        .set({ share_index: holder + 1, sealed_share: sealedShare })
        .where("election_id", "=", electionId)
        .where("user_id", "=", holders[holder] as string)
        .execute();
    }
    // Registered keys of people not chosen as holders are dropped: they hold nothing.
    await tx
      .deleteFrom("tally_key_holders")
      .where("election_id", "=", electionId)
      .where("user_id", "not in", holders)
      .execute();
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "ceremony.held",
      targetType: "election",
      targetId: electionId,
      details: { threshold: input.threshold, holders, public_key: result.publicKey.toString("base64") },
    });
    return { publicKey: result.publicKey, threshold: input.threshold, holders };
  });
}

/** Hands a holder their sealed share, once: the stored copy is erased in the same transaction. */
export async function takeShare(db: Db, actor: Actor & { id: string }, electionId: string) {
  return db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom("tally_key_holders")
      .innerJoin("tally_keys", "tally_keys.election_id", "tally_key_holders.election_id")
      .select([
        "tally_key_holders.share_index",
        "tally_key_holders.sealed_share",
        "tally_key_holders.handed_over",
        "tally_keys.public_key",
        "tally_keys.threshold",
        "tally_keys.holders",
      ])
      .where("tally_key_holders.election_id", "=", electionId)
      .where("tally_key_holders.user_id", "=", actor.id)
      .forUpdate()
      .executeTakeFirst();
    if (!row || row.share_index === null)
      throw new AppError("NOT_A_HOLDER", "you hold no share of this election's tally key");
    if (row.handed_over || row.sealed_share === null) {
      throw new AppError(
        "SHARE_ALREADY_HANDED_OVER",
        "your share was handed over already; the service keeps no copy",
      );
    }
    await tx
      .updateTable("tally_key_holders")
      .set({ sealed_share: null, handed_over: true })
      .where("election_id", "=", electionId)
      .where("user_id", "=", actor.id)
      .execute();
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "ceremony.share_handed_over",
      targetType: "user",
      targetId: actor.id,
      details: { share_index: row.share_index },
    });
    return {
      shareIndex: row.share_index,
      sealedShare: row.sealed_share,
      threshold: row.threshold,
      holders: row.holders,
      publicKey: row.public_key,
    };
  });
}

export async function ceremonyStatus(db: Db, electionId: string) {
  const key = await db
    .selectFrom("tally_keys")
    .selectAll()
    .where("election_id", "=", electionId)
    .executeTakeFirst();
  const holders = await db
    .selectFrom("tally_key_holders")
    .innerJoin("users", "users.id", "tally_key_holders.user_id")
    .select([
      "tally_key_holders.user_id",
      "users.username",
      "tally_key_holders.holder_public_key",
      "tally_key_holders.share_index",
      "tally_key_holders.handed_over",
    ])
    .where("tally_key_holders.election_id", "=", electionId)
    .orderBy("users.username")
    .execute();
  return {
    held: key !== undefined,
    public_key: key?.public_key.toString("base64") ?? null,
    threshold: key?.threshold ?? null,
    holders: holders.map((h) => ({
      user_id: h.user_id,
      username: h.username,
      holder_public_key: h.holder_public_key.toString("base64"),
      share_index: h.share_index,
      handed_over: h.handed_over,
    })),
  };
}
