// User accounts and sign-in (SPEC §11): scrypt password hashes, throttled login, one-time passwords that must be
// changed at first sign-in, and disabling that takes effect on the next request (token_version is bumped and the
// auth guard reads the account on every request).
import { sql } from "kysely";
import { DECOY_PASSWORD_HASH, hashPassword, verifyPassword } from "../../crypto/password.js";
import { generateOneTimePassword } from "../../crypto/random.js";
import type { Db, Executor, User } from "../../db/database.js";
import { decodeCursor, encodeCursor } from "../../lib/cursor.js";
import { AppError, notFound } from "../../lib/errors.js";
import { type Actor, recordAuditEvent, SYSTEM_ACTOR } from "../audit/audit.service.js";

export interface LoginPolicy {
  maxFailures: number;
  lockSeconds: number;
}

const MAX_LOCK_SECONDS = 24 * 3600;
const MIN_PASSWORD_LENGTH = 10;

export function userView(user: User) {
  return {
    id: user.id,
    username: user.username,
    display_name: user.display_name,
    is_admin: user.is_admin,
    disabled: user.disabled_at !== null,
    must_change_password: user.must_change_password,
    created_at: new Date(user.created_at).toISOString(),
  };
}

export function checkPasswordPolicy(password: string, username: string): void {
  const reasons: string[] = [];
  if (password.length < MIN_PASSWORD_LENGTH) reasons.push(`at least ${MIN_PASSWORD_LENGTH} characters`);
  if (new Set(password).size < 4) reasons.push("at least 4 different characters");
  if (password.toLowerCase().includes(username.toLowerCase())) reasons.push("must not contain the username");
  if (reasons.length > 0) {
    throw new AppError("PASSWORD_TOO_WEAK", `password too weak: ${reasons.join("; ")}`, { rules: reasons });
  }
}

export async function findUserByUsername(db: Executor, username: string): Promise<User | undefined> {
  return db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
}

export async function getUser(db: Executor, id: string): Promise<User> {
  const user = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
  if (!user) throw notFound("user");
  return user;
}

/**
 * Checks a username and password. An attempt is counted *before* the password is checked, so a burst of
 * parallel guesses cannot all slip past the lock; a success resets the count.
 */
export async function authenticate(
  db: Db,
  policy: LoginPolicy,
  username: string,
  password: string,
): Promise<User> {
  const user = await findUserByUsername(db, username);
  if (!user) {
    await verifyPassword(password, await DECOY_PASSWORD_HASH);
    throw new AppError("INVALID_CREDENTIALS", "unknown username or wrong password");
  }
  const attempt = await db
    .updateTable("users")
    .set({ failed_logins: sql`failed_logins + 1` })
    .where("id", "=", user.id)
    .where((eb) => eb.or([eb("locked_until", "is", null), eb("locked_until", "<=", sql<Date>`now()`)]))
    .returning(["failed_logins"])
    .executeTakeFirst();
  if (!attempt || attempt.failed_logins > policy.maxFailures) {
    if (attempt) await lockAccount(db, user.id, policy);
    const locked = await getUser(db, user.id);
    const retryAfter = locked.locked_until
      ? Math.max(1, Math.ceil((new Date(locked.locked_until).getTime() - Date.now()) / 1000))
      : policy.lockSeconds;
    throw new AppError("LOGIN_THROTTLED", "too many failed sign-ins for this account: wait and try again", {
      retry_after_seconds: retryAfter,
    });
  }
  const ok = await verifyPassword(password, user.password_hash);
  if (!ok || user.disabled_at !== null) {
    throw new AppError("INVALID_CREDENTIALS", "unknown username or wrong password");
  }
  return db.transaction().execute(async (tx) => {
    const fresh = await tx
      .updateTable("users")
      .set({ failed_logins: 0, lock_count: 0, locked_until: null })
      .where("id", "=", user.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAuditEvent(
      tx,
      { id: user.id, role: user.is_admin ? "admin" : "user" },
      {
        action: "auth.login",
        targetType: "user",
        targetId: user.id,
      },
    );
    return fresh;
  });
}

async function lockAccount(db: Db, userId: string, policy: LoginPolicy): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const user = await tx
      .selectFrom("users")
      .select(["lock_count", "locked_until"])
      .where("id", "=", userId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    // A burst of parallel failures all cross the threshold; only the first of them locks (and doubles) it.
    if (user.locked_until !== null && new Date(user.locked_until).getTime() > Date.now()) return;
    const seconds = Math.min(MAX_LOCK_SECONDS, policy.lockSeconds * 2 ** user.lock_count);
    await tx
      .updateTable("users")
      .set({
        failed_logins: 0,
        lock_count: user.lock_count + 1,
        locked_until: sql<Date>`now() + make_interval(secs => ${seconds})`,
      })
      .where("id", "=", userId)
      .execute();
    await recordAuditEvent(tx, SYSTEM_ACTOR, {
      action: "user.locked",
      targetType: "user",
      targetId: userId,
      details: { lock_seconds: seconds },
    });
  });
}

export async function changePassword(
  db: Db,
  userId: string,
  currentPassword: string,
  newPassword: string,
): Promise<User> {
  const user = await getUser(db, userId);
  if (!(await verifyPassword(currentPassword, user.password_hash))) {
    throw new AppError("INVALID_CREDENTIALS", "current password is wrong");
  }
  if (currentPassword === newPassword)
    throw new AppError("PASSWORD_REUSED", "choose a password you have not used here");
  checkPasswordPolicy(newPassword, user.username);
  const hash = await hashPassword(newPassword);
  return db.transaction().execute(async (tx) => {
    const updated = await tx
      .updateTable("users")
      .set({
        password_hash: hash,
        must_change_password: false,
        token_version: sql`token_version + 1`,
        updated_at: sql`now()`,
      })
      .where("id", "=", userId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAuditEvent(
      tx,
      { id: userId, role: user.is_admin ? "admin" : "user" },
      {
        action: "user.password_changed",
        targetType: "user",
        targetId: userId,
      },
    );
    return updated;
  });
}

export async function createUser(
  db: Db,
  actor: Actor,
  input: { username: string; display_name: string; is_admin: boolean },
): Promise<{ user: User; oneTimePassword: string }> {
  const oneTimePassword = generateOneTimePassword();
  const hash = await hashPassword(oneTimePassword);
  const user = await db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto("users")
      .values({ ...input, password_hash: hash, must_change_password: true })
      .onConflict((oc) => oc.column("username").doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) throw new AppError("USERNAME_TAKEN", `username ${input.username} is taken`);
    await recordAuditEvent(tx, actor, {
      action: "user.created",
      targetType: "user",
      targetId: inserted.id,
      details: { is_admin: input.is_admin },
    });
    return inserted;
  });
  return { user, oneTimePassword };
}

export async function listUsers(db: Executor, page: { cursor?: string | undefined; limit: number }) {
  let query = db
    .selectFrom("users")
    .selectAll()
    .orderBy("username")
    .limit(page.limit + 1);
  if (page.cursor !== undefined) query = query.where("username", ">", String(decodeCursor(page.cursor, "u")));
  const rows = await query.execute();
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items: items.map(userView),
    next_cursor: rows.length > page.limit && last ? encodeCursor("u", last.username) : null,
  };
}

export async function updateUser(
  db: Db,
  actor: Actor,
  userId: string,
  change: { display_name?: string | undefined; disabled?: boolean | undefined },
): Promise<User> {
  return db.transaction().execute(async (tx) => {
    const user = await tx
      .selectFrom("users")
      .selectAll()
      .where("id", "=", userId)
      .forUpdate()
      .executeTakeFirst();
    if (!user) throw notFound("user");
    if (change.disabled === true && user.is_admin && user.disabled_at === null) {
      // Serialise with other admin changes so two operators cannot disable the last two admins at once.
      await sql`SELECT pg_advisory_xact_lock(hashtextextended('users:admins', 0))`.execute(tx);
      const { count } = await tx
        .selectFrom("users")
        .select((eb) => eb.fn.countAll<string>().as("count"))
        .where("is_admin", "=", true)
        .where("disabled_at", "is", null)
        .executeTakeFirstOrThrow();
      if (Number(count) <= 1)
        throw new AppError("LAST_ADMIN", "the last active administrator cannot be disabled");
    }
    const disabling = change.disabled === true && user.disabled_at === null;
    const enabling = change.disabled === false && user.disabled_at !== null;
    const updated = await tx
      .updateTable("users")
      .set({
        ...(change.display_name !== undefined ? { display_name: change.display_name } : {}),
        ...(disabling ? { disabled_at: sql<Date>`now()`, token_version: sql`token_version + 1` } : {}),
        ...(enabling ? { disabled_at: null } : {}),
        updated_at: sql`now()`,
      })
      .where("id", "=", userId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const action = disabling ? "user.disabled" : enabling ? "user.enabled" : "user.updated";
    await recordAuditEvent(tx, actor, { action, targetType: "user", targetId: userId });
    return updated;
  });
}

export async function resetPassword(
  db: Db,
  actor: Actor,
  userId: string,
): Promise<{ user: User; oneTimePassword: string }> {
  const oneTimePassword = generateOneTimePassword();
  const hash = await hashPassword(oneTimePassword);
  const user = await db.transaction().execute(async (tx) => {
    const updated = await tx
      .updateTable("users")
      .set({
        password_hash: hash,
        must_change_password: true,
        token_version: sql`token_version + 1`,
        failed_logins: 0,
        lock_count: 0,
        locked_until: null,
        updated_at: sql`now()`,
      })
      .where("id", "=", userId)
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw notFound("user");
    await recordAuditEvent(tx, actor, {
      action: "user.password_reset",
      targetType: "user",
      targetId: userId,
    });
    return updated;
  });
  return { user, oneTimePassword };
}

/**
 * First start: when there is no user at all, create the administrator. Returns the one-time password when one
 * was generated (the caller prints it once), null when the password came from the environment or an
 * administrator already exists.
 */
export async function bootstrapAdmin(
  db: Db,
  input: { username: string; password: string | undefined },
): Promise<{ created: boolean; oneTimePassword: string | null }> {
  const oneTimePassword = input.password === undefined ? generateOneTimePassword() : null;
  const password = input.password ?? (oneTimePassword as string);
  const anyone = await db.selectFrom("users").select("id").limit(1).executeTakeFirst();
  if (anyone) return { created: false, oneTimePassword: null };
  if (input.password !== undefined) checkPasswordPolicy(input.password, input.username);
  const hash = await hashPassword(password);
  return db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended('users:bootstrap', 0))`.execute(tx);
    const existing = await tx.selectFrom("users").select("id").limit(1).executeTakeFirst();
    if (existing) return { created: false, oneTimePassword: null };
    const admin = await tx
      .insertInto("users")
      .values({
        username: input.username,
        display_name: "Administrator",
        password_hash: hash,
        is_admin: true,
        must_change_password: oneTimePassword !== null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await recordAuditEvent(tx, SYSTEM_ACTOR, {
      action: "user.bootstrap_admin",
      targetType: "user",
      targetId: admin.id,
    });
    return { created: true, oneTimePassword };
  });
}
