// Reading the audit trail and checking its hash chain: per election for its committee, and the system chain
// (accounts, sign-ins) for administrators.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../../db/database.js";
import { commonErrors, pageQuery } from "../../lib/schemas.js";
import { roles } from "../../plugins/access.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";
import { SYSTEM_CHAIN } from "./audit.chain.js";
import { listAuditEvents, verifyAuditChain } from "./audit.service.js";

const eventView = z.object({
  seq: z.number().int(),
  id: z.uuid(),
  occurred_at: z.string(),
  actor_id: z.uuid().nullable(),
  actor_role: z.string(),
  action: z.string(),
  target_type: z.string().nullable(),
  target_id: z.string().nullable(),
  outcome: z.enum(["success", "refused"]),
  details: z.record(z.string(), z.unknown()),
  hash: z.string().describe("hex SHA-256 chain hash of this event"),
});

const eventPage = z.object({ items: z.array(eventView), next_cursor: z.string().nullable() });

const chainReport = z.object({
  ok: z.boolean(),
  events_checked: z.number().int(),
  head_hash: z.string().nullable(),
  first_bad_event: z
    .object({
      seq: z.number().int(),
      id: z.uuid(),
      fault: z.enum(["seq_gap", "prev_hash_mismatch", "hash_mismatch"]),
      expected_seq: z.number().int().optional(),
    })
    .nullable(),
});

export const auditRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  const committee = { access: roles("admin", "committee") };

  app.get(
    "/elections/:electionId/audit-events",
    {
      config: committee,
      schema: {
        tags: ["audit"],
        summary: "The election's audit events in order",
        params: electionParams,
        querystring: pageQuery,
        response: { 200: eventPage, ...commonErrors },
      },
    },
    async (request) => {
      await getElection(db, request.params.electionId);
      return listAuditEvents(db, request.params.electionId, request.query);
    },
  );

  app.get(
    "/elections/:electionId/audit-events/verify",
    {
      config: committee,
      schema: {
        tags: ["audit"],
        summary: "Recompute the election's audit chain and name the first event that does not fit",
        params: electionParams,
        response: { 200: chainReport, ...commonErrors },
      },
    },
    async (request) => {
      await getElection(db, request.params.electionId);
      return verifyAuditChain(db, request.params.electionId);
    },
  );

  app.get(
    "/audit-events",
    {
      config: { access: roles("admin") },
      schema: {
        tags: ["audit"],
        summary: "System audit events (accounts, sign-ins)",
        querystring: pageQuery,
        response: { 200: eventPage, ...commonErrors },
      },
    },
    async (request) => listAuditEvents(db, SYSTEM_CHAIN, request.query),
  );

  app.get(
    "/audit-events/verify",
    {
      config: { access: roles("admin") },
      schema: {
        tags: ["audit"],
        summary: "Recompute the system audit chain",
        response: { 200: chainReport },
      },
    },
    async () => verifyAuditChain(db, SYSTEM_CHAIN),
  );
};
