// Casting (SPEC §4, §6, §12). A signed-in kiosk sends a sealed ballot it signed and the voter's token. In one
// transaction the token is redeemed and the vote record appended to the election's log; the receipt (seq, leaf
// hash, tracking code, the signed checkpoint that includes it) is returned only after commit. The ballot_id the
// kiosk chose is the idempotency key: a retry of the same signed ballot returns the original receipt, a different
// ballot under a used token is refused. Failed token attempts are counted per kiosk and per TPS, and guessing is
// throttled.
import { canonicalBallotBytes, checkedCiphertext } from "../../crypto/ballot.js";
import { ballotTokenHash, normalizeBallotToken } from "../../crypto/ballot-token.js";
import { verifyEd25519 } from "../../crypto/ed25519.js";
import { decodeVoteRecord } from "../../crypto/vote-record.js";
import type { Db, Executor } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import type { KioskPrincipal } from "../../plugins/auth.js";
import type { LogKeyring } from "../log/log.keys.js";
import { appendVotes } from "../log/log.service.js";
import { assertPollsOpen } from "../polling/polling.service.js";

export interface CastInput {
  ballotId: string;
  token: string;
  ephemeralPublicKey: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
  kioskSignature: Buffer;
}

export interface Receipt {
  election_id: string;
  seq: number;
  ballot_id: string;
  leaf_hash: string;
  tracking_code: string;
  checkpoint: { tree_size: number; root_hash: string; note: string };
}

export const GUESS_WINDOW_SECONDS = 600;
export const MAX_FAILURES_PER_KIOSK = 10;
export const MAX_FAILURES_PER_TPS = 30;

/** Test seam for SPEC §12's "a failure between redemption and append leaves neither": called after redeeming. */
export interface CastHooks {
  afterRedeem?: () => void | Promise<void>;
}

/** The receipt of a ballot already in the log, if its signed contents are exactly these; else why not. */
async function existingReceipt(
  db: Executor,
  electionId: string,
  kiosk: KioskPrincipal,
  input: CastInput,
): Promise<Receipt | "different" | null> {
  const entry = await db
    .selectFrom("log_entries")
    .select(["seq", "leaf", "leaf_hash", "tracking_code"])
    .where("election_id", "=", electionId)
    .where("ballot_id", "=", input.ballotId)
    .executeTakeFirst();
  if (!entry) return null;
  const record = decodeVoteRecord(entry.leaf);
  const same =
    Buffer.from(record.kioskSignature).equals(input.kioskSignature) &&
    Buffer.from(record.kioskKeyId).equals(kiosk.keyId) &&
    Buffer.from(record.ciphertext).equals(input.ciphertext) &&
    Buffer.from(record.nonce).equals(input.nonce) &&
    Buffer.from(record.ephemeralPublicKey).equals(input.ephemeralPublicKey);
  if (!same) return "different";
  // The checkpoint signed with the append that added it includes it (appends sign one per transaction).
  const checkpoint = await db
    .selectFrom("log_checkpoints")
    .select(["tree_size", "root_hash", "note"])
    .where("election_id", "=", electionId)
    .where("tree_size", ">=", entry.seq)
    .orderBy("tree_size")
    .limit(1)
    .executeTakeFirstOrThrow();
  return {
    election_id: electionId,
    seq: entry.seq,
    ballot_id: input.ballotId,
    leaf_hash: entry.leaf_hash.toString("base64"),
    tracking_code: entry.tracking_code,
    checkpoint: {
      tree_size: checkpoint.tree_size,
      root_hash: checkpoint.root_hash.toString("base64"),
      note: checkpoint.note,
    },
  };
}

async function assertNotGuessing(db: Db, electionId: string, kiosk: KioskPrincipal): Promise<void> {
  const since = new Date(Date.now() - GUESS_WINDOW_SECONDS * 1000);
  const counts = await db
    .selectFrom("token_failures")
    .select((eb) => [
      eb.fn.count<string>("id").filterWhere("kiosk_id", "=", kiosk.kioskId).as("kiosk"),
      eb.fn.count<string>("id").as("tps"),
    ])
    .where("election_id", "=", electionId)
    .where("tps_id", "=", kiosk.tpsId)
    .where("failed_at", ">", since)
    .executeTakeFirstOrThrow();
  if (Number(counts.kiosk) >= MAX_FAILURES_PER_KIOSK || Number(counts.tps) >= MAX_FAILURES_PER_TPS) {
    throw new AppError(
      "TOKEN_GUESSING_THROTTLED",
      "too many unknown tokens at this kiosk or TPS: ask the KPPS to check, and wait a few minutes",
      { retry_after_seconds: GUESS_WINDOW_SECONDS },
    );
  }
}

async function recordFailure(db: Db, electionId: string, kiosk: KioskPrincipal): Promise<void> {
  await db
    .insertInto("token_failures")
    .values({ election_id: electionId, tps_id: kiosk.tpsId, kiosk_id: kiosk.kioskId })
    .execute();
}

/** Why a token did not redeem, in the precise words SPEC §4 asks for. */
async function tokenRefusal(
  db: Executor,
  electionId: string,
  kiosk: KioskPrincipal,
  hash: Buffer,
): Promise<AppError> {
  const token = await db
    .selectFrom("ballot_tokens")
    .select(["state", "tps_id", "expires_at"])
    .where("election_id", "=", electionId)
    .where("token_hash", "=", hash)
    .executeTakeFirst();
  if (!token) return new AppError("TOKEN_UNKNOWN", "no such token: check it with the KPPS");
  if (token.state === "redeemed")
    return new AppError("TOKEN_ALREADY_USED", "this token has already been used to vote");
  if (token.state === "voided") return new AppError("TOKEN_VOIDED", "this token was voided by the KPPS");
  if (token.tps_id !== kiosk.tpsId)
    return new AppError("TOKEN_WRONG_TPS", "this token belongs to another TPS");
  return new AppError("TOKEN_EXPIRED", "this token has expired: the KPPS can issue a new one");
}

export async function castBallot(
  db: Db,
  keyring: LogKeyring,
  tokenKey: Buffer,
  kiosk: KioskPrincipal,
  input: CastInput,
  hooks: CastHooks = {},
): Promise<{ receipt: Receipt; replayed: boolean }> {
  const electionId = kiosk.electionId;
  try {
    checkedCiphertext(input.ciphertext);
  } catch {
    throw new AppError("BALLOT_MALFORMED", "the sealed ballot is not of a size this service accepts");
  }
  // A retry after a lost response: the same signed ballot gets its original receipt, nothing is added.
  const earlier = await existingReceipt(db, electionId, kiosk, input);
  if (earlier === "different")
    throw new AppError("BALLOT_ID_REUSED", "this ballot id belongs to another ballot");
  if (earlier) return { receipt: earlier, replayed: true };

  const content = {
    electionId,
    ballotId: input.ballotId,
    tpsId: kiosk.tpsId,
    ephemeralPublicKey: input.ephemeralPublicKey,
    nonce: input.nonce,
    ciphertext: input.ciphertext,
  };
  if (!verifyEd25519(input.kioskSignature, canonicalBallotBytes(content), kiosk.publicKey)) {
    throw new AppError("BALLOT_SIGNATURE_INVALID", "the kiosk signature does not cover this ballot");
  }
  const canonicalToken = normalizeBallotToken(input.token);
  await assertNotGuessing(db, electionId, kiosk);
  if (canonicalToken === null) {
    await recordFailure(db, electionId, kiosk);
    throw new AppError("TOKEN_UNKNOWN", "not a ballot token (check the last symbol)");
  }
  const hash = ballotTokenHash(tokenKey, electionId, canonicalToken);

  try {
    const receipt = await db.transaction().execute(async (tx) => {
      // Shared: casts go side by side; closing (FOR UPDATE) waits for them, and they for it.
      const election = await tx
        .selectFrom("elections")
        .selectAll()
        .where("id", "=", electionId)
        .forShare()
        .executeTakeFirstOrThrow();
      assertPollsOpen(election);
      const redeemed = await tx
        .updateTable("ballot_tokens")
        .set({ state: "redeemed" })
        .where("election_id", "=", electionId)
        .where("token_hash", "=", hash)
        .where("state", "=", "issued")
        .where("tps_id", "=", kiosk.tpsId)
        .where("expires_at", ">", new Date())
        .returning("tps_id")
        .executeTakeFirst();
      if (!redeemed) throw await tokenRefusal(tx, electionId, kiosk, hash);
      await hooks.afterRedeem?.();
      const { appended, checkpoint } = await appendVotes(tx, keyring, electionId, [
        {
          ballotId: input.ballotId,
          tpsId: kiosk.tpsId,
          kioskKeyId: kiosk.keyId,
          ephemeralPublicKey: input.ephemeralPublicKey,
          nonce: input.nonce,
          ciphertext: input.ciphertext,
          kioskSignature: input.kioskSignature,
        },
      ]);
      const entry = appended[0] as (typeof appended)[number];
      return {
        election_id: electionId,
        seq: entry.seq,
        ballot_id: input.ballotId,
        leaf_hash: entry.leafHash.toString("base64"),
        tracking_code: entry.trackingCode,
        checkpoint: {
          tree_size: checkpoint.size,
          root_hash: checkpoint.rootHash.toString("base64"),
          note: checkpoint.note,
        },
      };
    });
    return { receipt, replayed: false };
  } catch (error) {
    if (error instanceof AppError && error.code === "TOKEN_ALREADY_USED") {
      // The same ballot sent twice at once: the other request redeemed the token and appended it; answer alike.
      const raced = await existingReceipt(db, electionId, kiosk, input);
      if (raced && raced !== "different") return { receipt: raced, replayed: true };
    }
    if (error instanceof AppError && error.code === "TOKEN_UNKNOWN")
      await recordFailure(db, electionId, kiosk);
    if ((error as { code?: string }).code === "23505") {
      // Unique ballot_id: a concurrent cast of the same ballot id won the append.
      const raced = await existingReceipt(db, electionId, kiosk, input);
      if (raced === "different")
        throw new AppError("BALLOT_ID_REUSED", "this ballot id belongs to another ballot");
      if (raced) return { receipt: raced, replayed: true };
    }
    throw error;
  }
}
