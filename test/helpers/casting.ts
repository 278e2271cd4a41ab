// An open election ready for casting over real HTTP, shared by the casting tests: a listening app, a committee
// member and one officer per TPS signed in, a roll of `votersPerTps` voters at each of the two TPS, a tally key,
// the polls open; kiosks are enrolled and voters checked in through the API, as on polling day.
import type { FastifyInstance } from "fastify";
import sodium from "sodium-native";
import { newId } from "../../src/crypto/random.js";
import { createKioskKeys, KioskClient } from "../../src/kiosk/client.js";
import { ensureVoterPartition } from "../../src/modules/roll/roll.partition.js";
import {
  addMember,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
  openPollsNow,
} from "./app.js";
import { createTestDatabase, type TestDatabase } from "./db.js";

/** The NIK of voter `n` (0-based) on the roll of TPS `tpsIndex`. */
export const nikOf = (tpsIndex: number, n: number) =>
  `16070501018${tpsIndex}${String(n + 1).padStart(4, "0")}`;

export type TestBooth = KioskClient & { kioskId: string; secretKey: Uint8Array; tps: string };

export interface CastingElection {
  database: TestDatabase;
  app: FastifyInstance;
  logs: string[];
  baseUrl: string;
  election: ElectionFixture;
  committeeToken: string;
  officerTokens: string[];
  tally: { publicKey: Buffer; secretKey: Buffer };
  /** Enrols a kiosk at a TPS through the committee's API (not signed in yet). */
  kiosk(tpsIndex?: number): Promise<TestBooth>;
  /** Checks the next voter of a TPS in, as its officer would, and returns the token handed over. */
  checkIn(tpsIndex?: number): Promise<string>;
  /** The election's log size. */
  logSize(): Promise<number>;
  close(): Promise<void>;
}

export async function openCastingElection(votersPerTps: number): Promise<CastingElection> {
  const database = await createTestDatabase();
  const { app, logs } = await buildTestApp(database);
  const baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  await createUser(database.db, "admin", { isAdmin: true });
  const election = await createElection(app, await login(app, "admin"));
  const committee = await createUser(database.db, "panitia");
  await addMember(database.db, election.id, committee.id, "committee");
  const committeeToken = await login(app, "panitia");
  const officerTokens: string[] = [];
  for (const i of [0, 1]) {
    const officer = await createUser(database.db, `kpps-${i}`);
    await addMember(database.db, election.id, officer.id, "officer", election.tpsIds[i]);
    officerTokens.push(await login(app, `kpps-${i}`));
  }
  await database.db.transaction().execute((tx) => ensureVoterPartition(tx, election.id));
  const rows = [0, 1].flatMap((t) =>
    Array.from({ length: votersPerTps }, (_, n) => ({
      election_id: election.id,
      nik: nikOf(t, n),
      name: `Pemilih ${t}-${n}`,
      birth_date: "1980-01-01",
      sex: "L" as const,
      marital_status: "S" as const,
      tps_id: election.tpsIds[t] as string,
    })),
  );
  await database.db.insertInto("voters").values(rows).execute();
  const tally = { publicKey: Buffer.alloc(32), secretKey: Buffer.alloc(32) };
  sodium.crypto_box_keypair(tally.publicKey, tally.secretKey);
  await database.db
    .insertInto("tally_keys")
    .values({ election_id: election.id, public_key: tally.publicKey, threshold: 2, holders: 3 })
    .execute();
  await openPollsNow(database.db, election.id);

  const nextVoter = [0, 0];
  return {
    database,
    app,
    logs,
    baseUrl,
    election,
    committeeToken,
    officerTokens,
    tally,
    async kiosk(tpsIndex = 0) {
      const keys = createKioskKeys();
      const enrolled = await app.inject({
        method: "POST",
        url: `/elections/${election.id}/kiosks`,
        headers: bearer(committeeToken),
        payload: {
          tps_id: election.tpsIds[tpsIndex],
          label: `Bilik ${newId().slice(0, 6)}`,
          public_key: keys.publicKeyBase64,
        },
      });
      const kioskId = enrolled.json().id as string;
      return Object.assign(
        new KioskClient({ baseUrl, electionId: election.id, kioskId, secretKey: keys.secretKey }),
        { kioskId, secretKey: keys.secretKey, tps: election.tpsIds[tpsIndex] as string },
      );
    },
    async checkIn(tpsIndex = 0) {
      const n = nextVoter[tpsIndex] as number;
      nextVoter[tpsIndex] = n + 1;
      const response = await app.inject({
        method: "POST",
        url: `/elections/${election.id}/tps/${election.tpsIds[tpsIndex]}/checkins`,
        headers: bearer(officerTokens[tpsIndex] as string),
        payload: { nik: nikOf(tpsIndex, n) },
      });
      if (response.statusCode !== 201) throw new Error(response.body);
      return response.json().token;
    },
    async logSize() {
      const head = await database.db
        .selectFrom("log_heads")
        .select("tree_size")
        .where("election_id", "=", election.id)
        .executeTakeFirst();
      return head?.tree_size ?? 0;
    },
    async close() {
      await app.close();
      await database.drop();
    },
  };
}
