// SPEC §4, §5, §11 (issue #7): the attacks the other suites do not already make. auth.test.ts covers the basic
// JWT attacks (alg none, wrong key, HS512, expired, future nbf, wrong aud/iss, tampered payload, old token
// version), the sign-in throttles and a disabled user's /auth/me; kiosks.test.ts replayed challenges and revoked
// kiosks; casting.test.ts the per-kiosk guessing throttle. Here: algorithm confusion, tokens of one kind used as
// the other on routes that write, the per-TPS guessing throttle, a kiosk signing with another enrolled kiosk's
// key, a disabled user's live token on a write route, and results, berita acara and record asked for at every
// stage of the lifecycle by every role (sealed until close, nothing until the tally, members until certified).
// docs/threat-model.md maps each rule to its test.
import { createHmac, generateKeyPairSync, sign as rsaSign } from "node:crypto";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kioskLoginMessage } from "../../src/crypto/kiosk-login.js";
import { signAsKiosk } from "../../src/crypto/kiosk-nacl.js";
import {
  createKioskKeys,
  fromBase64,
  KioskClient,
  type KioskError,
  toBase64,
} from "../../src/kiosk/client.js";
import { MAX_FAILURES_PER_KIOSK, MAX_FAILURES_PER_TPS } from "../../src/modules/ballots/ballots.service.js";
import {
  addMember,
  addTallyKey,
  addVoters,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  errorCode,
  login,
  openPollsNow,
  TEST_JWT_SECRET,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { type Pilkades, runPilkades, tally } from "../helpers/pilkades.js";

let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let adminToken: string;
let adminId: string;
let polling: ElectionFixture;
let committeeToken: string;
const officerTokens: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  adminId = (await createUser(database.db, "admin", { isAdmin: true })).id;
  adminToken = await login(app, "admin");
  polling = await createElection(app, adminToken, { name: "Pilkades hari ini" });
  await addVoters(database.db, polling, 5);
  const committee = await createUser(database.db, "panitia");
  await addMember(database.db, polling.id, committee.id, "committee");
  committeeToken = await login(app, "panitia");
  for (const [i, tpsId] of polling.tpsIds.entries()) {
    const officer = await createUser(database.db, `kpps-${i}`);
    await addMember(database.db, polling.id, officer.id, "officer", tpsId);
    officerTokens.push(await login(app, `kpps-${i}`));
  }
  await addTallyKey(database.db, polling.id);
  await openPollsNow(database.db, polling.id);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function enrolKiosk(tpsIndex = 0) {
  const keys = createKioskKeys();
  const response = await app.inject({
    method: "POST",
    url: `/elections/${polling.id}/kiosks`,
    headers: bearer(committeeToken),
    payload: {
      tps_id: polling.tpsIds[tpsIndex],
      label: `Bilik ${tpsIndex}`,
      public_key: keys.publicKeyBase64,
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  const id = response.json<{ id: string }>().id;
  const client = new KioskClient({ baseUrl, electionId: polling.id, kioskId: id, secretKey: keys.secretKey });
  return { id, keys, client };
}

const count = async (table: "checkins" | "ballot_tokens" | "log_entries" | "token_failures") =>
  Number(
    (
      await database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("election_id", "=", polling.id)
        .executeTakeFirstOrThrow()
    ).n,
  );

let serial = 0;
/** Checks in the next voter of TPS 0 (addVoters numbers NIKs …0001 onwards) and returns the token. */
async function checkIn(): Promise<string> {
  serial++;
  const response = await app.inject({
    method: "POST",
    url: `/elections/${polling.id}/tps/${polling.tpsIds[0]}/checkins`,
    headers: bearer(officerTokens[0] as string),
    payload: { nik: `160705010180${String(serial).padStart(4, "0")}` },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ token: string }>().token;
}

// ---------------------------------------------------------------------------------------------------------------

describe("access tokens: algorithm confusion and kinds of token", () => {
  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const claims = () => {
    const now = Math.floor(Date.now() / 1000);
    return { sub: adminId, tv: 0, iss: "suara", aud: "suara-api", iat: now, exp: now + 600 };
  };
  const hmac = (input: string, key: string | Buffer) =>
    createHmac("sha256", key).update(input).digest("base64url");
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const rsaPublicPem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();

  const attacks: Array<[string, () => string]> = [
    [
      "RS256 in the header, HMAC-signed with the service's secret (HS/RS confusion)",
      () => {
        const input = `${b64url({ alg: "RS256", typ: "JWT" })}.${b64url(claims())}`;
        return `${input}.${hmac(input, TEST_JWT_SECRET)}`;
      },
    ],
    [
      "HS256 signed with a public key as the HMAC secret",
      () => {
        const input = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims())}`;
        return `${input}.${hmac(input, rsaPublicPem)}`;
      },
    ],
    [
      "a real RS256 signature by the attacker's own key, shipped in the header (embedded jwk)",
      () => {
        const jwk = rsa.publicKey.export({ format: "jwk" });
        const input = `${b64url({ alg: "RS256", typ: "JWT", jwk })}.${b64url(claims())}`;
        return `${input}.${rsaSign("sha256", Buffer.from(input), rsa.privateKey).toString("base64url")}`;
      },
    ],
    ["alg None", () => `${b64url({ alg: "None" })}.${b64url(claims())}.`],
    ["alg nOnE", () => `${b64url({ alg: "nOnE" })}.${b64url(claims())}.`],
    ["HS256 with the signature left empty", () => `${b64url({ alg: "HS256" })}.${b64url(claims())}.`],
    [
      "a kid pointing at an empty key",
      () => {
        const input = `${b64url({ alg: "HS256", kid: "../../../../dev/null" })}.${b64url(claims())}`;
        return `${input}.${hmac(input, "")}`;
      },
    ],
  ];

  for (const [name, token] of attacks) {
    it(`${name}: 401, and nothing is created`, async () => {
      const before = await database.db.selectFrom("users").select("id").execute();
      const response = await app.inject({
        method: "POST",
        url: "/users",
        headers: bearer(token()),
        payload: { username: "penyusup", display_name: "Penyusup" },
      });
      expect(response.statusCode).toBe(401);
      expect(errorCode(response)).toBe("UNAUTHENTICATED");
      expect(await database.db.selectFrom("users").select("id").execute()).toEqual(before);
    });
  }

  it("a token is read only from the Authorization header, not from the query string or a cookie", async () => {
    for (const request of [
      { url: `/auth/me?access_token=${adminToken}` },
      { url: "/auth/me", headers: { cookie: `token=${adminToken}; access_token=${adminToken}` } },
    ]) {
      const response = await app.inject({ method: "GET", ...request });
      expect(response.statusCode, request.url).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, request.url).toBeLessThan(500);
    }
  });

  it("a kiosk's session cannot check a voter in, and a user's token cannot cast: nothing is written", async () => {
    const { client } = await enrolKiosk(0);
    await client.signIn();
    const kioskHeaders = bearer(client.sessionToken as string);
    const [checkins, tokens] = [await count("checkins"), await count("ballot_tokens")];
    const asKiosk = await app.inject({
      method: "POST",
      url: `/elections/${polling.id}/tps/${polling.tpsIds[0]}/checkins`,
      headers: kioskHeaders,
      payload: { nik: "1607050101800005" },
    });
    expect(asKiosk.statusCode).toBe(403);
    expect([await count("checkins"), await count("ballot_tokens")]).toEqual([checkins, tokens]);

    const token = await checkIn();
    const ballot = await client.prepareBallot(1);
    const entries = await count("log_entries");
    for (const userToken of [adminToken, committeeToken, officerTokens[0] as string]) {
      const asUser = await fetch(`${baseUrl}/elections/${polling.id}/ballots`, {
        method: "POST",
        headers: { ...bearer(userToken), "content-type": "application/json" },
        body: JSON.stringify({ ...ballotBody(ballot), token }),
      });
      expect(asUser.status).toBe(403);
    }
    expect(await count("log_entries")).toBe(entries);
    // The token was not spent by the refused attempts: the kiosk casts with it.
    expect((await client.submitBallot(ballot, token)).seq).toBe(entries + 1);
  });
});

/** The JSON body the kiosk library sends for a prepared ballot (without the token). */
function ballotBody(ballot: Awaited<ReturnType<KioskClient["prepareBallot"]>>): Record<string, string> {
  return {
    ballot_id: ballot.ballotId,
    ephemeral_public_key: toBase64(ballot.ephemeralPublicKey),
    nonce: toBase64(ballot.nonce),
    ciphertext: toBase64(ballot.ciphertext),
    kiosk_signature: toBase64(ballot.kioskSignature),
  };
}

describe("kiosks: another kiosk's key, and the guessing throttle per TPS", () => {
  it("kiosk B answering kiosk A's challenge with its own key is refused, and the challenge is spent", async () => {
    const a = await enrolKiosk(0);
    const b = await enrolKiosk(0);
    const challenge = await app.inject({
      method: "POST",
      url: `/elections/${polling.id}/kiosks/${a.id}/challenge`,
    });
    const nonce = challenge.json<{ nonce: string }>().nonce;
    const signedByB = toBase64(
      signAsKiosk(kioskLoginMessage(polling.id, a.id, fromBase64(nonce)), b.keys.secretKey),
    );
    const forged = await app.inject({
      method: "POST",
      url: `/elections/${polling.id}/kiosks/${a.id}/session`,
      payload: { nonce, signature: signedByB },
    });
    expect(forged.statusCode).toBe(401);
    expect(errorCode(forged)).toBe("KIOSK_SIGNATURE_INVALID");
    // Nor may B take A's challenge to its own door, signed as itself.
    const signedForB = toBase64(
      signAsKiosk(kioskLoginMessage(polling.id, b.id, fromBase64(nonce)), b.keys.secretKey),
    );
    const carried = await app.inject({
      method: "POST",
      url: `/elections/${polling.id}/kiosks/${b.id}/session`,
      payload: { nonce, signature: signedForB },
    });
    expect(carried.statusCode).toBe(401);
    expect(errorCode(carried)).toBe("KIOSK_CHALLENGE_INVALID");
    // The spent challenge no longer opens a session, even with A's own signature.
    const late = await app.inject({
      method: "POST",
      url: `/elections/${polling.id}/kiosks/${a.id}/session`,
      payload: {
        nonce,
        signature: toBase64(
          signAsKiosk(kioskLoginMessage(polling.id, a.id, fromBase64(nonce)), a.keys.secretKey),
        ),
      },
    });
    expect(errorCode(late)).toBe("KIOSK_CHALLENGE_INVALID");
  });

  it("a ballot signed with kiosk B's key, sent in kiosk A's session, is refused and spends no token", async () => {
    const a = await enrolKiosk(0);
    const b = await enrolKiosk(0);
    await a.client.signIn();
    const token = await checkIn();
    const signedByB = await b.client.prepareBallot(2);
    const entries = await count("log_entries");
    const response = await fetch(`${baseUrl}/elections/${polling.id}/ballots`, {
      method: "POST",
      headers: { ...bearer(a.client.sessionToken as string), "content-type": "application/json" },
      body: JSON.stringify({ ...ballotBody(signedByB), token }),
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      "BALLOT_SIGNATURE_INVALID",
    );
    expect(await count("log_entries")).toBe(entries);
    expect((await a.client.castBallot(2, token)).seq).toBe(entries + 1);
  });

  it(`guesses spread over kiosks of one TPS trip the TPS throttle (${MAX_FAILURES_PER_TPS}); another TPS is not affected`, async () => {
    const guess = async (client: KioskClient) => {
      const ballot = await client.prepareBallot(1);
      try {
        await client.submitBallot(ballot, "0000000000", 1);
        return "ACCEPTED";
      } catch (error) {
        return (error as KioskError).code ?? "ERROR";
      }
    };
    await database.db.deleteFrom("token_failures").execute();
    const entries = await count("log_entries");
    const booths = await Promise.all(
      Array.from({ length: Math.ceil(MAX_FAILURES_PER_TPS / MAX_FAILURES_PER_KIOSK) }, () => enrolKiosk(0)),
    );
    for (const booth of booths) {
      // Each kiosk stays under its own limit: every guess is answered as an unknown token.
      for (let i = 0; i < MAX_FAILURES_PER_KIOSK; i++)
        expect(await guess(booth.client)).toBe("TOKEN_UNKNOWN");
    }
    expect(await count("token_failures")).toBe(booths.length * MAX_FAILURES_PER_KIOSK);
    const fresh = await enrolKiosk(0);
    expect(await guess(fresh.client)).toBe("TOKEN_GUESSING_THROTTLED");
    const elsewhere = await enrolKiosk(1);
    expect(await guess(elsewhere.client)).toBe("TOKEN_UNKNOWN");
    expect(await count("log_entries")).toBe(entries);
    await database.db.deleteFrom("token_failures").execute();
  });
});

describe("a disabled account with a live token", () => {
  it("an officer disabled mid-day cannot check anyone in with the token they hold", async () => {
    const officer = await createUser(database.db, "kpps-nonaktif");
    await addMember(database.db, polling.id, officer.id, "officer", polling.tpsIds[0]);
    const token = await login(app, "kpps-nonaktif");
    const disabled = await app.inject({
      method: "PATCH",
      url: `/users/${officer.id}`,
      headers: bearer(adminToken),
      payload: { disabled: true },
    });
    expect(disabled.statusCode).toBe(200);
    const [checkins, tokens] = [await count("checkins"), await count("ballot_tokens")];
    const response = await app.inject({
      method: "POST",
      url: `/elections/${polling.id}/tps/${polling.tpsIds[0]}/checkins`,
      headers: bearer(token),
      payload: { nik: "1607050101800004" },
    });
    expect(response.statusCode).toBe(401);
    expect([await count("checkins"), await count("ballot_tokens")]).toEqual([checkins, tokens]);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("results, berita acara and record at every stage, for every role", () => {
  type Who = "admin" | "committee" | "officer" | "witness" | "outsider" | "anonymous" | "kiosk";
  const WHO: Who[] = ["admin", "committee", "officer", "witness", "outsider", "anonymous", "kiosk"];
  let run: Pilkades;
  let draft: ElectionFixture;
  let open: ElectionFixture;
  const tokens = new Map<Who, string>();
  const kioskOf = new Map<string, string>();

  beforeAll(async () => {
    run = await runPilkades(app, baseUrl, database.db, adminToken, {
      prefix: "seal",
      votes: [
        [1, 2, 1],
        [2, 0],
      ],
      untallied: true,
    });
    tokens.set("admin", adminToken);
    tokens.set("committee", run.tokens[run.committee[0] as string] as string);
    tokens.set("officer", run.tokens["seal-kpps-1"] as string);
    tokens.set("witness", run.tokens[run.witness] as string);
    await createUser(database.db, "orang-luar");
    tokens.set("outsider", await login(app, "orang-luar"));
    // The same people hold the same roles in a draft and an open election.
    draft = await createElection(app, adminToken, { name: "Pilkades belum dibuka" });
    open = await createElection(app, adminToken, { name: "Pilkades sedang berlangsung" });
    const byName = async (username: string) =>
      (
        await database.db
          .selectFrom("users")
          .select("id")
          .where("username", "=", username)
          .executeTakeFirstOrThrow()
      ).id;
    for (const election of [draft, open]) {
      await addMember(database.db, election.id, await byName(run.committee[0] as string), "committee");
      await addMember(database.db, election.id, await byName("seal-kpps-1"), "officer", election.tpsIds[0]);
      await addMember(database.db, election.id, await byName(run.witness), "witness");
    }
    await addTallyKey(database.db, open.id);
    await openPollsNow(database.db, open.id);
    // A kiosk of each election asks too (a kiosk's session on a public route is nobody's principal).
    for (const election of [draft, open, run.election]) {
      const keys = createKioskKeys();
      const enrolled = await app.inject({
        method: "POST",
        url: `/elections/${election.id}/kiosks`,
        headers: bearer(tokens.get("committee") as string),
        payload: { tps_id: election.tpsIds[0], label: "Bilik tanya", public_key: keys.publicKeyBase64 },
      });
      if (enrolled.statusCode !== 201) continue; // enrolment closes with the polls
      const kiosk = new KioskClient({
        baseUrl,
        electionId: election.id,
        kioskId: enrolled.json<{ id: string }>().id,
        secretKey: keys.secretKey,
      });
      await kiosk.signIn();
      kioskOf.set(election.id, kiosk.sessionToken as string);
    }
  });

  async function ask(who: Who, electionId: string, what: string): Promise<LightMyRequestResponse> {
    const token = who === "kiosk" ? kioskOf.get(electionId) : tokens.get(who);
    return app.inject({
      method: "GET",
      url: `/elections/${electionId}/${what}`,
      headers: token === undefined ? {} : bearer(token),
    });
  }

  /** The answer of each role in WHO order: a status for successes, the error code for refusals. */
  async function answers(electionId: string, what: string): Promise<string[]> {
    const got: string[] = [];
    for (const who of WHO) {
      if (who === "kiosk" && !kioskOf.has(electionId)) {
        got.push("-");
        continue;
      }
      const response = await ask(who, electionId, what);
      expect(response.statusCode, `${what} as ${who}`).toBeLessThan(500);
      got.push(response.statusCode < 300 ? String(response.statusCode) : (errorCode(response) ?? "?"));
    }
    return got;
  }

  const SEALED = Array(7).fill("RESULTS_SEALED");
  // While not certified the record goes to the committee, witnesses and administrators only.
  const RECORD_BEFORE = ["200", "200", "FORBIDDEN", "200", "FORBIDDEN", "UNAUTHENTICATED"];

  // (Mid-day, with ballots in the log, secrecy.test.ts asks every role again: still sealed.)
  it("in draft and while the polls are open: sealed to everyone — administrator and kiosk included", async () => {
    for (const election of [draft, open]) {
      for (const what of ["results", "berita-acara"]) {
        const expected = kioskOf.has(election.id) ? SEALED : [...SEALED.slice(0, 6), "-"];
        expect(await answers(election.id, what), `${what} of ${election.id}`).toEqual(expected);
      }
      expect((await answers(election.id, "record")).slice(0, 6)).toEqual(RECORD_BEFORE);
    }
  });

  it("after close and before the tally: no counts exist, for anyone", async () => {
    for (const what of ["results", "berita-acara"]) {
      expect((await answers(run.election.id, what)).slice(0, 6), what).toEqual(Array(6).fill("NOT_TALLIED"));
    }
    expect((await answers(run.election.id, "record")).slice(0, 6)).toEqual(RECORD_BEFORE);
  });

  it("tallied but not certified: the election's people see the count; outsiders and the public do not", async () => {
    await tally(run);
    const members = ["200", "200", "200", "200", "FORBIDDEN", "UNAUTHENTICATED"];
    for (const what of ["results", "berita-acara"]) {
      expect((await answers(run.election.id, what)).slice(0, 6), what).toEqual(members);
    }
    expect((await answers(run.election.id, "record")).slice(0, 6)).toEqual(RECORD_BEFORE);
  });

  it("certified: results, berita acara and record are public", async () => {
    for (const member of run.committee) {
      const approved = await run.call(member, "POST", "/result/approve");
      expect(approved.statusCode, approved.body).toBe(200);
    }
    for (const what of ["results", "berita-acara", "record"]) {
      expect((await answers(run.election.id, what)).slice(0, 6), what).toEqual(Array(6).fill("200"));
    }
  });
});
