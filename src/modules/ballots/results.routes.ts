// Results (SPEC §5, §8). Choices stay sealed until the polls close, and counts exist only once k share holders
// have tallied: before close, every role — the administrator included — is refused; after close, until the
// tally, there are no counts to give; once tallied, the election's people see them; once certified, everyone.
// The same rule guards the printable berita acara.
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db, Election } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { commonErrors } from "../../lib/schemas.js";
import { PUBLIC } from "../../plugins/access.js";
import { electionParams } from "../elections/elections.schemas.js";
import { electionView, getElection } from "../elections/elections.service.js";
import { type BeritaAcaraInput, renderBeritaAcara } from "../tally/berita-acara.js";
import { quorumOf } from "../tally/certify.service.js";
import type { Decision } from "../tally/winner.js";

/** The election, if this caller may read its result now; otherwise the precise refusal. */
async function readableElection(db: Db, request: FastifyRequest, electionId: string): Promise<Election> {
  const election = await getElection(db, electionId);
  if (election.status === "draft" || election.status === "open") {
    throw new AppError(
      "RESULTS_SEALED",
      "ballots stay sealed until the polls close: no counts exist yet, for anyone",
    );
  }
  if (election.status === "closed" || election.status === "cancelled") {
    throw new AppError(
      "NOT_TALLIED",
      "the polls are closed; counts exist once k share holders have run the tally",
    );
  }
  // Tallied results go to the election's people; certified results are public (SPEC §8).
  const principal = request.principal;
  const member = principal !== null && (principal.isAdmin || principal.memberships.has(election.id));
  if (election.status !== "certified" && !member) {
    throw new AppError(principal ? "FORBIDDEN" : "UNAUTHENTICATED", "results are public once certified");
  }
  return election;
}

function approvalsOf(db: Db, electionId: string) {
  return db
    .selectFrom("result_approvals")
    .innerJoin("users", "users.id", "result_approvals.user_id")
    .select([
      "users.display_name",
      "result_approvals.approved_at",
      "result_approvals.public_key",
      "result_approvals.signature",
    ])
    .where("result_approvals.election_id", "=", electionId)
    .orderBy("result_approvals.approved_at")
    .execute();
}

function membersOf(db: Db, electionId: string, role: "committee" | "witness") {
  return db
    .selectFrom("memberships")
    .innerJoin("users", "users.id", "memberships.user_id")
    .select("users.display_name")
    .where("memberships.election_id", "=", electionId)
    .where("memberships.role", "=", role)
    .orderBy("users.display_name")
    .execute();
}

export const resultRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  app.get(
    "/elections/:electionId/results",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["results"],
        summary: "Per-candidate counts: sealed to everyone until the polls close and the tally is done",
        params: electionParams,
        response: {
          200: z.object({
            election_id: z.uuid(),
            status: z.string(),
            counts: z.record(z.string(), z.unknown()),
            verification: z.record(z.string(), z.unknown()),
            reconciliation: z.record(z.string(), z.unknown()),
            decision: z
              .record(z.string(), z.unknown())
              .describe("winner, the rule that decided, the rules applied, its evidence"),
            document: z.string().describe("the canonical JSON result document the service signed"),
            service_signature: z.string().describe("base64 Ed25519 signature of `document` by the log key"),
            approvals: z.number().int(),
            quorum: z.number().int().describe("approvals that certify this election's result"),
            approved_by: z.array(
              z.object({
                display_name: z.string(),
                approved_at: z.string(),
                public_key: z.string().nullable().describe("base64 Ed25519 key, when the member signed"),
                signature: z
                  .string()
                  .nullable()
                  .describe("base64 signature of `document`, when the member signed"),
              }),
            ),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const election = await readableElection(db, request, request.params.electionId);
      const [result, approvals, committee] = await Promise.all([
        db.selectFrom("results").selectAll().where("election_id", "=", election.id).executeTakeFirstOrThrow(),
        approvalsOf(db, election.id),
        membersOf(db, election.id, "committee"),
      ]);
      return {
        election_id: election.id,
        status: election.status,
        counts: result.counts,
        verification: result.verification,
        reconciliation: result.reconciliation,
        decision: result.decision,
        document: result.document,
        service_signature: result.service_signature,
        approvals: approvals.length,
        quorum: quorumOf(election.certification_quorum, committee.length),
        approved_by: approvals.map((a) => ({
          display_name: a.display_name,
          approved_at: new Date(a.approved_at).toISOString(),
          public_key: a.public_key?.toString("base64") ?? null,
          signature: a.signature?.toString("base64") ?? null,
        })),
      };
    },
  );

  app.get(
    "/elections/:electionId/berita-acara",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["results"],
        summary:
          "The printable berita acara (minutes of the count) as an HTML page: totals, per-TPS tables, the " +
          "reconciliation, the winner and the rule that decided, approvals and signature lines",
        params: electionParams,
        produces: ["text/html"],
      },
    },
    async (request, reply) => {
      const election = await readableElection(db, request, request.params.electionId);
      const [result, approvals, committee, witnesses, candidates, tps] = await Promise.all([
        db.selectFrom("results").selectAll().where("election_id", "=", election.id).executeTakeFirstOrThrow(),
        approvalsOf(db, election.id),
        membersOf(db, election.id, "committee"),
        membersOf(db, election.id, "witness"),
        db
          .selectFrom("candidates")
          .select(["ballot_number", "name"])
          .where("election_id", "=", election.id)
          .orderBy("ballot_number")
          .execute(),
        db
          .selectFrom("tps")
          .select(["id", "code", "name", "area"])
          .where("election_id", "=", election.id)
          .orderBy("code")
          .execute(),
      ]);
      const document = JSON.parse(result.document) as { origin: string };
      const html = renderBeritaAcara({
        election: electionView(election),
        candidates,
        tps,
        counts: result.counts as unknown as BeritaAcaraInput["counts"],
        reconciliation: result.reconciliation as unknown as BeritaAcaraInput["reconciliation"],
        decision: result.decision as unknown as Decision,
        verification: result.verification as unknown as BeritaAcaraInput["verification"],
        serviceSignature: result.service_signature,
        talliedAt: new Date(result.tallied_at),
        origin: document.origin,
        quorum: quorumOf(election.certification_quorum, committee.length),
        approvals: approvals.map((a) => ({
          display_name: a.display_name,
          approved_at: new Date(a.approved_at),
          signed: a.signature !== null,
        })),
        committee,
        witnesses,
      });
      return reply
        .type("text/html; charset=utf-8")
        .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'")
        .send(html);
    },
  );
};
