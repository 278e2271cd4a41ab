// Kiosks (SPEC §4): enrolled per TPS by the committee with the public key the kiosk made itself (its private
// key never leaves it); signed in by signing a single-use server challenge; revoked with immediate effect, the
// log size at revocation recorded for the verifier (SPEC §9).
import { sql } from "kysely";
import { kioskKeyId, verifyEd25519 } from "../../crypto/ed25519.js";
import { KIOSK_CHALLENGE_BYTES, kioskLoginMessage } from "../../crypto/kiosk-login.js";
import { newId, randomBytesFor } from "../../crypto/random.js";
import type { Db, Executor } from "../../db/database.js";
import { AppError, notFound } from "../../lib/errors.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import { lockElection, requireTps } from "../elections/elections.service.js";

const CHALLENGE_SECONDS = 120;

export function kioskView(k: {
  id: string;
  tps_id: string;
  label: string;
  public_key: Buffer;
  key_id: Buffer;
  revoked_at: Date | string | null;
  revoked_at_log_size: number | null;
}) {
  return {
    id: k.id,
    tps_id: k.tps_id,
    label: k.label,
    public_key: k.public_key.toString("base64"),
    key_id: k.key_id.toString("hex"),
    revoked: k.revoked_at !== null,
    revoked_at_log_size: k.revoked_at_log_size,
  };
}

export async function enrolKiosk(
  db: Db,
  actor: Actor,
  electionId: string,
  input: { tps_id: string; label: string; public_key: Buffer },
) {
  return db.transaction().execute(async (tx) => {
    const election = await lockElection(tx, electionId);
    if (election.status !== "draft" && election.status !== "open") {
      throw new AppError(
        "ELECTION_NOT_OPEN",
        `kiosks are enrolled before or during polling; the election is ${election.status}`,
      );
    }
    await requireTps(tx, electionId, input.tps_id);
    const kiosk = await tx
      .insertInto("kiosks")
      .values({
        election_id: electionId,
        id: newId(),
        tps_id: input.tps_id,
        label: input.label,
        public_key: input.public_key,
        key_id: kioskKeyId(input.public_key),
      })
      .onConflict((oc) => oc.columns(["election_id", "public_key"]).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!kiosk) throw new AppError("KIOSK_KEY_TAKEN", "a kiosk with this public key is already enrolled");
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "kiosk.enrolled",
      targetType: "kiosk",
      targetId: kiosk.id,
      details: { tps_id: input.tps_id, key_id: kiosk.key_id.toString("hex") },
    });
    return kiosk;
  });
}

export function listKiosks(db: Executor, electionId: string) {
  return db.selectFrom("kiosks").selectAll().where("election_id", "=", electionId).orderBy("label").execute();
}

export async function revokeKiosk(db: Db, actor: Actor, electionId: string, kioskId: string, reason: string) {
  return db.transaction().execute(async (tx) => {
    await lockElection(tx, electionId);
    // The log size now: entries up to it may carry this kiosk's signature; later ones must not (SPEC §9).
    const head = await tx
      .selectFrom("log_heads")
      .select("tree_size")
      .where("election_id", "=", electionId)
      .forUpdate()
      .executeTakeFirst();
    const kiosk = await tx
      .updateTable("kiosks")
      .set({ revoked_at: sql<Date>`now()`, revoked_at_log_size: head?.tree_size ?? 0, revoke_reason: reason })
      .where("election_id", "=", electionId)
      .where("id", "=", kioskId)
      .where("revoked_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    if (!kiosk) {
      const exists = await tx
        .selectFrom("kiosks")
        .select("id")
        .where("election_id", "=", electionId)
        .where("id", "=", kioskId)
        .executeTakeFirst();
      if (!exists) throw notFound("kiosk");
      throw new AppError("KIOSK_REVOKED", "this kiosk was revoked already");
    }
    await recordAuditEvent(tx, actor, {
      electionId,
      action: "kiosk.revoked",
      targetType: "kiosk",
      targetId: kioskId,
      details: { reason, log_size: kiosk.revoked_at_log_size },
    });
    return kiosk;
  });
}

/** A fresh single-use challenge for a kiosk to sign; old, expired challenges are swept as new ones are made. */
export async function issueChallenge(db: Db, electionId: string, kioskId: string) {
  const kiosk = await db
    .selectFrom("kiosks")
    .select(["id", "revoked_at"])
    .where("election_id", "=", electionId)
    .where("id", "=", kioskId)
    .executeTakeFirst();
  if (!kiosk) throw notFound("kiosk");
  if (kiosk.revoked_at !== null)
    throw new AppError("KIOSK_REVOKED", "this kiosk has been revoked by the committee");
  const nonce = randomBytesFor(KIOSK_CHALLENGE_BYTES);
  const expiresAt = new Date(Date.now() + CHALLENGE_SECONDS * 1000);
  await db.deleteFrom("kiosk_challenges").where("expires_at", "<", new Date()).execute();
  await db
    .insertInto("kiosk_challenges")
    .values({ election_id: electionId, kiosk_id: kioskId, nonce, expires_at: expiresAt })
    .execute();
  return { nonce, expiresAt };
}

/**
 * Checks the kiosk's signature over the challenge and consumes the challenge (a replay finds it gone).
 * Returns the kiosk for the session token.
 */
export async function answerChallenge(
  db: Db,
  electionId: string,
  kioskId: string,
  nonce: Buffer,
  signature: Buffer,
) {
  // Consumed before anything is checked, in its own statement: a challenge is good for one answer, right or wrong.
  const consumed = await db
    .deleteFrom("kiosk_challenges")
    .where("election_id", "=", electionId)
    .where("kiosk_id", "=", kioskId)
    .where("nonce", "=", nonce)
    .returning(["expires_at"])
    .executeTakeFirst();
  if (!consumed || new Date(consumed.expires_at).getTime() < Date.now()) {
    throw new AppError("KIOSK_CHALLENGE_INVALID", "unknown, used or expired challenge: ask for a new one");
  }
  return db.transaction().execute(async (tx) => {
    const kiosk = await tx
      .selectFrom("kiosks")
      .selectAll()
      .where("election_id", "=", electionId)
      .where("id", "=", kioskId)
      .executeTakeFirstOrThrow();
    if (kiosk.revoked_at !== null)
      throw new AppError("KIOSK_REVOKED", "this kiosk has been revoked by the committee");
    if (!verifyEd25519(signature, kioskLoginMessage(electionId, kioskId, nonce), kiosk.public_key)) {
      throw new AppError("KIOSK_SIGNATURE_INVALID", "the signature does not match this kiosk's enrolled key");
    }
    await recordAuditEvent(
      tx,
      { id: null, role: "kiosk" },
      {
        electionId,
        action: "kiosk.signed_in",
        targetType: "kiosk",
        targetId: kioskId,
      },
    );
    return kiosk;
  });
}
