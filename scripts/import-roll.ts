// `npm run import-roll -- --election <id> --as <username> [--mode partial] [--dry-run] [--encoding windows-1252]
//   [--report report.json] <file.csv>`: imports a voter roll of any size through the same code path as
// POST /elections/{id}/roll, straight from a file, with no upload limit. It connects to DATABASE_URL (or the
// embedded PostgreSQL), acts as the named committee member or administrator, and prints the report.
import { createReadStream, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/setup.js";
import { AppError } from "../src/lib/errors.js";
import type { Actor } from "../src/modules/audit/audit.service.js";
import { importRoll } from "../src/modules/roll/roll.import.js";

const usage =
  "usage: npm run import-roll -- --election <uuid> --as <username> [--mode all-or-nothing|partial] [--dry-run] " +
  "[--encoding utf-8|windows-1252] [--report report.json] <file.csv>";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    election: { type: "string" },
    as: { type: "string" },
    mode: { type: "string", default: "all-or-nothing" },
    "dry-run": { type: "boolean", default: false },
    encoding: { type: "string", default: "utf-8" },
    report: { type: "string" },
  },
});
const file = positionals[0];
if (!values.election || !values.as || !file) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}
const electionId = values.election.trim().toLowerCase();
if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(electionId)) {
  process.stderr.write(
    `--election must be the election's id (a UUID such as 0b7c3a52-5d8e-4b8f-9a51-0c2f7e1d9a10)\n`,
  );
  process.exit(2);
}
if (values.mode !== "all-or-nothing" && values.mode !== "partial") {
  process.stderr.write(`--mode must be all-or-nothing or partial\n${usage}\n`);
  process.exit(2);
}
if (values.encoding !== "utf-8" && values.encoding !== "windows-1252") {
  process.stderr.write(`--encoding must be utf-8 or windows-1252\n${usage}\n`);
  process.exit(2);
}

const say = (line: string) => process.stderr.write(`${line}\n`);
const database = await openDatabase(loadConfig(), say);
let exitCode = 0;
try {
  const user = await database.db
    .selectFrom("users")
    .leftJoin("memberships", (j) =>
      j.onRef("memberships.user_id", "=", "users.id").on("memberships.election_id", "=", electionId),
    )
    .select(["users.id", "users.is_admin", "users.disabled_at", "memberships.role"])
    .where("users.username", "=", values.as.toLowerCase())
    .executeTakeFirst();
  if (!user || user.disabled_at !== null || !(user.is_admin || user.role === "committee")) {
    throw new Error(
      `${values.as} is not an active administrator or committee member of election ${electionId}`,
    );
  }
  const actor: Actor = { id: user.id, role: user.is_admin ? "admin" : "committee" };
  const started = process.hrtime.bigint();
  const report = await importRoll(database.db, database.pool, actor, electionId, createReadStream(file), {
    mode: values.mode,
    dryRun: values["dry-run"],
    encoding: values.encoding,
    onProgress: (p) => say(`  … ${p.rows.toLocaleString("en")} rows read`),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const c = report.counts;
  say(
    `${report.applied ? "applied" : report.dry_run ? "dry run (nothing written)" : "NOT applied: rows were rejected"} ` +
      `in ${seconds.toFixed(1)} s — read ${c.read}, inserted ${c.inserted}, updated ${c.updated}, ` +
      `unchanged ${c.unchanged}, rejected ${c.rejected}, warnings ${c.warnings}`,
  );
  for (const p of report.problems.slice(0, 20)) {
    say(`  line ${p.line}${p.column ? ` [${p.column}]` : ""} ${p.severity} ${p.code}: ${p.message}`);
  }
  if (report.problems.length > 20 || report.problems_truncated) say("  … (see --report for every problem)");
  if (values.report) writeFileSync(values.report, `${JSON.stringify(report, null, 2)}\n`);
  if (!report.applied && !report.dry_run) exitCode = 1;
} catch (error) {
  say(
    error instanceof AppError
      ? `${error.code}: ${error.message}`
      : `import failed: ${(error as Error).message}`,
  );
  exitCode = 1;
} finally {
  await database.close();
}
process.exit(exitCode);
