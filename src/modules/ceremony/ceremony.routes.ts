// HTTP routes of the tally-key ceremony (SPEC §7).
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { commonErrors, uuid } from "../../lib/schemas.js";
import { roles } from "../../plugins/access.js";
import { actorIn, requirePrincipal } from "../../plugins/auth.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";
import { ceremonyStatus, holdTallyKeyCeremony, registerHolderKey, takeShare } from "./ceremony.service.js";

const publicKey = z
  .string()
  .describe("base64 of a 32-byte X25519 public key made on the holder's own device")
  .transform((v, ctx) => {
    const bytes = Buffer.from(v, "base64");
    if (bytes.length !== 32 || bytes.toString("base64") !== v) {
      ctx.addIssue({ code: "custom", message: "base64 of exactly 32 bytes" });
      return z.NEVER;
    }
    return bytes;
  });

const HOLDERS = roles("committee", "witness");

export const ceremonyRoutes: FastifyPluginAsyncZod<{ db: Db }> = async (app, { db }) => {
  const holderActor = (request: Parameters<typeof requirePrincipal>[0], electionId: string) => {
    const principal = requirePrincipal(request);
    return { ...actorIn(principal, electionId), id: principal.userId };
  };

  app.get(
    "/elections/:electionId/ceremony",
    {
      config: { access: roles("admin", "committee", "witness") },
      schema: {
        tags: ["ceremony"],
        summary: "Whether the tally key exists, its threshold, and each holder's state (never a share)",
        params: electionParams,
        response: {
          200: z.object({
            held: z.boolean(),
            public_key: z.string().nullable(),
            threshold: z.number().int().nullable(),
            holders: z.array(
              z.object({
                user_id: z.uuid(),
                username: z.string(),
                holder_public_key: z.string(),
                share_index: z.number().int().nullable(),
                handed_over: z.boolean(),
              }),
            ),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      await getElection(db, request.params.electionId);
      return ceremonyStatus(db, request.params.electionId);
    },
  );

  app.put(
    "/elections/:electionId/ceremony/holder-key",
    {
      config: { access: HOLDERS },
      schema: {
        tags: ["ceremony"],
        summary: "Register your own X25519 public key, to which your share will be sealed",
        params: electionParams,
        body: z.strictObject({ public_key: publicKey }),
        response: { 204: z.null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const electionId = request.params.electionId;
      await registerHolderKey(db, holderActor(request, electionId), electionId, request.body.public_key);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/elections/:electionId/ceremony",
    {
      config: { access: roles("committee") },
      schema: {
        tags: ["ceremony"],
        summary: "Hold the ceremony: make the tally key, split it k-of-n, seal each share to its holder",
        params: electionParams,
        body: z.strictObject({
          threshold: z.number().int().min(2).max(50).describe("k: shares needed to tally"),
          holders: z.array(uuid).min(2).max(50).describe("user ids of the n holders"),
        }),
        response: {
          201: z.object({ public_key: z.string(), threshold: z.number().int(), holders: z.array(z.uuid()) }),
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const electionId = request.params.electionId;
      const result = await holdTallyKeyCeremony(
        db,
        actorIn(requirePrincipal(request), electionId),
        electionId,
        request.body,
      );
      return reply.code(201).send({
        public_key: result.publicKey.toString("base64"),
        threshold: result.threshold,
        holders: result.holders,
      });
    },
  );

  app.post(
    "/elections/:electionId/ceremony/share",
    {
      config: { access: HOLDERS },
      schema: {
        tags: ["ceremony"],
        summary: "Take your sealed share — once; the service erases its copy as it hands it over",
        params: electionParams,
        response: {
          200: z.object({
            share_index: z.number().int(),
            sealed_share: z.string().describe("base64 libsodium sealed box to your holder key"),
            threshold: z.number().int(),
            holders: z.number().int(),
            tally_public_key: z.string(),
          }),
          ...commonErrors,
          410: commonErrors[409],
        },
      },
    },
    async (request) => {
      const electionId = request.params.electionId;
      const share = await takeShare(db, holderActor(request, electionId), electionId);
      if (!share.sealedShare) throw new AppError("SHARE_ALREADY_HANDED_OVER", "no share to hand over");
      return {
        share_index: share.shareIndex,
        sealed_share: share.sealedShare.toString("base64"),
        threshold: share.threshold,
        holders: share.holders,
        tally_public_key: share.publicKey.toString("base64"),
      };
    },
  );
};
