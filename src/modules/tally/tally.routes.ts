// HTTP routes of the tally: holders submit their shares after the polls close; everyone on the election sees
// the progress.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type pg from "pg";
import { z } from "zod";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { base64Bytes, commonErrors } from "../../lib/schemas.js";
import { roles } from "../../plugins/access.js";
import { actorIn, requirePrincipal } from "../../plugins/auth.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";
import type { LogKeyring } from "../log/log.keys.js";
import { approveResult } from "./certify.service.js";
import { submitShare, type TallySessions, tallyStatus } from "./tally.service.js";

const status = z.object({
  state: z.enum(["collecting", "running", "done", "failed"]),
  shares_received: z.number().int(),
  threshold: z.number().int().nullable(),
  entries_checked: z.number().int(),
  entries_total: z.number().int(),
  failure: z.string().nullable(),
});

export const tallyRoutes: FastifyPluginAsyncZod<{
  db: Db;
  /** The pool under `db`: the tally streams the log by COPY through one of its clients. */
  pool: pg.Pool;
  keyring: () => Promise<LogKeyring>;
  sessions: TallySessions;
}> = async (app, { db, pool, keyring, sessions }) => {
  app.post(
    "/elections/:electionId/tally/shares",
    {
      config: { access: roles("committee", "witness") },
      schema: {
        tags: ["tally"],
        summary:
          "Submit your share of the tally key (opened on your own device); the tally starts at k shares",
        params: electionParams,
        body: z.strictObject({ share: z.string().min(4).max(200).describe("base64 of your opened share") }),
        response: { 202: status, ...commonErrors },
      },
    },
    async (request, reply) => {
      const electionId = request.params.electionId;
      const share = Buffer.from(request.body.share, "base64");
      if (share.toString("base64") !== request.body.share) {
        throw new AppError("VALIDATION_FAILED", "the share is not canonical base64", { field: "share" });
      }
      const principal = requirePrincipal(request);
      const result = await submitShare(
        db,
        pool,
        await keyring(),
        sessions,
        { ...actorIn(principal, electionId), id: principal.userId },
        electionId,
        share,
      );
      return reply.code(202).send(result);
    },
  );

  app.post(
    "/elections/:electionId/result/approve",
    {
      config: { access: roles("committee") },
      schema: {
        tags: ["tally"],
        summary:
          "Approve the signed result as a committee member (optionally signing the result document with your own " +
          "Ed25519 key); the election's quorum — by default a majority of the committee — certifies it",
        params: electionParams,
        body: z
          .strictObject({
            public_key: base64Bytes("your Ed25519 public key", 32),
            signature: base64Bytes("your Ed25519 signature of the result document's UTF-8 bytes", 64),
          })
          .nullish()
          .describe("optional: approve with your own signature too; send no body to approve without one"),
        response: {
          200: z.object({ approvals: z.number().int(), quorum: z.number().int(), certified: z.boolean() }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const electionId = request.params.electionId;
      const principal = requirePrincipal(request);
      const body = request.body;
      return approveResult(
        db,
        { ...actorIn(principal, electionId), id: principal.userId },
        electionId,
        body ? { publicKey: body.public_key, signature: body.signature } : null,
      );
    },
  );

  app.get(
    "/elections/:electionId/tally",
    {
      config: { access: roles("admin", "committee", "witness") },
      schema: {
        tags: ["tally"],
        summary: "Tally progress: shares received, entries checked, outcome",
        params: electionParams,
        response: { 200: status, ...commonErrors },
      },
    },
    async (request) => {
      const electionId = request.params.electionId;
      const election = await getElection(db, electionId);
      const key = await db
        .selectFrom("tally_keys")
        .select("threshold")
        .where("election_id", "=", electionId)
        .executeTakeFirst();
      const current = tallyStatus(sessions, electionId, key?.threshold ?? null);
      if (election.status === "tallied" || election.status === "certified")
        return { ...current, state: "done" as const };
      return current;
    },
  );
};
