// HTTP routes of kiosks: enrolment, listing and revocation by the committee; the challenge–response sign-in
// that gives a kiosk its short session; and the kiosk's own view of itself.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { Db } from "../../db/database.js";
import { base64Bytes, commonErrors, uuid } from "../../lib/schemas.js";
import { KIOSK, PUBLIC, roles } from "../../plugins/access.js";
import { actorIn, requireKiosk, requirePrincipal, signKioskToken } from "../../plugins/auth.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";
import {
  answerChallenge,
  enrolKiosk,
  issueChallenge,
  kioskView,
  listKiosks,
  revokeKiosk,
} from "./kiosks.service.js";

const kioskSchema = z.object({
  id: z.uuid(),
  tps_id: z.uuid(),
  label: z.string(),
  public_key: z.string(),
  key_id: z.string().describe("hex SHA-256 kiosk key id, as in vote records"),
  revoked: z.boolean(),
  revoked_at_log_size: z.number().int().nullable(),
});

const kioskParams = z.strictObject({ electionId: uuid, kioskId: uuid });

export const kioskRoutes: FastifyPluginAsyncZod<{ db: Db; config: Config }> = async (app, { db, config }) => {
  app.post(
    "/elections/:electionId/kiosks",
    {
      config: { access: roles("committee") },
      schema: {
        tags: ["kiosks"],
        summary: "Enrol a kiosk for a TPS with the Ed25519 public key it made itself",
        params: electionParams,
        body: z.strictObject({
          tps_id: uuid,
          label: z.string().trim().min(1).max(100).describe("e.g. 'Bilik 1, TPS 001'"),
          public_key: base64Bytes("the kiosk's Ed25519 public key", 32),
        }),
        response: { 201: kioskSchema, ...commonErrors },
      },
    },
    async (request, reply) => {
      const id = request.params.electionId;
      const kiosk = await enrolKiosk(db, actorIn(requirePrincipal(request), id), id, request.body);
      return reply.code(201).send(kioskView(kiosk));
    },
  );

  app.get(
    "/elections/:electionId/kiosks",
    {
      config: { access: roles("admin", "committee", "witness") },
      schema: {
        tags: ["kiosks"],
        summary: "The election's kiosks and their keys (public), revoked ones included",
        params: electionParams,
        response: { 200: z.object({ items: z.array(kioskSchema) }), ...commonErrors },
      },
    },
    async (request) => {
      await getElection(db, request.params.electionId);
      return { items: (await listKiosks(db, request.params.electionId)).map(kioskView) };
    },
  );

  app.post(
    "/elections/:electionId/kiosks/:kioskId/revoke",
    {
      config: { access: roles("committee") },
      schema: {
        tags: ["kiosks"],
        summary: "Revoke a kiosk: refused from its very next request, live session or not",
        params: kioskParams,
        body: z.strictObject({ reason: z.string().trim().min(1).max(500) }),
        response: { 200: kioskSchema, ...commonErrors },
      },
    },
    async (request) => {
      const { electionId, kioskId } = request.params;
      const kiosk = await revokeKiosk(
        db,
        actorIn(requirePrincipal(request), electionId),
        electionId,
        kioskId,
        request.body.reason,
      );
      return kioskView(kiosk);
    },
  );

  app.post(
    "/elections/:electionId/kiosks/:kioskId/challenge",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["kiosks"],
        summary: "A single-use challenge for the kiosk to sign (valid two minutes)",
        params: kioskParams,
        response: { 200: z.object({ nonce: z.string(), expires_at: z.string() }), ...commonErrors },
      },
    },
    async (request) => {
      const { electionId, kioskId } = request.params;
      const challenge = await issueChallenge(db, electionId, kioskId);
      return { nonce: challenge.nonce.toString("base64"), expires_at: challenge.expiresAt.toISOString() };
    },
  );

  app.post(
    "/elections/:electionId/kiosks/:kioskId/session",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["kiosks"],
        summary: "Answer a challenge with the kiosk's signature; returns a short-lived kiosk session token",
        description:
          "The signed bytes are 'suara/kiosk-login/v1\\n' ‖ election id (16 bytes) ‖ kiosk id (16) ‖ nonce (32).",
        params: kioskParams,
        body: z.strictObject({
          nonce: base64Bytes("the challenge", 32),
          signature: base64Bytes("Ed25519 signature", 64),
        }),
        response: {
          200: z.object({
            session_token: z.string(),
            token_type: z.literal("Bearer"),
            expires_in: z.number().int(),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { electionId, kioskId } = request.params;
      const kiosk = await answerChallenge(
        db,
        electionId,
        kioskId,
        request.body.nonce,
        request.body.signature,
      );
      return {
        session_token: signKioskToken(app, { id: kiosk.id, electionId }, config.KIOSK_SESSION_TTL_SECONDS),
        token_type: "Bearer" as const,
        expires_in: config.KIOSK_SESSION_TTL_SECONDS,
      };
    },
  );

  app.get(
    "/elections/:electionId/kiosk/me",
    {
      config: { access: KIOSK },
      schema: {
        tags: ["kiosks"],
        summary: "The signed-in kiosk's own enrolment (a kiosk checks its session with this)",
        params: electionParams,
        response: {
          200: z.object({
            id: z.uuid(),
            tps_id: z.uuid(),
            key_id: z.string(),
            tally_public_key: z.string().nullable().describe("base64 X25519 key ballots are sealed to"),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const kiosk = requireKiosk(request);
      const tally = await db
        .selectFrom("tally_keys")
        .select("public_key")
        .where("election_id", "=", kiosk.electionId)
        .executeTakeFirst();
      return {
        id: kiosk.kioskId,
        tps_id: kiosk.tpsId,
        key_id: kiosk.keyId.toString("hex"),
        tally_public_key: tally?.public_key.toString("base64") ?? null,
      };
    },
  );
};
