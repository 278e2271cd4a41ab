// `npm run bench:import [-- --rows 100000,1000000]`: the voter-roll import against its ceiling (SPEC §13).
//
// For each size, a synthetic DPT is generated (seeded), then in separate child processes, on a fresh database:
//   ceiling — a bare PostgreSQL COPY of the same file into a plain table (no indexes, no checks, CSV format);
//   import  — the real import path (importRoll, as the HTTP route and the CLI use it), all-or-nothing;
//   reimport — the same file again (every row compared, nothing written);
// plus, in-process, the CSV parsing alone with our reader and with csv-parse, for the record.
// Reported: seconds, rows/s, import/ceiling ratio, and the child's peak RSS. Uses DATABASE_URL when set,
// otherwise an embedded PostgreSQL. Results are written between markers in docs/benchmarks.md.
import { execFileSync } from "node:child_process";
import { createReadStream, rmSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as csvParse } from "csv-parse";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { createDatabase } from "../../src/db/connection.js";
import { CsvReader } from "../../src/modules/roll/csv-reader.js";
import { importRoll } from "../../src/modules/roll/roll.import.js";
import { writeDptFile } from "../lib/dpt-generator.js";
import { createBenchElection, fmt, machineLine, ROOT, startBenchServer, writeDocsSection } from "./lib.js";

const VOTING_DAY = "2027-03-14";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "100000,1000000" },
    child: { type: "string" },
    url: { type: "string" },
    file: { type: "string" },
    election: { type: "string" },
    "no-docs": { type: "boolean", default: false },
  },
});

interface ChildResult {
  seconds: number;
  maxRssMb: number;
  detail?: Record<string, number>;
}

function report(result: Omit<ChildResult, "maxRssMb">): void {
  process.stdout.write(`${JSON.stringify({ ...result, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
}

async function childCopy(url: string, file: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    `CREATE TABLE bare (${"nik nkk nama tempat_lahir tanggal_lahir jenis_kelamin status_kawin alamat dusun rt rw tps disabilitas keterangan"
      .split(" ")
      .map((c) => `${c} text`)
      .join(", ")})`,
  );
  const started = performance.now();
  await pipeline(
    createReadStream(file),
    client.query(copyFrom("COPY bare FROM STDIN (FORMAT csv, HEADER true)")),
  );
  const seconds = (performance.now() - started) / 1000;
  await client.end();
  report({ seconds });
}

async function childImport(url: string, file: string, electionId: string): Promise<void> {
  const { db, pool } = createDatabase(url, 4);
  // Connected before the clock starts, as the ceiling's client is (and as a running service's pool is).
  await pool.query("SELECT 1");
  const started = performance.now();
  const result = await importRoll(
    db,
    pool,
    { id: null, role: "benchmark" },
    electionId,
    createReadStream(file),
    {
      mode: "all-or-nothing",
      dryRun: false,
      encoding: "utf-8",
      onPhase: (name, wallMs, cpuMs) =>
        process.stderr.write(
          `    ${name}: ${(wallMs / 1000).toFixed(2)} s (Node CPU ${(cpuMs / 1000).toFixed(2)} s)\n`,
        ),
    },
  );
  const seconds = (performance.now() - started) / 1000;
  await db.destroy();
  if (!result.applied) throw new Error(`import not applied: ${JSON.stringify(result.counts)}`);
  report({ seconds, detail: { ...result.counts } });
}

async function parseOnly(file: string): Promise<{ ours: number; csvParse: number; rows: number }> {
  let rows = 0;
  let started = performance.now();
  const reader = new CsvReader();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for await (const chunk of createReadStream(file))
    rows += reader.push(decoder.decode(chunk, { stream: true })).length;
  rows += reader.end().length;
  const ours = (performance.now() - started) / 1000;
  started = performance.now();
  let rows2 = 0;
  for await (const _record of createReadStream(file).pipe(csvParse({ bom: true }))) rows2++;
  const csvParseSeconds = (performance.now() - started) / 1000;
  if (rows2 !== rows) throw new Error(`parsers disagree: ${rows} vs ${rows2} records`);
  return { ours, csvParse: csvParseSeconds, rows: rows - 1 };
}

function runChild(args: string[]): ChildResult {
  // BENCH_PROFILE=<dir> writes a CPU profile of each child there (node --cpu-prof).
  const profile = process.env.BENCH_PROFILE
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  // Children run as `npm start` and `npm run import-roll` run the importer: with Node's default heap settings.
  // BENCH_NODE_FLAGS adds Node options (e.g. "--max-semi-space-size=64" to compare a larger young generation).
  const flags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
  const out = execFileSync(
    process.execPath,
    [...flags, ...profile, "--import", "tsx", fileURLToPath(import.meta.url), ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 20,
    },
  );
  const line = out.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as ChildResult;
}

async function setUpElection(url: string, tps: Array<{ code: string }>): Promise<string> {
  const { db } = createDatabase(url, 2);
  const { electionId } = await createBenchElection(db, { status: "draft", tps });
  await db.destroy();
  return electionId;
}

async function main(): Promise<void> {
  const server = await startBenchServer("import");
  const dir = server.dir;
  const lines: string[] = [];
  const sizes = values.rows.split(",").map((s) => Number(s.trim()));
  try {
    for (const rows of sizes) {
      const file = path.join(dir, `dpt-${rows}.csv`);
      const generated = performance.now();
      const summary = await writeDptFile(file, { rows, seed: 20270314, votingDay: VOTING_DAY });
      process.stderr.write(
        `${rows} rows: generated ${fmt(summary.bytes / 1e6, 1)} MB in ${fmt((performance.now() - generated) / 1000)} s\n`,
      );
      const parse = await parseOnly(file);

      const copyUrl = await server.freshDatabase("suara_bench_copy");
      const ceiling = runChild(["--child", "copy", "--url", copyUrl, "--file", file]);
      const importUrl = await server.freshDatabase("suara_bench_import");
      const election = await setUpElection(importUrl, summary.tps);
      const first = runChild([
        "--child",
        "import",
        "--url",
        importUrl,
        "--file",
        file,
        "--election",
        election,
      ]);
      const again = runChild([
        "--child",
        "import",
        "--url",
        importUrl,
        "--file",
        file,
        "--election",
        election,
      ]);
      const ratio = ceiling.seconds / first.seconds;
      const row =
        `| ${rows.toLocaleString("en")} | ${fmt(ceiling.seconds)} s (${fmt(rows / ceiling.seconds / 1000, 0)}k rows/s) | ` +
        `${fmt(first.seconds)} s (${fmt(rows / first.seconds / 1000, 0)}k rows/s) | **${fmt(ratio * 100, 0)}%** | ` +
        `${fmt(first.maxRssMb, 0)} MB | ${fmt(again.seconds)} s | ${fmt(parse.ours)} s / ${fmt(parse.csvParse)} s |`;
      process.stderr.write(`${row}\n`);
      lines.push(row);
      rmSync(file);
    }
  } finally {
    await server.stop();
  }

  const body = [
    `${machineLine(server)} Run by \`npm run bench:import\`.`,
    "",
    "| rows | ceiling: bare COPY into a plain table | Suara import (all-or-nothing, first import) | import / ceiling | import peak RSS | re-import (all unchanged) | parse only: our reader / csv-parse |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...lines,
  ].join("\n");
  process.stdout.write(`${body}\n`);
  if (!values["no-docs"]) writeDocsSection("import", body);
}

if (values.child === "copy") await childCopy(values.url as string, values.file as string);
else if (values.child === "import")
  await childImport(values.url as string, values.file as string, values.election as string);
else await main();
