// SPEC §10: input that passes a field's schema but cannot be stored as sent is refused with a 400 naming the
// field, and nothing is written. Each case here was a 500 or a silent alteration before src/plugins/input.ts and
// the router's frameworkErrors (found while building the fuzzers of fuzz-bodies.test.ts).
import net from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addMember,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let adminToken: string;
let committeeToken: string;
let election: ElectionFixture;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  await createUser(database.db, "admin", { isAdmin: true });
  adminToken = await login(app, "admin");
  election = await createElection(app, adminToken);
  const committee = await createUser(database.db, "panitia");
  await addMember(database.db, election.id, committee.id, "committee");
  committeeToken = await login(app, "panitia");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

async function candidateNames(): Promise<string[]> {
  const rows = await database.db
    .selectFrom("candidates")
    .select("name")
    .where("election_id", "=", election.id)
    .orderBy("ballot_number")
    .execute();
  return rows.map((r) => r.name);
}

const postJson = (url: string, raw: string | Buffer) =>
  app.inject({
    method: "POST",
    url,
    headers: { ...bearer(adminToken), "content-type": "application/json" },
    payload: raw,
  });

describe("text that cannot be stored as sent", () => {
  const cases: Array<[string, string]> = [
    ["a U+0000 in a name (PostgreSQL refuses it in text: was a 500)", '"Ahmad\\u0000Fauzi"'],
    ["a lone high surrogate (was stored silently as U+FFFD)", '"Ahmad \\ud800 Fauzi"'],
    ["a lone low surrogate", '"\\udc00Ahmad"'],
  ];
  for (const [name, literal] of cases) {
    it(`${name} is a 400 naming the field, and no candidate is added`, async () => {
      const before = await candidateNames();
      const response = await postJson(
        `/elections/${election.id}/candidates`,
        `{"ballot_number":4,"name":${literal}}`,
      );
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        error: { code: "VALIDATION_FAILED", details: { issues: [{ where: "body", path: "name" }] } },
      });
      expect(await candidateNames()).toEqual(before);
    });
  }

  it("a properly paired surrogate (an emoji) is ordinary text and is kept exactly", async () => {
    const response = await postJson(
      `/elections/${election.id}/candidates`,
      '{"ballot_number":4,"name":"Dewi \\ud83c\\udf3e Lestari"}',
    );
    expect(response.statusCode).toBe(201);
    expect((await candidateNames()).at(-1)).toBe("Dewi 🌾 Lestari");
  });

  it("a U+0000 in an edit of the election or a new TPS is refused, and the rows stay as they were", async () => {
    const before = await database.db.selectFrom("elections").selectAll().execute();
    const edit = await app.inject({
      method: "PATCH",
      url: `/elections/${election.id}`,
      headers: bearer(adminToken),
      payload: { village_name: "Sungai\u0000Rengit" },
    });
    expect(edit.statusCode).toBe(400);
    const tps = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/tps`,
      headers: bearer(adminToken),
      payload: { code: "009", name: "TPS\u0000 9" },
    });
    expect(tps.statusCode).toBe(400);
    expect(await database.db.selectFrom("elections").selectAll().execute()).toEqual(before);
    const tpsCodes = await database.db.selectFrom("tps").select("code").execute();
    expect(tpsCodes.map((t) => t.code)).not.toContain("009");
  });

  it("a JSON body that is not valid UTF-8 is MALFORMED_JSON, not text with replacement characters", async () => {
    const before = await candidateNames();
    const body = Buffer.concat([
      Buffer.from('{"ballot_number":5,"name":"Budi '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const response = await postJson(`/elections/${election.id}/candidates`, body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: { code: "MALFORMED_JSON", message: "request body is not valid UTF-8" },
    });
    expect(await candidateNames()).toEqual(before);
  });

  it("a U+0000 in a query string is refused before the route runs (was a 500 from the roll search)", async () => {
    const response = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/roll?q=Ahmad%00`,
      headers: bearer(committeeToken),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: { code: "VALIDATION_FAILED", details: { issues: [{ where: "querystring", path: "q" }] } },
    });
  });
});

describe("URLs the router refuses", () => {
  it("a bad percent-encoding is a 400 in the error envelope, not Fastify's own shape", async () => {
    const response = await app.inject({ method: "GET", url: "/elections/%zz", headers: bearer(adminToken) });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
  });

  it("a path segment longer than the router's limit is a 400 in the error envelope (was a bare 414)", async () => {
    const response = await app.inject({
      method: "GET",
      url: `/elections/${"9".repeat(300)}`,
      headers: bearer(adminToken),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
  });
});

describe("content types", () => {
  it("a JSON route refuses text/plain with 415, even when the text is JSON (was a 400 about the shape)", async () => {
    const before = await candidateNames();
    const response = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/candidates`,
      headers: { ...bearer(adminToken), "content-type": "text/plain" },
      payload: '{"ballot_number":5,"name":"Budi Santoso"}',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ error: { code: "UNSUPPORTED_MEDIA_TYPE" } });
    expect(await candidateNames()).toEqual(before);
    // The roll import still takes CSV sent as text/plain, as some spreadsheet tools send it.
    const roll = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/roll?dry_run=true`,
      headers: { ...bearer(committeeToken), "content-type": "text/plain" },
      payload:
        "nik,nama,tanggal_lahir,jenis_kelamin,status_kawin,tps\n1607051501800001,Ahmad,1980-01-15,L,S,001\n",
    });
    expect(roll.statusCode, roll.body).toBe(200);
  });
});

describe("requests Node's HTTP parser cannot read", () => {
  /** Writes raw bytes to the listening service and returns what comes back before it closes the socket. */
  async function raw(bytes: string): Promise<{ status: number; body: unknown }> {
    const { port } = new URL(baseUrl);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => socket.write(bytes));
      let received = "";
      socket.on("data", (chunk) => {
        received += chunk.toString("utf8");
      });
      socket.on("close", () => resolve(received));
      socket.on("error", reject);
    });
    const [head = "", body = ""] = text.split("\r\n\r\n");
    return { status: Number(head.split(" ")[1]), body: JSON.parse(body) };
  }

  it("garbage instead of HTTP is a 400 in the error envelope (was Fastify's own shape)", async () => {
    const answer = await raw("HELLO THERE\r\n\r\n");
    expect(answer).toEqual({
      status: 400,
      body: { error: { code: "VALIDATION_FAILED", message: "malformed HTTP request" } },
    });
  });

  it("headers over Node's size limit are a 431 in the error envelope", async () => {
    const answer = await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(answer).toEqual({
      status: 431,
      body: { error: { code: "HEADERS_TOO_LARGE", message: "request headers too large" } },
    });
  });
});
