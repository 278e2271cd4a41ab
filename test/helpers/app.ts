// The application under test, built exactly as the server builds it, on a real database, plus small helpers to
// make the people of a pilkades (administrator, committee, officer, witness) and sign them in over HTTP.
import { PassThrough } from "node:stream";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type pg from "pg";
import { type AppOverrides, buildApp } from "../../src/app.js";
import { type Config, loadConfig } from "../../src/config.js";
import { hashPassword } from "../../src/crypto/password.js";
import type { Db, MemberRole } from "../../src/db/database.js";
import { ensureVoterPartition } from "../../src/modules/roll/roll.partition.js";

export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "info",
    JWT_SECRET: TEST_JWT_SECRET,
    LOGIN_RATE_PER_MINUTE: "10000",
    ...env,
  });
}

export interface TestApp {
  app: FastifyInstance;
  /** Every log line the app wrote, for the secrecy checks. */
  logs: string[];
}

export async function buildTestApp(
  database: { db: Db; pool: pg.Pool },
  env: Record<string, string> = {},
  overrides: Pick<AppOverrides, "tallySessions"> = {},
): Promise<TestApp> {
  const logs: string[] = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => logs.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
  const app = await buildApp(testConfig(env), {
    ...overrides,
    db: database.db,
    pool: database.pool,
    logStream: stream,
  });
  return { app, logs };
}

export const PASSWORD = "correct horse battery staple";
let passwordHash: Promise<string> | undefined;

/** Creates an account directly in the database (its password already changed), as an administrator would. */
export async function createUser(
  db: Db,
  username: string,
  options: { isAdmin?: boolean; password?: string } = {},
): Promise<{ id: string; username: string }> {
  if (options.password === undefined && passwordHash === undefined) passwordHash = hashPassword(PASSWORD);
  const hash =
    options.password === undefined
      ? await (passwordHash as Promise<string>)
      : await hashPassword(options.password);
  return db
    .insertInto("users")
    .values({
      username,
      display_name: username,
      password_hash: hash,
      is_admin: options.isAdmin ?? false,
      must_change_password: false,
    })
    .returning(["id", "username"])
    .executeTakeFirstOrThrow();
}

export async function login(app: FastifyInstance, username: string, password = PASSWORD): Promise<string> {
  const response = await app.inject({ method: "POST", url: "/auth/login", payload: { username, password } });
  if (response.statusCode !== 200) throw new Error(`login of ${username} failed: ${response.body}`);
  return response.json<{ access_token: string }>().access_token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function errorCode(response: LightMyRequestResponse): string | undefined {
  try {
    return response.json<{ error?: { code?: string } }>().error?.code;
  } catch {
    return undefined;
  }
}

export interface ElectionFixture {
  id: string;
  tpsIds: string[];
  candidateIds: string[];
}

/** A draft election with TPS and candidates, made over HTTP by an administrator. */
export async function createElection(
  app: FastifyInstance,
  adminToken: string,
  options: { tps?: number; candidates?: number; votingDay?: string; name?: string } = {},
): Promise<ElectionFixture> {
  const created = await app.inject({
    method: "POST",
    url: "/elections",
    headers: bearer(adminToken),
    payload: {
      name: options.name ?? "Pilkades Desa Sungai Rengit 2027",
      village_name: "Sungai Rengit",
      region_code: "16.07.05.2001",
      voting_day: options.votingDay ?? "2099-03-14",
      time_zone: "WIB",
    },
  });
  if (created.statusCode !== 201) throw new Error(`election not created: ${created.body}`);
  const id = created.json<{ id: string }>().id;
  const tpsIds: string[] = [];
  for (let i = 1; i <= (options.tps ?? 2); i++) {
    const code = String(i).padStart(3, "0");
    const tps = await app.inject({
      method: "POST",
      url: `/elections/${id}/tps`,
      headers: bearer(adminToken),
      payload: { code, name: `TPS ${code}`, address: `Dusun ${i}` },
    });
    if (tps.statusCode !== 201) throw new Error(`TPS not created: ${tps.body}`);
    tpsIds.push(tps.json<{ id: string }>().id);
  }
  const candidateIds: string[] = [];
  const names = ["Ahmad Fauzi", "Siti Rahmawati", "Budi Santoso", "Dewi Lestari", "Rudi Hartono"];
  for (let i = 1; i <= (options.candidates ?? 3); i++) {
    const candidate = await app.inject({
      method: "POST",
      url: `/elections/${id}/candidates`,
      headers: bearer(adminToken),
      payload: { ballot_number: i, name: names[i - 1] },
    });
    if (candidate.statusCode !== 201) throw new Error(`candidate not created: ${candidate.body}`);
    candidateIds.push(candidate.json<{ id: string }>().id);
  }
  return { id, tpsIds, candidateIds };
}

/** Puts `perTps` voters on the roll of every TPS, directly (the importer has its own tests). */
export async function addVoters(db: Db, election: ElectionFixture, perTps = 3): Promise<void> {
  await db.transaction().execute((tx) => ensureVoterPartition(tx, election.id));
  let serial = 1;
  for (const tpsId of election.tpsIds) {
    for (let i = 0; i < perTps; i++, serial++) {
      await db
        .insertInto("voters")
        .values({
          election_id: election.id,
          nik: `160705010180${String(serial).padStart(4, "0")}`,
          name: `Pemilih ${serial}`,
          birth_date: "1980-01-01",
          sex: "L",
          marital_status: "S",
          tps_id: tpsId,
        })
        .execute();
    }
  }
}

/**
 * Records a tally key as if the ceremony had been held (its own tests hold real ones), so that elections in
 * other tests can open.
 */
export async function addTallyKey(db: Db, electionId: string): Promise<void> {
  await db
    .insertInto("tally_keys")
    .values({ election_id: electionId, public_key: Buffer.alloc(32, 9), threshold: 2, holders: 3 })
    .execute();
}

/**
 * Opens an election with its polls open around the present (fixtures' voting days are far away), as if the
 * committee had opened it on the day.
 */
export async function openPollsNow(
  db: Db,
  electionId: string,
  status: "open" | "draft" = "open",
): Promise<void> {
  await db
    .updateTable("elections")
    .set({ status, opens_at: new Date(Date.now() - 3600_000), closes_at: new Date(Date.now() + 3600_000) })
    .where("id", "=", electionId)
    .execute();
}

export async function addMember(
  db: Db,
  electionId: string,
  userId: string,
  role: MemberRole,
  tpsId: string | null = null,
): Promise<void> {
  await db
    .insertInto("memberships")
    .values({ election_id: electionId, user_id: userId, role, tps_id: tpsId })
    .execute();
}
