// SPEC §4: a kiosk is enrolled for one TPS with the public key it made itself, signs in by signing a
// single-use challenge, and is refused the moment it is revoked — even holding a live session. Driven over real
// HTTP by the kiosk client library, as a booth would.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kioskLoginMessage } from "../../src/crypto/kiosk-login.js";
import { signAsKiosk } from "../../src/crypto/kiosk-nacl.js";
import { createKioskKeys, fromBase64, KioskClient, KioskError, toBase64 } from "../../src/kiosk/client.js";
import {
  addMember,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  errorCode,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let election: ElectionFixture;
let otherElection: ElectionFixture;
let committeeToken: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  await createUser(database.db, "admin", { isAdmin: true });
  const adminToken = await login(app, "admin");
  election = await createElection(app, adminToken);
  otherElection = await createElection(app, adminToken, { name: "Desa lain" });
  const committee = await createUser(database.db, "panitia");
  await addMember(database.db, election.id, committee.id, "committee");
  await addMember(database.db, otherElection.id, committee.id, "witness");
  committeeToken = await login(app, "panitia");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function enrol(electionId = election.id, tpsId = election.tpsIds[0] as string) {
  const keys = createKioskKeys();
  const response = await app.inject({
    method: "POST",
    url: `/elections/${electionId}/kiosks`,
    headers: bearer(committeeToken),
    payload: { tps_id: tpsId, label: "Bilik 1", public_key: keys.publicKeyBase64 },
  });
  return { keys, response, kiosk: response.json() as { id: string; key_id: string } };
}

describe("enrolling kiosks", () => {
  it("the committee enrols a kiosk with its public key; the key id is the one vote records carry", async () => {
    const { response, kiosk, keys } = await enrol();
    expect(response.statusCode).toBe(201);
    expect(kiosk.key_id).toMatch(/^[0-9a-f]{64}$/);
    const again = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/kiosks`,
      headers: bearer(committeeToken),
      payload: { tps_id: election.tpsIds[1], label: "Bilik 2", public_key: keys.publicKeyBase64 },
    });
    expect(errorCode(again)).toBe("KIOSK_KEY_TAKEN");
    const list = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/kiosks`,
      headers: bearer(committeeToken),
    });
    expect(list.json().items).toHaveLength(1);
  });

  it("refuses a key that is not 32 bytes of base64, and enrolment by anyone but the committee", async () => {
    const bad = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/kiosks`,
      headers: bearer(committeeToken),
      payload: { tps_id: election.tpsIds[0], label: "x", public_key: "AAAA" },
    });
    expect(errorCode(bad)).toBe("VALIDATION_FAILED");
    const byWitness = await app.inject({
      method: "POST",
      url: `/elections/${otherElection.id}/kiosks`,
      headers: bearer(committeeToken),
      payload: { tps_id: otherElection.tpsIds[0], label: "x", public_key: createKioskKeys().publicKeyBase64 },
    });
    expect(byWitness.statusCode).toBe(403);
  });
});

describe("signing in", () => {
  it("a kiosk signs in by answering a challenge and uses its session", async () => {
    const { kiosk, keys } = await enrol();
    const client = new KioskClient({
      baseUrl,
      electionId: election.id,
      kioskId: kiosk.id,
      secretKey: keys.secretKey,
    });
    const me = await client.request<{ id: string; tps_id: string }>("GET", "/kiosk/me");
    expect(me).toMatchObject({ id: kiosk.id, tps_id: election.tpsIds[0] });
  });

  it("a challenge answers once: replaying the same signed answer is refused", async () => {
    const { kiosk, keys } = await enrol();
    const challenge = (
      await app.inject({ method: "POST", url: `/elections/${election.id}/kiosks/${kiosk.id}/challenge` })
    ).json();
    const signature = toBase64(
      signAsKiosk(kioskLoginMessage(election.id, kiosk.id, fromBase64(challenge.nonce)), keys.secretKey),
    );
    const answer = () =>
      app.inject({
        method: "POST",
        url: `/elections/${election.id}/kiosks/${kiosk.id}/session`,
        payload: { nonce: challenge.nonce, signature },
      });
    expect((await answer()).statusCode).toBe(200);
    const replay = await answer();
    expect(replay.statusCode).toBe(401);
    expect(errorCode(replay)).toBe("KIOSK_CHALLENGE_INVALID");
  });

  it("another kiosk's signature is refused, and the challenge is spent by the attempt", async () => {
    const { kiosk } = await enrol();
    const impostor = createKioskKeys();
    const challenge = (
      await app.inject({ method: "POST", url: `/elections/${election.id}/kiosks/${kiosk.id}/challenge` })
    ).json();
    const forged = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/kiosks/${kiosk.id}/session`,
      payload: {
        nonce: challenge.nonce,
        signature: toBase64(
          signAsKiosk(
            kioskLoginMessage(election.id, kiosk.id, fromBase64(challenge.nonce)),
            impostor.secretKey,
          ),
        ),
      },
    });
    expect(errorCode(forged)).toBe("KIOSK_SIGNATURE_INVALID");
    const count = await database.db
      .selectFrom("kiosk_challenges")
      .select("nonce")
      .where("kiosk_id", "=", kiosk.id)
      .execute();
    expect(count).toEqual([]);
  });

  it("a kiosk session opens no user route, a user token opens no kiosk route, and a kiosk stays in its election", async () => {
    const { kiosk, keys } = await enrol();
    const client = new KioskClient({
      baseUrl,
      electionId: election.id,
      kioskId: kiosk.id,
      secretKey: keys.secretKey,
    });
    await client.signIn();
    const asKiosk = bearer(client.sessionToken as string);
    expect(
      (await app.inject({ method: "GET", url: `/elections/${election.id}`, headers: asKiosk })).statusCode,
    ).toBe(403);
    expect((await app.inject({ method: "GET", url: "/auth/me", headers: asKiosk })).statusCode).toBe(403);
    expect(
      (await app.inject({ method: "GET", url: `/elections/${otherElection.id}/kiosk/me`, headers: asKiosk }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await app.inject({
          method: "GET",
          url: `/elections/${election.id}/kiosk/me`,
          headers: bearer(committeeToken),
        })
      ).statusCode,
    ).toBe(403);
  });
});

describe("revoking", () => {
  it("a revoked kiosk is refused on its next request despite a live session, and cannot sign in again", async () => {
    const { kiosk, keys } = await enrol();
    const client = new KioskClient({
      baseUrl,
      electionId: election.id,
      kioskId: kiosk.id,
      secretKey: keys.secretKey,
    });
    await client.request("GET", "/kiosk/me");
    const revoked = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/kiosks/${kiosk.id}/revoke`,
      headers: bearer(committeeToken),
      payload: { reason: "layar rusak, diganti" },
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ revoked: true, revoked_at_log_size: 0 });
    await expect(client.request("GET", "/kiosk/me")).rejects.toMatchObject({
      status: 403,
      code: "KIOSK_REVOKED",
    });
    await expect(client.signIn()).rejects.toBeInstanceOf(KioskError);
    const event = await database.db
      .selectFrom("audit_events")
      .select(["action", "details"])
      .where("election_id", "=", election.id)
      .where("action", "=", "kiosk.revoked")
      .executeTakeFirstOrThrow();
    expect(event.details).toMatchObject({ reason: "layar rusak, diganti", log_size: 0 });
  });
});
