// The audit chain's hashing rule, shared by the writer and the checker. An event's hash commits to every
// column and to the previous event's hash, so altering, deleting, inserting or reordering a stored event breaks
// the chain at that event.
import { sha256 } from "../../crypto/hash.js";
import { canonicalJson } from "../../lib/canonical-json.js";

export const SYSTEM_CHAIN = "00000000-0000-0000-0000-000000000000";
export const GENESIS_HASH = Buffer.alloc(32);
const DOMAIN = "suara/audit-event/v1\n";

export interface ChainedFields {
  election_id: string;
  seq: number;
  id: string;
  occurred_at: Date;
  actor_id: string | null;
  actor_role: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

export function auditEventHash(prevHash: Buffer, event: ChainedFields): Buffer {
  const body = canonicalJson({
    action: event.action,
    actor_id: event.actor_id,
    actor_role: event.actor_role,
    details: event.details,
    election_id: event.election_id,
    id: event.id,
    occurred_at: event.occurred_at.toISOString(),
    outcome: event.outcome,
    seq: event.seq,
    target_id: event.target_id,
    target_type: event.target_type,
  });
  return sha256(Buffer.from(DOMAIN, "utf8"), prevHash, Buffer.from(body, "utf8"));
}
