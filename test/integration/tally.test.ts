// SPEC §8: after the polls close, k share holders submit their shares; the service rebuilds the key in memory,
// verifies and opens the whole log, counts, reconciles, and stores the result. The count equals what the kiosks
// cast; fewer than k shares cannot tally; wrong shares are refused without revealing anything.
import type { FastifyInstance } from "fastify";
import sodium from "sodium-native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyEd25519 } from "../../src/crypto/ed25519.js";
import { openSealedShare } from "../../src/crypto/tally-key.js";
import { createKioskKeys, KioskClient } from "../../src/kiosk/client.js";
import { loadLogKeyring } from "../../src/modules/log/log.keys.js";
import { TallySessions } from "../../src/modules/tally/tally.service.js";
import type { CryptoPool } from "../../src/verify/crypto-pool.js";
import {
  addMember,
  addVoters,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  errorCode,
  login,
  openPollsNow,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let election: ElectionFixture;
const tokens: Record<string, string> = {};
const shares: Record<string, string> = {};
/** What the kiosks cast, counted independently of the service: candidate number → ballots. */
const cast: Record<string, number> = { "1": 0, "2": 0, "3": 0 };
let blank = 0;
/** The app's tally sessions, watched: which crypto threads each tally took. */
const sessions = new TallySessions();
const prepared: CryptoPool[] = [];
const taken: CryptoPool[] = [];
const prepareCrypto = sessions.prepareCrypto.bind(sessions);
sessions.prepareCrypto = (...args: Parameters<TallySessions["prepareCrypto"]>): CryptoPool => {
  const threads = prepareCrypto(...args);
  prepared.push(threads);
  return threads;
};
const takeCrypto = sessions.takeCrypto.bind(sessions);
sessions.takeCrypto = async (electionId: string): Promise<CryptoPool> => {
  const threads = await takeCrypto(electionId);
  taken.push(threads);
  return threads;
};

const call = (
  name: string | null,
  method: "GET" | "POST" | "PUT",
  url: string,
  payload?: Record<string, unknown>,
) =>
  app.inject({
    method,
    url: `/elections/${election.id}${url}`,
    headers: name ? bearer(tokens[name] as string) : {},
    ...(payload ? { payload } : {}),
  });

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database, {}, { tallySessions: sessions }));
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  await createUser(database.db, "admin", { isAdmin: true });
  election = await createElection(app, await login(app, "admin"));
  await addVoters(database.db, election, 4);
  const ids: Record<string, string> = {};
  for (const [name, role, tps] of [
    ["ketua", "committee", null],
    ["sekretaris", "committee", null],
    ["saksi-1", "witness", null],
    ["kpps-1", "officer", 0],
    ["kpps-2", "officer", 1],
  ] as const) {
    const user = await createUser(database.db, name);
    ids[name] = user.id;
    await addMember(
      database.db,
      election.id,
      user.id,
      role,
      tps === null ? null : (election.tpsIds[tps] as string),
    );
    tokens[name] = await login(app, name);
  }
  // The ceremony: three holders, any two tally. Each keeps their opened share.
  const holders = ["ketua", "sekretaris", "saksi-1"];
  const keys: Record<string, { publicKey: Buffer; secretKey: Buffer }> = {};
  for (const h of holders) {
    const publicKey = Buffer.alloc(32);
    const secretKey = Buffer.alloc(32);
    sodium.crypto_box_keypair(publicKey, secretKey);
    keys[h] = { publicKey, secretKey };
    await call(h, "PUT", "/ceremony/holder-key", { public_key: publicKey.toString("base64") });
  }
  const held = await call("ketua", "POST", "/ceremony", {
    threshold: 2,
    holders: holders.map((h) => ids[h]),
  });
  expect(held.statusCode).toBe(201);
  for (const h of holders) {
    const sealed = (await call(h, "POST", "/ceremony/share")).json().sealed_share as string;
    const k = keys[h] as { publicKey: Buffer; secretKey: Buffer };
    shares[h] = (openSealedShare(Buffer.from(sealed, "base64"), k.publicKey, k.secretKey) as Buffer).toString(
      "base64",
    );
  }
  const booths: KioskClient[] = [];
  for (const t of [0, 1]) {
    const keysOfKiosk = createKioskKeys();
    const enrolled = await call("ketua", "POST", "/kiosks", {
      tps_id: election.tpsIds[t],
      label: `Bilik ${t}`,
      public_key: keysOfKiosk.publicKeyBase64,
    });
    booths.push(
      new KioskClient({
        baseUrl,
        electionId: election.id,
        kioskId: enrolled.json().id,
        secretKey: keysOfKiosk.secretKey,
      }),
    );
  }
  await openPollsNow(database.db, election.id);
  // Eight voters (addVoters: NIKs …0001-0004 at TPS 001, …0005-0008 at TPS 002); seven vote, one leaves.
  for (let n = 1; n <= 8; n++) {
    const t = n <= 4 ? 0 : 1;
    const checkin = await call(t === 0 ? "kpps-1" : "kpps-2", "POST", `/tps/${election.tpsIds[t]}/checkins`, {
      nik: `160705010180${String(n).padStart(4, "0")}`,
    });
    const token = checkin.json().token as string;
    if (n === 8) {
      await call("kpps-2", "POST", `/tps/${election.tpsIds[1]}/tokens/void`, { token });
      continue;
    }
    const choice = n % 4; // 1, 2, 3, 0 (blank), 1, 2, 3
    await (booths[t] as KioskClient).castBallot(choice, token);
    if (choice === 0) blank++;
    else cast[String(choice)] = (cast[String(choice)] ?? 0) + 1;
  }
  const closed = await call("ketua", "POST", "/close");
  expect(closed.statusCode).toBe(200);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function waitForTally(): Promise<{ state: string; failure: string | null }> {
  for (let i = 0; i < 200; i++) {
    const status = (await call("ketua", "GET", "/tally")).json();
    if (status.state === "done" || status.state === "failed") return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the tally did not finish");
}

describe("the tally", () => {
  it("fewer than k shares cannot tally, and counts stay unavailable", async () => {
    const first = await call("ketua", "POST", "/tally/shares", { share: shares.ketua });
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ state: "collecting", shares_received: 1, threshold: 2 });
    expect(errorCode(await call("saksi-1", "GET", "/results"))).toBe("NOT_TALLIED");
    const status = await database.db
      .selectFrom("elections")
      .select("status")
      .where("id", "=", election.id)
      .executeTakeFirstOrThrow();
    expect(status.status).toBe("closed");
  });

  it("a wrong share makes the tally fail without revealing anything, and nothing is stored", async () => {
    const wrong = Buffer.from(shares.sekretaris as string, "base64");
    wrong[5] = (wrong[5] as number) ^ 0xff;
    const response = await call("sekretaris", "POST", "/tally/shares", { share: wrong.toString("base64") });
    expect(response.statusCode).toBe(202);
    const outcome = await waitForTally();
    expect(outcome.state).toBe("failed");
    expect(outcome.failure).toMatch(/do not rebuild/);
    expect(await database.db.selectFrom("results").selectAll().execute()).toEqual([]);
  });

  it("k holders' shares tally the log: the count equals what the kiosks cast, verified and reconciled", async () => {
    await call("ketua", "POST", "/tally/shares", { share: shares.ketua });
    // The first share starts the crypto threads (SPEC §13), so they are up before the last share arrives.
    expect(sessions.preparedThreads(election.id)).toBeGreaterThan(0);
    const early = prepared.at(-1);
    const before = taken.length;
    const submitted = await call("saksi-1", "POST", "/tally/shares", { share: shares["saksi-1"] });
    const outcome = await waitForTally();
    expect(submitted.statusCode).toBe(202);
    expect(outcome.state).toBe("done");
    // The tally took those threads, not fresh ones, and shut them down when it ended.
    expect(taken).toHaveLength(before + 1);
    const threads = taken[before] as CryptoPool;
    expect(threads).toBe(early);
    // Their warm-up read this election's log once through the COPY path and verified its throwaway log clean.
    expect(await sessions.lastWarmUp(election.id)).toMatchObject({ ok: true, logRows: 7 });
    expect(sessions.preparedThreads(election.id)).toBe(0);
    for (let i = 0; i < 300 && threads.runningThreads() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(threads.runningThreads()).toBe(0);
    const response = await call("saksi-1", "GET", "/results");
    expect(response.statusCode).toBe(200);
    const result = response.json();
    expect(result.status).toBe("tallied");
    expect(result.counts).toMatchObject({ perCandidate: cast, blank, invalid: 0, ballots: 7 });
    expect(result.verification).toMatchObject({ ok: true, entries_checked: 7, tree_size: 7 });
    expect(result.reconciliation.discrepancies).toEqual([]);
    // Two votes each, no TPS led outright, TPS of equal size: the configured last resort, a second round.
    expect(result.decision).toMatchObject({ winner: null, rule: "second_round", tied: [1, 2, 3] });
    const tps2 = result.reconciliation.per_tps.find(
      (t: { tps_id: string }) => t.tps_id === election.tpsIds[1],
    );
    expect(tps2).toMatchObject({
      registered: 4,
      checked_in: 4,
      tokens_issued: 4,
      tokens_redeemed: 3,
      tokens_voided: 1,
      ballots: 3,
    });
    expect(errorCode(await call(null, "GET", "/results"))).toBe("UNAUTHENTICATED");
    const again = await call("sekretaris", "POST", "/tally/shares", { share: shares.sekretaris });
    expect(errorCode(again)).toBe("ALREADY_TALLIED");
  });

  it("the result document is signed by the log key; a majority of the committee certifies it, and it becomes public", async () => {
    const result = (await call("ketua", "GET", "/results")).json();
    const keyring = await loadLogKeyring(database.db, "suara.local");
    expect(
      verifyEd25519(
        Buffer.from(result.service_signature, "base64"),
        Buffer.from(result.document, "utf8"),
        keyring.active.publicKey,
      ),
    ).toBe(true);
    expect(JSON.parse(result.document)).toMatchObject({
      format: "suara-result/v1",
      election_id: election.id,
      tree_size: 7,
    });
    expect(errorCode(await call("saksi-1", "POST", "/result/approve"))).toBe("FORBIDDEN");
    // Two committee members: the quorum is both.
    const first = (await call("ketua", "POST", "/result/approve")).json();
    expect(first).toEqual({ approvals: 1, quorum: 2, certified: false });
    expect(errorCode(await call("ketua", "POST", "/result/approve"))).toBe("ALREADY_APPROVED");
    expect((await call(null, "GET", "/results")).statusCode).toBe(401);
    const second = (await call("sekretaris", "POST", "/result/approve")).json();
    expect(second).toEqual({ approvals: 2, quorum: 2, certified: true });
    const publicView = await call(null, "GET", "/results");
    expect(publicView.statusCode).toBe(200);
    expect(publicView.json()).toMatchObject({ status: "certified", approvals: 2 });
    // The election record is public now too, for any witness of the public to verify offline.
    expect((await call(null, "GET", "/record")).statusCode).toBe(200);
  });
});
