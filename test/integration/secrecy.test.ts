// SPEC §5: the secrecy rules, checked on the schema itself and on the logs of a whole polling day — roll import,
// ceremony, kiosks, check-in, casting, close — run over real HTTP.
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import sodium from "sodium-native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeVoteRecord } from "../../src/crypto/vote-record.js";
import { createKioskKeys, KioskClient } from "../../src/kiosk/client.js";
import {
  addMember,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  login,
  openPollsNow,
  PASSWORD,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;
let logs: string[];
let baseUrl: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app, logs } = await buildTestApp(database));
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function columns(): Promise<Map<string, string[]>> {
  const rows = (
    await database.superuser<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name NOT LIKE 'voters_%' ORDER BY table_name, ordinal_position`,
    )
  ).rows;
  const byTable = new Map<string, string[]>();
  for (const r of rows) byTable.set(r.table_name, [...(byTable.get(r.table_name) ?? []), r.column_name]);
  return byTable;
}

describe("the schema keeps voter, token and ballot apart", () => {
  it("no table holds both a voter reference and a token or a log entry", async () => {
    const voterColumns = ["nik", "voter_id", "nkk"];
    const ballotColumns = ["token_hash", "token", "ballot_id", "seq", "leaf", "leaf_hash", "tracking_code"];
    for (const [table, cols] of await columns()) {
      const voter = cols.some((c) => voterColumns.includes(c));
      const ballot = cols.some((c) => ballotColumns.includes(c));
      expect(voter && ballot, `${table}: ${cols.join(", ")}`).toBe(false);
    }
  });

  it("check-ins, tokens and the vote log carry no wall-clock time of a voter's act", async () => {
    const byTable = await columns();
    for (const table of ["checkins", "log_entries", "log_checkpoints", "log_tree_nodes", "log_heads"]) {
      const times = (byTable.get(table) ?? []).filter((c) => /(_at|time|date)$/.test(c));
      expect(times, table).toEqual([]);
    }
    // A token has an expiry (it must), and nothing else in time; no redemption time.
    expect((byTable.get("ballot_tokens") ?? []).filter((c) => /(_at|time)$/.test(c))).toEqual(["expires_at"]);
  });

  it("no foreign key joins check-ins, tokens and log entries to one another", async () => {
    const keys = (
      await database.superuser<{ from_table: string; to_table: string }>(
        `SELECT conrelid::regclass::text AS from_table, confrelid::regclass::text AS to_table
         FROM pg_constraint WHERE contype = 'f'`,
      )
    ).rows;
    const guarded = new Set(["checkins", "ballot_tokens", "log_entries", "voters"]);
    const crossing = keys.filter((k) => guarded.has(k.from_table) && guarded.has(k.to_table));
    expect(crossing).toEqual([]);
  });
});

describe("a whole polling day leaves nothing secret in the logs", () => {
  it("import, ceremony, kiosks, check-in, casting and close: no NIK, name, token, password or bearer token is logged", async () => {
    const secrets: string[] = [PASSWORD];
    await createUser(database.db, "admin", { isAdmin: true });
    const adminToken = await login(app, "admin");
    secrets.push(adminToken);
    const election = await createElection(app, adminToken, { tps: 2, votingDay: "2027-03-14" });
    const people: Record<string, string> = {};
    for (const [name, role, tps] of [
      ["panitia", "committee", null],
      ["saksi", "witness", null],
      ["kpps-1", "officer", 0],
      ["kpps-2", "officer", 1],
    ] as const) {
      const user = await createUser(database.db, name);
      await addMember(
        database.db,
        election.id,
        user.id,
        role,
        tps === null ? null : (election.tpsIds[tps] as string),
      );
      people[name] = await login(app, name);
      secrets.push(people[name] as string);
    }
    const csv = readFileSync(new URL("../fixtures/roll/valid.csv", import.meta.url));
    for (const nik of csv.toString().match(/\b16\d{14}\b/g) ?? []) secrets.push(nik);
    secrets.push("Siti Rahmawati", "1985-07-03");
    const imported = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/roll`,
      headers: { ...bearer(people.panitia as string), "content-type": "text/csv" },
      payload: csv,
    });
    expect(imported.statusCode).toBe(200);

    const holders = ["panitia", "saksi"].map((name) => {
      const publicKey = Buffer.alloc(32);
      const secretKey = Buffer.alloc(32);
      sodium.crypto_box_keypair(publicKey, secretKey);
      return { name, publicKey };
    });
    for (const h of holders) {
      await app.inject({
        method: "PUT",
        url: `/elections/${election.id}/ceremony/holder-key`,
        headers: bearer(people[h.name] as string),
        payload: { public_key: h.publicKey.toString("base64") },
      });
    }
    const me = async (name: string) =>
      (await app.inject({ method: "GET", url: "/auth/me", headers: bearer(people[name] as string) })).json()
        .id;
    const ceremony = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/ceremony`,
      headers: bearer(people.panitia as string),
      payload: { threshold: 2, holders: [await me("panitia"), await me("saksi")] },
    });
    expect(ceremony.statusCode).toBe(201);
    for (const h of holders) {
      const share = await app.inject({
        method: "POST",
        url: `/elections/${election.id}/ceremony/share`,
        headers: bearer(people[h.name] as string),
      });
      secrets.push(share.json().sealed_share);
    }

    const booths: KioskClient[] = [];
    for (const t of [0, 1]) {
      const keys = createKioskKeys();
      const enrolled = await app.inject({
        method: "POST",
        url: `/elections/${election.id}/kiosks`,
        headers: bearer(people.panitia as string),
        payload: { tps_id: election.tpsIds[t], label: `Bilik ${t + 1}`, public_key: keys.publicKeyBase64 },
      });
      booths.push(
        new KioskClient({
          baseUrl,
          electionId: election.id,
          kioskId: enrolled.json().id,
          secretKey: keys.secretKey,
        }),
      );
    }
    // Open now: the fixture's voting day is in the future, so the schedule is moved around the present.
    await openPollsNow(database.db, election.id, "draft");
    const opened = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/open`,
      headers: bearer(people.panitia as string),
    });
    expect(opened.statusCode).toBe(200);
    const askForCounts = async () => {
      const askers: Array<Record<string, string>> = [
        {},
        bearer(adminToken),
        ...Object.values(people).map((t) => bearer(t)),
      ];
      return Promise.all(
        askers.map(
          async (headers) =>
            (await app.inject({ method: "GET", url: `/elections/${election.id}/results`, headers })).json()
              .error?.code,
        ),
      );
    };

    const sealedBefore = await askForCounts();
    const voters = await database.db
      .selectFrom("voters")
      .innerJoin("tps", "tps.id", "voters.tps_id")
      .select(["voters.nik", "tps.code"])
      .execute();
    for (const [i, v] of voters.entries()) {
      const t = v.code === "001" ? 0 : 1;
      const checkin = await app.inject({
        method: "POST",
        url: `/elections/${election.id}/tps/${election.tpsIds[t]}/checkins`,
        headers: bearer(people[t === 0 ? "kpps-1" : "kpps-2"] as string),
        payload: { nik: v.nik },
      });
      const token = checkin.json().token as string;
      secrets.push(token, token.replaceAll("-", ""));
      const booth = booths[t] as KioskClient;
      await booth.castBallot(1 + (i % 3), token);
      if (i === 2) {
        // Mid-day, with ballots in the log: still nothing for anyone, admin included.
        expect(new Set(await askForCounts())).toEqual(new Set(["RESULTS_SEALED"]));
      }
      if (booth.sessionToken) secrets.push(booth.sessionToken);
    }
    const closed = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/close`,
      headers: bearer(people.panitia as string),
    });
    expect(closed.statusCode).toBe(200);
    expect(new Set(sealedBefore)).toEqual(new Set(["RESULTS_SEALED"]));
    const entries = await database.db.selectFrom("log_entries").select(["seq", "leaf"]).execute();
    expect(entries).toHaveLength(voters.length);
    for (const e of entries) {
      const record = decodeVoteRecord(e.leaf);
      secrets.push(
        Buffer.from(record.ciphertext).toString("base64"),
        Buffer.from(record.kioskSignature).toString("base64"),
      );
    }

    const text = logs.join("\n");
    expect(logs.length).toBeGreaterThan(50);
    for (const secret of secrets) expect(text, "a secret reached the logs").not.toContain(secret);
    expect(text).not.toMatch(/Bearer\s+ey/);
  });
});
