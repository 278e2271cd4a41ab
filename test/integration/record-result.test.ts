// SPEC §8, §9: the record carries what the tie-break rules need — each TPS's area and roll size, the election's
// rules — so that a witness re-derives a decided tie exactly as the tally did: the record of a tie decided by
// the wider area, and of one left to drawing lots, verifies with the winner recomputed from the recount.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recombineTallySecret, wipe } from "../../src/crypto/tally-key.js";
import { type LogKeyring, loadLogKeyring } from "../../src/modules/log/log.keys.js";
import { verifyStoredElection } from "../../src/modules/record/record.service.js";
import { buildTestApp, createUser, login, testConfig } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { type Pilkades, runPilkades } from "../helpers/pilkades.js";

let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let admin: string;
let keyring: LogKeyring;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  await createUser(database.db, "admin", { isAdmin: true });
  admin = await login(app, "admin");
  keyring = await loadLogKeyring(database.db, testConfig().LOG_ORIGIN);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function verifyWithShares(run: Pilkades) {
  const key = await database.db
    .selectFrom("tally_keys")
    .select("public_key")
    .where("election_id", "=", run.election.id)
    .executeTakeFirstOrThrow();
  const shares = [run.committee[0] as string, run.witness].map((h) =>
    Buffer.from(run.shares[h] as string, "base64"),
  );
  const secret = (await recombineTallySecret(shares, key.public_key)) as Buffer;
  try {
    return await verifyStoredElection(database.db, keyring, run.election.id, secret);
  } finally {
    wipe(secret);
  }
}

describe("a tied election's record", () => {
  it("re-derives a tie decided by the wider area (dusun) from the record alone", async () => {
    const run = await runPilkades(app, baseUrl, database.db, admin, {
      prefix: "rec-luas",
      votes: [[1, 1, 1, 1], [2, 2], [2, 2], [1], [2]],
      areas: ["Dusun I", "Dusun II", "Dusun II", "Dusun III", "Dusun II"],
      electionBody: { tie_break: { area_unit: "area", fallbacks: ["largest_tps", "second_round"] } },
    });
    const report = await verifyWithShares(run);
    expect(report.log.failures).toEqual([]);
    expect(report.result.failures).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      recounted: true,
      result: { decision: { winner: 1, rule: "wider_area", evidence: { areas_led: { 1: 2, 2: 1 } } } },
    });
  });

  it("re-derives a tie left to drawing lots, with the equally largest TPS named as undecided", async () => {
    const run = await runPilkades(app, baseUrl, database.db, admin, {
      prefix: "rec-undian",
      votes: [
        [1, 1, 2],
        [2, 2, 1],
      ],
      electionBody: { tie_break: { area_unit: "tps", fallbacks: ["largest_tps", "drawing_lots"] } },
    });
    const report = await verifyWithShares(run);
    expect(report.result.failures).toEqual([]);
    expect(report).toMatchObject({ ok: true, result: { decision: { winner: null, rule: "drawing_lots" } } });
  });
});
