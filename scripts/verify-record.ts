// The offline verifier (SPEC §9): `npm run verify-record -- <record.jsonl> [--share f]… [--json report.json]`,
// or `npx suara-verify-record …` from the package. It needs only the record file — no database, no network —
// and runs every check of src/verify on it: the log (canonical records, seq, prev_hash chain, kiosk signatures
// and revocations, unique ballot ids, Merkle roots against every checkpoint, checkpoint signatures and
// consistency) and the published result (the service's signature, that it was computed over this log, that its
// counts add up and its winner follows from them under the election's rules, the approvals and the quorum).
// With k share files the tally key is rebuilt in memory, checked against the record's tally public key, every
// ballot is opened and recounted and compared with the published counts, and the key is wiped. Signatures are
// verified and ballots opened in a pool of worker threads, one per core (--threads to choose).
//
// Output: the human report on stdout, a progress bar on stderr when it is a terminal, the JSON report with
// --json. Exit codes: 0 every check passed; 1 a check failed (the report names each failure); 2 the input
// cannot be used — unreadable record, bad share files, fewer than k shares, or shares that do not rebuild the
// key (nothing of a share or a key is ever printed); 3 the verifier itself failed (a bug: please report it).
import { createReadStream, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { wipe } from "../src/crypto/tally-key.js";
import { createCryptoPool } from "../src/verify/crypto-pool.js";
import { RecordFormatError, readElectionRecord, recordLines } from "../src/verify/record-file.js";
import { verifyElectionRecord } from "../src/verify/record-verify.js";
import { formatRecordReport } from "../src/verify/report.js";
import { readShareFile, recombineShareFiles, ShareError } from "../src/verify/share-file.js";
import { progressBar } from "./lib/progress-bar.js";

const USAGE = `usage: suara-verify-record <record.jsonl> [--share share.json]… [--json report.json]

  --share FILE   a tally-key holder's share file (scripts/holder-share.ts); give k of them to recount
  --json FILE    also write the report as JSON
  --threads N    worker threads for signatures and ballots (default: every core)
exit codes: 0 verified, 1 a check failed, 2 the input cannot be used, 3 internal error
`;

/** Exit 2: the input cannot be used. */
class InputError extends Error {}

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        json: { type: "string" },
        share: { type: "string", multiple: true },
        threads: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new InputError((error as Error).message);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine();
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new InputError("give exactly one record file");
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new InputError("--threads takes a whole number from 1 to 256");
  }

  const shares = (values.share ?? []).map((name) => {
    let text: string;
    try {
      text = readFileSync(name, "utf8");
    } catch (error) {
      throw new ShareError(
        `cannot read share file ${name}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      );
    }
    return { name, share: readShareFile(text, name) };
  });

  const record = await readElectionRecord(recordLines(createReadStream(file)));
  const secret = shares.length > 0 ? await recombineShareFiles(shares, record.header.tally_key) : undefined;
  const bar = progressBar(record.claimedTreeSize, "entries");
  let report: Awaited<ReturnType<typeof verifyElectionRecord>>;
  const pool = createCryptoPool(threads === undefined ? {} : { threads });
  try {
    report = await verifyElectionRecord(record, {
      ...(secret ? { tallySecretKey: secret } : {}),
      onProgress: (n) => bar.update(n),
      cryptoWorker: pool,
      batchesInFlight: pool.batchesInFlight,
    });
  } catch (error) {
    bar.abort();
    throw error;
  } finally {
    if (secret) wipe(secret);
    await pool.close();
  }
  bar.finish(report.log.entriesChecked);
  const codes = new Map(record.header.tps.map((t) => [t.id, t.code]));
  process.stdout.write(formatRecordReport(report, { tps: (id) => codes.get(id) ?? id }));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof InputError) {
    process.stderr.write(`${error.message}\n${USAGE}`);
  } else if (error instanceof RecordFormatError) {
    process.stderr.write(`not a readable election record: ${error.message}\n`);
  } else if (error instanceof ShareError) {
    process.stderr.write(`shares refused: ${error.message}\n`);
  } else if (
    (error as NodeJS.ErrnoException).code === "ENOENT" ||
    (error as NodeJS.ErrnoException).code === "EISDIR"
  ) {
    process.stderr.write(`cannot read the record: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(
      `the verifier failed (please report this): ${(error as Error).stack ?? String(error)}\n`,
    );
    process.exitCode = 3;
  }
  process.exitCode ??= 2;
}
