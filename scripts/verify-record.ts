// `npm run verify-record -- <record.jsonl> [--json report.json]`: the offline verifier (SPEC §9). It needs only
// the record file — no database, no network — and runs every check of src/verify on it: canonical records, seq,
// prev_hash chain, kiosk signatures and revocations, unique ballot ids, Merkle roots against every checkpoint,
// checkpoint signatures and consistency. Prints a report for people, writes one for machines, and exits 1 on any
// failure (2 when the file cannot be read as a record).
import { createReadStream, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { RecordFormatError, readElectionRecord, verifierInputOf } from "../src/verify/record-file.js";
import { formatReport } from "../src/verify/report.js";
import { verifyElectionLog } from "../src/verify/verifier.js";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { json: { type: "string" } } });
const file = positionals[0];
if (!file) {
  process.stderr.write("usage: npm run verify-record -- <record.jsonl> [--json report.json]\n");
  process.exit(2);
}

try {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  const record = await readElectionRecord(lines);
  const tty = process.stderr.isTTY;
  const report = await verifyElectionLog({
    ...verifierInputOf(record),
    onProgress: (n) => {
      if (tty) process.stderr.write(`\r  checked ${n.toLocaleString("en")} entries…`);
    },
  });
  if (tty) process.stderr.write("\n");
  process.stdout.write(`Election: ${record.header.election.name} (${record.header.election.id})\n`);
  process.stdout.write(`${formatReport(report)}\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exit(report.ok ? 0 : 1);
} catch (error) {
  process.stderr.write(
    error instanceof RecordFormatError
      ? `not a readable election record: ${error.message}\n`
      : `${(error as Error).stack}\n`,
  );
  process.exit(2);
}
