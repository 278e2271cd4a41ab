// Owns the whole check of one election record (SPEC §9): the log (src/verify/verifier.ts) — with the tally key,
// a fresh count compared with the published one — then the published result (src/verify/result-check.ts).
// The offline command and the service's own record verification both call this, so they run the same checks.
import type { ElectionRecord } from "./record-file.js";
import { verifierInputOf } from "./record-file.js";
import { checkRecordResult, type ResultCheckReport } from "./result-check.js";
import { type CryptoWorker, type VerificationReport, verifyElectionLog } from "./verifier.js";

export const REPORT_FORMAT = "suara-verification-report/v1";

export interface RecordVerificationReport {
  format: typeof REPORT_FORMAT;
  /** True only when the log and the result both passed every check. */
  ok: boolean;
  election: { id: string; name: string; status: string };
  /** Whether the ballots were opened and recounted (k shares were given). */
  recounted: boolean;
  log: VerificationReport;
  result: ResultCheckReport;
}

export interface RecordVerificationOptions {
  /** The rebuilt tally secret; with it every ballot is opened, counted and compared with the result. */
  tallySecretKey?: Uint8Array;
  onProgress?: (entriesChecked: number) => void;
  /** Where signatures are verified and ballots opened (e.g. src/verify/crypto-pool.ts); the calling thread by default. */
  cryptoWorker?: CryptoWorker;
  /** Batches kept in flight; a pool says how many keep its threads busy. */
  batchesInFlight?: number;
}

export async function verifyElectionRecord(
  record: ElectionRecord,
  options: RecordVerificationOptions = {},
): Promise<RecordVerificationReport> {
  // The result's counts are read before the entries stream, so the recount is compared with them in one pass;
  // the signature, decision and discrepancies are checked after, against the log's own size and root.
  const preview = checkRecordResult(record.header, record.result, record.approvals, {
    treeSize: 0,
    rootHash: "",
  });
  const input = verifierInputOf(record, options.tallySecretKey, preview.publishedCounts ?? undefined);
  const log = await verifyElectionLog({
    ...input,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.cryptoWorker ? { cryptoWorker: options.cryptoWorker } : {}),
    ...(options.batchesInFlight ? { batchesInFlight: options.batchesInFlight } : {}),
  });
  const result = checkRecordResult(record.header, record.result, record.approvals, log);
  return {
    format: REPORT_FORMAT,
    ok: log.ok && result.ok,
    election: {
      id: record.header.election.id,
      name: record.header.election.name,
      status: record.header.election.status,
    },
    recounted: options.tallySecretKey !== undefined,
    log,
    result,
  };
}
