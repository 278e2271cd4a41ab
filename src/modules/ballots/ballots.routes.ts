// Casting over HTTP: only a signed-in kiosk, only into its own election (the guard checks both).
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../../db/database.js";
import { commonErrors, uuid } from "../../lib/schemas.js";
import { KIOSK } from "../../plugins/access.js";
import { requireKiosk } from "../../plugins/auth.js";
import { electionParams } from "../elections/elections.schemas.js";
import type { LogKeyring } from "../log/log.keys.js";
import { CastQueue, castBallot } from "./ballots.service.js";

const base64 = (what: string, min: number, max: number) =>
  z
    .string()
    .max(Math.ceil(max / 3) * 4)
    .describe(`base64: ${what}`)
    .transform((v, ctx) => {
      const bytes = Buffer.from(v, "base64");
      if (bytes.length < min || bytes.length > max || bytes.toString("base64") !== v) {
        ctx.addIssue({
          code: "custom",
          message: min === max ? `base64 of ${min} bytes` : `base64 of ${min}..${max} bytes`,
        });
        return z.NEVER;
      }
      return bytes;
    });

export const receiptSchema = z.object({
  election_id: z.uuid(),
  seq: z.number().int(),
  ballot_id: z.uuid(),
  leaf_hash: z.string(),
  tracking_code: z.string().describe("what the voter keeps to find their ballot on the bulletin board"),
  checkpoint: z.object({ tree_size: z.number().int(), root_hash: z.string(), note: z.string() }),
});

export const ballotRoutes: FastifyPluginAsyncZod<{
  db: Db;
  keyring: () => Promise<LogKeyring>;
  tokenKey: () => Promise<Buffer>;
}> = async (app, { db, keyring, tokenKey }) => {
  // One queue per service: concurrent casts into one election share a transaction (group commit).
  const queue = new CastQueue(db);
  app.post(
    "/elections/:electionId/ballots",
    {
      config: { access: KIOSK },
      schema: {
        tags: ["ballots"],
        summary:
          "Cast a sealed, kiosk-signed ballot with the voter's token; returns the receipt after commit",
        description:
          "Idempotent by ballot_id: the same signed ballot sent again returns the original receipt (200). Refusals: " +
          "TOKEN_UNKNOWN, TOKEN_EXPIRED, TOKEN_ALREADY_USED, TOKEN_WRONG_TPS, TOKEN_VOIDED, ELECTION_NOT_OPEN, " +
          "OUTSIDE_SCHEDULE, KIOSK_REVOKED, BALLOT_SIGNATURE_INVALID, BALLOT_ID_REUSED, TOKEN_GUESSING_THROTTLED.",
        params: electionParams,
        body: z.strictObject({
          ballot_id: uuid.describe("128 random bits chosen by the kiosk; the idempotency key"),
          token: z.string().trim().min(1).max(40),
          ephemeral_public_key: base64("X25519 ephemeral public key", 32, 32),
          nonce: base64("box nonce", 24, 24),
          ciphertext: base64("NaCl box of the choice", 16, 4096),
          kiosk_signature: base64("Ed25519 over the canonical ballot bytes", 64, 64),
        }),
        response: { 200: receiptSchema, 201: receiptSchema, ...commonErrors, 410: commonErrors[409] },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const { receipt, replayed } = await castBallot(
        db,
        await keyring(),
        await tokenKey(),
        requireKiosk(request),
        {
          ballotId: body.ballot_id,
          token: body.token,
          ephemeralPublicKey: body.ephemeral_public_key,
          nonce: body.nonce,
          ciphertext: body.ciphertext,
          kioskSignature: body.kiosk_signature,
        },
        {},
        queue,
      );
      return reply.code(replayed ? 200 : 201).send(receipt);
    },
  );
};
