// Owns the human-readable form of a verification report: what a witness reads (and prints beside the berita
// acara). The verdict comes first, then what was checked, then every failure grouped by kind with the seqs or
// checkpoint sizes it names, then the recount when a tally key was given; for a whole record, the published
// result's checks follow (formatRecordReport). Plain text, fixed-width friendly.

import type { RecordVerificationReport } from "./record-verify.js";
import { RESULT_FAILURE_KINDS, type ResultCheckReport, type ResultFailureKind } from "./result-check.js";
import {
  type ElectionCounts,
  FAILURE_KINDS,
  type FailureKind,
  type VerificationFailure,
  type VerificationReport,
} from "./verifier.js";

const KIND_TITLES: Record<FailureKind, string> = {
  malformed_record: "Malformed entries",
  wrong_election: "Entries of another election",
  seq_gap: "Gaps in the seq numbers",
  seq_out_of_order: "Seq numbers out of order",
  prev_hash_mismatch: "Broken prev_hash chain",
  unknown_kiosk: "Entries from kiosks that are not enrolled",
  kiosk_wrong_tps: "Entries from a kiosk enrolled for another TPS",
  kiosk_revoked: "Entries from a kiosk after its revocation",
  unknown_tps: "Entries naming an unknown TPS",
  signature_invalid: "Invalid kiosk signatures",
  duplicate_ballot_id: "Duplicate ballot ids",
  checkpoint_malformed: "Malformed checkpoints",
  checkpoint_signature_invalid: "Checkpoints not signed by a log key",
  checkpoint_wrong_origin: "Checkpoints of another log",
  checkpoint_root_mismatch: "Checkpoint roots that disagree with the entries",
  checkpoint_beyond_log: "Checkpoints beyond the end of the log",
  checkpoints_inconsistent: "Checkpoints of one size with different roots",
  ballot_undecryptable: "Ballots that do not open with the tally key",
  ballot_binding_mismatch: "Ballots bound to another election or ballot",
  counts_mismatch: "Published counts that differ from the recount",
};

const RESULT_KIND_TITLES: Record<ResultFailureKind, string> = {
  result_missing: "No result in the record of a tallied election",
  result_malformed: "A result document that cannot be read",
  result_signature_invalid: "A result document not signed by a log key",
  result_of_another_log: "A result computed over another log",
  result_counts_inconsistent: "Published counts that do not add up",
  result_decision_mismatch: "A winner that does not follow from the counts and the election's rules",
  result_discrepancies_mismatch: "Reconciliation discrepancies that differ from what the numbers imply",
  approval_signature_invalid: "Approvals with a signature that does not verify",
  quorum_not_reached: "Certified without the quorum of approvals",
};

/** The report on a whole election record: the election, the log, then the published result. */
export function formatRecordReport(report: RecordVerificationReport, labels: ReportLabels = {}): string {
  const lines = [
    `Election record verification: ${report.ok ? "OK" : "FAILED"}`,
    `Election: ${report.election.name} (${report.election.id}), ${report.election.status}`,
    report.recounted
      ? "Recount: every ballot opened with the tally key rebuilt from k shares"
      : "Recount: not done (no shares given); the published counts are checked for consistency only",
    "",
    formatReport(report.log, labels).trimEnd(),
    "",
    ...formatResult(report.result),
  ];
  return `${lines.join("\n")}\n`;
}

function formatResult(result: ResultCheckReport): string[] {
  const lines = [
    `Published result: ${result.present ? (result.ok ? "OK" : "FAILED") : "none in the record"}`,
  ];
  if (result.decision !== null) {
    const { winner, rule } = result.decision;
    lines.push(`  Winner: ${winner === null ? "none" : `No. ${winner}`} (rule: ${rule})`);
  }
  if (result.present) {
    const { total, signed, quorum } = result.approvals;
    lines.push(
      `  Approvals: ${total} of the ${quorum} that certify (${signed} with the member's own signature)`,
    );
  }
  for (const kind of RESULT_FAILURE_KINDS) {
    const failures = result.failures.filter((f) => f.kind === kind);
    if (failures.length === 0) continue;
    lines.push("");
    lines.push(`${RESULT_KIND_TITLES[kind]} [${kind}]: ${failures.length}`);
    for (const failure of failures) lines.push(`  - ${failure.message}`);
  }
  return lines;
}

export interface ReportLabels {
  /** How to name a TPS in the recount table (e.g. by its code); by its id when absent. */
  tps?: (tpsId: string) => string;
}

/** A multi-line text report ending with a newline. */
export function formatReport(report: VerificationReport, labels: ReportLabels = {}): string {
  const lines: string[] = [];
  lines.push(`Suara vote log verification: ${report.ok ? "OK" : "FAILED"}`);
  lines.push("");
  lines.push(`Entries checked:      ${report.entriesChecked}`);
  lines.push(`Tree size:            ${report.treeSize}`);
  lines.push(`Checkpoints verified: ${report.checkpointsChecked}`);
  lines.push(`Merkle root:          ${report.rootHash}`);
  lines.push("");
  lines.push(...formatFailures(report));
  if (report.counts !== undefined) {
    lines.push("");
    lines.push(...formatCounts(report.counts, labels.tps ?? ((id) => id)));
  }
  return `${lines.join("\n")}\n`;
}

function formatFailures(report: VerificationReport): string[] {
  if (report.failures.length === 0) return ["Failures: none"];
  const lines = [
    `Failures: ${report.failures.length}${report.failuresTruncated ? " shown; more were found and not listed" : ""}`,
  ];
  const byKind = new Map<FailureKind, VerificationFailure[]>();
  for (const failure of report.failures) {
    const list = byKind.get(failure.kind) ?? [];
    list.push(failure);
    byKind.set(failure.kind, list);
  }
  for (const kind of FAILURE_KINDS) {
    const failures = byKind.get(kind);
    if (failures === undefined) continue;
    lines.push("");
    lines.push(`${KIND_TITLES[kind]} [${kind}]: ${failures.length}`);
    const where = locations(failures);
    if (where !== "") lines.push(`  at ${where}`);
    for (const failure of failures) lines.push(`  - ${label(failure)}${failure.message}`);
  }
  return lines;
}

function label(failure: VerificationFailure): string {
  if (failure.seq !== null) return `seq ${failure.seq}: `;
  if (failure.checkpointSize !== undefined) return `checkpoint size ${failure.checkpointSize}: `;
  return "";
}

/** "seq 3, 7–9; checkpoint size 150": consecutive seqs folded into ranges. */
function locations(failures: readonly VerificationFailure[]): string {
  const seqs = failures.flatMap((failure) => (failure.seq === null ? [] : [failure.seq]));
  const sizes = failures.flatMap((failure) =>
    failure.seq === null && failure.checkpointSize !== undefined ? [failure.checkpointSize] : [],
  );
  const parts: string[] = [];
  if (seqs.length > 0) parts.push(`seq ${ranges(seqs)}`);
  if (sizes.length > 0) parts.push(`checkpoint size ${ranges(sizes)}`);
  return parts.join("; ");
}

function ranges(values: readonly number[]): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const out: string[] = [];
  let start = sorted[0];
  let end = start;
  for (const value of sorted.slice(1)) {
    if (end !== undefined && value === end + 1) {
      end = value;
      continue;
    }
    if (start !== undefined) out.push(start === end ? `${start}` : `${start}–${end}`);
    start = value;
    end = value;
  }
  if (start !== undefined) out.push(start === end ? `${start}` : `${start}–${end}`);
  return out.join(", ");
}

function formatCounts(counts: ElectionCounts, tpsLabel: (tpsId: string) => string): string[] {
  const candidates = Object.keys(counts.perCandidate).sort((a, b) => Number(a) - Number(b));
  const header = ["", ...candidates.map((number) => `No. ${number}`), "Blank", "Invalid", "Ballots"];
  const rows: string[][] = [];
  const byLabel = Object.entries(counts.perTps).sort(([a], [b]) => tpsLabel(a).localeCompare(tpsLabel(b)));
  for (const [tpsId, tps] of byLabel) {
    rows.push([
      `TPS ${tpsLabel(tpsId)}`,
      ...candidates.map((number) => String(tps.perCandidate[number] ?? 0)),
      String(tps.blank),
      String(tps.invalid),
      String(tps.ballots),
    ]);
  }
  rows.push([
    "Total",
    ...candidates.map((number) => String(counts.perCandidate[number] ?? 0)),
    String(counts.blank),
    String(counts.invalid),
    String(counts.ballots),
  ]);
  const table = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? "").length)));
  const render = (row: readonly string[]): string =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [
    "Recount (blank = suara kosong, invalid = tidak sah):",
    render(header),
    rule,
    ...rows.slice(0, -1).map(render),
    rule,
    render(rows[rows.length - 1] ?? []),
  ];
}
