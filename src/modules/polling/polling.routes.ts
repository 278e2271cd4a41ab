// HTTP routes of the TPS on polling day: check-in, DPK additions, voiding and re-issuing tokens (officers of the
// TPS named in the path), and attendance for the committee. NIKs travel in bodies, never in URLs (SPEC §10).
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { Db } from "../../db/database.js";
import { commonErrors, uuid } from "../../lib/schemas.js";
import { roles } from "../../plugins/access.js";
import { actorIn, requirePrincipal } from "../../plugins/auth.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";
import { maskNik } from "../roll/nik.js";
import { parseDate } from "../roll/roll-row.js";
import {
  addDpkVoter,
  attendance,
  checkInVoter,
  reissueToken,
  type TokenSettings,
  voidToken,
} from "./polling.service.js";

const tpsParams = z.strictObject({ electionId: uuid, tpsId: uuid });
const nik = z.string().trim().min(1).max(40).describe("the voter's NIK, typed or read from the e-KTP");
const tokenView = z.object({
  token: z.string().describe("show once to the voter, e.g. 7KQ2M-XH9PA-C"),
  qr_payload: z.string(),
  expires_at: z.string(),
});
const OFFICERS = roles("officer");

export const pollingRoutes: FastifyPluginAsyncZod<{
  db: Db;
  config: Config;
  tokenKey: () => Promise<Buffer>;
}> = async (app, { db, config, tokenKey }) => {
  const settings = async (): Promise<TokenSettings> => ({
    key: await tokenKey(),
    ttlSeconds: config.TOKEN_TTL_SECONDS,
  });
  const actor = (request: Parameters<typeof requirePrincipal>[0], electionId: string) =>
    actorIn(requirePrincipal(request), electionId);

  app.post(
    "/elections/:electionId/tps/:tpsId/checkins",
    {
      config: { access: OFFICERS },
      schema: {
        tags: ["polling"],
        summary: "Check a voter in by NIK; the answer is a one-time ballot token or a precise refusal",
        description:
          "Refusals: VOTER_NOT_ON_ROLL (may be added as DPK), WRONG_TPS (names the voter's TPS), ALREADY_CHECKED_IN, " +
          "ELECTION_NOT_OPEN, OUTSIDE_SCHEDULE.",
        params: tpsParams,
        body: z.strictObject({ nik }),
        response: { 201: tokenView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { electionId, tpsId } = request.params;
      const token = await checkInVoter(
        db,
        await settings(),
        actor(request, electionId),
        electionId,
        tpsId,
        request.body.nik,
      );
      return reply.code(201).send(token);
    },
  );

  app.post(
    "/elections/:electionId/tps/:tpsId/dpk",
    {
      config: { access: OFFICERS },
      schema: {
        tags: ["polling"],
        summary:
          "Add a resident of the village who is not on the roll (DPK), with a reason; then check them in",
        params: tpsParams,
        body: z.strictObject({
          nik,
          name: z.string().trim().min(1).max(200),
          birth_date: z.string().transform((v, ctx) => {
            const date = parseDate(v);
            if (date === null) {
              ctx.addIssue({ code: "custom", message: "a date as YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY" });
              return z.NEVER;
            }
            return date;
          }),
          sex: z.enum(["L", "P"]),
          marital_status: z.enum(["B", "S", "P"]),
          address: z.string().trim().max(500).optional(),
          reason: z
            .string()
            .trim()
            .min(1)
            .max(500)
            .describe("e.g. 'pindah datang, e-KTP Desa Sungai Rengit'"),
        }),
        response: { 201: z.object({ voter_id: z.uuid() }), ...commonErrors },
      },
    },
    async (request, reply) => {
      const { electionId, tpsId } = request.params;
      return reply
        .code(201)
        .send(await addDpkVoter(db, actor(request, electionId), electionId, tpsId, request.body));
    },
  );

  app.post(
    "/elections/:electionId/tps/:tpsId/tokens/void",
    {
      config: { access: OFFICERS },
      schema: {
        tags: ["polling"],
        summary: "Void an unused token of this TPS (the voter left without voting)",
        params: tpsParams,
        body: z.strictObject({ token: z.string().trim().min(1).max(40) }),
        response: { 204: z.null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const { electionId, tpsId } = request.params;
      await voidToken(
        db,
        await settings(),
        actor(request, electionId),
        electionId,
        tpsId,
        request.body.token,
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/elections/:electionId/tps/:tpsId/tokens/reissue",
    {
      config: { access: OFFICERS },
      schema: {
        tags: ["polling"],
        summary: "A new token for a checked-in voter whose token was voided or expired, with a reason",
        params: tpsParams,
        body: z.strictObject({ nik, reason: z.string().trim().min(1).max(500) }),
        response: { 201: tokenView, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { electionId, tpsId } = request.params;
      const token = await reissueToken(
        db,
        await settings(),
        actor(request, electionId),
        electionId,
        tpsId,
        request.body.nik,
        request.body.reason,
      );
      return reply.code(201).send(token);
    },
  );

  app.get(
    "/elections/:electionId/attendance",
    {
      config: { access: roles("committee") },
      schema: {
        tags: ["polling"],
        summary: "Who has been checked in (never when), by name, NIKs masked; optionally one TPS",
        params: electionParams,
        querystring: z.strictObject({ tps_id: uuid.optional() }),
        response: {
          200: z.object({
            items: z.array(
              z.object({
                voter_id: z.uuid(),
                name: z.string(),
                nik_masked: z.string(),
                origin: z.enum(["dpt", "dpk"]),
                tps_id: z.uuid(),
              }),
            ),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      await getElection(db, request.params.electionId);
      const rows = await attendance(db, request.params.electionId, request.query.tps_id);
      return {
        items: rows.map((r) => ({
          voter_id: r.id,
          name: r.name,
          nik_masked: maskNik(r.nik),
          origin: r.origin,
          tps_id: r.tps_id,
        })),
      };
    },
  );
};
