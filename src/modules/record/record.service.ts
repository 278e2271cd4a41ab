// The election record (SPEC §9): everything a witness needs to re-check the election and its result offline,
// trusting nothing the service says, and nothing personal or secret — the election with its tie-break rules and
// certification quorum, candidates, TPS with areas and roll counts, kiosks' public keys with their revocations,
// the log's keys and origin, the tally public key with k of n, every checkpoint, the service-signed result
// document with its reconciliation, the committee's approvals (with their signatures when given) and every log
// entry — written as JSON Lines (src/verify/record-file.ts reads it; docs/record-format.md, appendix A).
// verifyStoredElection is the service's own check of an election as stored: the very record a witness would
// download, read back through the same reader and verifier as the offline command.

import type { Db } from "../../db/database.js";
import {
  RECORD_FORMAT,
  type RecordApproval,
  type RecordHeader,
  type RecordResult,
  readElectionRecord,
} from "../../verify/record-file.js";
import { type RecordVerificationReport, verifyElectionRecord } from "../../verify/record-verify.js";
import { getElection, tieBreakOf } from "../elections/elections.service.js";
import { type LogKeyring, listLogKeys, logOrigin } from "../log/log.keys.js";
import { logEntryPages } from "../log/log.service.js";
import { rollSummary } from "../roll/roll.service.js";

const line = (value: unknown): string => `${JSON.stringify(value)}\n`;

/** The record's lines, streamed: entries are read from the database a page at a time. */
export async function* electionRecordLines(
  db: Db,
  keyring: LogKeyring,
  electionId: string,
): AsyncIterable<string> {
  const election = await getElection(db, electionId);
  const [candidates, roll, tps, kiosks, tallyKey, committee, logKeys] = await Promise.all([
    db
      .selectFrom("candidates")
      .select(["ballot_number", "name"])
      .where("election_id", "=", electionId)
      .orderBy("ballot_number")
      .execute(),
    rollSummary(db, electionId),
    db.selectFrom("tps").select(["id", "area"]).where("election_id", "=", electionId).execute(),
    db
      .selectFrom("kiosks")
      .select(["tps_id", "label", "public_key", "key_id", "revoked_at_log_size"])
      .where("election_id", "=", electionId)
      .orderBy("key_id")
      .execute(),
    db
      .selectFrom("tally_keys")
      .select(["public_key", "threshold", "holders"])
      .where("election_id", "=", electionId)
      .executeTakeFirst(),
    db
      .selectFrom("memberships")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("election_id", "=", electionId)
      .where("role", "=", "committee")
      .executeTakeFirstOrThrow(),
    listLogKeys(db),
  ]);
  const areaOf = new Map(tps.map((t) => [t.id, t.area]));
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
      tie_break: tieBreakOf(election),
      certification_quorum: election.certification_quorum,
      committee_size: Number(committee.n),
    },
    origin: logOrigin(keyring, electionId),
    log_public_keys: logKeys.map((k) => k.publicKey.toString("base64")),
    tally_key: tallyKey
      ? {
          public_key: tallyKey.public_key.toString("base64"),
          threshold: tallyKey.threshold,
          holders: tallyKey.holders,
        }
      : null,
    candidates,
    tps: roll.tps.map((t) => ({
      id: t.tps_id,
      code: t.code,
      name: t.name,
      area: areaOf.get(t.tps_id) ?? null,
      registered: t.registered,
      dpk: t.dpk,
    })),
    kiosks: kiosks.map((k) => ({
      tps_id: k.tps_id,
      label: k.label,
      public_key: k.public_key.toString("base64"),
      key_id: k.key_id.toString("hex"),
      revoked_at_log_size: k.revoked_at_log_size === null ? null : Number(k.revoked_at_log_size),
    })),
  };
  yield line(header);

  const checkpoints = await db
    .selectFrom("log_checkpoints")
    .select(["tree_size", "note"])
    .where("election_id", "=", electionId)
    .orderBy("tree_size")
    .execute();
  for (const c of checkpoints)
    yield line({ type: "checkpoint", tree_size: Number(c.tree_size), note: c.note });

  const result = await db
    .selectFrom("results")
    .select(["document", "service_signature", "reconciliation"])
    .where("election_id", "=", electionId)
    .executeTakeFirst();
  if (result) {
    const resultLine: RecordResult = {
      type: "result",
      document: result.document,
      service_signature: result.service_signature,
      reconciliation: result.reconciliation as unknown as RecordResult["reconciliation"],
    };
    yield line(resultLine);
    const approvals = await db
      .selectFrom("result_approvals")
      .innerJoin("users", "users.id", "result_approvals.user_id")
      .select([
        "users.display_name",
        "result_approvals.approved_at",
        "result_approvals.public_key",
        "result_approvals.signature",
      ])
      .where("result_approvals.election_id", "=", electionId)
      .orderBy("result_approvals.approved_at")
      .orderBy("users.display_name")
      .execute();
    for (const a of approvals) {
      const approval: RecordApproval = {
        type: "approval",
        display_name: a.display_name,
        approved_at: new Date(a.approved_at).toISOString(),
        public_key: a.public_key?.toString("base64") ?? null,
        signature: a.signature?.toString("base64") ?? null,
      };
      yield line(approval);
    }
  }

  for await (const page of logEntryPages(db, electionId)) {
    yield page
      .map((r) => line({ type: "entry", seq: Number(r.seq), leaf: r.leaf.toString("base64") }))
      .join("");
  }
}

/** Runs every record check on the election as stored; with the tally secret, recounts too. */
export async function verifyStoredElection(
  db: Db,
  keyring: LogKeyring,
  electionId: string,
  tallySecretKey?: Uint8Array,
): Promise<RecordVerificationReport> {
  const record = await readElectionRecord(recordLinesOf(electionRecordLines(db, keyring, electionId)));
  return verifyElectionRecord(record, tallySecretKey ? { tallySecretKey } : {});
}

/** The record's chunks, one line at a time. */
async function* recordLinesOf(chunks: AsyncIterable<string>): AsyncIterable<string> {
  for await (const chunk of chunks) {
    for (const text of chunk.split("\n")) if (text !== "") yield text;
  }
}
