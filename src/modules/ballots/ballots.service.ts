// Casting (SPEC §4, §6, §12). A signed-in kiosk sends a sealed ballot it signed and the voter's token. In one
// transaction the token is redeemed and the vote record appended to the election's log; the receipt (seq, leaf
// hash, tracking code, the signed checkpoint that includes it) is returned only after commit. The ballot_id the
// kiosk chose is the idempotency key: a retry of the same signed ballot returns the original receipt, a different
// ballot under a used token is refused. Failed token attempts are counted per kiosk and per TPS, and guessing is
// throttled.
//
// Group commit: appends to one election's log are serialised by its log head lock, held until commit, so one
// transaction per ballot caps an election at one commit (and its round trips) at a time. Casts that arrive while
// their election's append is running therefore wait in that election's queue and go together in the next
// transaction: one head lock, one checkpoint signature, one commit for all of them. Each cast still has its own
// outcome — its token redeemed exactly once with its own entry, or its own refusal — and each request is answered
// only after the transaction holding its entry has committed. A ballot refused in a batch never fails the others.

import { sql } from "kysely";
import { canonicalBallotBytes, checkedCiphertext } from "../../crypto/ballot.js";
import { ballotTokenHash, normalizeBallotToken } from "../../crypto/ballot-token.js";
import { verifyEd25519 } from "../../crypto/ed25519.js";
import { decodeVoteRecord } from "../../crypto/vote-record.js";
import type { Db, Executor } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import type { KioskPrincipal } from "../../plugins/auth.js";
import type { LogKeyring } from "../log/log.keys.js";
import { appendToLockedHead, lockLogHead } from "../log/log.service.js";
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

interface LoggedEntry {
  seq: number;
  leaf: Buffer;
  leaf_hash: Buffer;
  tracking_code: string;
}

/** The receipt of a ballot already in the log (`entry`), if its signed contents are exactly these; else why not. */
async function receiptOfEntry(
  db: Executor,
  electionId: string,
  kiosk: KioskPrincipal,
  input: CastInput,
  entry: LoggedEntry,
): Promise<Receipt | "different"> {
  const record = decodeVoteRecord(entry.leaf);
  const same =
    Buffer.from(record.kioskSignature).equals(input.kioskSignature) &&
    Buffer.from(record.kioskKeyId).equals(kiosk.keyId) &&
    Buffer.from(record.ciphertext).equals(input.ciphertext) &&
    Buffer.from(record.nonce).equals(input.nonce) &&
    Buffer.from(record.ephemeralPublicKey).equals(input.ephemeralPublicKey);
  if (!same) return "different";
  const seq = Number(entry.seq);
  // The checkpoint signed with the append that added it includes it (appends sign one per transaction).
  const checkpoint = await db
    .selectFrom("log_checkpoints")
    .select(["tree_size", "root_hash", "note"])
    .where("election_id", "=", electionId)
    .where("tree_size", ">=", seq)
    .orderBy("tree_size")
    .limit(1)
    .executeTakeFirstOrThrow();
  return {
    election_id: electionId,
    seq,
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
  return entry ? receiptOfEntry(db, electionId, kiosk, input, entry) : null;
}

const throttled = () =>
  new AppError(
    "TOKEN_GUESSING_THROTTLED",
    "too many unknown tokens at this kiosk or TPS: ask the KPPS to check, and wait a few minutes",
    { retry_after_seconds: GUESS_WINDOW_SECONDS },
  );

/** The guessing throttle for one kiosk (batches check it for all their kiosks in their redeeming statement). */
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
    throw throttled();
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

/** A cast checked on its own (signature, token form, throttle) and waiting for its election's next append. */
interface PendingCast {
  kiosk: KioskPrincipal;
  input: CastInput;
  tokenHash: Buffer;
  hooks: CastHooks;
  settle: (outcome: BatchOutcome) => void;
  fail: (error: unknown) => void;
}

/** What the batch did with one cast. */
type BatchOutcome =
  | { kind: "appended"; receipt: Receipt }
  | { kind: "refused"; error: AppError }
  /** Its ballot_id is already in the log (a retry, or a reused id): the caller looks at what is there. */
  | { kind: "ballot-id-taken" }
  /** Another cast in this batch has the same token or ballot id: it goes in the next batch, after this one. */
  | { kind: "deferred" };

/** Most casts one transaction appends; a bigger queue is taken in several transactions, one after another. */
export const MAX_CASTS_PER_BATCH = 200;

/**
 * One transaction for a batch of casts into one election: the election row shared (closing waits), the log
 * head locked, ballot ids already in the log set aside, every other token redeemed in one statement (a token
 * that does not redeem is refused with its own reason), the redeemed ballots appended under one checkpoint.
 */
async function appendBatch(
  db: Db,
  keyring: LogKeyring,
  electionId: string,
  casts: readonly PendingCast[],
): Promise<BatchOutcome[]> {
  return db.transaction().execute(async (tx) => {
    // Shared: casts go side by side with check-ins; closing (FOR UPDATE) waits for them, and they for it.
    const election = await tx
      .selectFrom("elections")
      .selectAll()
      .where("id", "=", electionId)
      .forShare()
      .executeTakeFirstOrThrow();
    assertPollsOpen(election);
    // Holding the head, nothing else appends to this log: what is in it now stays all that is in it.
    const head = await lockLogHead(tx, electionId);
    // The same token or ballot id twice in one batch: the first goes now, the others after it (next batch).
    const outcomes: BatchOutcome[] = casts.map(() => ({ kind: "deferred" }));
    const seenBallots = new Set<string>();
    const seenTokens = new Set<string>();
    const candidates: number[] = [];
    for (const [i, cast] of casts.entries()) {
      const token = cast.tokenHash.toString("hex");
      const ballotId = cast.input.ballotId.toLowerCase(); // as PostgreSQL prints a uuid
      if (seenBallots.has(ballotId) || seenTokens.has(token)) continue;
      seenBallots.add(ballotId);
      seenTokens.add(token);
      candidates.push(i);
    }
    const pending = candidates.map((i) => casts[i] as PendingCast);

    // One statement: which ballot ids are in the log already (their tokens are left alone), which kiosks are
    // throttled for guessing (at the kiosk or at its TPS, in the window), and every other token redeemed — each
    // at most once (its row is updated once, and only from 'issued'), only at its kiosk's TPS, only unexpired.
    const since = new Date(Date.now() - GUESS_WINDOW_SECONDS * 1000);
    const { rows } = await sql<{
      kind: "taken" | "throttled" | "redeemed";
      id: string | null;
      token: Buffer | null;
    }>`
      WITH cast_in AS (
        SELECT * FROM unnest(
          ${pending.map((c) => c.tokenHash)}::bytea[],
          ${pending.map((c) => c.kiosk.tpsId)}::uuid[],
          ${pending.map((c) => c.kiosk.kioskId)}::uuid[],
          ${pending.map((c) => c.input.ballotId)}::uuid[]
        ) AS v(token_hash, tps_id, kiosk_id, ballot_id)
      ), taken AS (
        SELECT ballot_id FROM log_entries
        WHERE election_id = ${electionId} AND ballot_id IN (SELECT ballot_id FROM cast_in)
      ), throttled AS (
        SELECT k.kiosk_id FROM (SELECT DISTINCT kiosk_id, tps_id FROM cast_in) AS k
        WHERE (SELECT count(*) FROM token_failures f WHERE f.election_id = ${electionId}
                 AND f.kiosk_id = k.kiosk_id AND f.failed_at > ${since}) >= ${MAX_FAILURES_PER_KIOSK}
           OR (SELECT count(*) FROM token_failures f WHERE f.election_id = ${electionId}
                 AND f.tps_id = k.tps_id AND f.failed_at > ${since}) >= ${MAX_FAILURES_PER_TPS}
      ), redeemed AS (
        UPDATE ballot_tokens AS t SET state = 'redeemed'
        FROM cast_in AS v
        WHERE t.election_id = ${electionId} AND t.token_hash = v.token_hash AND t.tps_id = v.tps_id
          AND t.state = 'issued' AND t.expires_at > ${new Date()}
          AND v.ballot_id NOT IN (SELECT ballot_id FROM taken)
          AND v.kiosk_id NOT IN (SELECT kiosk_id FROM throttled)
        RETURNING t.token_hash
      )
      SELECT 'taken' AS kind, ballot_id::text AS id, NULL::bytea AS token FROM taken
      UNION ALL SELECT 'throttled', kiosk_id::text, NULL FROM throttled
      UNION ALL SELECT 'redeemed', NULL, token_hash FROM redeemed`.execute(tx);
    const ids = (kind: string) => new Set(rows.filter((r) => r.kind === kind).map((r) => r.id as string));
    const taken = ids("taken");
    const throttledKiosks = ids("throttled");
    const redeemed = new Set(
      rows.filter((r) => r.kind === "redeemed").map((r) => (r.token as Buffer).toString("hex")),
    );
    const appending: number[] = [];
    for (const i of candidates) {
      const cast = casts[i] as PendingCast;
      if (taken.has(cast.input.ballotId.toLowerCase())) outcomes[i] = { kind: "ballot-id-taken" };
      else if (throttledKiosks.has(cast.kiosk.kioskId.toLowerCase()))
        outcomes[i] = { kind: "refused", error: throttled() };
      else if (redeemed.has(cast.tokenHash.toString("hex"))) appending.push(i);
      else
        outcomes[i] = {
          kind: "refused",
          error: await tokenRefusal(tx, electionId, cast.kiosk, cast.tokenHash),
        };
    }
    for (const i of appending) await (casts[i] as PendingCast).hooks.afterRedeem?.();
    if (appending.length === 0) return outcomes;

    const { appended, checkpoint } = await appendToLockedHead(
      tx,
      keyring,
      head,
      appending.map((i) => {
        const { kiosk, input } = casts[i] as PendingCast;
        return {
          ballotId: input.ballotId,
          tpsId: kiosk.tpsId,
          kioskKeyId: kiosk.keyId,
          ephemeralPublicKey: input.ephemeralPublicKey,
          nonce: input.nonce,
          ciphertext: input.ciphertext,
          kioskSignature: input.kioskSignature,
        };
      }),
    );
    const signed = {
      tree_size: checkpoint.size,
      root_hash: checkpoint.rootHash.toString("base64"),
      note: checkpoint.note,
    };
    for (const [n, i] of appending.entries()) {
      const entry = appended[n] as (typeof appended)[number];
      outcomes[i] = {
        kind: "appended",
        receipt: {
          election_id: electionId,
          seq: entry.seq,
          ballot_id: entry.ballotId,
          leaf_hash: entry.leafHash.toString("base64"),
          tracking_code: entry.trackingCode,
          checkpoint: signed,
        },
      };
    }
    return outcomes;
  });
}

/** PostgreSQL refused something about the data (integrity, 23xxx) or the schedule (serialization, 40xxx). */
function isDataSpecific(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("23") || code.startsWith("40"));
}

/**
 * The queues of casts waiting for their election's log, one per election. While an election's batch runs, its
 * new casts wait; when it commits, everything waiting goes in the next one. An election with one cast at a
 * time gets one transaction per cast, as before; only concurrency makes batches.
 */
export class CastQueue {
  private readonly waiting = new Map<string, PendingCast[]>();

  constructor(
    private readonly db: Db,
    private readonly maxPerBatch = MAX_CASTS_PER_BATCH,
  ) {}

  append(
    keyring: LogKeyring,
    kiosk: KioskPrincipal,
    input: CastInput,
    tokenHash: Buffer,
    hooks: CastHooks,
  ): Promise<BatchOutcome> {
    return new Promise((settle, fail) => {
      const electionId = kiosk.electionId;
      const queue = this.waiting.get(electionId);
      const cast = { kiosk, input, tokenHash, hooks, settle, fail };
      if (queue) queue.push(cast);
      else {
        this.waiting.set(electionId, [cast]);
        void this.drain(keyring, electionId);
      }
    });
  }

  /** Runs the election's batches one after another until its queue is empty; exactly one drain per election. */
  private async drain(keyring: LogKeyring, electionId: string): Promise<void> {
    const queue = this.waiting.get(electionId) as PendingCast[];
    while (queue.length > 0) {
      const batch = queue.splice(0, this.maxPerBatch);
      const outcomes = await this.run(keyring, electionId, batch);
      const deferred: PendingCast[] = [];
      for (const [i, cast] of batch.entries()) {
        const outcome = outcomes[i];
        if (outcome instanceof Error || outcome === undefined) cast.fail(outcome);
        else if (outcome.kind === "deferred") deferred.push(cast);
        else cast.settle(outcome);
      }
      queue.unshift(...deferred);
    }
    this.waiting.delete(electionId);
  }

  /**
   * One batch; its outcomes, or the error for every cast when the batch as a whole failed. An unforeseen
   * failure of the data (a row that breaks a constraint, a deadlock) is retried cast by cast, so one bad ballot
   * does not cost its neighbours; an election-wide refusal (closed) or an outage is everyone's answer.
   */
  private async run(
    keyring: LogKeyring,
    electionId: string,
    batch: PendingCast[],
  ): Promise<Array<BatchOutcome | Error>> {
    try {
      return await appendBatch(this.db, keyring, electionId, batch);
    } catch (error) {
      if (batch.length > 1 && !(error instanceof AppError) && isDataSpecific(error)) {
        const alone: Array<BatchOutcome | Error> = [];
        for (const cast of batch) alone.push(...(await this.run(keyring, electionId, [cast])));
        return alone;
      }
      const failure = error instanceof Error ? error : new Error(String(error));
      return batch.map(() => failure);
    }
  }
}

/**
 * Casts one ballot. Checked on its own first (size, replay, kiosk signature, token form, guessing throttle), then
 * appended through the election's queue; without a queue (a caller outside the HTTP service), in a batch of one.
 */
export async function castBallot(
  db: Db,
  keyring: LogKeyring,
  tokenKey: Buffer,
  kiosk: KioskPrincipal,
  input: CastInput,
  hooks: CastHooks = {},
  queue: CastQueue = new CastQueue(db),
): Promise<{ receipt: Receipt; replayed: boolean }> {
  const electionId = kiosk.electionId;
  try {
    checkedCiphertext(input.ciphertext);
  } catch {
    throw new AppError("BALLOT_MALFORMED", "the sealed ballot is not of a size this service accepts");
  }
  const content = {
    electionId,
    ballotId: input.ballotId,
    tpsId: kiosk.tpsId,
    ephemeralPublicKey: input.ephemeralPublicKey,
    nonce: input.nonce,
    ciphertext: input.ciphertext,
  };
  // A ballot id already in the log outranks every other answer (a retry gets its receipt, another ballot under
  // it is BALLOT_ID_REUSED). The batch looks ballot ids up anyway; the refusals here look only when they refuse.
  const orReplay = async (refuse: () => Promise<never>) => {
    const earlier = await existingReceipt(db, electionId, kiosk, input);
    if (earlier === "different")
      throw new AppError("BALLOT_ID_REUSED", "this ballot id belongs to another ballot");
    if (earlier) return { receipt: earlier, replayed: true };
    return refuse();
  };
  if (!verifyEd25519(input.kioskSignature, canonicalBallotBytes(content), kiosk.publicKey)) {
    return orReplay(async () => {
      throw new AppError("BALLOT_SIGNATURE_INVALID", "the kiosk signature does not cover this ballot");
    });
  }
  const canonicalToken = normalizeBallotToken(input.token);
  if (canonicalToken === null) {
    return orReplay(async () => {
      await assertNotGuessing(db, electionId, kiosk);
      await recordFailure(db, electionId, kiosk);
      throw new AppError("TOKEN_UNKNOWN", "not a ballot token (check the last symbol)");
    });
  }
  const hash = ballotTokenHash(tokenKey, electionId, canonicalToken);

  let outcome: BatchOutcome;
  try {
    outcome = await queue.append(keyring, kiosk, input, hash, hooks);
  } catch (error) {
    // Refused as a whole (the polls closed since, say): a ballot already logged still gets its receipt.
    if (error instanceof AppError)
      return orReplay(async () => {
        throw error;
      });
    throw error;
  }
  if (outcome.kind === "appended") return { receipt: outcome.receipt, replayed: false };
  if (outcome.kind === "ballot-id-taken") {
    // The same ballot sent twice at once (the other one is in the log now), or its id reused for another.
    const raced = await existingReceipt(db, electionId, kiosk, input);
    if (raced && raced !== "different") return { receipt: raced, replayed: true };
    throw new AppError("BALLOT_ID_REUSED", "this ballot id belongs to another ballot");
  }
  const error = outcome.kind === "refused" ? outcome.error : new Error("a deferred cast was not retried");
  if (error instanceof AppError && error.code === "TOKEN_ALREADY_USED") {
    // The same ballot sent twice at once: the other request redeemed the token and appended it; answer alike.
    const raced = await existingReceipt(db, electionId, kiosk, input);
    if (raced && raced !== "different") return { receipt: raced, replayed: true };
  }
  if (error instanceof AppError && error.code === "TOKEN_UNKNOWN") await recordFailure(db, electionId, kiosk);
  throw error;
}
