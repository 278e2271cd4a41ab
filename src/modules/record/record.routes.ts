// Downloading the election record: witnesses (and the committee and administrators) at any time; after
// certification it is public.
import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { PUBLIC } from "../../plugins/access.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";
import type { LogKeyring } from "../log/log.keys.js";
import { electionRecordLines } from "./record.service.js";

export const recordRoutes: FastifyPluginAsyncZod<{ db: Db; keyring: () => Promise<LogKeyring> }> = async (
  app,
  { db, keyring },
) => {
  app.get(
    "/elections/:electionId/record",
    {
      // Witnesses (and the committee and administrators) at any time; everyone once certified (SPEC §9).
      config: { access: PUBLIC },
      schema: {
        tags: ["record"],
        summary: "The election record (JSON Lines) for the offline verifier: no personal data, no secrets",
        params: electionParams,
      },
    },
    async (request, reply) => {
      const electionId = request.params.electionId;
      const election = await getElection(db, electionId);
      if (election.status !== "certified") {
        const principal = request.principal;
        const role = principal?.memberships.get(electionId)?.role;
        if (!principal)
          throw new AppError("UNAUTHENTICATED", "the record is public once the result is certified");
        if (!principal.isAdmin && role !== "committee" && role !== "witness") {
          throw new AppError(
            "FORBIDDEN",
            "until certification the record goes to witnesses and the committee",
          );
        }
      }
      const ring = await keyring();
      return reply
        .header("content-type", "application/x-ndjson")
        .header("content-disposition", `attachment; filename="suara-record-${electionId}.jsonl"`)
        .send(Readable.from(electionRecordLines(db, ring, electionId)));
    },
  );
};
