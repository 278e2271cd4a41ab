// Downloading the election record: witnesses (and the committee and administrators) at any time; after
// certification it becomes public (issue #6 adds certification).
import { Readable } from "node:stream";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { Db } from "../../db/database.js";
import { roles } from "../../plugins/access.js";
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
      config: { access: roles("admin", "committee", "witness") },
      schema: {
        tags: ["record"],
        summary: "The election record (JSON Lines) for the offline verifier: no personal data, no secrets",
        params: electionParams,
      },
    },
    async (request, reply) => {
      const electionId = request.params.electionId;
      await getElection(db, electionId);
      const ring = await keyring();
      return reply
        .header("content-type", "application/x-ndjson")
        .header("content-disposition", `attachment; filename="suara-record-${electionId}.jsonl"`)
        .send(Readable.from(electionRecordLines(db, ring, electionId)));
    },
  );
};
