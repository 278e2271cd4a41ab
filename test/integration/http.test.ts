// SPEC §10, §11: the HTTP surface — stable error bodies, unknown fields rejected, limits, headers, CORS closed by
// default, health and readiness, the OpenAPI document, and 5xx answers that reveal nothing.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, buildTestApp, createUser, errorCode, login } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;
let logs: string[];
let adminToken: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app, logs } = await buildTestApp(database, { BODY_LIMIT_BYTES: "4096" }));
  await createUser(database.db, "admin", { isAdmin: true });
  adminToken = await login(app, "admin");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const validElection = {
  name: "Pilkades",
  village_name: "Sungai Rengit",
  region_code: "16.07.05.2001",
  voting_day: "2099-03-14",
  time_zone: "WIB",
};

describe("error bodies", () => {
  it("an unknown field is rejected with 400, VALIDATION_FAILED and the field named", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/elections",
      headers: bearer(adminToken),
      payload: { ...validElection, status: "certified" },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: { code: "VALIDATION_FAILED", details: { unknown_fields: ["status"] } },
    });
    const count = await database.db.selectFrom("elections").select("id").execute();
    expect(count).toHaveLength(0);
  });

  it("an unknown query parameter is rejected too", async () => {
    const response = await app.inject({
      method: "GET",
      url: "/users?limit=5&admin=true",
      headers: bearer(adminToken),
    });
    expect(response.statusCode).toBe(400);
    expect(errorCode(response)).toBe("VALIDATION_FAILED");
  });

  it("a malformed JSON body is MALFORMED_JSON", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/elections",
      headers: { ...bearer(adminToken), "content-type": "application/json" },
      payload: '{"name": "Pilkades",',
    });
    expect(response.statusCode).toBe(400);
    expect(errorCode(response)).toBe("MALFORMED_JSON");
  });

  it("a body over the limit is 413 PAYLOAD_TOO_LARGE", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/elections",
      headers: bearer(adminToken),
      payload: { ...validElection, name: "x".repeat(10_000) },
    });
    expect(response.statusCode).toBe(413);
    expect(errorCode(response)).toBe("PAYLOAD_TOO_LARGE");
  });

  it("a body of another content type is 415 UNSUPPORTED_MEDIA_TYPE", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/elections",
      headers: { ...bearer(adminToken), "content-type": "application/xml" },
      payload: "<election/>",
    });
    expect(response.statusCode).toBe(415);
    expect(errorCode(response)).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("an invalid UUID in a path is a 400, not a 500", async () => {
    const response = await app.inject({
      method: "GET",
      url: "/elections/not-a-uuid",
      headers: bearer(adminToken),
    });
    expect(response.statusCode).toBe(400);
    expect(errorCode(response)).toBe("VALIDATION_FAILED");
  });

  it("an unknown route is 404 NOT_FOUND in the same shape", async () => {
    const response = await app.inject({ method: "GET", url: "/nowhere" });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: { code: "NOT_FOUND", message: "no route GET /nowhere" } });
  });

  it("a server fault answers 500 revealing nothing but a request id, and logs the cause", async () => {
    // A real fault: the table a route reads is gone (as after a botched manual intervention).
    const broken = await createTestDatabase();
    const brokenApp = await buildTestApp(broken);
    try {
      await createUser(broken.db, "admin", { isAdmin: true });
      const token = await login(brokenApp.app, "admin");
      await broken.superuser("DROP TABLE candidates");
      const election = await brokenApp.app.inject({
        method: "POST",
        url: "/elections",
        headers: bearer(token),
        payload: validElection,
      });
      const id = election.json<{ id: string }>().id;
      const response = await brokenApp.app.inject({
        method: "GET",
        url: `/elections/${id}/candidates`,
        headers: bearer(token),
      });
      expect(response.statusCode).toBe(500);
      const body = response.json();
      expect(body).toEqual({
        error: {
          code: "INTERNAL",
          message: "internal error",
          details: { request_id: response.headers["x-request-id"] },
        },
      });
      expect(response.body).not.toMatch(/candidates|relation|postgres|stack|at /i);
      expect(brokenApp.logs.join("\n")).toMatch(/relation \W+candidates\W+ does not exist/);
    } finally {
      await brokenApp.app.close();
      await broken.drop();
    }
  });
});

describe("headers, CORS and request ids", () => {
  it("sets security headers and a request id on every response", async () => {
    const response = await app.inject({ method: "GET", url: "/health" });
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(response.headers["strict-transport-security"]).toContain("max-age=");
    expect(response.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers["x-powered-by"]).toBeUndefined();
  });

  it("CORS is closed by default: no origin is allowed", async () => {
    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/elections",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("CORS allows exactly the configured origins", async () => {
    const open = await buildTestApp(database, { CORS_ORIGINS: "https://panitia.example" });
    try {
      const allowed = await open.app.inject({
        method: "GET",
        url: "/health",
        headers: { origin: "https://panitia.example" },
      });
      expect(allowed.headers["access-control-allow-origin"]).toBe("https://panitia.example");
      const other = await open.app.inject({
        method: "GET",
        url: "/health",
        headers: { origin: "https://evil.example" },
      });
      expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    } finally {
      await open.app.close();
    }
  });

  it("a NIK typed into a URL by mistake is masked in the logs", async () => {
    await app.inject({ method: "GET", url: "/voters/1607054101900003", headers: bearer(adminToken) });
    const text = logs.join("\n");
    expect(text).not.toContain("1607054101900003");
    expect(text).toContain("/voters/[masked]");
  });
});

describe("health, readiness and documentation", () => {
  it("/health is live and /ready reports the database and migrations", async () => {
    expect((await app.inject({ method: "GET", url: "/health" })).json()).toEqual({ status: "ok" });
    const ready = await app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready", database: "ok", migrations: "current" });
  });

  it("/ready answers 503 when migrations are missing", async () => {
    const stale = await createTestDatabase();
    const staleApp = await buildTestApp(stale);
    try {
      await stale.superuser("DELETE FROM kysely_migration");
      const ready = await staleApp.app.inject({ method: "GET", url: "/ready" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: "not_ready", database: "ok", migrations: "pending" });
    } finally {
      await staleApp.app.close();
      await stale.drop();
    }
  });

  it("/docs serves the OpenAPI 3.1 document generated from the zod schemas", async () => {
    const ui = await app.inject({ method: "GET", url: "/docs" });
    expect([200, 302]).toContain(ui.statusCode);
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/auth/login",
        "/elections",
        "/elections/{electionId}/open",
        "/audit-events/verify",
      ]),
    );
    const body = doc.paths["/elections"].post.requestBody.content["application/json"].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toEqual(expect.arrayContaining(["name", "region_code", "voting_day", "time_zone"]));
  });

  it("every route declares who may call it", () => {
    const missing = app.routeAccess.filter((r) => r.access === undefined);
    expect(missing).toEqual([]);
    const publicRoutes = app.routeAccess
      .filter((r) => r.access.kind === "public" && !r.url.startsWith("/docs") && r.method !== "OPTIONS")
      .map((r) => `${r.method} ${r.url}`)
      .sort();
    // The bulletin board (SPEC §1: anyone reads checkpoints and proofs), health, and signing in.
    expect(publicRoutes).toEqual([
      // Results and the berita acara: sealed until tallied, to members until certified, then public (SPEC §8).
      "GET /elections/:electionId/berita-acara",
      "GET /elections/:electionId/log/checkpoint",
      "GET /elections/:electionId/log/entries",
      "GET /elections/:electionId/log/proofs/consistency",
      "GET /elections/:electionId/log/proofs/inclusion",
      "GET /elections/:electionId/record",
      "GET /elections/:electionId/results",
      "GET /health",
      "GET /log/keys",
      "GET /ready",
      "POST /auth/login",
      // A kiosk signs in by answering a challenge with its key (SPEC §4).
      "POST /elections/:electionId/kiosks/:kioskId/challenge",
      "POST /elections/:electionId/kiosks/:kioskId/session",
    ]);
  });
});
