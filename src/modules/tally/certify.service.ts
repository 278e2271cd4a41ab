// Certification (SPEC §8): committee members approve the service-signed result, each with their own
// authenticated action; at the quorum — a majority of the election's committee — the election is certified and
// its result becomes public. Every approval is audited.
import { sql } from "kysely";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import { lockElection } from "../elections/elections.service.js";

export async function approveResult(db: Db, actor: Actor & { id: string }, electionId: string) {
  return db.transaction().execute(async (tx) => {
    const election = await lockElection(tx, electionId);
    if (election.status !== "tallied") {
      throw new AppError(
        election.status === "certified" ? "ALREADY_APPROVED" : "NOT_TALLIED",
        election.status === "certified"
          ? "the result is certified already"
          : "there is no tallied result to approve",
      );
    }
    const approved = await tx
      .insertInto("result_approvals")
      .values({ election_id: electionId, user_id: actor.id })
      .onConflict((oc) => oc.columns(["election_id", "user_id"]).doNothing())
      .returning("user_id")
      .executeTakeFirst();
    if (!approved) throw new AppError("ALREADY_APPROVED", "you have approved this result already");
    const { approvals, committee } = await tx
      .selectNoFrom([
        sql<number>`(SELECT count(*)::int FROM result_approvals WHERE election_id = ${electionId})`.as(
          "approvals",
        ),
        sql<number>`(SELECT count(*)::int FROM memberships WHERE election_id = ${electionId} AND role = 'committee')`.as(
          "committee",
        ),
      ])
      .executeTakeFirstOrThrow();
    const quorum = Math.floor(committee / 2) + 1;
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "result.approved",
      targetType: "election",
      targetId: electionId,
      details: { approvals, quorum },
    });
    const certified = approvals >= quorum;
    if (certified) {
      await tx
        .updateTable("elections")
        .set({ status: "certified", updated_at: sql`now()` })
        .where("id", "=", electionId)
        .execute();
      await recordAuditEvent(tx, actor, {
        electionId,
        action: "election.certified",
        targetType: "election",
        targetId: electionId,
        details: { approvals, quorum },
      });
    }
    return { approvals, quorum, certified };
  });
}
