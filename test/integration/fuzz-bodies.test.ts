// SPEC §10, §11, §12: bad input gets a clear 4xx in the error envelope and loses nothing. Property-based fuzzing
// (fast-check) of every route of the route table — taken from the running app (`app.routeAccess`, filled by the
// onRoute hook) and its OpenAPI document, so a route added later is fuzzed without anyone remembering to — with
// arbitrary JSON, near-valid bodies with one thing wrong, wrong types, unknown fields, deep nesting, huge
// strings, U+0000 and unpaired surrogates, wrong content types, invalid UUIDs and NIKs in the path and query.
// Every answer must be below 500 and, when a refusal, `{error:{code,message}}` with the code's own status; a
// refusal must leave every table as it was (except what a refusal is meant to write: refused audit events,
// the token-guessing counter, a spent kiosk challenge, a failed-login counter) and the audit chains intact.
//
// CI runs a fixed seed and a bounded number of cases (FUZZ_RUNS, 15) per route and property. Longer runs:
//   FUZZ_RUNS=200 FUZZ_SEED=$RANDOM npx vitest run --project integration test/integration/fuzz-bodies.test.ts
// A failure prints the seed and the counterexample; rerun with that FUZZ_SEED to reproduce it, FUZZ_SHRINK=1 to
// shrink it, FUZZ_TRACE=<file> to record every request's status.
import { appendFileSync } from "node:fs";
import fc from "fast-check";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RouteAccess } from "../../src/app.js";
import { kioskLoginMessage } from "../../src/crypto/kiosk-login.js";
import { signAsKiosk } from "../../src/crypto/kiosk-nacl.js";
import { createKioskKeys, fromBase64, toBase64 } from "../../src/kiosk/client.js";
import { ERROR_STATUS } from "../../src/lib/errors.js";
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
  openPollsNow,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20270314);
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 15);
/** Shrinking replays a failure hundreds of times against the database: only when asked (FUZZ_SHRINK=1). */
const endOnFailure = process.env.FUZZ_SHRINK !== "1";
/** Each property runs FUZZ_RUNS cases on each of ~60 routes: its time limit grows with FUZZ_RUNS. */
const PROPERTY_TIMEOUT = 120_000 + FUZZ_RUNS * 6_000;
const BODY_LIMIT = 64 * 1024;

let database: TestDatabase;
let app: FastifyInstance;
let logs: string[];
let draft: ElectionFixture;
let open: ElectionFixture;
let victimId: string;
let kioskId: string;
const voterNiks: string[] = [];
const headers: Record<Persona, Record<string, string>> = {
  admin: {},
  committee: {},
  officer: {},
  witness: {},
  kiosk: {},
  anonymous: {},
};
type Persona = "admin" | "committee" | "officer" | "witness" | "kiosk" | "anonymous";

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

interface Operation {
  parameters?: Array<{ in: string; name: string; schema: JsonSchema }>;
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app, logs } = await buildTestApp(database, { BODY_LIMIT_BYTES: String(BODY_LIMIT) }));
  await createUser(database.db, "admin", { isAdmin: true });
  headers.admin = bearer(await login(app, "admin"));
  const adminToken = headers.admin.authorization?.slice(7) as string;
  draft = await createElection(app, adminToken, { name: "Pilkades draft" });
  open = await createElection(app, adminToken, { name: "Pilkades open" });
  for (const election of [draft, open]) await addVoters(database.db, election);
  const people = { committee: "panitia", officer: "kpps", witness: "saksi" } as const;
  for (const [role, username] of Object.entries(people) as Array<[keyof typeof people, string]>) {
    const user = await createUser(database.db, username);
    for (const election of [draft, open]) {
      await addMember(
        database.db,
        election.id,
        user.id,
        role,
        role === "officer" ? election.tpsIds[0] : null,
      );
    }
    headers[role] = bearer(await login(app, username));
  }
  victimId = (await createUser(database.db, "korban")).id;
  const niks = await database.db.selectFrom("voters").select("nik").execute();
  voterNiks.push(...niks.map((v) => v.nik));

  // The open election: a tally key, polls open now, a signed-in kiosk at the officer's TPS.
  await addTallyKey(database.db, open.id);
  await openPollsNow(database.db, open.id);
  const keys = createKioskKeys();
  const enrolled = await app.inject({
    method: "POST",
    url: `/elections/${open.id}/kiosks`,
    headers: headers.committee,
    payload: { tps_id: open.tpsIds[0], label: "Bilik 1", public_key: keys.publicKeyBase64 },
  });
  kioskId = enrolled.json<{ id: string }>().id;
  const challenge = await app.inject({
    method: "POST",
    url: `/elections/${open.id}/kiosks/${kioskId}/challenge`,
  });
  const nonce = challenge.json<{ nonce: string }>().nonce;
  const session = await app.inject({
    method: "POST",
    url: `/elections/${open.id}/kiosks/${kioskId}/session`,
    payload: {
      nonce,
      signature: toBase64(
        signAsKiosk(kioskLoginMessage(open.id, kioskId, fromBase64(nonce)), keys.secretKey),
      ),
    },
  });
  headers.kiosk = bearer(session.json<{ access_token: string }>().access_token);
  // Keys made at first use (the vote-log keyring, the token HMAC key) exist before fuzzing starts, so a
  // refused request that happens to be the first to need them is not mistaken for a partial write.
  const checkedIn = await app.inject({
    method: "POST",
    url: `/elections/${open.id}/tps/${open.tpsIds[0]}/checkins`,
    headers: headers.officer,
    payload: { nik: voterNiks.find((n) => n.endsWith("0001")) },
  });
  expect(checkedIn.statusCode, checkedIn.body).toBe(201);
  expect((await app.inject({ method: "GET", url: "/log/keys" })).statusCode).toBe(200);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

// ---------------------------------------------------------------------------------------------------------------
// What a refusal may write, and the fingerprint of everything else

let tables: string[] = [];

/** One md5 per table over all its rows (refused audit events excluded: recording a refusal is the point). */
async function fingerprint(): Promise<Map<string, string>> {
  if (tables.length === 0) {
    const rows = await database.pool.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    tables = rows.rows.map((r) => r.relname);
  }
  const sql = tables
    .map(
      (t) =>
        `SELECT '${t}' AS t, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM "${t}" x` +
        (t === "audit_events" ? " WHERE outcome = 'success'" : ""),
    )
    .join(" UNION ALL ");
  const result = await database.pool.query<{ t: string; h: string }>(sql);
  return new Map(result.rows.map((r) => [r.t, r.h]));
}

/** Tables a refused request is meant to change, by route. */
function mayChangeOnRefusal(route: RouteAccess): Set<string> {
  const allowed = new Set<string>();
  if (route.url === "/auth/login") allowed.add("users"); // failed-login counter and lock (SPEC §11)
  if (route.url.endsWith("/session")) allowed.add("kiosk_challenges"); // a challenge is spent by any answer
  if (route.url.endsWith("/ballots")) allowed.add("token_failures"); // the token-guessing throttle (SPEC §4)
  return allowed;
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

const nik = fc.stringMatching(/^[1-9]\d{15}$/);
/** Strings meant to break things: the NUL, lone surrogates, huge, control and direction characters, SQL. */
const hostileString = fc.oneof(
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udfffy",
    "\ufeff",
    "\u202eevil",
    "'; DROP TABLE voters; --",
    "%00",
    "../../etc/passwd",
    "$" + "{jndi:ldap://x}",
    "<script>alert(1)</script>",
    "",
    " ",
    "null",
    "🌾".repeat(50),
  ),
  nik,
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.integer({ min: 1_000, max: 90_000 }).map((n) => "x".repeat(n)),
);

function knownIds(): string[] {
  return [
    draft.id,
    open.id,
    ...draft.tpsIds,
    ...open.tpsIds,
    ...draft.candidateIds,
    ...open.candidateIds,
    victimId,
    kioskId,
  ];
}

/** A value that a JSON schema (as OpenAPI shows it) accepts, as far as its keywords say. */
function validFor(schema: JsonSchema, name = ""): fc.Arbitrary<unknown> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => validFor(s, name)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string": {
      if (schema.format === "uuid") return fc.oneof(fc.constantFrom(...knownIds()), fc.uuid());
      if (name === "nik" && voterNiks.length > 0) return fc.oneof(fc.constantFrom(...voterNiks), nik);
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      // Base64 fields: bytes of the length the description names (or up to maxLength), so bodies get past
      // the decoding and reach the checks behind it.
      const description = (schema as { description?: string }).description ?? "";
      if (description.startsWith("base64")) {
        const exact = /base64 of (\d+) bytes/.exec(description)?.[1];
        const most = Math.min(Math.floor(((schema.maxLength ?? 88) * 3) / 4), 96);
        const bytes =
          exact === undefined
            ? fc.uint8Array({ maxLength: most })
            : fc.uint8Array({ minLength: Number(exact), maxLength: Number(exact) });
        return fc
          .oneof({ weight: 4, arbitrary: bytes }, fc.uint8Array({ maxLength: most }))
          .map((b) => Buffer.from(b).toString("base64"));
      }
      return fc.string({
        minLength: schema.minLength ?? 0,
        maxLength: Math.min(schema.maxLength ?? 40, 300),
      });
    }
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1000, max: Math.min(schema.maximum ?? 1000, 2 ** 31) });
    case "number":
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(validFor(schema.items ?? {}, name), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 5, 8),
      });
    case "object": {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, child] of Object.entries(properties)) shape[key] = validFor(child, key);
      return fc.record(shape, {
        requiredKeys: Object.keys(properties).filter((k) => required.has(k)),
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** JSON text nested `depth` deep. Built as text: fast-check walks values to print them and would overflow. */
function deepNesting(depth: number, kind: "object" | "array"): string {
  return kind === "array"
    ? `${"[".repeat(depth)}1${"]".repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
}
const DEEP = "\u0001deep\u0001";

interface BodyCase {
  /** What was done, for the failure message. */
  kind: string;
  /** The body; the string DEEP in it stands for JSON nested 3,000 deep. */
  value: unknown;
  /** The schema refuses this for certain: a 2xx would be a defect. */
  mustRefuse: boolean;
  /** Instead of value: the whole body nested this deep. */
  nested?: { depth: number; kind: "object" | "array" };
}

function bodyText(body: BodyCase): string {
  if (body.nested) return deepNesting(body.nested.depth, body.nested.kind);
  return JSON.stringify(body.value).replace(JSON.stringify(DEEP), deepNesting(3000, "array"));
}

/** Near-valid bodies with one thing wrong, and arbitrary JSON. */
function bodyCase(schema: JsonSchema): fc.Arbitrary<BodyCase> {
  const valid = validFor(schema).map((v) => v as Record<string, unknown>);
  const fields = Object.keys(schema.properties ?? {});
  const required = schema.required ?? [];
  const cases: Array<fc.Arbitrary<BodyCase>> = [
    fc.jsonValue().map((value) => ({ kind: "arbitrary JSON", value, mustRefuse: false })),
    valid.map((value) => ({ kind: "valid by the schema", value, mustRefuse: false })),
    fc
      .tuple(valid, fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }))
      .filter(([, key]) => !fields.includes(key) && key !== "__proto__" && key !== "constructor")
      .map(([value, key, extra]) => ({
        kind: `unknown field ${JSON.stringify(key)}`,
        value: { ...value, [key]: extra },
        mustRefuse: true,
      })),
    fc
      .tuple(fc.integer({ min: 500, max: 20_000 }), fc.constantFrom<"object" | "array">("object", "array"))
      .map(([depth, kind]) => ({
        kind: `nested ${depth} deep (${kind})`,
        value: null,
        nested: { depth, kind },
        mustRefuse: true,
      })),
  ];
  if (required.length > 0) {
    cases.push(
      fc.tuple(valid, fc.constantFrom(...required)).map(([value, key]) => {
        const { [key]: _dropped, ...rest } = value;
        return { kind: `required ${key} missing`, value: rest, mustRefuse: true };
      }),
    );
  }
  if (fields.length > 0) {
    cases.push(
      fc
        .tuple(valid, fc.constantFrom(...fields), fc.oneof(fc.jsonValue(), hostileString, fc.constant(DEEP)))
        .map(([value, key, replacement]) => ({
          kind: `${key} replaced`,
          value: { ...value, [key]: replacement },
          mustRefuse: false,
        })),
    );
  }
  // (A filter that rarely passes would spin fast-check forever: the string fields are picked up front.)
  const stringFields = fields.filter((key) => schema.properties?.[key]?.type === "string");
  if (stringFields.length > 0) {
    cases.push(
      fc
        .tuple(
          valid,
          fc.constantFrom(...stringFields),
          fc.constantFrom("\u0000", "a\u0000", "\ud800", "b\udc00"),
        )
        .map(([value, key, bad]) => ({
          kind: `${key} holds an unstorable character`,
          value: { ...value, [key]: bad },
          mustRefuse: true,
        })),
    );
  }
  return fc.oneof(...cases);
}

interface RawBody {
  kind: string;
  contentType: string | undefined;
  payload: string | Buffer;
}

/** Bodies that are not what a JSON route takes: wrong types, broken or poisoned JSON, too big, bad bytes. */
const rawBody: fc.Arbitrary<RawBody> = fc.oneof(
  fc.constantFrom<RawBody>(
    { kind: "XML", contentType: "application/xml", payload: "<ballot/>" },
    { kind: "form", contentType: "application/x-www-form-urlencoded", payload: "a=1&b=2" },
    { kind: "multipart without boundary", contentType: "multipart/form-data", payload: "--x\r\n" },
    { kind: "text", contentType: "text/plain", payload: '{"a":1}' },
    { kind: "CSV", contentType: "text/csv", payload: "nik,nama\n1,2\n" },
    { kind: "no content type", contentType: undefined, payload: '{"a":1}' },
    { kind: "JSON as UTF-16", contentType: "application/json; charset=utf-16", payload: '{"a":1}' },
    { kind: "empty JSON", contentType: "application/json", payload: "" },
    { kind: "truncated JSON", contentType: "application/json", payload: '{"name": "Pilkades",' },
    { kind: "__proto__", contentType: "application/json", payload: '{"__proto__":{"is_admin":true}}' },
    {
      kind: "constructor.prototype",
      contentType: "application/json",
      payload: '{"constructor":{"prototype":{"is_admin":true}}}',
    },
    {
      kind: "not UTF-8",
      contentType: "application/json",
      payload: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]),
    },
    { kind: "BOM", contentType: "application/json", payload: '\ufeff{"a":1}' },
    { kind: "NaN", contentType: "application/json", payload: '{"a":NaN}' },
    {
      kind: "over the body limit",
      contentType: "application/json",
      payload: `"${"x".repeat(BODY_LIMIT + 10)}"`,
    },
  ),
  fc.integer({ min: 10_000, max: 30_000 }).map((depth) => ({
    kind: `raw [ nested ${depth} deep`,
    contentType: "application/json",
    payload: `${"[".repeat(depth)}${"]".repeat(depth)}`,
  })),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => ({
    kind: "random bytes",
    contentType: "application/json",
    payload: Buffer.from(bytes),
  })),
);

/** A path parameter: mostly the fixture's own ids (so routes do their work), else something hostile. */
function pathValue(name: string): fc.Arbitrary<{ raw: string; hostile: boolean }> {
  const own: Record<string, string[]> = {
    electionId: [draft.id, open.id],
    tpsId: [...draft.tpsIds, ...open.tpsIds],
    candidateId: [...draft.candidateIds, ...open.candidateIds],
    kioskId: [kioskId],
    userId: [victimId],
  };
  const ownIds = own[name] ?? [fc.sample(fc.uuid(), { numRuns: 1, seed: FUZZ_SEED })[0] as string];
  const hostile = fc.oneof(
    fc.uuid(),
    nik,
    fc.constantFrom(
      "not-a-uuid",
      "00000000-0000-0000-0000-000000000000",
      (ownIds[0] as string).toUpperCase(),
      `${ownIds[0]}x`,
      `${ownIds[0]?.slice(0, -1)}`,
      "%00",
      "%zz",
      "%2e%2e",
      "-1",
      "null",
    ),
    fc.string({ unit: "binary", minLength: 1, maxLength: 50 }).map(encodeURIComponent),
    fc.integer({ min: 201, max: 400 }).map((n) => "a".repeat(n)),
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ownIds).map((raw) => ({ raw, hostile: false })) },
    { weight: 2, arbitrary: hostile.map((raw) => ({ raw, hostile: true })) },
  );
}

/** A query string: each declared parameter absent, plausible or hostile; sometimes an unknown or repeated one. */
function queryString(params: Array<{ name: string; schema: JsonSchema }>): fc.Arbitrary<string> {
  const entries = params.map((p) =>
    fc.option(
      fc.oneof(
        { weight: 3, arbitrary: validFor(p.schema, p.name).map(String) },
        hostileString.map((s) => s.slice(0, 2000)),
        fc.constantFrom("-1", "1e400", "9007199254740993", "NaN", "0x10", "1.5", "true", ""),
      ),
      { nil: undefined, freq: 2 },
    ),
  );
  return fc
    .tuple(
      fc.tuple(...entries),
      fc.option(fc.tuple(fc.constantFrom("is_admin", "role", "__proto__", "x"), fc.string()), {
        nil: undefined,
      }),
      fc.boolean(),
    )
    .map(([values, extra, repeat]) => {
      const search = new URLSearchParams();
      params.forEach((p, i) => {
        const v = values[i];
        if (v !== undefined) {
          search.append(p.name, v);
          if (repeat) search.append(p.name, v);
        }
      });
      if (extra) search.append(extra[0], extra[1]);
      const text = search.toString();
      return text === "" ? "" : `?${text}`;
    });
}

// ---------------------------------------------------------------------------------------------------------------
// The properties

function personaFor(route: RouteAccess): Persona {
  const access = route.access;
  if (access.kind === "public") return "anonymous";
  if (access.kind === "authenticated") return "admin";
  if (access.kind === "kiosk") return "kiosk";
  for (const role of ["admin", "committee", "officer", "witness"] as const) {
    if ((access.roles as readonly string[]).includes(role)) return role;
  }
  throw new Error(`no persona for ${route.method} ${route.url}`);
}

/** Routes that end things (lifecycle, revocation, resets) go last, so they do not starve the others. */
function finality(route: RouteAccess): number {
  return route.method === "DELETE" || /\/(open|close|cancel|revoke|password-reset)$/.test(route.url) ? 1 : 0;
}

function assertEnvelope(response: LightMyRequestResponse, label: string): void {
  expect(response.statusCode, `${label}: a 5xx answer ${response.body.slice(0, 300)}`).toBeLessThan(500);
  if (response.statusCode < 400) return;
  let body: { error?: { code?: unknown; message?: unknown } };
  try {
    body = response.json();
  } catch {
    throw new Error(`${label}: refusal ${response.statusCode} is not JSON: ${response.body.slice(0, 200)}`);
  }
  const code = body.error?.code;
  expect(typeof code, `${label}: no error.code in ${response.body.slice(0, 200)}`).toBe("string");
  expect(typeof body.error?.message, `${label}: no error.message`).toBe("string");
  expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], `${label}: code ${code} has another status`).toBe(
    response.statusCode,
  );
}

const sentInUrls = new Set<string>();

async function check(
  route: RouteAccess,
  request: { url: string; headers: Record<string, string>; payload?: string | Buffer },
  label: string,
  mustRefuse: boolean,
): Promise<void> {
  const before = await fingerprint();
  const response = await app.inject({
    method: route.method as "POST",
    url: request.url,
    headers: request.headers,
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
  // FUZZ_TRACE=<file> writes each request's status and label there (to see what the fuzzer reaches).
  if (process.env.FUZZ_TRACE)
    appendFileSync(process.env.FUZZ_TRACE, `${response.statusCode} ${label.slice(0, 300)}\n`);
  assertEnvelope(response, label);
  if (mustRefuse)
    expect(response.statusCode, `${label}: accepted ${response.body.slice(0, 200)}`).toBeGreaterThanOrEqual(
      400,
    );
  if (response.statusCode >= 400) {
    const after = await fingerprint();
    const allowed = mayChangeOnRefusal(route);
    const changed = [...after].filter(([t, h]) => before.get(t) !== h && !allowed.has(t)).map(([t]) => t);
    expect(changed, `${label}: refused with ${response.statusCode} but wrote to`).toEqual([]);
  }
}

let routes: Array<RouteAccess & { operation: Operation }> = [];

/** The tables whose fingerprint changed. */
function after(before: Map<string, string>, now: Map<string, string>): string[] {
  return [...now].filter(([t, h]) => before.get(t) !== h).map(([t]) => t);
}

describe("every route of the route table, fuzzed", () => {
  beforeAll(async () => {
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json<{
      paths: Record<string, Record<string, Operation>>;
    }>();
    const candidates = app.routeAccess.filter((r) => !r.url.startsWith("/docs") && r.method !== "OPTIONS");
    routes = candidates.map((r) => {
      const operation = doc.paths[r.url.replace(/:(\w+)/g, "{$1}")]?.[r.method.toLowerCase()];
      if (!operation) throw new Error(`${r.method} ${r.url} is missing from the OpenAPI document`);
      return { ...r, operation };
    });
    routes.sort((a, b) => finality(a) - finality(b));
  });

  it("covers the whole route table, each route found in the OpenAPI document", () => {
    expect(routes.length).toBeGreaterThan(50);
    expect(routes.length).toBe(
      app.routeAccess.filter((r) => !r.url.startsWith("/docs") && r.method !== "OPTIONS").length,
    );
  });

  it(
    "bodies: near-valid, arbitrary and hostile JSON never cause a 5xx or a write when refused",
    async () => {
      for (const [index, route] of routes.entries()) {
        const schema = route.operation.requestBody?.content["application/json"]?.schema;
        if (!schema) continue;
        const persona = personaFor(route);
        await fc.assert(
          fc.asyncProperty(fc.tuple(...pathArbs(route)), bodyCase(schema), async (path, body) => {
            const label = `${route.method} ${route.url} as ${persona}, body ${body.kind}`;
            await check(
              route,
              {
                url: fillPath(route.url, path),
                headers: { ...headers[persona], "content-type": "application/json" },
                payload: bodyText(body),
              },
              label,
              body.mustRefuse,
            );
          }),
          { seed: FUZZ_SEED + index, numRuns: FUZZ_RUNS, endOnFailure },
        );
      }
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "wrong content types, broken JSON, poisoned prototypes and oversized bodies are refused cleanly",
    async () => {
      for (const [index, route] of routes.entries()) {
        if (route.method === "GET" || route.method === "DELETE") continue;
        const persona = personaFor(route);
        await fc.assert(
          fc.asyncProperty(fc.tuple(...pathArbs(route)), rawBody, async (path, body) => {
            const label = `${route.method} ${route.url} as ${persona}, ${body.kind}`;
            const isCsvRoute = route.url.endsWith("/roll");
            await check(
              route,
              {
                url: fillPath(route.url, path),
                headers: {
                  ...headers[persona],
                  ...(body.contentType === undefined ? {} : { "content-type": body.contentType }),
                },
                payload: body.payload,
              },
              label,
              // Routes without a body may ignore one; the roll takes CSV (fuzzed in fuzz-roll.test.ts).
              route.operation.requestBody !== undefined && !isCsvRoute,
            );
          }),
          { seed: FUZZ_SEED + 1000 + index, numRuns: Math.max(5, Math.ceil(FUZZ_RUNS / 2)), endOnFailure },
        );
      }
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "path and query: invalid UUIDs, NIKs, hostile and repeated parameters never cause a 5xx or a write",
    async () => {
      for (const [index, route] of routes.entries()) {
        const persona = personaFor(route);
        const query = (route.operation.parameters ?? []).filter((p) => p.in === "query");
        const schema = route.operation.requestBody?.content["application/json"]?.schema;
        await fc.assert(
          fc.asyncProperty(
            fc.tuple(...pathArbs(route)),
            queryString(query),
            schema ? validFor(schema) : fc.constant(undefined),
            async (path, search, body) => {
              for (const p of path) if (/^\d{16}$/.test(p.raw)) sentInUrls.add(p.raw);
              for (const m of search.matchAll(/\d{16}/g)) sentInUrls.add(m[0]);
              const label = `${route.method} ${route.url}${search} as ${persona} (path ${path.map((p) => p.raw).join(", ")})`;
              await check(
                route,
                {
                  url: `${fillPath(route.url, path)}${search}`,
                  headers: {
                    ...headers[persona],
                    ...(body === undefined ? {} : { "content-type": "application/json" }),
                  },
                  ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
                },
                label,
                false,
              );
            },
          ),
          { seed: FUZZ_SEED + 2000 + index, numRuns: FUZZ_RUNS, endOnFailure },
        );
      }
    },
    PROPERTY_TIMEOUT,
  );

  it(
    "any Authorization header on any guarded route: a 401 or 403 in the envelope, never a 5xx, never a write",
    async () => {
      const realToken = (headers.admin.authorization as string).slice(7);
      const header = fc.oneof(
        fc.string({ unit: "binary-ascii", maxLength: 200 }),
        fc.string({ maxLength: 300 }).map((t) => `Bearer ${t}`),
        fc
          .tuple(fc.nat(realToken.length - 1), fc.string({ minLength: 1, maxLength: 3 }))
          .map(([at, s]) => `Bearer ${realToken.slice(0, at)}${s}${realToken.slice(at + s.length)}`),
        fc.constantFrom(
          "Bearer",
          "Bearer ",
          `bearer ${realToken}x`,
          `Bearer  ${realToken}.`,
          `Bearer ${realToken} ${realToken}`,
          `Basic ${Buffer.from("admin:x").toString("base64")}`,
          `Bearer ${"a".repeat(8000)}`,
          `Bearer ${realToken.split(".").slice(0, 2).join(".")}.`,
        ),
      );
      const guarded = routes.filter((r) => r.access.kind !== "public");
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...guarded), header, async (route, authorization) => {
          fc.pre(authorization !== `Bearer ${realToken}`); // a change that happens to restore the token
          const path = route.url.replace(/:(\w+)/g, (_, name: string) =>
            name === "electionId" ? open.id : name === "tpsId" ? (open.tpsIds[0] as string) : victimId,
          );
          const label = `${route.method} ${route.url} with Authorization ${JSON.stringify(authorization.slice(0, 80))}`;
          const before = await fingerprint();
          const response = await app.inject({
            method: route.method as "POST",
            url: path,
            headers: { authorization, "content-type": "application/json" },
            ...(route.method === "GET" || route.method === "DELETE" ? {} : { payload: "{}" }),
          });
          assertEnvelope(response, label);
          expect([401, 403], `${label}: ${response.statusCode}`).toContain(response.statusCode);
          expect([...after(before, await fingerprint())], label).toEqual([]);
        }),
        { seed: FUZZ_SEED + 3000, numRuns: FUZZ_RUNS * 10, endOnFailure },
      );
    },
    PROPERTY_TIMEOUT,
  );

  it("after all of it the audit chains verify, and no NIK sent in a URL reached the logs", async () => {
    for (const url of [
      "/audit-events/verify",
      `/elections/${draft.id}/audit-events/verify`,
      `/elections/${open.id}/audit-events/verify`,
    ]) {
      const report = await app.inject({ method: "GET", url, headers: headers.admin });
      expect(report.json(), url).toMatchObject({ ok: true });
    }
    expect(sentInUrls.size).toBeGreaterThan(0);
    const text = logs.join("\n");
    for (const value of sentInUrls) expect(text, "a NIK from a URL is in the logs").not.toContain(value);
    for (const value of voterNiks) expect(text, "a voter's NIK is in the logs").not.toContain(value);
    // Nor any other 16-digit run (NIKs were fuzzed into bodies too); pino's responseTime fractions aside.
    expect(text.match(/(?<![\d.])\d{16}(?!\d)/g) ?? []).toEqual([]);
  });
});

function pathArbs(route: RouteAccess): Array<fc.Arbitrary<{ raw: string; hostile: boolean }>> {
  const names = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
  return names.map((name) => pathValue(name));
}

function fillPath(url: string, values: Array<{ raw: string; hostile: boolean }>): string {
  let i = 0;
  return url.replace(/:(\w+)/g, () => (values[i++] as { raw: string }).raw);
}
