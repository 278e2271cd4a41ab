// Owns the checks of the published result in an election record (SPEC §8, §9), trusting nothing the service
// says: the result document is canonical JSON signed by one of the log keys; it was computed over exactly this
// log (election, origin, tree size, root); its counts add up and cover this election's candidates and TPS; its
// decision is what the election's own tie-break rules (src/modules/tally/winner.ts, pure) give for its counts;
// its discrepancies are exactly what its reconciliation implies; every approval signature verifies over the
// document; a certified election has its quorum of approvals. Whether the counts equal a fresh count needs the
// tally key and is the log verifier's `counts_mismatch` (src/verify/verifier.ts, given the document's counts).
//
// Besides src/crypto/, this reads two pure modules of the service — canonical JSON and the winner rules — so
// that the offline verifier decides the winner with the very code the service uses; neither touches a database.
import { z } from "zod";
import { verifyEd25519 } from "../crypto/ed25519.js";
import { canonicalJson } from "../lib/canonical-json.js";
import { type Decision, decideWinner } from "../modules/tally/winner.js";
import type { RecordApproval, RecordHeader, RecordReconciliation, RecordResult } from "./record-file.js";
import type { ElectionCounts, VerificationReport } from "./verifier.js";

export const RESULT_FORMAT = "suara-result/v1";

export type ResultFailureKind =
  | "result_missing"
  | "result_malformed"
  | "result_signature_invalid"
  | "result_of_another_log"
  | "result_counts_inconsistent"
  | "result_decision_mismatch"
  | "result_discrepancies_mismatch"
  | "approval_signature_invalid"
  | "quorum_not_reached";

/** Every kind in the order a report lists them. */
export const RESULT_FAILURE_KINDS: readonly ResultFailureKind[] = [
  "result_missing",
  "result_malformed",
  "result_signature_invalid",
  "result_of_another_log",
  "result_counts_inconsistent",
  "result_decision_mismatch",
  "result_discrepancies_mismatch",
  "approval_signature_invalid",
  "quorum_not_reached",
];

export interface ResultFailure {
  kind: ResultFailureKind;
  message: string;
}

export interface ResultCheckReport {
  /** False when the record holds no result (an election not yet tallied). */
  present: boolean;
  ok: boolean;
  failures: ResultFailure[];
  /** The document's counts, when it could be read: what the recount is compared with. */
  publishedCounts: ElectionCounts | null;
  decision: Decision | null;
  approvals: { total: number; signed: number; quorum: number };
}

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const perCandidate = z.record(z.string().regex(/^[1-9][0-9]{0,2}$/), count);
const tpsCounts = z.strictObject({ perCandidate, blank: count, invalid: count, ballots: count });
const documentSchema = z.strictObject({
  format: z.literal(RESULT_FORMAT),
  election_id: z.string(),
  origin: z.string(),
  tree_size: count,
  root_hash: z.string(),
  verified: z.boolean(),
  counts: z.strictObject({
    perCandidate,
    blank: count,
    invalid: count,
    perTps: z.record(z.string(), tpsCounts),
    ballots: count,
  }),
  decision: z.record(z.string(), z.unknown()),
  discrepancies: z.array(z.string()),
});

/** The certification quorum: as configured, or a majority of the committee (as certify.service.ts). */
export function quorumOf(configured: number | null, committee: number): number {
  return configured ?? Math.floor(committee / 2) + 1;
}

/**
 * Checks the record's result against its log (`log`: the tree size and root the entries gave, and the recount
 * when the ballots were opened). With a recount that differs from the published counts, the decision is also
 * compared with the one the recount gives, so the report says whether the difference changes the outcome.
 */
export function checkRecordResult(
  header: RecordHeader,
  result: RecordResult | null,
  approvals: readonly RecordApproval[],
  log: Pick<VerificationReport, "treeSize" | "rootHash" | "counts">,
): ResultCheckReport {
  const failures: ResultFailure[] = [];
  const fail = (kind: ResultFailureKind, message: string): void => {
    failures.push({ kind, message });
  };
  const quorum = quorumOf(header.election.certification_quorum, header.election.committee_size);
  const summary = {
    total: approvals.length,
    signed: approvals.filter((a) => a.signature !== null).length,
    quorum,
  };
  const done = (publishedCounts: ElectionCounts | null, decision: Decision | null): ResultCheckReport => ({
    present: result !== null,
    ok: failures.length === 0,
    failures,
    publishedCounts,
    decision,
    approvals: summary,
  });

  if (result === null) {
    if (header.election.status === "tallied" || header.election.status === "certified") {
      fail("result_missing", `the election is ${header.election.status} but the record holds no result`);
    }
    return done(null, null);
  }

  // The service's signature over the document's exact bytes, under any of the log keys.
  const documentBytes = Buffer.from(result.document, "utf8");
  const signature = Buffer.from(result.service_signature, "base64");
  const signed =
    signature.toString("base64") === result.service_signature &&
    signature.length === 64 &&
    header.log_public_keys.some((key) => verifyEd25519(signature, documentBytes, Buffer.from(key, "base64")));
  if (!signed) fail("result_signature_invalid", "the result document is not signed by any of the log keys");

  for (const approval of approvals) {
    if (approval.signature === null || approval.public_key === null) continue;
    const ok = verifyEd25519(
      Buffer.from(approval.signature, "base64"),
      documentBytes,
      Buffer.from(approval.public_key, "base64"),
    );
    if (!ok) {
      fail(
        "approval_signature_invalid",
        `the approval of ${approval.display_name} carries a signature that does not verify over the result document`,
      );
    }
  }
  if (header.election.status === "certified" && approvals.length < quorum) {
    fail("quorum_not_reached", `certified with ${approvals.length} approvals; the quorum is ${quorum}`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(result.document);
  } catch {
    fail("result_malformed", "the result document is not JSON");
    return done(null, null);
  }
  const read = documentSchema.safeParse(parsed);
  if (!read.success) {
    const issue = read.error.issues[0];
    fail(
      "result_malformed",
      `the result document is not a ${RESULT_FORMAT} document${issue ? ` (${issue.path.join(".")}: ${issue.message})` : ""}`,
    );
    return done(null, null);
  }
  if (canonicalJson(parsed) !== result.document)
    fail("result_malformed", "the result document is not canonical JSON");
  const document = read.data;
  const counts: ElectionCounts = document.counts;

  // Computed over exactly this log.
  const claims: Array<[string, unknown, unknown]> = [
    ["election", document.election_id, header.election.id],
    ["origin", document.origin, header.origin],
    ["tree size", document.tree_size, log.treeSize],
    ["root hash", document.root_hash, log.rootHash],
  ];
  for (const [what, claimed, actual] of claims) {
    if (claimed !== actual) {
      fail(
        "result_of_another_log",
        `the result names ${what} ${String(claimed)}; this record has ${String(actual)}`,
      );
    }
  }

  for (const problem of countProblems(counts, header, log.treeSize))
    fail("result_counts_inconsistent", problem);

  // The decision the election's own rules give for the published counts.
  const expected = decideWinner(counts, tpsFacts(header), header.election.tie_break);
  if (canonicalJson(expected) !== canonicalJson(document.decision)) {
    fail(
      "result_decision_mismatch",
      `the result decides ${describe(document.decision)}; the election's rules give ${describe(expected)} for its counts`,
    );
  }

  if (log.counts !== undefined && canonicalJson(log.counts) !== canonicalJson(counts)) {
    const recounted = decideWinner(log.counts, tpsFacts(header), header.election.tie_break);
    if (canonicalJson(recounted) !== canonicalJson(document.decision)) {
      fail(
        "result_decision_mismatch",
        `the result decides ${describe(document.decision)}; the recount gives ${describe(recounted)}`,
      );
    }
  }

  const implied = discrepanciesOf(result.reconciliation, counts, header);
  const stated = [...document.discrepancies].sort();
  if (canonicalJson(implied.sort()) !== canonicalJson(stated)) {
    fail(
      "result_discrepancies_mismatch",
      `the result states discrepancies ${JSON.stringify(stated)}; its reconciliation implies ${JSON.stringify(implied)}`,
    );
  }
  if (canonicalJson([...result.reconciliation.discrepancies].sort()) !== canonicalJson(stated)) {
    fail(
      "result_discrepancies_mismatch",
      "the reconciliation's discrepancies differ from the signed document's",
    );
  }

  return done(counts, document.decision as unknown as Decision);
}

function describe(decision: Record<string, unknown> | Decision): string {
  const d = decision as { winner?: unknown; rule?: unknown };
  return `winner ${d.winner === null ? "none" : String(d.winner)} by ${String(d.rule)}`;
}

/** Registered voters (DPT + DPK) and area per TPS, as the tally gives them to decideWinner. */
function tpsFacts(header: RecordHeader) {
  return {
    registered: Object.fromEntries(header.tps.map((t) => [t.id, t.registered])),
    area: Object.fromEntries(header.tps.map((t) => [t.id, t.area])),
  };
}

/** Whether the counts add up, per TPS and in total, over this election's candidates, TPS and log size. */
function countProblems(counts: ElectionCounts, header: RecordHeader, treeSize: number): string[] {
  const problems: string[] = [];
  const candidates = new Set(header.candidates.map((c) => String(c.ballot_number)));
  const tpsIds = new Set(header.tps.map((t) => t.id));
  const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
  const checkCandidates = (where: string, values: Record<string, number>) => {
    for (const key of Object.keys(values)) {
      if (!candidates.has(key)) problems.push(`${where}: candidate ${key} is not on the ballot`);
    }
  };
  checkCandidates("total", counts.perCandidate);
  if (sum(counts.perCandidate) + counts.blank + counts.invalid !== counts.ballots) {
    problems.push("total: candidates + blank + invalid ≠ ballots");
  }
  const totals = { ballots: 0, blank: 0, invalid: 0, perCandidate: {} as Record<string, number> };
  for (const [tpsId, tps] of Object.entries(counts.perTps)) {
    if (!tpsIds.has(tpsId)) problems.push(`TPS ${tpsId} is not a TPS of this election`);
    checkCandidates(`TPS ${tpsId}`, tps.perCandidate);
    if (sum(tps.perCandidate) + tps.blank + tps.invalid !== tps.ballots) {
      problems.push(`TPS ${tpsId}: candidates + blank + invalid ≠ ballots`);
    }
    totals.ballots += tps.ballots;
    totals.blank += tps.blank;
    totals.invalid += tps.invalid;
    for (const [c, n] of Object.entries(tps.perCandidate))
      totals.perCandidate[c] = (totals.perCandidate[c] ?? 0) + n;
  }
  if (
    totals.ballots !== counts.ballots ||
    totals.blank !== counts.blank ||
    totals.invalid !== counts.invalid
  ) {
    problems.push("the TPS counts do not add up to the totals");
  }
  for (const c of new Set([...Object.keys(totals.perCandidate), ...Object.keys(counts.perCandidate)])) {
    if ((totals.perCandidate[c] ?? 0) !== (counts.perCandidate[c] ?? 0)) {
      problems.push(`candidate ${c}: the TPS counts do not add up to the total`);
    }
  }
  if (counts.ballots !== treeSize) {
    problems.push(`${counts.ballots} ballots counted but the log has ${treeSize} entries`);
  }
  return problems;
}

/**
 * SPEC §8's reconciliation inequalities, worded as the tally words them (tally.service.ts reconcile), from the
 * record's per-TPS numbers and the published ballots per TPS.
 */
export function discrepanciesOf(
  reconciliation: RecordReconciliation,
  counts: ElectionCounts,
  header: RecordHeader,
): string[] {
  const codeOf = new Map(header.tps.map((t) => [t.id, t.code]));
  const out: string[] = [];
  for (const r of reconciliation.per_tps) {
    const at = `TPS ${codeOf.get(r.tps_id) ?? r.tps_id}`;
    const ballots = counts.perTps[r.tps_id]?.ballots ?? 0;
    if (r.registered + r.dpk < r.checked_in)
      out.push(`${at}: ${r.checked_in} checked in but only ${r.registered + r.dpk} on the roll`);
    if (r.tokens_issued !== r.tokens_redeemed + r.tokens_voided + r.tokens_expired) {
      out.push(`${at}: tokens issued ${r.tokens_issued} ≠ redeemed + voided + expired`);
    }
    if (r.tokens_issued < r.checked_in)
      out.push(`${at}: ${r.checked_in} checked in but only ${r.tokens_issued} tokens issued`);
    if (ballots !== r.tokens_redeemed)
      out.push(`${at}: ${ballots} ballots in the log but ${r.tokens_redeemed} tokens redeemed`);
  }
  return out;
}
