// Results (SPEC §5, §8). Choices stay sealed until the polls close, and counts exist only once k share holders
// have tallied: before close, every role — the administrator included — is refused; after close, until the
// tally, there are no counts to give; once tallied, the election's people see them; once certified, everyone.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { commonErrors } from "../../lib/schemas.js";
import { PUBLIC } from "../../plugins/access.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";

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
              .describe("winner, the rule that decided, its evidence"),
            document: z.string().describe("the canonical JSON result document the service signed"),
            service_signature: z.string().describe("base64 Ed25519 signature of `document` by the log key"),
            approvals: z.number().int(),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const election = await getElection(db, request.params.electionId);
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
      const result = await db
        .selectFrom("results")
        .selectAll()
        .where("election_id", "=", election.id)
        .executeTakeFirstOrThrow();
      return {
        election_id: election.id,
        status: election.status,
        counts: result.counts,
        verification: result.verification,
        reconciliation: result.reconciliation,
        decision: result.decision,
        document: result.document,
        service_signature: result.service_signature,
        approvals: Number(
          (
            await db
              .selectFrom("result_approvals")
              .select((eb) => eb.fn.countAll<string>().as("n"))
              .where("election_id", "=", election.id)
              .executeTakeFirstOrThrow()
          ).n,
        ),
      };
    },
  );
};
