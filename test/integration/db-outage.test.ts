// SPEC §12: a database restart must not take the service down. A connection the database terminates while the
// service holds it between two queries (inside a transaction, say) must fail that request cleanly (503), not
// crash the process; the pool then serves the next request on a fresh connection.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe("a database connection terminated under the service", () => {
  it("while checked out between queries, does not crash the process, and the pool recovers", async () => {
    const client = await database.pool.connect();
    const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;
    await client.query("BEGIN");
    // What a restart does to every backend: terminated by the administrator (57P01).
    await database.pool.query("SELECT pg_terminate_backend($1)", [pid]);
    // The 'error' event arrives while the client is checked out and idle; uncaught, it would fail this run.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(client.query("SELECT 1")).rejects.toThrow();
    client.release();
    expect((await database.pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    const ready = await app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(200);
  });
});
