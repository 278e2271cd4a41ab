// SPEC §8, §9: a witness checks the published result in the record without trusting the service — its
// signature, that it belongs to this log, that its counts add up, that the winner follows from them under the
// election's own rules, its discrepancies, the approvals and the quorum — and, with the tally key, that it
// equals a fresh count.
import { describe, expect, it } from "vitest";
import { generateEd25519KeyPair, signEd25519 } from "../../../src/crypto/ed25519.js";
import { canonicalJson } from "../../../src/lib/canonical-json.js";
import { decideWinner } from "../../../src/modules/tally/winner.js";
import { readElectionRecord } from "../../../src/verify/record-file.js";
import { verifyElectionRecord } from "../../../src/verify/record-verify.js";
import { formatRecordReport } from "../../../src/verify/report.js";
import type { ResultFailureKind } from "../../../src/verify/result-check.js";
import type { ElectionCounts } from "../../../src/verify/verifier.js";
import { asLines, buildElectionRecord, type SyntheticRecord } from "./record-fixture.js";

const shared = buildElectionRecord();
const RESULT_LINE = shared.lines.findIndex((line) => line.startsWith('{"type":"result"'));

async function verify(lines: readonly string[], withKey = false) {
  const record = await readElectionRecord(asLines(lines));
  return verifyElectionRecord(record, withKey ? { tallySecretKey: shared.election.tallyKey.secretKey } : {});
}

/** The record with its result line changed; `resign` signs the new document with the log key. */
function withResult(
  fixture: SyntheticRecord,
  change: (result: Record<string, unknown>, document: Record<string, unknown>) => void,
  resign = true,
): string[] {
  const lines = [...fixture.lines];
  const result = JSON.parse(lines[RESULT_LINE] as string);
  const document = JSON.parse(result.document);
  change(result, document);
  const text = canonicalJson(document);
  if (text !== result.document) {
    result.document = text;
    if (resign) result.service_signature = fixture.sign(text);
  }
  lines[RESULT_LINE] = JSON.stringify(result);
  return lines;
}

function factsOf(fixture: SyntheticRecord) {
  return {
    registered: Object.fromEntries(fixture.header.tps.map((t) => [t.id, t.registered])),
    area: Object.fromEntries(fixture.header.tps.map((t) => [t.id, t.area])),
  };
}

function kinds(report: Awaited<ReturnType<typeof verify>>): ResultFailureKind[] {
  return report.result.failures.map((f) => f.kind);
}

describe("the published result in a record", () => {
  it("passes every check, with and without the tally key, and the recount equals it", async () => {
    const audit = await verify(shared.lines);
    expect(audit.result.failures).toEqual([]);
    expect(audit.log.failures).toEqual([]);
    expect(audit).toMatchObject({ ok: true, recounted: false, result: { present: true, ok: true } });
    const recount = await verify(shared.lines, true);
    expect(recount).toMatchObject({ ok: true, recounted: true });
    expect(recount.log.counts).toEqual(shared.election.expectedCounts);
    expect(recount.result.approvals).toEqual({ total: 2, signed: 1, quorum: 2 });
    expect(formatRecordReport(recount)).toMatch(/^Election record verification: OK\n/);
  });

  it("is refused when the document is not signed by a log key", async () => {
    const lines = withResult(shared, (result) => {
      const intruder = generateEd25519KeyPair();
      result.service_signature = signEd25519(
        Buffer.from(result.document as string, "utf8"),
        intruder.secretKey,
      ).toString("base64");
    });
    const report = await verify(lines);
    expect(kinds(report)).toEqual(["result_signature_invalid"]);
    expect(report.ok).toBe(false);
  });

  it("names a document changed after it was signed", async () => {
    const lines = withResult(shared, (_r, document) => (document.verified = false), false);
    expect(kinds(await verify(lines))).toContain("result_signature_invalid");
  });

  it("names a winner that does not follow from the counts under the election's rules, though signed", async () => {
    const lines = withResult(shared, (_r, document) => {
      const decision = document.decision as { winner: number };
      decision.winner = decision.winner === 1 ? 2 : 1;
    });
    const report = await verify(lines);
    // The member signed the document before it was changed, so their approval no longer verifies either.
    expect(kinds(report)).toEqual(["approval_signature_invalid", "result_decision_mismatch"]);
    expect(report.result.failures[1]?.message).toMatch(/the election's rules give winner \d by most_votes/);
  });

  it("names counts that do not add up, and a count of another size than the log", async () => {
    const lines = withResult(shared, (_r, document) => {
      const counts = document.counts as ElectionCounts;
      counts.blank += 1;
    });
    const report = await verify(lines);
    expect(kinds(report)).toContain("result_counts_inconsistent");
    const messages = report.result.failures.map((f) => f.message).join("\n");
    expect(messages).toMatch(/total: candidates \+ blank \+ invalid ≠ ballots/);
    expect(messages).toMatch(/the TPS counts do not add up to the totals/);
  });

  it("finds a vote moved between candidates, consistent and signed, only by the recount", async () => {
    const lines = withResult(shared, (_r, document) => {
      const counts = document.counts as ElectionCounts;
      const tps = Object.values(counts.perTps)[0] as ElectionCounts["perTps"][string];
      for (const where of [counts.perCandidate, tps.perCandidate]) {
        where["1"] = (where["1"] ?? 0) - 1;
        where["3"] = (where["3"] ?? 0) + 1;
      }
      const { registered, area } = factsOf(shared);
      document.decision = decideWinner(counts, { registered, area }, shared.header.election.tie_break);
    });
    // Without the key only the member's approval, signed over the true document, gives it away.
    const audit = await verify(lines);
    expect(audit.log.ok).toBe(true);
    expect(kinds(audit)).toEqual(["approval_signature_invalid"]);
    const withKey = await verify(lines, true);
    expect(withKey.ok).toBe(false);
    expect(withKey.log.failures).toContainEqual(
      expect.objectContaining({ kind: "counts_mismatch", seq: null }),
    );
    expect(withKey.log.failures.find((f) => f.kind === "counts_mismatch")?.message).toMatch(
      /candidate 1: published \d+, recounted \d+; candidate 3: published/,
    );
    // The recount's own decision (same winner, other evidence) is set against the published one.
    expect(withKey.result.failures.find((f) => f.kind === "result_decision_mismatch")?.message).toMatch(
      /; the recount gives winner 1 by most_votes$/,
    );
  });

  it("names a result computed over another log", async () => {
    const lines = withResult(shared, (_r, document) => (document.tree_size = 23));
    const report = await verify(lines);
    expect(kinds(report)).toContain("result_of_another_log");
    expect(report.result.failures.find((f) => f.kind === "result_of_another_log")?.message).toBe(
      "the result names tree size 23; this record has 24",
    );
  });

  it("names discrepancies the reconciliation implies but the document leaves out", async () => {
    const lines = withResult(shared, (result) => {
      const reconciliation = result.reconciliation as { per_tps: Array<{ tokens_voided: number }> };
      (reconciliation.per_tps[0] as { tokens_voided: number }).tokens_voided = 1;
    });
    const report = await verify(lines);
    expect(kinds(report)).toEqual(["result_discrepancies_mismatch"]);
    expect(report.result.failures[0]?.message).toContain("TPS 001: tokens issued");
  });

  it("names an approval whose member signature does not verify, and certification short of the quorum", async () => {
    const lines = [...shared.lines];
    const at = lines.findIndex((line) => line.includes('"type":"approval"'));
    const approval = JSON.parse(lines[at] as string);
    approval.signature = signEd25519(
      Buffer.from("something else"),
      generateEd25519KeyPair().secretKey,
    ).toString("base64");
    lines[at] = JSON.stringify(approval);
    lines.splice(at + 1, 1);
    const report = await verify(lines);
    expect(kinds(report)).toEqual(["approval_signature_invalid", "quorum_not_reached"]);
    expect(report.result.failures[1]?.message).toBe("certified with 1 approvals; the quorum is 2");
  });

  it("names a tallied election whose record holds no result", async () => {
    const lines = shared.lines.filter((line) => !/^\{"type":"(result|approval)"/.test(line));
    const report = await verify(lines);
    expect(kinds(report)).toEqual(["result_missing"]);
    expect(formatRecordReport(report)).toContain("[result_missing]");
  });
});
