// Group commit (SPEC §4, §6, §12, §13): casts into one election that arrive while its append runs go together
// in the next transaction. Whatever shares a batch, each cast keeps its own outcome: one token is one vote, a
// refused ballot does not fail its neighbours, the same ballot twice is logged once, and every receipt names a
// committed, signed checkpoint that includes it. The casts here are real concurrent calls into one CastQueue
// (the service has one per process), so the batches they form are known; the HTTP tests in casting.test.ts and
// the fault test drive the same queue through the routes.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCheckpoint } from "../../src/crypto/checkpoint.js";
import { verifyInclusion } from "../../src/crypto/merkle.js";
import { ed25519NoteVerifier } from "../../src/crypto/signed-note.js";
import type { AppError } from "../../src/lib/errors.js";
import {
  type CastInput,
  CastQueue,
  castBallot,
  type Receipt,
} from "../../src/modules/ballots/ballots.service.js";
import { type LogKeyring, loadLogKeyring, logOrigin } from "../../src/modules/log/log.keys.js";
import { inclusionProofFor } from "../../src/modules/log/log.service.js";
import { loadTokenKey } from "../../src/modules/polling/polling.service.js";
import type { KioskPrincipal } from "../../src/plugins/auth.js";
import {
  addMember,
  addVoters,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
  openPollsNow,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { makeKiosk, makeVote, type TestKiosk, testTallyKey } from "../helpers/votes.js";

const VOTERS_PER_TPS = 400;

let database: TestDatabase;
let app: FastifyInstance;
let election: ElectionFixture;
let keyring: LogKeyring;
let tokenKey: Buffer;
let committeeToken: string;
const officerTokens: string[] = [];
const nextVoter = [0, 0];

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  election = await createElection(app, await login(app, "admin"));
  await addVoters(database.db, election, VOTERS_PER_TPS);
  await database.db
    .insertInto("tally_keys")
    .values({ election_id: election.id, public_key: testTallyKey.publicKey, threshold: 2, holders: 3 })
    .execute();
  const committee = await createUser(database.db, "panitia");
  await addMember(database.db, election.id, committee.id, "committee");
  committeeToken = await login(app, "panitia");
  for (const i of [0, 1]) {
    const officer = await createUser(database.db, `kpps-${i}`);
    await addMember(database.db, election.id, officer.id, "officer", election.tpsIds[i]);
    officerTokens.push(await login(app, `kpps-${i}`));
  }
  await openPollsNow(database.db, election.id);
  keyring = await loadLogKeyring(database.db, "suara.local");
  tokenKey = await loadTokenKey(database.db, undefined);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

/** A kiosk enrolled at a TPS by the committee, with the principal the auth plugin would give its requests. */
async function enrolKiosk(tpsIndex = 0): Promise<{ keys: TestKiosk; principal: KioskPrincipal }> {
  const keys = makeKiosk();
  const enrolled = await app.inject({
    method: "POST",
    url: `/elections/${election.id}/kiosks`,
    headers: bearer(committeeToken),
    payload: {
      tps_id: election.tpsIds[tpsIndex],
      label: `Bilik ${crypto.randomUUID().slice(0, 6)}`,
      public_key: keys.publicKey.toString("base64"),
    },
  });
  expect(enrolled.statusCode, enrolled.body).toBe(201);
  const row = await database.db
    .selectFrom("kiosks")
    .selectAll()
    .where("id", "=", enrolled.json().id)
    .executeTakeFirstOrThrow();
  return {
    keys,
    principal: {
      kioskId: row.id,
      electionId: election.id,
      tpsId: row.tps_id,
      keyId: row.key_id,
      publicKey: row.public_key,
    },
  };
}

/** Checks the next voter of a TPS in, as its officer would; the token handed over. */
async function checkIn(tpsIndex = 0): Promise<string> {
  const n = nextVoter[tpsIndex] as number;
  nextVoter[tpsIndex] = n + 1;
  const serial = tpsIndex * VOTERS_PER_TPS + n + 1; // addVoters numbers NIKs …0001 onwards, TPS by TPS
  const response = await app.inject({
    method: "POST",
    url: `/elections/${election.id}/tps/${election.tpsIds[tpsIndex]}/checkins`,
    headers: bearer(officerTokens[tpsIndex] as string),
    payload: { nik: `160705010180${String(serial).padStart(4, "0")}` },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().token;
}

/** A sealed ballot the kiosk signed, with the voter's token, as the route hands it to castBallot. */
function ballotOf(kiosk: { keys: TestKiosk; principal: KioskPrincipal }, token: string): CastInput {
  const vote = makeVote(election.id, kiosk.principal.tpsId, kiosk.keys, 1);
  return {
    ballotId: vote.ballotId,
    token,
    ephemeralPublicKey: Buffer.from(vote.ephemeralPublicKey),
    nonce: Buffer.from(vote.nonce),
    ciphertext: Buffer.from(vote.ciphertext),
    kioskSignature: Buffer.from(vote.kioskSignature),
  };
}

const cast = (queue: CastQueue, kiosk: KioskPrincipal, input: CastInput) =>
  castBallot(database.db, keyring, tokenKey, kiosk, input, {}, queue);

const logSize = async () =>
  (
    await database.db
      .selectFrom("log_heads")
      .select("tree_size")
      .where("election_id", "=", election.id)
      .executeTakeFirst()
  )?.tree_size ?? 0;

const checkpointsAbove = async (size: number) =>
  database.db
    .selectFrom("log_checkpoints")
    .select("tree_size")
    .where("election_id", "=", election.id)
    .where("tree_size", ">", size)
    .execute();

/** The receipt holds: its entry is in the log as it says, under the signed checkpoint it names. */
async function expectReceiptHolds(receipt: Receipt): Promise<void> {
  const entry = await database.db
    .selectFrom("log_entries")
    .select(["ballot_id", "leaf_hash", "tracking_code"])
    .where("election_id", "=", election.id)
    .where("seq", "=", receipt.seq)
    .executeTakeFirstOrThrow();
  expect(entry.ballot_id).toBe(receipt.ballot_id);
  expect(entry.leaf_hash.toString("base64")).toBe(receipt.leaf_hash);
  expect(entry.tracking_code).toBe(receipt.tracking_code);
  const origin = logOrigin(keyring, election.id);
  const opened = openCheckpoint(
    receipt.checkpoint.note,
    [ed25519NoteVerifier(origin, keyring.active.publicKey)],
    origin,
  );
  expect(opened.size).toBe(receipt.checkpoint.tree_size);
  const proof = await inclusionProofFor(database.db, election.id, { seq: receipt.seq }, opened.size);
  expect(
    verifyInclusion({
      leafHash: entry.leaf_hash,
      index: receipt.seq - 1,
      size: opened.size,
      proof: proof.proof,
      root: opened.rootHash,
    }),
  ).toBe(true);
}

describe("group commit", () => {
  it("30 casts at once go in two transactions, each with its own receipt under a signed checkpoint", async () => {
    const queue = new CastQueue(database.db);
    const kiosks = await Promise.all(Array.from({ length: 6 }, (_, i) => enrolKiosk(i % 2)));
    const inputs = [];
    for (let i = 0; i < 30; i++) {
      const kiosk = kiosks[i % 6] as (typeof kiosks)[number];
      inputs.push({ kiosk, input: ballotOf(kiosk, await checkIn(i % 2)) });
    }
    const before = await logSize();
    // The first call starts a batch at once; the 29 that arrive while it runs wait and go in the next one.
    const results = await Promise.all(inputs.map(({ kiosk, input }) => cast(queue, kiosk.principal, input)));
    expect(results.every((r) => !r.replayed)).toBe(true);
    expect(results.map((r) => r.receipt.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => before + i + 1),
    );
    expect(new Set(results.map((r) => r.receipt.checkpoint.tree_size))).toEqual(
      new Set([before + 1, before + 30]),
    );
    expect((await checkpointsAbove(before)).map((c) => c.tree_size).sort((a, b) => a - b)).toEqual([
      before + 1,
      before + 30,
    ]);
    for (const [i, r] of results.entries()) {
      expect(r.receipt.ballot_id).toBe(inputs[i]?.input.ballotId);
      await expectReceiptHolds(r.receipt);
    }
    const redeemed = await database.db
      .selectFrom("ballot_tokens")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("election_id", "=", election.id)
      .where("state", "=", "redeemed")
      .executeTakeFirstOrThrow();
    expect(Number(redeemed.n)).toBe(await logSize());
  });

  it("one token in 20 different ballots of one batch is one vote; the others are told it is used", async () => {
    const queue = new CastQueue(database.db);
    const kiosks = await Promise.all(Array.from({ length: 4 }, () => enrolKiosk(0)));
    const holder = kiosks[0] as (typeof kiosks)[number];
    const held = ballotOf(holder, await checkIn(0));
    const token = await checkIn(0);
    const before = await logSize();
    const first = cast(queue, holder.principal, held); // runs at once; the 20 below wait for it, together
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => {
        const kiosk = kiosks[i % 4] as (typeof kiosks)[number];
        return cast(queue, kiosk.principal, ballotOf(kiosk, token));
      }),
    );
    await first;
    const accepted = results.filter((r) => r.status === "fulfilled");
    expect(accepted).toHaveLength(1);
    const refusals = results
      .filter((r): r is PromiseRejectedResult => r.status === "rejected")
      .map((r) => (r.reason as AppError).code);
    expect(refusals).toEqual(Array.from({ length: 19 }, () => "TOKEN_ALREADY_USED"));
    expect(await logSize()).toBe(before + 2);
  });

  it("refusals in a batch are each cast's own; the valid ballots beside them are logged", async () => {
    const queue = new CastQueue(database.db);
    const kiosk = await enrolKiosk(0);
    const elsewhere = await enrolKiosk(1);
    const logged = ballotOf(kiosk, await checkIn(0));
    await cast(queue, kiosk.principal, logged);

    const expired = await checkIn(0);
    await database.db
      .updateTable("ballot_tokens")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("election_id", "=", election.id)
      .where("state", "=", "issued")
      .execute();
    const voided = await checkIn(0);
    const voiding = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/tps/${election.tpsIds[0]}/tokens/void`,
      headers: bearer(officerTokens[0] as string),
      payload: { token: voided },
    });
    expect(voiding.statusCode, voiding.body).toBe(204);
    const valid = [await checkIn(0), await checkIn(0), await checkIn(0)].map((t) => ballotOf(kiosk, t));
    const other = ballotOf(kiosk, await checkIn(0));
    const sameTwice = ballotOf(kiosk, await checkIn(0));
    const wrongTps = ballotOf(elsewhere, await checkIn(0));
    const held = ballotOf(kiosk, await checkIn(0));

    const before = await logSize();
    const hold = cast(queue, kiosk.principal, held); // runs at once; the casts below wait for it, together
    const batch = [
      cast(queue, kiosk.principal, valid[0] as CastInput),
      cast(queue, kiosk.principal, { ...ballotOf(kiosk, "x"), token: "AAAAA-AAAAA-A" }), // not a token
      cast(queue, kiosk.principal, ballotOf(kiosk, expired)),
      cast(queue, kiosk.principal, valid[1] as CastInput),
      cast(queue, kiosk.principal, ballotOf(kiosk, voided)),
      cast(queue, elsewhere.principal, wrongTps), // a token of another TPS
      cast(queue, kiosk.principal, { ...other, ballotId: logged.ballotId }), // signed for another id
      cast(queue, kiosk.principal, sameTwice),
      cast(queue, kiosk.principal, { ...sameTwice }),
      cast(queue, kiosk.principal, logged), // a retry of a logged ballot
      cast(queue, kiosk.principal, valid[2] as CastInput),
    ];
    const settled = await Promise.allSettled(batch);
    await hold;
    const outcome = (r: PromiseSettledResult<{ receipt: Receipt; replayed: boolean }>) =>
      r.status === "fulfilled"
        ? r.value.replayed
          ? "replayed"
          : "appended"
        : ((r.reason as AppError).code ?? String(r.reason));
    expect(settled.map(outcome)).toEqual([
      "appended",
      "TOKEN_UNKNOWN",
      "TOKEN_EXPIRED",
      "appended",
      "TOKEN_VOIDED",
      "TOKEN_WRONG_TPS",
      "BALLOT_ID_REUSED",
      "appended",
      "replayed",
      "replayed",
      "appended",
    ]);
    const value = (i: number) => (settled[i] as PromiseFulfilledResult<{ receipt: Receipt }>).value.receipt;
    // The same ballot twice: logged once, both answers the same receipt; the retry gets its first receipt.
    expect(value(8)).toEqual(value(7));
    expect(value(9).seq).toBeLessThanOrEqual(before);
    expect(await logSize()).toBe(before + 5); // the held one and the four appended
    for (const i of [0, 3, 7, 10]) await expectReceiptHolds(value(i));
  });

  it("an unexpected error of one cast's data fails that cast alone, after its batch is retried cast by cast", async () => {
    const queue = new CastQueue(database.db);
    const kiosk = await enrolKiosk(0);
    const held = ballotOf(kiosk, await checkIn(0));
    const inputs = [];
    for (let i = 0; i < 4; i++) inputs.push(ballotOf(kiosk, await checkIn(0)));
    const before = await logSize();
    const hold = cast(queue, kiosk.principal, held); // runs at once; the four below wait for it, together
    const poisoned = inputs[1] as CastInput;
    const settled = await Promise.allSettled(
      inputs.map((input) =>
        castBallot(
          database.db,
          keyring,
          tokenKey,
          kiosk.principal,
          input,
          {
            afterRedeem: () => {
              // As PostgreSQL reports a constraint broken by this cast's row.
              if (input === poisoned) throw Object.assign(new Error("injected"), { code: "23514" });
            },
          },
          queue,
        ),
      ),
    );
    await hold;
    expect(settled.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect(await logSize()).toBe(before + 4); // the held one and three of the four
    // Its token was not spent: the same ballot goes through on its own afterwards.
    const retried = await cast(queue, kiosk.principal, poisoned);
    expect(retried.replayed).toBe(false);
    await expectReceiptHolds(retried.receipt);
  });

  it("after close a new ballot is refused, and a ballot logged before close still gets its receipt", async () => {
    const queue = new CastQueue(database.db);
    const kiosk = await enrolKiosk(0);
    const logged = ballotOf(kiosk, await checkIn(0));
    const first = await cast(queue, kiosk.principal, logged);
    const late = ballotOf(kiosk, await checkIn(0));
    const closed = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/close`,
      headers: bearer(committeeToken),
    });
    expect(closed.statusCode, closed.body).toBe(200);
    const size = await logSize();
    await expect(cast(queue, kiosk.principal, late)).rejects.toMatchObject({ code: "ELECTION_NOT_OPEN" });
    const again = await cast(queue, kiosk.principal, logged);
    expect(again).toEqual({ receipt: first.receipt, replayed: true });
    expect(await logSize()).toBe(size);
  });
});
