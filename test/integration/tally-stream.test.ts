// The tally reads the log out of PostgreSQL by binary COPY and the checkpoints page by page
// (src/modules/tally/log-stream.ts): what it reads must be exactly what is stored, in order, whatever the size
// of the pages, and the connection it borrowed must go back to the pool — also when the reader stops early.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LogKeyring, loadLogKeyring } from "../../src/modules/log/log.keys.js";
import { appendVotes } from "../../src/modules/log/log.service.js";
import { checkpointNotes, copyLogEntries } from "../../src/modules/tally/log-stream.js";
import { buildTestApp, createElection, createUser, type ElectionFixture, login } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { makeKiosk, makeVote } from "../helpers/votes.js";

let database: TestDatabase;
let app: FastifyInstance;
let keyring: LogKeyring;
let election: ElectionFixture;
const kiosk = makeKiosk();

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  election = await createElection(app, await login(app, "admin"));
  keyring = await loadLogKeyring(database.db, "suara.local");
  const tpsId = election.tpsIds[0] as string;
  // 1,234 entries in appends of varying size, so there are 1,234 / 7 checkpoints at irregular sizes.
  for (let done = 0; done < 1234; ) {
    const count = Math.min(1 + (done % 13), 1234 - done);
    await database.db.transaction().execute((tx) =>
      appendVotes(
        tx,
        keyring,
        election.id,
        Array.from({ length: count }, () => makeVote(election.id, tpsId, kiosk)),
      ),
    );
    done += count;
  }
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe("the tally's log stream", () => {
  it("yields every stored entry in seq order with its leaf byte for byte", async () => {
    const stored = await database.db
      .selectFrom("log_entries")
      .select(["seq", "leaf"])
      .where("election_id", "=", election.id)
      .orderBy("seq")
      .execute();
    const streamed = [];
    for await (const page of copyLogEntries(database.pool, election.id)) streamed.push(...page);
    expect(streamed.length).toBe(1234);
    expect(streamed.map((e) => e.seq)).toEqual(stored.map((r) => r.seq));
    for (const [i, entry] of streamed.entries()) {
      expect(Buffer.from(entry.leaf).equals(stored[i]?.leaf as Buffer)).toBe(true);
    }
    expect(database.pool.idleCount).toBe(database.pool.totalCount);
  });

  it("with a limit, yields the first entries only (the warm-up's read of the log)", async () => {
    const streamed = [];
    for await (const page of copyLogEntries(database.pool, election.id, { limit: 300 }))
      streamed.push(...page);
    expect(streamed.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(database.pool.idleCount).toBe(database.pool.totalCount);
  });

  it("yields nothing for an election without entries", async () => {
    const streamed = [];
    for await (const page of copyLogEntries(database.pool, crypto.randomUUID())) streamed.push(...page);
    expect(streamed).toEqual([]);
  });

  it("gives its connection back when the reader stops early, and the pool still works", async () => {
    const before = database.pool.totalCount;
    let seen = 0;
    for await (const page of copyLogEntries(database.pool, election.id)) {
      seen += page.length;
      if (seen >= 10) break;
    }
    expect(seen).toBeGreaterThanOrEqual(10);
    expect(seen).toBeLessThan(1234);
    // The connection left mid-COPY is discarded rather than reused.
    expect(database.pool.totalCount).toBeLessThanOrEqual(before);
    const { rows } = await database.pool.query("SELECT count(*)::int AS n FROM log_entries");
    expect(rows[0]?.n).toBe(1234);
  });

  it("yields every checkpoint in ascending size across pages", async () => {
    const stored = await database.db
      .selectFrom("log_checkpoints")
      .select(["tree_size", "note"])
      .where("election_id", "=", election.id)
      .orderBy("tree_size")
      .execute();
    expect(stored.length).toBeGreaterThan(100);
    const notes = [];
    for await (const item of checkpointNotes(database.db, election.id, 17)) notes.push(item.note);
    expect(notes).toEqual(stored.map((r) => r.note));
  });
});
