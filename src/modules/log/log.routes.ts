// The public bulletin board of every election's vote log (SPEC §6): anyone may read the latest checkpoint, ask
// for inclusion and consistency proofs, and page through the (encrypted) entries, and fetch the keys that sign.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { formatEd25519VerifierKey } from "../../crypto/signed-note.js";
import { normalizeTrackingCode } from "../../crypto/tracking-code.js";
import type { Db } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { commonErrors } from "../../lib/schemas.js";
import { PUBLIC } from "../../plugins/access.js";
import { electionParams } from "../elections/elections.schemas.js";
import { getElection } from "../elections/elections.service.js";
import { type LogKeyring, listLogKeys, logOrigin } from "./log.keys.js";
import {
  consistencyProofFor,
  entriesInRange,
  inclusionProofFor,
  latestCheckpoint,
  MAX_ENTRIES_PER_PAGE,
} from "./log.service.js";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const size = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const checkpointView = z.object({
  origin: z.string(),
  tree_size: z.number().int(),
  root_hash: z.string().describe("base64"),
  note: z.string().describe("C2SP tlog-checkpoint signed note"),
});

export const logRoutes: FastifyPluginAsyncZod<{ db: Db; keyring: () => Promise<LogKeyring> }> = async (
  app,
  { db, keyring },
) => {
  app.get(
    "/log/keys",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["log"],
        summary: "The Ed25519 keys that sign checkpoints, active and retired",
        response: {
          200: z.object({
            origin: z.string().describe("an election's log origin is <origin>/elections/<election id>"),
            keys: z.array(
              z.object({
                public_key: z.string().describe("base64, 32 bytes"),
                active: z.boolean(),
                created_at: z.string(),
                retired_at: z.string().nullable(),
              }),
            ),
          }),
        },
      },
    },
    async () => {
      const ring = await keyring();
      return {
        origin: ring.origin,
        keys: (await listLogKeys(db)).map((k) => ({
          public_key: b64(k.publicKey),
          active: k.retiredAt === null,
          created_at: k.createdAt.toISOString(),
          retired_at: k.retiredAt?.toISOString() ?? null,
        })),
      };
    },
  );

  app.get(
    "/elections/:electionId/log/checkpoint",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["log"],
        summary: "The latest signed checkpoint of the election's log, with the verifier keys for it",
        params: electionParams,
        response: {
          200: checkpointView.extend({ verifier_keys: z.array(z.string()).describe("signed-note vkeys") }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const electionId = request.params.electionId;
      await getElection(db, electionId);
      const checkpoint = await latestCheckpoint(db, electionId);
      if (!checkpoint) throw new AppError("NO_CHECKPOINT", "the log has no entries yet, so no checkpoint");
      const ring = await keyring();
      const origin = logOrigin(ring, electionId);
      return {
        origin,
        tree_size: checkpoint.size,
        root_hash: b64(checkpoint.rootHash),
        note: checkpoint.note,
        verifier_keys: (await listLogKeys(db)).map((k) => formatEd25519VerifierKey(origin, k.publicKey)),
      };
    },
  );

  app.get(
    "/elections/:electionId/log/proofs/inclusion",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["log"],
        summary: "Proof that an entry (by seq or receipt tracking code) is in the tree of a given size",
        params: electionParams,
        querystring: z
          .strictObject({
            seq: z.coerce.number().int().min(1).optional(),
            tracking_code: z.string().max(20).optional(),
            tree_size: size.optional().describe("default: the current size"),
          })
          .refine(
            (q) => (q.seq === undefined) !== (q.tracking_code === undefined),
            "give seq or tracking_code",
          ),
        response: {
          200: z.object({
            seq: z.number().int(),
            leaf_index: z.number().int(),
            tree_size: z.number().int(),
            leaf_hash: z.string(),
            tracking_code: z.string(),
            proof: z.array(z.string()).describe("base64 hashes, leaf side first (RFC 9162)"),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { electionId } = request.params;
      await getElection(db, electionId);
      const q = request.query;
      let locate: { seq: number } | { trackingCode: string };
      if (q.seq !== undefined) locate = { seq: q.seq };
      else {
        try {
          locate = { trackingCode: normalizeTrackingCode(q.tracking_code ?? "") };
        } catch {
          throw new AppError(
            "VALIDATION_FAILED",
            "a tracking code is 10 letters and digits, like 7KQ2M-XH9PA",
          );
        }
      }
      const answer = await inclusionProofFor(db, electionId, locate, q.tree_size);
      return {
        seq: answer.seq,
        leaf_index: answer.leafIndex,
        tree_size: answer.treeSize,
        leaf_hash: b64(answer.leafHash),
        tracking_code: answer.trackingCode,
        proof: answer.proof.map(b64),
      };
    },
  );

  app.get(
    "/elections/:electionId/log/proofs/consistency",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["log"],
        summary: "Proof that the tree of size `to` extends the tree of size `from` (RFC 9162)",
        params: electionParams,
        querystring: z.strictObject({
          from: size,
          to: size.optional().describe("default: the current size"),
        }),
        response: {
          200: z.object({ from: z.number().int(), to: z.number().int(), proof: z.array(z.string()) }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { electionId } = request.params;
      await getElection(db, electionId);
      const answer = await consistencyProofFor(db, electionId, request.query.from, request.query.to);
      return { from: answer.from, to: answer.to, proof: answer.proof.map(b64) };
    },
  );

  app.get(
    "/elections/:electionId/log/entries",
    {
      config: { access: PUBLIC },
      schema: {
        tags: ["log"],
        summary: `Entries with seq from start to end inclusive (at most ${MAX_ENTRIES_PER_PAGE}); ballots stay sealed`,
        params: electionParams,
        querystring: z
          .strictObject({ start: z.coerce.number().int().min(1), end: z.coerce.number().int().min(1) })
          .refine((q) => q.start <= q.end, "start must not exceed end"),
        response: {
          200: z.object({
            entries: z.array(
              z.object({
                seq: z.number().int(),
                leaf: z.string().describe("base64 canonical vote record (docs/record-format.md)"),
                leaf_hash: z.string(),
                tracking_code: z.string(),
              }),
            ),
          }),
          ...commonErrors,
        },
      },
    },
    async (request) => {
      const { electionId } = request.params;
      await getElection(db, electionId);
      const rows = await entriesInRange(db, electionId, request.query.start, request.query.end);
      return {
        entries: rows.map((r) => ({
          seq: r.seq,
          leaf: b64(r.leaf),
          leaf_hash: b64(r.leaf_hash),
          tracking_code: r.tracking_code,
        })),
      };
    },
  );
};
