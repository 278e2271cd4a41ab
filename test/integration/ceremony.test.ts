// SPEC §7: the tally-key ceremony. Any k shares rebuild the key, k − 1 do not; each holder receives their share
// once and never again; the service keeps the public key and nothing from which the secret could be rebuilt;
// the ceremony is audited without the shares; opening requires it.
import type { FastifyInstance } from "fastify";
import sodium from "sodium-native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSealedShare, recombineTallySecret } from "../../src/crypto/tally-key.js";
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
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

interface Holder {
  name: string;
  id: string;
  token: string;
  publicKey: Buffer;
  secretKey: Buffer;
  share?: Buffer;
}

let database: TestDatabase;
let app: FastifyInstance;
let election: ElectionFixture;
let committeeToken: string;
const holders: Holder[] = [];

function holderKeyPair() {
  const publicKey = Buffer.alloc(sodium.crypto_box_PUBLICKEYBYTES);
  const secretKey = Buffer.alloc(sodium.crypto_box_SECRETKEYBYTES);
  sodium.crypto_box_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  election = await createElection(app, await login(app, "admin"));
  const committee = await createUser(database.db, "ketua-panitia");
  await addMember(database.db, election.id, committee.id, "committee");
  committeeToken = await login(app, "ketua-panitia");
  for (const [i, role] of (["committee", "committee", "witness", "witness", "witness"] as const).entries()) {
    const name = `pemegang-${i + 1}`;
    const user = await createUser(database.db, name);
    await addMember(database.db, election.id, user.id, role);
    holders.push({ name, id: user.id, token: await login(app, name), ...holderKeyPair() });
  }
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const call = (
  method: "GET" | "PUT" | "POST",
  url: string,
  token: string,
  payload?: Record<string, unknown>,
) => app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

describe("the tally-key ceremony", () => {
  it("refuses holders who have not registered a key, and thresholds outside 2..n", async () => {
    const noKeys = await call("POST", `/elections/${election.id}/ceremony`, committeeToken, {
      threshold: 3,
      holders: holders.map((h) => h.id),
    });
    expect(errorCode(noKeys)).toBe("HOLDER_KEY_MISSING");
    for (const h of holders) {
      const registered = await call("PUT", `/elections/${election.id}/ceremony/holder-key`, h.token, {
        public_key: h.publicKey.toString("base64"),
      });
      expect(registered.statusCode).toBe(204);
    }
    const tooHigh = await call("POST", `/elections/${election.id}/ceremony`, committeeToken, {
      threshold: 6,
      holders: holders.map((h) => h.id),
    });
    expect(errorCode(tooHigh)).toBe("CEREMONY_INVALID");
    const officer = await createUser(database.db, "kpps-x");
    await addMember(database.db, election.id, officer.id, "officer", election.tpsIds[0]);
    const byOfficer = await call("POST", `/elections/${election.id}/ceremony`, await login(app, "kpps-x"), {
      threshold: 3,
      holders: holders.map((h) => h.id),
    });
    expect(byOfficer.statusCode).toBe(403);
    expect(await database.db.selectFrom("tally_keys").selectAll().execute()).toEqual([]);
  });

  it("makes a 3-of-5 key, keeps only its public half, and hands each holder a share once", async () => {
    const held = await call("POST", `/elections/${election.id}/ceremony`, committeeToken, {
      threshold: 3,
      holders: holders.map((h) => h.id),
    });
    expect(held.statusCode).toBe(201);
    expect(held.json().threshold).toBe(3);
    const again = await call("POST", `/elections/${election.id}/ceremony`, committeeToken, {
      threshold: 2,
      holders: holders.map((h) => h.id),
    });
    expect(errorCode(again)).toBe("TALLY_KEY_EXISTS");

    for (const h of holders) {
      const taken = await call("POST", `/elections/${election.id}/ceremony/share`, h.token);
      expect(taken.statusCode).toBe(200);
      const share = openSealedShare(
        Buffer.from(taken.json().sealed_share, "base64"),
        h.publicKey,
        h.secretKey,
      );
      expect(share).not.toBeNull();
      h.share = share as Buffer;
      // Nobody else's key opens it.
      const other = holders.find((o) => o !== h) as Holder;
      expect(
        openSealedShare(Buffer.from(taken.json().sealed_share, "base64"), other.publicKey, other.secretKey),
      ).toBeNull();
      const twice = await call("POST", `/elections/${election.id}/ceremony/share`, h.token);
      expect(twice.statusCode).toBe(410);
      expect(errorCode(twice)).toBe("SHARE_ALREADY_HANDED_OVER");
    }
    const status = (await call("GET", `/elections/${election.id}/ceremony`, committeeToken)).json();
    expect(status).toMatchObject({ held: true, threshold: 3 });
    expect(status.holders.every((h: { handed_over: boolean }) => h.handed_over)).toBe(true);
  });

  it("any 3 shares rebuild the key; 2 shares, or a wrong share, do not", async () => {
    const publicKey = (
      await database.db.selectFrom("tally_keys").select("public_key").executeTakeFirstOrThrow()
    ).public_key;
    const shares = holders.map((h) => h.share as Buffer);
    const triples = [
      [0, 1, 2],
      [0, 2, 4],
      [1, 3, 4],
      [2, 3, 4],
    ];
    for (const t of triples) {
      const secret = await recombineTallySecret(
        t.map((i) => shares[i] as Buffer),
        publicKey,
      );
      expect(secret, `shares ${t}`).not.toBeNull();
    }
    expect(await recombineTallySecret([shares[0] as Buffer, shares[3] as Buffer], publicKey)).toBeNull();
    const tampered = Buffer.from(shares[1] as Buffer);
    tampered[3] = (tampered[3] as number) ^ 0xff;
    expect(
      await recombineTallySecret([shares[0] as Buffer, tampered, shares[2] as Buffer], publicKey),
    ).toBeNull();
  });

  it("the database holds neither the secret nor any share, sealed or plain, once the shares are taken", async () => {
    const publicKey = (
      await database.db.selectFrom("tally_keys").select("public_key").executeTakeFirstOrThrow()
    ).public_key;
    const secret = (await recombineTallySecret(
      holders.slice(0, 3).map((h) => h.share as Buffer),
      publicKey,
    )) as Buffer;
    const dump = await database.superuser<{ row: string }>(
      `SELECT row_to_json(t)::text AS row FROM tally_keys t
       UNION ALL SELECT row_to_json(h)::text FROM tally_key_holders h
       UNION ALL SELECT row_to_json(a)::text FROM audit_events a`,
    );
    const text = dump.rows.map((r) => r.row).join("\n");
    for (const needle of [secret, ...holders.map((h) => h.share as Buffer)]) {
      expect(text).not.toContain(needle.toString("hex"));
      expect(text).not.toContain(needle.toString("base64"));
    }
    const sealed = await database.db.selectFrom("tally_key_holders").select("sealed_share").execute();
    expect(sealed.every((r) => r.sealed_share === null)).toBe(true);
    const events = await database.db
      .selectFrom("audit_events")
      .select(["action", "actor_id"])
      .where("election_id", "=", election.id)
      .where("action", "like", "ceremony.%")
      .orderBy("seq")
      .execute();
    expect(
      events
        .filter((e) => e.action === "ceremony.share_handed_over")
        .map((e) => e.actor_id)
        .sort(),
    ).toEqual(holders.map((h) => h.id).sort());
    expect(events.filter((e) => e.action === "ceremony.held")).toHaveLength(1);
  });

  it("opening needs the ceremony; after it, holder keys are frozen", async () => {
    const other = await createElection(app, await login(app, "admin"), { name: "Tanpa kunci" });
    const committee = await createUser(database.db, "panitia-lain");
    await addMember(database.db, other.id, committee.id, "committee");
    await addVoters(database.db, other);
    const refused = await call("POST", `/elections/${other.id}/open`, await login(app, "panitia-lain"));
    expect(errorCode(refused)).toBe("TALLY_KEY_MISSING");
    const late = await call(
      "PUT",
      `/elections/${election.id}/ceremony/holder-key`,
      (holders[0] as Holder).token,
      {
        public_key: Buffer.alloc(32, 1).toString("base64"),
      },
    );
    expect(errorCode(late)).toBe("TALLY_KEY_EXISTS");
  });
});
