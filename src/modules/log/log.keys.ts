// The service's log signing keys (SPEC §6, §15): one active Ed25519 key signs every checkpoint; retired keys
// stay listed so that every checkpoint ever signed remains verifiable. The key is generated at first start and
// kept in the database, or given in LOG_SIGNING_KEY (then only its public half is stored). Each election's log
// is a separate signed-note identity: key name = the log's origin, so key ids differ per election.
import { sql } from "kysely";
import { electionLogOrigin } from "../../crypto/checkpoint.js";
import { ed25519KeyPairFromSeed } from "../../crypto/ed25519.js";
import { newId, randomBytesFor } from "../../crypto/random.js";
import { ed25519NoteKeyId, ed25519NoteSigner, type NoteSigner } from "../../crypto/signed-note.js";
import type { Db } from "../../db/database.js";

export interface LogKey {
  id: string;
  publicKey: Buffer;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface LogKeyring {
  /** This deployment's name; an election's log origin is `<origin>/elections/<id>`. */
  origin: string;
  active: LogKey & { secretKey: Buffer };
}

export class LogKeyError extends Error {}

export function logOrigin(keyring: LogKeyring, electionId: string): string {
  return electionLogOrigin(keyring.origin, electionId);
}

export function checkpointSigner(keyring: LogKeyring, electionId: string): NoteSigner {
  return ed25519NoteSigner(logOrigin(keyring, electionId), keyring.active.secretKey);
}

export function noteKeyIdFor(keyring: LogKeyring, electionId: string, publicKey: Uint8Array): number {
  return ed25519NoteKeyId(logOrigin(keyring, electionId), publicKey);
}

/**
 * Loads (creating on first start) the keyring. With `configuredSeed`, that key becomes the active one and any
 * other active key is retired. Serialised by an advisory lock, so instances starting together agree.
 */
export async function loadLogKeyring(db: Db, origin: string, configuredSeed?: string): Promise<LogKeyring> {
  return db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended('log:keys', 0))`.execute(tx);
    let active = await tx
      .selectFrom("log_keys")
      .selectAll()
      .where("retired_at", "is", null)
      .executeTakeFirst();
    let activeSeed: Buffer | null = active?.secret_seed ?? null;
    if (configuredSeed !== undefined) {
      const seed = Buffer.from(configuredSeed, "base64");
      const pair = ed25519KeyPairFromSeed(seed);
      if (!active?.public_key.equals(pair.publicKey)) {
        if (active)
          await tx
            .updateTable("log_keys")
            .set({ retired_at: sql`now()` })
            .where("id", "=", active.id)
            .execute();
        const known = await tx
          .selectFrom("log_keys")
          .selectAll()
          .where("public_key", "=", pair.publicKey)
          .executeTakeFirst();
        if (known) {
          active = await tx
            .updateTable("log_keys")
            .set({ retired_at: null })
            .where("id", "=", known.id)
            .returningAll()
            .executeTakeFirstOrThrow();
        } else {
          active = await tx
            .insertInto("log_keys")
            .values({ id: newId(), public_key: pair.publicKey, secret_seed: null })
            .returningAll()
            .executeTakeFirstOrThrow();
        }
      }
      activeSeed = seed;
    } else if (!active) {
      const seed = randomBytesFor(32);
      const pair = ed25519KeyPairFromSeed(seed);
      active = await tx
        .insertInto("log_keys")
        .values({ id: newId(), public_key: pair.publicKey, secret_seed: seed })
        .returningAll()
        .executeTakeFirstOrThrow();
      activeSeed = seed;
    } else if (activeSeed === null) {
      throw new LogKeyError(
        "the active log signing key was given in LOG_SIGNING_KEY, which is now unset: set it again (or rotate " +
          "to a new key with `npm run rotate-log-key`)",
      );
    }
    const pair = ed25519KeyPairFromSeed(activeSeed as Buffer);
    return {
      origin,
      active: {
        id: active.id,
        publicKey: active.public_key,
        createdAt: new Date(active.created_at),
        retiredAt: null,
        secretKey: pair.secretKey,
      },
    };
  });
}

/** Every key that ever signed, from the database (so a rotation by another process shows at once). */
export async function listLogKeys(db: Db): Promise<LogKey[]> {
  const rows = await db
    .selectFrom("log_keys")
    .select(["id", "public_key", "created_at", "retired_at"])
    .orderBy("created_at")
    .execute();
  return rows.map((k) => ({
    id: k.id,
    publicKey: k.public_key,
    createdAt: new Date(k.created_at),
    retiredAt: k.retired_at === null ? null : new Date(k.retired_at),
  }));
}

/**
 * Retires the active key and makes a new one (for a key given in LOG_SIGNING_KEY, change that instead). A
 * running service keeps signing with the key it loaded until it restarts; the new key's public half is listed
 * at once.
 */
export async function rotateLogKey(db: Db): Promise<string> {
  return db.transaction().execute(async (tx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended('log:keys', 0))`.execute(tx);
    await tx
      .updateTable("log_keys")
      .set({ retired_at: sql`now()` })
      .where("retired_at", "is", null)
      .execute();
    const seed = randomBytesFor(32);
    const key = await tx
      .insertInto("log_keys")
      .values({ id: newId(), public_key: ed25519KeyPairFromSeed(seed).publicKey, secret_seed: seed })
      .returning("id")
      .executeTakeFirstOrThrow();
    return key.id;
  });
}
