// SPEC §11: sign-in, throttling, one-time passwords, and access tokens that cannot be forged, stretched or kept
// alive past the account they belong to.
import { createHmac } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapAdmin } from "../../src/modules/users/users.service.js";
import {
  bearer,
  buildTestApp,
  createUser,
  errorCode,
  login,
  PASSWORD,
  TEST_JWT_SECRET,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;
let logs: string[];
let admin: { id: string };

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app, logs } = await buildTestApp(database, { LOGIN_MAX_FAILURES: "3", LOGIN_LOCK_SECONDS: "60" }));
  admin = await createUser(database.db, "admin", { isAdmin: true });
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret = TEST_JWT_SECRET,
): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  const alg = header.alg === "HS512" ? "sha512" : "sha256";
  return `${signingInput}.${createHmac(alg, secret).update(signingInput).digest("base64url")}`;
}

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: admin.id, tv: 0, iss: "suara", aud: "suara-api", iat: now, exp: now + 600, ...overrides };
}

async function me(token: string) {
  return app.inject({ method: "GET", url: "/auth/me", headers: bearer(token) });
}

describe("access tokens", () => {
  it("a token made by the service is accepted", async () => {
    const response = await me(forge({ alg: "HS256", typ: "JWT" }, claims()));
    expect(response.statusCode).toBe(200);
    expect(response.json<{ username: string }>().username).toBe("admin");
  });

  const attacks: Array<[string, () => string]> = [
    ["alg none", () => `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims())}.`],
    ["a wrong key", () => forge({ alg: "HS256" }, claims(), "another-secret-another-secret-another-secret")],
    ["another algorithm with the right key (HS512)", () => forge({ alg: "HS512" }, claims())],
    ["an expired token", () => forge({ alg: "HS256" }, claims({ exp: Math.floor(Date.now() / 1000) - 5 }))],
    ["the wrong audience", () => forge({ alg: "HS256" }, claims({ aud: "someone-else" }))],
    ["the wrong issuer", () => forge({ alg: "HS256" }, claims({ iss: "evil" }))],
    ["no expiry", () => forge({ alg: "HS256" }, claims({ exp: undefined }))],
    [
      "a future not-before",
      () => forge({ alg: "HS256" }, claims({ nbf: Math.floor(Date.now() / 1000) + 3600 })),
    ],
    [
      "a tampered payload",
      () => {
        const [h, , s] = forge(
          { alg: "HS256" },
          claims({ sub: "00000000-0000-4000-8000-000000000001" }),
        ).split(".");
        return `${h}.${b64url(claims())}.${s}`;
      },
    ],
    ["an old token version", () => forge({ alg: "HS256" }, claims({ tv: -1 }))],
    [
      "an unknown user",
      () => forge({ alg: "HS256" }, claims({ sub: "00000000-0000-4000-8000-000000000009" })),
    ],
    ["garbage", () => "not.a.jwt"],
  ];

  for (const [name, token] of attacks) {
    it(`a token with ${name} is refused with 401`, async () => {
      const response = await me(token());
      expect(response.statusCode).toBe(401);
      expect(errorCode(response)).toBe("UNAUTHENTICATED");
    });
  }

  it("a missing or non-bearer authorization header is refused with 401", async () => {
    expect((await app.inject({ method: "GET", url: "/auth/me" })).statusCode).toBe(401);
    const basic = await app.inject({
      method: "GET",
      url: "/auth/me",
      headers: { authorization: "Basic YTpi" },
    });
    expect(basic.statusCode).toBe(401);
  });

  it("tokens carry iss, aud and a short exp", async () => {
    const token = await login(app, "admin");
    const payload = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString());
    const header = JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString());
    expect(header.alg).toBe("HS256");
    expect(payload).toMatchObject({ iss: "suara", aud: "suara-api", sub: admin.id });
    expect(payload.exp - payload.iat).toBe(900);
  });
});

describe("disabling an account", () => {
  it("refuses the disabled user on their very next request, and lets them back when re-enabled", async () => {
    const officer = await createUser(database.db, "officer-disable");
    const token = await login(app, "officer-disable");
    expect((await me(token)).statusCode).toBe(200);
    const adminToken = await login(app, "admin");
    const disabled = await app.inject({
      method: "PATCH",
      url: `/users/${officer.id}`,
      headers: bearer(adminToken),
      payload: { disabled: true },
    });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json<{ disabled: boolean }>().disabled).toBe(true);
    expect((await me(token)).statusCode).toBe(401);
    const relogin = await app.inject({
      method: "POST",
      url: "/auth/login",
      payload: { username: "officer-disable", password: PASSWORD },
    });
    expect(relogin.statusCode).toBe(401);

    await app.inject({
      method: "PATCH",
      url: `/users/${officer.id}`,
      headers: bearer(adminToken),
      payload: { disabled: false },
    });
    // The old token stays dead: disabling bumped its version.
    expect((await me(token)).statusCode).toBe(401);
    expect((await me(await login(app, "officer-disable"))).statusCode).toBe(200);
  });

  it("refuses to disable the last active administrator", async () => {
    const adminToken = await login(app, "admin");
    const response = await app.inject({
      method: "PATCH",
      url: `/users/${admin.id}`,
      headers: bearer(adminToken),
      payload: { disabled: true },
    });
    expect(response.statusCode).toBe(409);
    expect(errorCode(response)).toBe("LAST_ADMIN");
    const row = await database.db
      .selectFrom("users")
      .select("disabled_at")
      .where("id", "=", admin.id)
      .executeTakeFirst();
    expect(row?.disabled_at).toBeNull();
  });
});

describe("sign-in throttling", () => {
  it("locks an account after repeated failures, even for the right password, and says for how long", async () => {
    await createUser(database.db, "siti");
    const attempt = (password: string) =>
      app.inject({ method: "POST", url: "/auth/login", payload: { username: "siti", password } });
    for (let i = 0; i < 3; i++) expect((await attempt("wrong-password")).statusCode).toBe(401);
    const locked = await attempt(PASSWORD);
    expect(locked.statusCode).toBe(429);
    expect(errorCode(locked)).toBe("LOGIN_THROTTLED");
    expect(Number(locked.headers["retry-after"])).toBeGreaterThan(0);
    const row = await database.db
      .selectFrom("users")
      .select(["locked_until", "lock_count"])
      .where("username", "=", "siti")
      .executeTakeFirstOrThrow();
    expect(row.lock_count).toBe(1);
    expect(new Date(row.locked_until as Date).getTime()).toBeGreaterThan(Date.now() + 50_000);
  });

  it("a burst of parallel guesses cannot slip past the lock", async () => {
    await createUser(database.db, "budi");
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.inject({
          method: "POST",
          url: "/auth/login",
          payload: { username: "budi", password: "guess-guess" },
        }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    // At most LOGIN_MAX_FAILURES (3) guesses are ever checked; the rest are throttled.
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(17);
    // Locked once, for the first period: a burst must not escalate the lock to a day.
    const row = await database.db
      .selectFrom("users")
      .select(["lock_count", "locked_until"])
      .where("username", "=", "budi")
      .executeTakeFirstOrThrow();
    expect(row.lock_count).toBe(1);
    expect(new Date(row.locked_until as Date).getTime()).toBeLessThan(Date.now() + 61_000);
  });

  it("limits sign-in attempts per client address, whatever the account", async () => {
    const limited = await buildTestApp(database, { LOGIN_RATE_PER_MINUTE: "5" });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await limited.app.inject({
          method: "POST",
          url: "/auth/login",
          payload: { username: `nobody${i}`, password: "whatever-whatever" },
        });
        statuses.push(r.statusCode);
        if (r.statusCode === 429) expect(errorCode(r)).toBe("RATE_LIMITED");
      }
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5)).toEqual([429, 429]);
    } finally {
      await limited.app.close();
    }
  });

  it("answers an unknown username exactly like a wrong password", async () => {
    const unknown = await app.inject({
      method: "POST",
      url: "/auth/login",
      payload: { username: "nobody-here", password: "whatever-whatever" },
    });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json()).toEqual({
      error: { code: "INVALID_CREDENTIALS", message: "unknown username or wrong password" },
    });
  });
});

describe("one-time passwords", () => {
  it("an account made by an administrator must change its one-time password before doing anything else", async () => {
    const adminToken = await login(app, "admin");
    const created = await app.inject({
      method: "POST",
      url: "/users",
      headers: bearer(adminToken),
      payload: { username: "Rahmat.KPPS", display_name: "Rahmat (KPPS 01)" },
    });
    expect(created.statusCode).toBe(201);
    const { user, one_time_password } = created.json<{
      user: { username: string };
      one_time_password: string;
    }>();
    expect(user.username).toBe("rahmat.kpps");
    expect(one_time_password).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    // Never logged.
    expect(logs.join("\n")).not.toContain(one_time_password);

    const first = await login(app, "rahmat.kpps", one_time_password);
    const blocked = await app.inject({ method: "GET", url: "/elections", headers: bearer(first) });
    expect(blocked.statusCode).toBe(403);
    expect(errorCode(blocked)).toBe("PASSWORD_CHANGE_REQUIRED");

    const weak = await app.inject({
      method: "POST",
      url: "/auth/password",
      headers: bearer(first),
      payload: { current_password: one_time_password, new_password: "short" },
    });
    expect(errorCode(weak)).toBe("PASSWORD_TOO_WEAK");

    const changed = await app.inject({
      method: "POST",
      url: "/auth/password",
      headers: bearer(first),
      payload: { current_password: one_time_password, new_password: "Tps01-pagi-hari-cerah" },
    });
    expect(changed.statusCode).toBe(200);
    const fresh = changed.json<{ access_token: string; must_change_password: boolean }>();
    expect(fresh.must_change_password).toBe(false);
    expect(
      (await app.inject({ method: "GET", url: "/elections", headers: bearer(fresh.access_token) }))
        .statusCode,
    ).toBe(200);
    // The token issued before the change is dead; the one-time password no longer works.
    expect((await me(first)).statusCode).toBe(401);
    const again = await app.inject({
      method: "POST",
      url: "/auth/login",
      payload: { username: "rahmat.kpps", password: one_time_password },
    });
    expect(again.statusCode).toBe(401);
  });

  it("first start creates one administrator with a one-time password, and only once", async () => {
    const fresh = await createTestDatabase();
    try {
      const first = await bootstrapAdmin(fresh.db, { username: "admin", password: undefined });
      expect(first.created).toBe(true);
      expect(first.oneTimePassword).toMatch(/^[0-9A-Z]{4}-/);
      const second = await bootstrapAdmin(fresh.db, { username: "admin", password: undefined });
      expect(second).toEqual({ created: false, oneTimePassword: null });
      const users = await fresh.db
        .selectFrom("users")
        .select(["username", "is_admin", "must_change_password"])
        .execute();
      expect(users).toEqual([{ username: "admin", is_admin: true, must_change_password: true }]);
      const stored = await fresh.db.selectFrom("users").select("password_hash").executeTakeFirstOrThrow();
      expect(stored.password_hash).toMatch(/^scrypt\$/);
      expect(stored.password_hash).not.toContain(first.oneTimePassword as string);
    } finally {
      await fresh.drop();
    }
  });

  it("two processes starting at once on an empty database create exactly one administrator", async () => {
    const fresh = await createTestDatabase();
    try {
      const results = await Promise.all(
        Array.from({ length: 4 }, () => bootstrapAdmin(fresh.db, { username: "admin", password: undefined })),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const { count } = await fresh.db
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<string>().as("count"))
        .executeTakeFirstOrThrow();
      expect(Number(count)).toBe(1);
    } finally {
      await fresh.drop();
    }
  });

  it("logs of all this hold no password and no bearer token", async () => {
    const token = await login(app, "admin");
    await me(token);
    const text = logs.join("\n");
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split(".")[2] as string);
  });
});
