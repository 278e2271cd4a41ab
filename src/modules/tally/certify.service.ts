// Certification (SPEC §8): committee members approve the service-signed result, each with their own
// authenticated action — and, if they wish, their own Ed25519 signature of the result document, checked here and
// kept with the approval so that anyone can check it later. At the election's quorum (configured before opening;
// by default a majority of its committee) the election is certified and its result becomes public. Every
// approval is audited.
import { sql } from "kysely";
import { verifyEd25519 } from "../../crypto/ed25519.js";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import { lockElection } from "../elections/elections.service.js";

/** The committee approvals that certify: the configured number, or a majority of the committee. */
export function quorumOf(configured: number | null, committee: number): number {
  return configured ?? Math.floor(committee / 2) + 1;
}

export interface ApprovalSignature {
  publicKey: Buffer;
  signature: Buffer;
}

export async function approveResult(
  db: Db,
  actor: Actor & { id: string },
  electionId: string,
  signed: ApprovalSignature | null = null,
) {
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
    if (signed !== null) {
      const result = await tx
        .selectFrom("results")
        .select("document")
        .where("election_id", "=", electionId)
        .executeTakeFirstOrThrow();
      if (!verifyEd25519(signed.signature, Buffer.from(result.document, "utf8"), signed.publicKey)) {
        throw new AppError(
          "APPROVAL_SIGNATURE_INVALID",
          "the signature does not verify over the result document under the given public key",
        );
      }
    }
    const approved = await tx
      .insertInto("result_approvals")
      .values({
        election_id: electionId,
        user_id: actor.id,
        public_key: signed?.publicKey ?? null,
        signature: signed?.signature ?? null,
      })
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
    const quorum = quorumOf(election.certification_quorum, committee);
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "result.approved",
      targetType: "election",
      targetId: electionId,
      details: { approvals, quorum, signed: signed !== null },
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
