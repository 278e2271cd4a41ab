// The command-line importer for files too large to upload: same code path, same report, exit code 1 when the
// roll was not changed because rows were rejected.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addMember,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fixture = (name: string) => path.join(ROOT, "test/fixtures/roll", name);

let database: TestDatabase;
let app: FastifyInstance;
let election: ElectionFixture;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  const committee = await createUser(database.db, "panitia");
  await createUser(database.db, "orang-lain");
  election = await createElection(app, await login(app, "admin"), { tps: 2, votingDay: "2027-03-14" });
  await addMember(database.db, election.id, committee.id, "committee");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

function importRoll(...args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/import-roll.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: "warn" },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

const count = async () =>
  Number(
    (
      await database.db
        .selectFrom("voters")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("election_id", "=", election.id)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe("npm run import-roll", () => {
  it("refuses a user who is not on the election's committee", () => {
    const result = importRoll("--election", election.id, "--as", "orang-lain", fixture("valid.csv"));
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/not an active administrator or committee member/);
  });

  it("reports rejected rows, exits 1 and leaves the roll unchanged", async () => {
    const result = importRoll("--election", election.id, "--as", "panitia", fixture("last-row-bad.csv"));
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/NOT applied/);
    expect(result.output).toMatch(/line 8 \[tps\] error TPS_UNKNOWN/);
    expect(await count()).toBe(0);
  });

  it("imports a file and says what it did", async () => {
    const result = importRoll("--election", election.id, "--as", "panitia", fixture("valid.csv"));
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/applied in .* read 6, inserted 6, updated 0, unchanged 0, rejected 0/);
    expect(await count()).toBe(6);
    const event = await database.db
      .selectFrom("audit_events")
      .select(["actor_role", "action"])
      .where("election_id", "=", election.id)
      .where("action", "=", "roll.imported")
      .executeTakeFirstOrThrow();
    expect(event.actor_role).toBe("committee");
  });
});
