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

const kioskRevoked = () => new AppError("KIOSK_REVOKED", "this kiosk has been revoked by the committee");

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

interface TokenRow {
  state: string;
  tps_id: string;
  expires_at: Date;
}

/** Why a token did not redeem, in the precise words SPEC §4 asks for (`token`: its row, if there is one). */
function refusalOf(token: TokenRow | undefined, kiosk: KioskPrincipal): AppError {
  if (!token) return new AppError("TOKEN_UNKNOWN", "no such token: check it with the KPPS");
  if (token.state === "redeemed")
    return new AppError("TOKEN_ALREADY_USED", "this token has already been used to vote");
  if (token.state === "voided") return new AppError("TOKEN_VOIDED", "this token was voided by the KPPS");
  if (token.tps_id !== kiosk.tpsId)
    return new AppError("TOKEN_WRONG_TPS", "this token belongs to another TPS");
  return new AppError("TOKEN_EXPIRED", "this token has expired: the KPPS can issue a new one");
}

/**
 * Refusals that count as a guess (SPEC §4): a token that does not exist, or one of another TPS — a guesser must
 * not learn live tokens of other TPS for free.
 */
const GUESS_CODES = new Set(["TOKEN_UNKNOWN", "TOKEN_WRONG_TPS"]);

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

/** Most casts waiting for one election's log; more are refused, retryable, rather than held in memory. */
export const MAX_QUEUED_PER_ELECTION = 4 * MAX_CASTS_PER_BATCH;

/**
 * A batch waits this long for a lock (the election row, its log head, a token row) and its statements run at most
 * this long; then it fails retryable (503) instead of holding its kiosks forever behind a stuck session.
 */
export const BATCH_LOCK_TIMEOUT_MS = 3_000;
export const BATCH_STATEMENT_TIMEOUT_MS = 10_000;

/**
 * One transaction for a batch of casts into one election: the election row shared (closing and revoking wait),
 * the log head locked, ballot ids already in the log set aside, casts of revoked kiosks refused, the guessing
 * throttle applied with what this batch may still try, every other token redeemed in one statement (a token
 * that does not redeem is refused with its own reason, and a guess is counted in this same transaction), the
 * redeemed ballots appended under one checkpoint.
 */
async function appendBatch(
  db: Db,
  keyring: LogKeyring,
  electionId: string,
  casts: readonly PendingCast[],
): Promise<BatchOutcome[]> {
  return db.transaction().execute(async (tx) => {
    await sql`SELECT set_config('lock_timeout', ${`${BATCH_LOCK_TIMEOUT_MS}ms`}, true),
                     set_config('statement_timeout', ${`${BATCH_STATEMENT_TIMEOUT_MS}ms`}, true)`.execute(tx);
    // Shared: casts go side by side with check-ins; closing and revoking a kiosk (FOR UPDATE) wait for them, and
    // they for it — so a revocation either precedes this batch (and is seen below) or follows its commit.
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
    const unique: number[] = [];
    for (const [i, cast] of casts.entries()) {
      const token = cast.tokenHash.toString("hex");
      const ballotId = cast.input.ballotId.toLowerCase(); // as PostgreSQL prints a uuid
      if (seenBallots.has(ballotId) || seenTokens.has(token)) continue;
      seenBallots.add(ballotId);
      seenTokens.add(token);
      unique.push(i);
    }

    // The guessing throttle (SPEC §4): a kiosk or TPS at its limit in the window is refused; below it, this
    // batch looks up at most what is left of its allowance — every lookup may be a guess, counted in this
    // transaction — and the rest wait for the next batch, which sees these failures. Batching cannot multiply
    // guesses. (One kiosk casts one ballot at a time, so an honest kiosk never waits here.)
    const since = new Date(Date.now() - GUESS_WINDOW_SECONDS * 1000);
    const kioskIds = [...new Set(unique.map((i) => (casts[i] as PendingCast).kiosk.kioskId))];
    const { rows: standing } = await sql<{
      kiosk_id: string;
      tps_id: string;
      kiosk: string;
      tps: string;
      revoked: boolean;
    }>`
      SELECT k.id::text AS kiosk_id, k.tps_id::text AS tps_id, k.revoked_at IS NOT NULL AS revoked,
        (SELECT count(*) FROM token_failures f WHERE f.election_id = k.election_id
           AND f.kiosk_id = k.id AND f.failed_at > ${since}) AS kiosk,
        (SELECT count(*) FROM token_failures f WHERE f.election_id = k.election_id
           AND f.tps_id = k.tps_id AND f.failed_at > ${since}) AS tps
      FROM kiosks k
      WHERE k.election_id = ${electionId} AND k.id = ANY(${kioskIds}::uuid[])`.execute(tx);
    const kioskLeft = new Map<string, number>();
    const tpsLeft = new Map<string, number>();
    const revoked = new Set<string>();
    for (const row of standing) {
      const kioskId = row.kiosk_id.toLowerCase();
      if (row.revoked) revoked.add(kioskId);
      kioskLeft.set(kioskId, MAX_FAILURES_PER_KIOSK - Number(row.kiosk));
      tpsLeft.set(row.tps_id.toLowerCase(), MAX_FAILURES_PER_TPS - Number(row.tps));
    }
    const candidates: number[] = [];
    const triedHere = new Map<string, number>();
    const triedAtTps = new Map<string, number>();
    for (const i of unique) {
      const { kiosk } = casts[i] as PendingCast;
      const kioskId = kiosk.kioskId.toLowerCase();
      const tpsId = kiosk.tpsId.toLowerCase();
      const leftHere = kioskLeft.get(kioskId);
      const leftAtTps = tpsLeft.get(tpsId);
      const here = triedHere.get(kioskId) ?? 0;
      const atTps = triedAtTps.get(tpsId) ?? 0;
      if (leftHere === undefined || leftAtTps === undefined || revoked.has(kioskId)) {
        // Revoked since its request was signed in: no receipt for an entry the verifier would reject.
        outcomes[i] = { kind: "refused", error: kioskRevoked() };
      } else if (leftHere <= 0 || leftAtTps <= 0) {
        outcomes[i] = { kind: "refused", error: throttled() };
      } else if (here < leftHere && atTps < leftAtTps) {
        triedHere.set(kioskId, here + 1);
        triedAtTps.set(tpsId, atTps + 1);
        candidates.push(i);
      }
      // else: this batch has used what is left of the allowance; the cast stays deferred to the next batch,
      // which counts this batch's failures.
    }
    const pending = candidates.map((i) => casts[i] as PendingCast);

    // One statement: which ballot ids are in the log already (their tokens are left alone), and every other token
    // redeemed — each at most once (its row is updated once, and only from 'issued'), only at its kiosk's TPS,
    // only unexpired.
    const { rows } = await sql<{ kind: "taken" | "redeemed"; id: string | null; token: Buffer | null }>`
      WITH cast_in AS (
        SELECT * FROM unnest(
          ${pending.map((c) => c.tokenHash)}::bytea[],
          ${pending.map((c) => c.kiosk.tpsId)}::uuid[],
          ${pending.map((c) => c.input.ballotId)}::uuid[]
        ) AS v(token_hash, tps_id, ballot_id)
      ), taken AS (
        SELECT ballot_id FROM log_entries
        WHERE election_id = ${electionId} AND ballot_id IN (SELECT ballot_id FROM cast_in)
      ), redeemed AS (
        UPDATE ballot_tokens AS t SET state = 'redeemed'
        FROM cast_in AS v
        WHERE t.election_id = ${electionId} AND t.token_hash = v.token_hash AND t.tps_id = v.tps_id
          AND t.state = 'issued' AND t.expires_at > ${new Date()}
          AND v.ballot_id NOT IN (SELECT ballot_id FROM taken)
        RETURNING t.token_hash
      )
      SELECT 'taken' AS kind, ballot_id::text AS id, NULL::bytea AS token FROM taken
      UNION ALL SELECT 'redeemed', NULL, token_hash FROM redeemed`.execute(tx);
    const taken = new Set(rows.filter((r) => r.kind === "taken").map((r) => r.id as string));
    const redeemed = new Set(
      rows.filter((r) => r.kind === "redeemed").map((r) => (r.token as Buffer).toString("hex")),
    );
    const refusedHashes = candidates
      .map((i) => casts[i] as PendingCast)
      .filter((c) => !taken.has(c.input.ballotId.toLowerCase()) && !redeemed.has(c.tokenHash.toString("hex")))
      .map((c) => c.tokenHash);
    const tokenRows = new Map<string, TokenRow>();
    if (refusedHashes.length > 0) {
      // Why each of the others did not redeem, in one query.
      const found = await tx
        .selectFrom("ballot_tokens")
        .select(["token_hash", "state", "tps_id", "expires_at"])
        .where("election_id", "=", electionId)
        .where("token_hash", "in", refusedHashes)
        .execute();
      for (const row of found) tokenRows.set(row.token_hash.toString("hex"), row);
    }
    const guesses: KioskPrincipal[] = [];
    const appending: number[] = [];
    for (const i of candidates) {
      const cast = casts[i] as PendingCast;
      const hash = cast.tokenHash.toString("hex");
      if (taken.has(cast.input.ballotId.toLowerCase())) outcomes[i] = { kind: "ballot-id-taken" };
      else if (redeemed.has(hash)) appending.push(i);
      else {
        const error = refusalOf(tokenRows.get(hash), cast.kiosk);
        if (GUESS_CODES.has(error.code)) guesses.push(cast.kiosk);
        outcomes[i] = { kind: "refused", error };
      }
    }
    if (guesses.length > 0) {
      // Counted with the batch: the next batch's throttle sees them, and a batch that fails counts nothing.
      await tx
        .insertInto("token_failures")
        .values(guesses.map((k) => ({ election_id: electionId, tps_id: k.tpsId, kiosk_id: k.kioskId })))
        .execute();
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
    private readonly maxQueued = MAX_QUEUED_PER_ELECTION,
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
      if (queue && queue.length >= this.maxQueued) {
        fail(
          new AppError(
            "SERVICE_UNAVAILABLE",
            "too many ballots are waiting for this election's log: retry shortly",
            {
              retryable: true,
            },
          ),
        );
      } else if (queue) queue.push(cast);
      else {
        this.waiting.set(electionId, [cast]);
        void this.drain(keyring, electionId);
      }
    });
  }

  /**
   * Runs the election's batches one after another until its queue is empty; exactly one drain per election.
   * Whatever goes wrong, every cast taken from the queue is answered and the queue is removed when done, so an
   * election can never be left with casts nobody drains.
   */
  private async drain(keyring: LogKeyring, electionId: string): Promise<void> {
    const queue = this.waiting.get(electionId) as PendingCast[];
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, this.maxPerBatch);
        let outcomes: Array<BatchOutcome | Error>;
        try {
          outcomes = await this.run(keyring, electionId, batch);
        } catch (error) {
          const failure = error instanceof Error ? error : new Error(String(error));
          outcomes = batch.map(() => failure);
        }
        const deferred: PendingCast[] = [];
        for (const [i, cast] of batch.entries()) {
          const outcome = outcomes[i];
          if (outcome instanceof Error) cast.fail(outcome);
          else if (outcome === undefined) cast.fail(new Error("a batch gave no outcome for a cast"));
          else if (outcome.kind === "deferred") deferred.push(cast);
          else cast.settle(outcome);
        }
        queue.unshift(...deferred);
      }
    } finally {
      this.waiting.delete(electionId);
      // Only reached by a bug: anything still queued is answered rather than left waiting.
      for (const cast of queue.splice(0)) cast.fail(new Error("the election's cast queue stopped"));
    }
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
  if (
    error instanceof AppError &&
    (error.code === "TOKEN_GUESSING_THROTTLED" || error.code === "KIOSK_REVOKED")
  ) {
    // Refused before its ballot id was looked up: a retry of a ballot already logged still gets its receipt.
    return orReplay(async () => {
      throw error;
    });
  }
  throw error;
}
