// The election record (SPEC §9): everything a witness needs to re-check the election offline and nothing
// personal or secret — the election, candidates, TPS with roll counts, kiosks' public keys, the log's keys and
// origin, every checkpoint and every log entry — written as JSON Lines (src/verify/record-file.ts reads it).

import type { Db } from "../../db/database.js";
import { RECORD_FORMAT, type RecordHeader } from "../../verify/record-file.js";
import { getElection } from "../elections/elections.service.js";
import { type LogKeyring, listLogKeys, logOrigin } from "../log/log.keys.js";
import { logEntryPages } from "../log/log.service.js";
import { rollSummary } from "../roll/roll.service.js";

/** The record's lines, streamed: entries are read from the database a page at a time. */
export async function* electionRecordLines(
  db: Db,
  keyring: LogKeyring,
  electionId: string,
): AsyncIterable<string> {
  const election = await getElection(db, electionId);
  const candidates = await db
    .selectFrom("candidates")
    .select(["ballot_number", "name"])
    .where("election_id", "=", electionId)
    .orderBy("ballot_number")
    .execute();
  const roll = await rollSummary(db, electionId);
  const kiosks = await db
    .selectFrom("kiosks")
    .select(["tps_id", "public_key", "key_id", "revoked_at_log_size"])
    .where("election_id", "=", electionId)
    .orderBy("key_id")
    .execute();
  const header: RecordHeader = {
    type: "header",
    format: RECORD_FORMAT,
    election: {
      id: election.id,
      name: election.name,
      village_name: election.village_name,
      region_code: election.region_code,
      voting_day: election.voting_day,
      time_zone: election.time_zone,
      status: election.status,
    },
    origin: logOrigin(keyring, electionId),
    log_public_keys: (await listLogKeys(db)).map((k) => k.publicKey.toString("base64")),
    candidates,
    tps: roll.tps.map((t) => ({ id: t.tps_id, code: t.code, name: t.name, registered: t.registered })),
    kiosks: kiosks.map((k) => ({
      tps_id: k.tps_id,
      public_key: k.public_key.toString("base64"),
      key_id: k.key_id.toString("hex"),
      revoked_at_log_size: k.revoked_at_log_size,
    })),
  };
  yield `${JSON.stringify(header)}\n`;
  const checkpoints = await db
    .selectFrom("log_checkpoints")
    .select(["tree_size", "note"])
    .where("election_id", "=", electionId)
    .orderBy("tree_size")
    .execute();
  for (const c of checkpoints)
    yield `${JSON.stringify({ type: "checkpoint", tree_size: c.tree_size, note: c.note })}\n`;
  for await (const page of logEntryPages(db, electionId)) {
    yield page
      .map((r) => `${JSON.stringify({ type: "entry", seq: r.seq, leaf: r.leaf.toString("base64") })}\n`)
      .join("");
  }
}
