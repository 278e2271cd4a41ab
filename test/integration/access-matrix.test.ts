// SPEC §1: every request is authorised by role and scope. The matrix below is the rule as the users state it;
// the generated sweeps at the end take every route of the route table (app.routeAccess, filled by the onRoute
// hook) — election-scoped, outside any election, for kiosks — and check each persona against its declared rule;
// the last test fails if a route falls outside all of them, so a route added later cannot escape the guard.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAllowed, type Principal } from "../../src/plugins/auth.js";
import {
  addMember,
  addTallyKey,
  addVoters,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

type Persona = "admin" | "committeeA" | "committeeB" | "officerA1" | "witnessA" | "outsider" | "anonymous";
const PERSONAS: Persona[] = [
  "admin",
  "committeeA",
  "committeeB",
  "officerA1",
  "witnessA",
  "outsider",
  "anonymous",
];

let database: TestDatabase;
let app: FastifyInstance;
let electionA: ElectionFixture;
let electionB: ElectionFixture;
const tokens = new Map<Persona, string>();
const userIds = new Map<Persona, string>();

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  for (const persona of PERSONAS) {
    if (persona === "anonymous") continue;
    const user = await createUser(database.db, persona.toLowerCase(), { isAdmin: persona === "admin" });
    userIds.set(persona, user.id);
  }
  tokens.set("admin", await login(app, "admin"));
  electionA = await createElection(app, tokens.get("admin") as string, { name: "Pilkades A" });
  electionB = await createElection(app, tokens.get("admin") as string, { name: "Pilkades B" });
  await addVoters(database.db, electionA);
  await addVoters(database.db, electionB);
  await addTallyKey(database.db, electionA.id);
  await addTallyKey(database.db, electionB.id);
  await addMember(database.db, electionA.id, userIds.get("committeeA") as string, "committee");
  await addMember(database.db, electionB.id, userIds.get("committeeB") as string, "committee");
  await addMember(
    database.db,
    electionA.id,
    userIds.get("officerA1") as string,
    "officer",
    electionA.tpsIds[0],
  );
  await addMember(database.db, electionA.id, userIds.get("witnessA") as string, "witness");
  for (const persona of PERSONAS) {
    if (persona !== "anonymous" && persona !== "admin")
      tokens.set(persona, await login(app, persona.toLowerCase()));
  }
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

function headersFor(persona: Persona): Record<string, string> {
  const token = tokens.get(persona);
  return token === undefined ? {} : bearer(token);
}

// Expected status per persona, in PERSONAS order: admin, committeeA, committeeB, officerA1, witnessA, outsider, anonymous.
const matrix: Array<{
  name: string;
  method: "GET" | "POST" | "PATCH";
  url: () => string;
  body?: (persona: Persona) => Record<string, unknown>;
  expect: number[];
}> = [
  {
    name: "read election A",
    method: "GET",
    url: () => `/elections/${electionA.id}`,
    expect: [200, 200, 403, 200, 200, 403, 401],
  },
  {
    name: "edit election A in draft",
    method: "PATCH",
    url: () => `/elections/${electionA.id}`,
    body: () => ({ village_name: "Sungai Rengit Murni" }),
    expect: [200, 200, 403, 403, 403, 403, 401],
  },
  {
    name: "list candidates of A",
    method: "GET",
    url: () => `/elections/${electionA.id}/candidates`,
    expect: [200, 200, 403, 200, 200, 403, 401],
  },
  {
    name: "add a TPS to A",
    method: "POST",
    url: () => `/elections/${electionA.id}/tps`,
    body: (persona) => ({ code: `X-${PERSONAS.indexOf(persona)}`, name: "TPS tambahan" }),
    expect: [201, 201, 403, 403, 403, 403, 401],
  },
  {
    name: "list members of A",
    method: "GET",
    url: () => `/elections/${electionA.id}/members`,
    expect: [200, 200, 403, 403, 403, 403, 401],
  },
  {
    name: "read A's audit events",
    method: "GET",
    url: () => `/elections/${electionA.id}/audit-events`,
    expect: [200, 200, 403, 403, 403, 403, 401],
  },
  {
    name: "open election B (preconditions aside, only its committee may)",
    method: "POST",
    url: () => `/elections/${electionB.id}/open`,
    expect: [403, 403, 200, 403, 403, 403, 401],
  },
  {
    name: "create an election",
    method: "POST",
    url: () => "/elections",
    body: () => ({
      name: "Pilkades C",
      village_name: "Teluk Betung",
      region_code: "16.07.05.2002",
      voting_day: "2099-04-01",
      time_zone: "WIB",
    }),
    expect: [201, 403, 403, 403, 403, 403, 401],
  },
  { name: "list users", method: "GET", url: () => "/users", expect: [200, 403, 403, 403, 403, 403, 401] },
  {
    name: "read the system audit chain",
    method: "GET",
    url: () => "/audit-events",
    expect: [200, 403, 403, 403, 403, 403, 401],
  },
  { name: "who am I", method: "GET", url: () => "/auth/me", expect: [200, 200, 200, 200, 200, 200, 401] },
];

describe("the role and scope matrix", () => {
  for (const row of matrix) {
    it(`${row.name}: ${row.expect.join(" ")}`, async () => {
      const got: number[] = [];
      for (const persona of PERSONAS) {
        const response = await app.inject({
          method: row.method,
          url: row.url(),
          headers: headersFor(persona),
          ...(row.body === undefined ? {} : { payload: row.body(persona) }),
        });
        got.push(response.statusCode);
      }
      expect(got).toEqual(row.expect);
    });
  }

  it("a committee member of A sees only election A in the list; the admin sees all", async () => {
    const mine = await app.inject({ method: "GET", url: "/elections", headers: headersFor("committeeA") });
    expect(mine.json<{ items: Array<{ id: string }> }>().items.map((e) => e.id)).toEqual([electionA.id]);
    const outsider = await app.inject({ method: "GET", url: "/elections", headers: headersFor("outsider") });
    expect(outsider.json<{ items: unknown[] }>().items).toEqual([]);
    const all = await app.inject({ method: "GET", url: "/elections", headers: headersFor("admin") });
    expect(all.json<{ items: Array<{ id: string }> }>().items.map((e) => e.id)).toEqual(
      expect.arrayContaining([electionA.id, electionB.id]),
    );
  });

  it("an officer is confined to their own TPS when a route names one", () => {
    const officer: Principal = {
      userId: "u",
      username: "o",
      isAdmin: false,
      mustChangePassword: false,
      memberships: new Map([[electionA.id, { role: "officer", tpsId: electionA.tpsIds[0] as string }]]),
    };
    const rule = { kind: "roles", roles: ["officer"] } as const;
    expect(isAllowed(rule, officer, { electionId: electionA.id, tpsId: electionA.tpsIds[0] })).toBe(true);
    expect(isAllowed(rule, officer, { electionId: electionA.id, tpsId: electionA.tpsIds[1] })).toBe(false);
    expect(isAllowed(rule, officer, { electionId: electionB.id, tpsId: electionB.tpsIds[0] })).toBe(false);
  });

  it("a membership removed takes effect on the member's very next request", async () => {
    const witness = await createUser(database.db, "witness-temp");
    await addMember(database.db, electionA.id, witness.id, "witness");
    const token = await login(app, "witness-temp");
    const before = await app.inject({
      method: "GET",
      url: `/elections/${electionA.id}`,
      headers: bearer(token),
    });
    expect(before.statusCode).toBe(200);
    const removed = await app.inject({
      method: "DELETE",
      url: `/elections/${electionA.id}/members/${witness.id}`,
      headers: headersFor("committeeA"),
    });
    expect(removed.statusCode).toBe(204);
    const after = await app.inject({
      method: "GET",
      url: `/elections/${electionA.id}`,
      headers: bearer(token),
    });
    expect(after.statusCode).toBe(403);
  });
});

describe("every election-scoped route obeys its declared rule", () => {
  it("routes for kiosks refuse every user and every anonymous caller", async () => {
    const kioskRoutes = app.routeAccess.filter((r) => r.access.kind === "kiosk");
    expect(kioskRoutes.length).toBeGreaterThanOrEqual(2);
    for (const route of kioskRoutes) {
      const url = route.url.replace(":electionId", electionA.id);
      for (const persona of PERSONAS) {
        const response = await app.inject({
          method: route.method as "GET",
          url,
          headers: headersFor(persona),
          ...(route.method === "GET" ? {} : { payload: {} }),
        });
        expect(response.statusCode, `${route.method} ${route.url} as ${persona}`).toBe(
          persona === "anonymous" ? 401 : 403,
        );
      }
    }
  });

  it("each persona outside a route's roles is refused, before the route does anything", async () => {
    const scoped = app.routeAccess.filter((r) => r.url.includes(":electionId") && r.access.kind === "roles");
    expect(scoped.length).toBeGreaterThan(10);
    for (const route of scoped) {
      if (route.access.kind !== "roles") continue;
      const url = route.url
        .replace(":electionId", electionA.id)
        .replace(":tpsId", electionA.tpsIds[1] as string)
        .replace(/:[a-zA-Z]+/g, "00000000-0000-4000-8000-000000000000");
      for (const persona of PERSONAS) {
        const response = await app.inject({
          method: route.method as "GET",
          url,
          headers: headersFor(persona),
          ...(route.method === "GET" || route.method === "DELETE" ? {} : { payload: {} }),
        });
        const roleOf = (p: Persona) =>
          p === "admin"
            ? "admin"
            : p === "committeeA"
              ? "committee"
              : p === "officerA1"
                ? "officer"
                : p === "witnessA"
                  ? "witness"
                  : null;
        const role = roleOf(persona);
        const declared = role !== null && (route.access.roles as readonly string[]).includes(role);
        // The officer's TPS is tpsIds[0]; routes naming tpsIds[1] must refuse them.
        const allowed = declared && !(role === "officer" && route.url.includes(":tpsId"));
        const label = `${route.method} ${route.url} as ${persona}`;
        if (persona === "anonymous") expect(response.statusCode, label).toBe(401);
        else if (!allowed) expect(response.statusCode, label).toBe(403);
        else expect([401, 403], label).not.toContain(response.statusCode);
      }
    }
  });

  it("routes outside any election: each persona outside the rule is refused, anonymous callers with 401", async () => {
    const unscoped = app.routeAccess.filter(
      (r) =>
        !r.url.includes(":electionId") && (r.access.kind === "roles" || r.access.kind === "authenticated"),
    );
    expect(unscoped.length).toBeGreaterThanOrEqual(8);
    for (const route of unscoped) {
      const url = route.url.replace(/:[a-zA-Z]+/g, "00000000-0000-4000-8000-000000000000");
      for (const persona of PERSONAS) {
        const response = await app.inject({
          method: route.method as "GET",
          url,
          headers: headersFor(persona),
          ...(route.method === "GET" || route.method === "DELETE" ? {} : { payload: {} }),
        });
        const label = `${route.method} ${route.url} as ${persona}`;
        const allowed =
          route.access.kind === "authenticated" ||
          (route.access.kind === "roles" && persona === "admin" && route.access.roles.includes("admin"));
        if (persona === "anonymous") expect(response.statusCode, label).toBe(401);
        else if (!allowed) expect(response.statusCode, label).toBe(403);
        else expect([401, 403], label).not.toContain(response.statusCode);
      }
    }
  });

  it("no route escapes the sweeps: every route is swept above or is on the pinned public list", () => {
    const swept = (r: (typeof app.routeAccess)[number]) =>
      r.access.kind === "kiosk" || r.access.kind === "roles" || r.access.kind === "authenticated";
    const rest = app.routeAccess.filter((r) => !swept(r));
    // What is left is public, and http.test.ts pins that list route by route.
    expect(rest.every((r) => r.access.kind === "public")).toBe(true);
    // Every access kind the guard knows is one of those four: a fifth would need a sweep of its own.
    expect(new Set(app.routeAccess.map((r) => r.access.kind))).toEqual(
      new Set(["public", "authenticated", "roles", "kiosk"]),
    );
  });
});
