// The group commit under pressure (SPEC §4, §12), from a review of it: each case once failed. Real kiosks over real HTTP against real PostgreSQL; an
// outside connection holds the election's log head so that the batches the casts form are known: the first cast
// blocks in its transaction (holding the election row FOR SHARE), later casts wait in the service's queue.
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ballotTokenHash, generateBallotToken, normalizeBallotToken } from "../../src/crypto/ballot-token.js";
import { prepareSignedBallot, type SignedBallot } from "../../src/crypto/kiosk-nacl.js";
import type { KioskClient, KioskError } from "../../src/kiosk/client.js";
import { MAX_FAILURES_PER_KIOSK } from "../../src/modules/ballots/ballots.service.js";
import { loadLogKeyring } from "../../src/modules/log/log.keys.js";
import { loadTokenKey } from "../../src/modules/polling/polling.service.js";
import { verifyStoredElection } from "../../src/modules/record/record.service.js";
import { bearer, type ElectionFixture } from "../helpers/app.js";
import { type CastingElection, openCastingElection, type TestBooth } from "../helpers/casting.js";
import type { TestDatabase } from "../helpers/db.js";

let casting: CastingElection;
let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let election: ElectionFixture;
let committeeToken: string;
let officerTokens: string[];
let tally: CastingElection["tally"];

beforeAll(async () => {
  casting = await openCastingElection(300);
  ({ database, app, baseUrl, election, committeeToken, officerTokens, tally } = casting);
});

afterAll(async () => {
  await casting?.close();
});

/** A kiosk enrolled at a TPS and signed in. */
async function kiosk(tpsIndex = 0): Promise<TestBooth> {
  const booth = await casting.kiosk(tpsIndex);
  await booth.signIn();
  return booth;
}

const checkIn = (tpsIndex = 0) => casting.checkIn(tpsIndex);

/** One POST, no retries: the answer the kiosk gets (status + code, or the receipt). */
async function post(booth: KioskClient, ballot: SignedBallot, token: string) {
  const body = {
    ballot_id: ballot.ballotId,
    token,
    ephemeral_public_key: Buffer.from(ballot.ephemeralPublicKey).toString("base64"),
    nonce: Buffer.from(ballot.nonce).toString("base64"),
    ciphertext: Buffer.from(ballot.ciphertext).toString("base64"),
    kiosk_signature: Buffer.from(ballot.kioskSignature).toString("base64"),
  };
  try {
    const receipt = await booth.request<{ seq: number }>("POST", "/ballots", body);
    return { status: 201, code: "RECEIPT", seq: receipt.seq };
  } catch (error) {
    const e = error as KioskError;
    return { status: e.status, code: e.code, seq: null };
  }
}

const logSize = () => casting.logSize();

/** Waits until `n` sessions of this database wait on a lock. */
async function lockWaiters(n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await database.superuser<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if (Number(rows[0]?.n) >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} lock waiters`);
}

/** An outside transaction holding the election's log head, as a long append would. */
async function holdHead(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query("BEGIN");
  await client.query("SELECT * FROM log_heads WHERE election_id = $1 FOR UPDATE", [election.id]);
  return client;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("casting by group commit, under locks, revocations, guesses and deadlocks", () => {
  it("a kiosk revoked while its cast waits in the queue: no receipt for an entry the verifier rejects", async () => {
    const a = await kiosk(0);
    const b = await kiosk(0);
    await a.castBallot(1, await checkIn(0)); // the log head exists
    const [ballotA, ballotB] = [await a.prepareBallot(1), await b.prepareBallot(2)];
    const [tokenA, tokenB] = [await checkIn(0), await checkIn(0)];

    const holder = await holdHead();
    const first = post(a, ballotA, tokenA); // batch 1: election FOR SHARE, then blocked on the head
    await lockWaiters(1);
    const queued = post(b, ballotB, tokenB); // authenticated now (not revoked yet); waits in the queue
    await settle(300);
    const revoke = app.inject({
      method: "POST",
      url: `/elections/${election.id}/kiosks/${b.kioskId}/revoke`,
      headers: bearer(committeeToken),
      payload: { reason: "dicuri" },
    }); // election FOR UPDATE: waits for batch 1
    await lockWaiters(2);
    await holder.query("COMMIT");
    await holder.end();
    const [r1, r2, rv] = await Promise.all([first, queued, revoke]);
    expect(r1.code).toBe("RECEIPT");
    expect(rv.statusCode, rv.body).toBe(200);
    const revokedAt = rv.json().revoked_at_log_size as number;
    // Either refused, or its entry lies within the log the revocation still allows (SPEC §9: later entries of
    // this kiosk are invalid, so a receipt for one is a receipt for a vote that will not count).
    if (r2.code === "RECEIPT") expect(r2.seq as number).toBeLessThanOrEqual(revokedAt);
    else expect(r2.code).toBe("KIOSK_REVOKED");
  });

  it("guessing throttle: of 40 well-formed unknown tokens arriving in one batch, only the kiosk's allowance is looked up", async () => {
    const holderKiosk = await kiosk(1);
    const guesser = await kiosk(1);
    const held = await holderKiosk.prepareBallot(1);
    const heldToken = await checkIn(1);
    const ballots = await Promise.all(Array.from({ length: 40 }, () => guesser.prepareBallot(1)));
    const holder = await holdHead();
    const first = post(holderKiosk, held, heldToken);
    await lockWaiters(1);
    const guesses = ballots.map((ballot) => post(guesser, ballot, generateBallotToken()));
    await settle(500);
    await holder.query("COMMIT");
    await holder.end();
    const results = await Promise.all(guesses);
    await first;
    const codes = new Map<string, number>();
    for (const r of results) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    const failures = await database.db
      .selectFrom("token_failures")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("kiosk_id", "=", guesser.kioskId)
      .executeTakeFirstOrThrow();
    // Per kiosk at most MAX_FAILURES_PER_KIOSK guesses may be looked up in a window; the rest are throttled.
    expect(codes.get("TOKEN_UNKNOWN")).toBe(MAX_FAILURES_PER_KIOSK);
    expect(codes.get("TOKEN_GUESSING_THROTTLED")).toBe(40 - MAX_FAILURES_PER_KIOSK);
    expect(Number(failures.n)).toBe(MAX_FAILURES_PER_KIOSK); // each lookup counted, in its batch
  });

  it("a deadlock of a one-cast batch answers a retryable error, not a bare 500", async () => {
    const booth = await kiosk(0);
    const ballot = await booth.prepareBallot(1);
    const token = await checkIn(0);
    const hash = ballotTokenHash(
      await loadTokenKey(database.db, undefined),
      election.id,
      normalizeBallotToken(token) as string,
    );
    const other = new pg.Client({ connectionString: database.url });
    await other.connect();
    await other.query("BEGIN");
    await other.query("SELECT 1 FROM ballot_tokens WHERE election_id = $1 AND token_hash = $2 FOR UPDATE", [
      election.id,
      hash,
    ]);
    const cast = post(booth, ballot, token); // takes the head, then waits for the token row
    await lockWaiters(1);
    const theirs = other
      .query("SELECT 1 FROM log_heads WHERE election_id = $1 FOR UPDATE", [election.id])
      .then(
        () => "ok",
        (e: { code?: string }) => e.code,
      );
    const answer = await cast;
    await Promise.race([theirs, settle(3000)]); // the other session ends one way or the other
    await other.query("ROLLBACK").catch(() => {});
    await other.end();
    if (answer.code !== "RECEIPT") {
      expect(answer.status).toBe(503);
      expect(answer.code).toBe("SERVICE_UNAVAILABLE");
    }
    // And the retry casts it exactly once.
    const again = await post(booth, ballot, token);
    expect(["RECEIPT"]).toContain(again.code);
  });

  it("a batch's connection killed mid-transaction: its casts get a retryable 503, the queued ones are cast, retries cast once", async () => {
    const a = await kiosk(0);
    const ballot = await a.prepareBallot(1);
    const token = await checkIn(0);
    const others = await Promise.all(
      Array.from({ length: 10 }, async () => ({ ballot: await a.prepareBallot(2), token: await checkIn(0) })),
    );
    const before = await logSize();
    const holder = await holdHead();
    const first = post(a, ballot, token);
    await lockWaiters(1);
    const queued = others.map((o) => post(a, o.ballot, o.token));
    await settle(300);
    await database.superuser(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    await settle(200);
    await holder.query("COMMIT");
    await holder.end();
    const r1 = await first;
    const rest = await Promise.all(queued);
    expect(r1.status).toBe(503);
    expect(rest.map((r) => r.code)).toEqual(others.map(() => "RECEIPT"));
    const retry = await post(a, ballot, token);
    expect(retry.code).toBe("RECEIPT");
    const again = await post(a, ballot, token);
    expect(again).toEqual({ ...retry, status: 201 });
    expect(await logSize()).toBe(before + 11);
    const { rows } = await database.superuser<{ redeemed: string; entries: string }>(
      `SELECT (SELECT count(*) FROM ballot_tokens WHERE election_id = $1 AND state = 'redeemed') AS redeemed,
              (SELECT count(*) FROM log_entries WHERE election_id = $1) AS entries`,
      [election.id],
    );
    expect(rows[0]?.redeemed).toBe(rows[0]?.entries);
  });

  it("idempotency while the original is in flight: same ballot → same receipt; other ballot under its id → refused, its token unspent", async () => {
    const a = await kiosk(0);
    await a.castBallot(1, await checkIn(0)); // the log head exists
    const ballot = await a.prepareBallot(1);
    const token = await checkIn(0);
    // Another ballot the kiosk signed under the same ballot id.
    const impostor = prepareSignedBallot(
      { electionId: election.id, ballotId: ballot.ballotId, tpsId: a.tps, candidateNumber: 2 },
      tally.publicKey,
      a.secretKey,
    );
    const impostorToken = await checkIn(0);
    const before = await logSize();
    const holder = await holdHead();
    const original = post(a, ballot, token);
    await lockWaiters(1);
    const retry = post(a, ballot, token);
    const reused = post(a, impostor, impostorToken);
    await settle(300);
    await holder.query("COMMIT");
    await holder.end();
    const [o, r, x] = await Promise.all([original, retry, reused]);
    expect(o.code).toBe("RECEIPT");
    expect(r).toEqual({ status: 201, code: "RECEIPT", seq: o.seq }); // KioskClient.request hides 200 vs 201
    expect(x.code).toBe("BALLOT_ID_REUSED");
    expect(await logSize()).toBe(before + 1);
    const unspent = await database.superuser<{ state: string }>(
      "SELECT state FROM ballot_tokens WHERE election_id = $1 AND token_hash = $2",
      [
        election.id,
        ballotTokenHash(
          await loadTokenKey(database.db, undefined),
          election.id,
          normalizeBallotToken(impostorToken) as string,
        ),
      ],
    );
    expect(unspent.rows[0]?.state).toBe("issued");

    // The original's batch dies (connection killed) while its retry waits: the retry is cast once, then replayed.
    const b = await a.prepareBallot(1);
    const t = await checkIn(0);
    const held = await holdHead();
    const dying = post(a, b, t);
    await lockWaiters(1);
    const waiting = post(a, b, t);
    await settle(300);
    await database.superuser(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    await settle(200);
    await held.query("COMMIT");
    await held.end();
    const [d, w] = await Promise.all([dying, waiting]);
    expect(d.status).toBe(503);
    expect(w.code).toBe("RECEIPT");
    expect(await post(a, b, t)).toEqual(w);
    expect(await logSize()).toBe(before + 2);
  });

  it("a cast behind a log head that is not released gets an answer in bounded time (here: 6 s)", async () => {
    const a = await kiosk(0);
    await a.castBallot(1, await checkIn(0)); // the log head exists
    const ballot = await a.prepareBallot(1);
    const token = await checkIn(0);
    const before = await logSize();
    const holder = await holdHead(); // a stuck session, or a connection the network black-holed
    const started = Date.now();
    const answer = await fetch(`${baseUrl}/elections/${election.id}/ballots`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${a.sessionToken}` },
      body: JSON.stringify({
        ballot_id: ballot.ballotId,
        token,
        ephemeral_public_key: Buffer.from(ballot.ephemeralPublicKey).toString("base64"),
        nonce: Buffer.from(ballot.nonce).toString("base64"),
        ciphertext: Buffer.from(ballot.ciphertext).toString("base64"),
        kiosk_signature: Buffer.from(ballot.kioskSignature).toString("base64"),
      }),
      signal: AbortSignal.timeout(6000),
    }).then(
      (r) => `HTTP ${r.status}`,
      (e: Error) => `no answer (${e.name}) after ${Date.now() - started} ms`,
    );
    await holder.query("COMMIT");
    await holder.end();
    for (let i = 0; i < 100 && (await logSize()) === before; i++) await settle(50);
    expect(answer).toMatch(/^HTTP 503/);
  }, 20_000);

  it("a token voided, and the polls closed, while casts wait: refused, token untouched, nothing appended", async () => {
    const a = await kiosk(0);
    const [b1, b2, b3] = [await a.prepareBallot(1), await a.prepareBallot(1), await a.prepareBallot(1)];
    const [t1, t2, t3] = [await checkIn(0), await checkIn(0), await checkIn(0)];
    // voided while queued
    let holder = await holdHead();
    const first = post(a, b1, t1);
    await lockWaiters(1);
    const queued = post(a, b2, t2);
    await settle(200);
    const voided = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/tps/${election.tpsIds[0]}/tokens/void`,
      headers: bearer(officerTokens[0] as string),
      payload: { token: t2 },
    });
    expect(voided.statusCode, voided.body).toBe(204);
    await holder.query("COMMIT");
    await holder.end();
    expect((await first).code).toBe("RECEIPT");
    expect((await queued).code).toBe("TOKEN_VOIDED");
    // closed while queued
    const size = await logSize();
    holder = await holdHead();
    const b4 = await a.prepareBallot(1);
    const t4 = await checkIn(0);
    const blocked = post(a, b3, t3);
    await lockWaiters(1);
    const late = post(a, b4, t4);
    await settle(200);
    const close = app.inject({
      method: "POST",
      url: `/elections/${election.id}/close`,
      headers: bearer(committeeToken),
    });
    await lockWaiters(2);
    await holder.query("COMMIT");
    await holder.end();
    expect((await blocked).code).toBe("RECEIPT");
    expect((await late).code).toBe("ELECTION_NOT_OPEN");
    expect((await close).statusCode).toBe(200);
    expect(await logSize()).toBe(size + 1);
    const states = await database.superuser<{ state: string }>(
      "SELECT state FROM ballot_tokens WHERE election_id = $1 AND token_hash = $2",
      [
        election.id,
        ballotTokenHash(
          await loadTokenKey(database.db, undefined),
          election.id,
          normalizeBallotToken(t4) as string,
        ),
      ],
    );
    expect(states.rows[0]?.state).toBe("issued");
  });

  it("after close, the service's verifier accepts every entry a receipt was given for", async () => {
    // The closed election, checked by the service's own verifier: the receipt the revoked kiosk got in the first
    // probe names an entry the verifier rejects (kiosk_revoked), i.e. a vote acknowledged that will not count.
    const report = await verifyStoredElection(
      database.db,
      await loadLogKeyring(database.db, "suara.local"),
      election.id,
    );
    const revoked = report.log.failures.filter((f) => f.kind === "kiosk_revoked");
    expect(revoked).toEqual([]);
  });
});
