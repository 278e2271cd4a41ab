// Audit events (SPEC §11): written in the same transaction as the state change they describe, appended to a
// per-election hash chain (or the system chain), listed with cursor pagination, and checked by recomputing the
// chain. Events hold ids and codes only — never personal data or secrets.
import { sql, type Transaction } from "kysely";
import { newId } from "../../crypto/random.js";
import type { AuditEventRow, DB, Executor } from "../../db/database.js";
import { decodeCursor, encodeCursor } from "../../lib/cursor.js";
import { auditEventHash, GENESIS_HASH, SYSTEM_CHAIN } from "./audit.chain.js";

export interface Actor {
  id: string | null;
  /** The capacity in which the actor acted: admin, committee, officer, witness, kiosk, system, anonymous. */
  role: string;
}

export const SYSTEM_ACTOR: Actor = { id: null, role: "system" };

export interface AuditEventInput {
  electionId?: string | undefined;
  action: string;
  targetType?: string;
  targetId?: string;
  outcome?: "success" | "refused";
  details?: Record<string, unknown>;
}

/**
 * Appends one event to its chain inside the caller's transaction. The per-chain advisory lock is held until
 * that transaction ends, so call this last in the transaction to keep the lock short.
 */
export async function recordAuditEvent(
  tx: Transaction<DB>,
  actor: Actor,
  input: AuditEventInput,
): Promise<void> {
  const chain = input.electionId ?? SYSTEM_CHAIN;
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`audit:${chain}`}, 0))`.execute(tx);
  const head = await tx
    .selectFrom("audit_events")
    .select(["seq", "hash"])
    .where("election_id", "=", chain)
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  const event = {
    election_id: chain,
    seq: (head?.seq ?? 0) + 1,
    id: newId(),
    occurred_at: new Date(),
    actor_id: actor.id,
    actor_role: actor.role,
    action: input.action,
    target_type: input.targetType ?? null,
    target_id: input.targetId ?? null,
    outcome: input.outcome ?? "success",
    details: input.details ?? {},
  };
  const prevHash = head?.hash ?? GENESIS_HASH;
  await tx
    .insertInto("audit_events")
    .values({
      ...event,
      details: JSON.stringify(event.details),
      prev_hash: prevHash,
      hash: auditEventHash(prevHash, event),
    })
    .execute();
}

export interface AuditEventView {
  seq: number;
  id: string;
  occurred_at: string;
  actor_id: string | null;
  actor_role: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: "success" | "refused";
  details: Record<string, unknown>;
  hash: string;
}

function toView(row: AuditEventRow): AuditEventView {
  return {
    seq: row.seq,
    id: row.id,
    occurred_at: new Date(row.occurred_at).toISOString(),
    actor_id: row.actor_id,
    actor_role: row.actor_role,
    action: row.action,
    target_type: row.target_type,
    target_id: row.target_id,
    outcome: row.outcome,
    details: row.details,
    hash: row.hash.toString("hex"),
  };
}

export async function listAuditEvents(
  db: Executor,
  chain: string,
  page: { cursor?: string | undefined; limit: number },
): Promise<{ items: AuditEventView[]; next_cursor: string | null }> {
  const after = page.cursor === undefined ? 0 : decodeCursor(page.cursor, "seq");
  const rows = await db
    .selectFrom("audit_events")
    .selectAll()
    .where("election_id", "=", chain)
    .where("seq", ">", Number(after))
    .orderBy("seq")
    .limit(page.limit + 1)
    .execute();
  const items = rows.slice(0, page.limit).map(toView);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > page.limit && last ? encodeCursor("seq", last.seq) : null };
}

export type ChainFault = "seq_gap" | "prev_hash_mismatch" | "hash_mismatch";

export interface ChainReport {
  ok: boolean;
  events_checked: number;
  head_hash: string | null;
  first_bad_event: { seq: number; id: string; fault: ChainFault; expected_seq?: number } | null;
}

/** Recomputes a chain from its first event, in batches, and names the first event that does not fit. */
export async function verifyAuditChain(db: Executor, chain: string, batchSize = 1000): Promise<ChainReport> {
  let expectedSeq = 1;
  let prevHash: Buffer = GENESIS_HASH;
  let checked = 0;
  while (true) {
    const rows = await db
      .selectFrom("audit_events")
      .selectAll()
      .where("election_id", "=", chain)
      .where("seq", ">=", expectedSeq)
      .orderBy("seq")
      .limit(batchSize)
      .execute();
    for (const row of rows) {
      const bad = (fault: ChainFault): ChainReport => ({
        ok: false,
        events_checked: checked,
        head_hash: null,
        first_bad_event: {
          seq: row.seq,
          id: row.id,
          fault,
          ...(fault === "seq_gap" ? { expected_seq: expectedSeq } : {}),
        },
      });
      if (row.seq !== expectedSeq) return bad("seq_gap");
      if (!row.prev_hash.equals(prevHash)) return bad("prev_hash_mismatch");
      const recomputed = auditEventHash(prevHash, { ...row, occurred_at: new Date(row.occurred_at) });
      if (!recomputed.equals(row.hash)) return bad("hash_mismatch");
      prevHash = row.hash;
      expectedSeq += 1;
      checked += 1;
    }
    if (rows.length < batchSize) break;
  }
  return {
    ok: true,
    events_checked: checked,
    head_hash: checked > 0 ? prevHash.toString("hex") : null,
    first_bad_event: null,
  };
}
