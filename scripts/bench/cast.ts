// `npm run bench:cast [-- --seconds 10 --one-per-kiosk 250 --elections 10 --kiosks-per-election 4 --many-per-kiosk 300
//   --many-kiosks-per-tps 1 --transport http --no-docs]`:
// casting against SPEC §13 (≥ 400 receipts/s sustained into one election from 20 concurrent kiosks over HTTP with
// p99 ≤ 100 ms, and ≥ 1,000/s across 10 elections).
//
// A real Suara process (`src/server.ts`, as `npm start` runs it) on a fresh database of the bench's PostgreSQL
// (DATABASE_URL, or an embedded one in a temporary folder). The kiosk simulator (scripts/lib/kiosk-sim.ts) sets
// the elections up through the API, checks the voters in (real tokens), prepares every kiosk's sealed, signed
// ballots and signs the kiosks in — all before anything is timed. Then:
// 1. one election, 20 TPS with one kiosk each: every kiosk casts its voters' ballots one at a time through the
//    kiosk client library for --seconds;
// 2. --elections elections with --kiosks-per-election kiosks each, all casting at once, likewise.
// Receipts/s count the receipts a kiosk held between the end of the first (warm-up) second and the end of the
// window; latency is from sending a ballot to holding its receipt, retries included.
//
// Ceiling, in the same run on the same PostgreSQL server: pgbench with a custom script doing what every cast's
// transaction must do at the least — lock one row (the log head), update it, insert one 330-byte row (the entry) —
// from the same number of clients as there were kiosks (one row for all of them; then one row per election).
// Where pgbench is missing, the same transaction from Node's pg driver (the report says which).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import {
  Api,
  type CastRun,
  castUntil,
  checkInVoters,
  cpuSecondsOf,
  postgresCpuSeconds,
  prepareBallots,
  type SimElection,
  type SimKiosk,
  setUpElection,
  signInKiosks,
  startSuara,
} from "../lib/kiosk-sim.js";
import { fmt, machineLine, percentile, startBenchServer, writeDocsSection } from "./lib.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    "one-kiosks": { type: "string", default: "20" },
    "one-per-kiosk": { type: "string", default: "250" },
    elections: { type: "string", default: "10" },
    "kiosks-per-election": { type: "string", default: "4" },
    "many-per-kiosk": { type: "string", default: "300" },
    "many-kiosks-per-tps": { type: "string", default: "1" },
    warmup: { type: "string", default: "1" },
    transport: { type: "string", default: "http" },
    "no-docs": { type: "boolean", default: false },
  },
});
const SECONDS = Number(values.seconds);
const ONE_KIOSKS = Number(values["one-kiosks"]);
const ONE_PER_KIOSK = Number(values["one-per-kiosk"]);
const ELECTIONS = Number(values.elections);
const KIOSKS_PER_ELECTION = Number(values["kiosks-per-election"]);
const MANY_PER_KIOSK = Number(values["many-per-kiosk"]);
const MANY_KIOSKS_PER_TPS = Number(values["many-kiosks-per-tps"]);
if (KIOSKS_PER_ELECTION % MANY_KIOSKS_PER_TPS !== 0)
  throw new Error("--kiosks-per-election must be a multiple of --many-kiosks-per-tps");
const WARMUP = Number(values.warmup);
const TRANSPORT = values.transport === "fetch" ? "fetch" : "http";
const CHECK_INS = ONE_KIOSKS * ONE_PER_KIOSK + ELECTIONS * KIOSKS_PER_ELECTION * MANY_PER_KIOSK;

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Measured {
  receipts: number;
  seconds: number;
  rate: number;
  p50: number;
  p95: number;
  p99: number;
  ranDry: boolean;
  resubmitted: number;
  refusals: number;
  /** Receipts per distinct checkpoint: how many casts shared a transaction, on average. */
  perCommit: number;
  /** CPU milliseconds per receipt over the whole window: the service, PostgreSQL, this process (the kiosks). */
  cpu: { service: number; postgres: number; kiosks: number };
}

interface CpuMark {
  service: number;
  postgres: number;
  kiosks: number;
}

/** The embedded PostgreSQL's postmaster, whose processes are the bench's database; unknown with DATABASE_URL. */
let postmasterPid: number | undefined;

function cpuMark(servicePid: number): CpuMark {
  const own = process.cpuUsage();
  return {
    service: cpuSecondsOf(servicePid) ?? Number.NaN,
    postgres: postgresCpuSeconds(postmasterPid),
    kiosks: (own.user + own.system) / 1e6,
  };
}

/** Casts with the kiosks for the window and measures the CPU the service, PostgreSQL and the kiosks used. */
async function castMeasured(servicePid: number, kiosks: SimKiosk[]): Promise<{ run: CastRun; cpu: CpuMark }> {
  const before = cpuMark(servicePid);
  const run = await castUntil(kiosks, SECONDS);
  const after = cpuMark(servicePid);
  const per = (k: keyof CpuMark) => ((after[k] - before[k]) * 1000) / run.samples.length;
  return { run, cpu: { service: per("service"), postgres: per("postgres"), kiosks: per("kiosks") } };
}

function measure({ run, cpu }: { run: CastRun; cpu: CpuMark }): Measured {
  const from = run.startedAt + WARMUP * 1000;
  const counted = run.samples.filter((s) => s.doneAt > from && s.doneAt <= run.stoppedAt);
  const seconds = (run.stoppedAt - from) / 1000;
  const latency = counted.map((s) => s.doneAt - s.sentAt).sort((a, b) => a - b);
  const commits = new Set(run.samples.map((s) => `${s.electionId}:${s.receipt.checkpoint.tree_size}`));
  return {
    receipts: counted.length,
    seconds,
    rate: counted.length / seconds,
    p50: percentile(latency, 50),
    p95: percentile(latency, 95),
    p99: percentile(latency, 99),
    ranDry: run.ranDry,
    resubmitted: run.samples.filter((s) => s.attempts > 1).length,
    refusals: run.refusals.length,
    perCommit: run.samples.length / commits.size,
    cpu,
  };
}

/** Every receipt is in the log as it says, each election's log holds exactly the receipts, tokens = entries. */
async function checkLogs(url: string, elections: SimElection[], run: CastRun): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const election of elections) {
      const mine = run.samples.filter((s) => s.electionId === election.id);
      const { rows } = await client.query<{ seq: number; leaf_hash: Buffer }>(
        "SELECT seq, leaf_hash FROM log_entries WHERE election_id = $1 ORDER BY seq",
        [election.id],
      );
      const bySeq = new Map(mine.map((s) => [s.receipt.seq, s.receipt.leaf_hash]));
      const intact =
        rows.length === mine.length &&
        rows.every(
          (r, i) => Number(r.seq) === i + 1 && bySeq.get(Number(r.seq)) === r.leaf_hash.toString("base64"),
        );
      const redeemed = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM ballot_tokens WHERE election_id = $1 AND state = 'redeemed'",
        [election.id],
      );
      if (!intact || Number(redeemed.rows[0]?.n) !== rows.length) {
        throw new Error(
          `election ${election.id}: ${rows.length} entries, ${mine.length} receipts, ${redeemed.rows[0]?.n} tokens redeemed`,
        );
      }
    }
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The ceiling

interface Ceiling {
  tool: string;
  tps: number;
  p50: number;
  p99: number;
}

const PGBENCH = ["/usr/bin/pgbench", "/usr/lib/postgresql/15/bin/pgbench"].find((p) => existsSync(p));

async function prepareCeilingTables(url: string, rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    "DROP TABLE IF EXISTS bench_head, bench_rows; " +
      "CREATE TABLE bench_head (id int PRIMARY KEY, n bigint NOT NULL); " +
      "CREATE TABLE bench_rows (id int, n bigint, payload bytea, PRIMARY KEY (id, n)); " +
      `INSERT INTO bench_head SELECT g, 0 FROM generate_series(1, ${rows}) g`,
  );
  await client.end();
}

/** pgbench: `clients` clients, client c locking row 1 + c mod `rows`, for `seconds`; latency from its log. */
async function pgbenchCeiling(url: string, clients: number, rows: number, dir: string): Promise<Ceiling> {
  await prepareCeilingTables(url, rows);
  const script = path.join(dir, "ceiling.sql");
  writeFileSync(
    script,
    [
      `\\set head 1 + :client_id % ${rows}`,
      "BEGIN;",
      "SELECT n + 1 AS n FROM bench_head WHERE id = :head FOR UPDATE \\gset",
      "UPDATE bench_head SET n = :n WHERE id = :head;",
      "INSERT INTO bench_rows VALUES (:head, :n, decode(repeat('ab', 330), 'hex'));",
      "END;",
      "",
    ].join("\n"),
  );
  const prefix = path.join(dir, `pgb-${rows}`);
  const result = spawnSync(
    PGBENCH as string,
    [
      "-n",
      "-M",
      "prepared",
      "-c",
      String(clients),
      "-j",
      "2",
      "-T",
      String(SECONDS),
      "-f",
      script,
      "-l",
      `--log-prefix=${prefix}`,
      url,
    ],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`pgbench failed: ${result.stderr}`);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(result.stdout);
  if (!tps) throw new Error(`pgbench printed no tps: ${result.stdout}`);
  const latency: number[] = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith(path.basename(prefix)))) {
    for (const line of readFileSync(path.join(dir, file), "utf8").split("\n")) {
      const us = Number(line.split(" ")[2]);
      if (Number.isFinite(us) && line !== "") latency.push(us / 1000);
    }
  }
  latency.sort((a, b) => a - b);
  return { tool: "pgbench", tps: Number(tps[1]), p50: percentile(latency, 50), p99: percentile(latency, 99) };
}

/** The same transaction from Node's pg driver, for machines without pgbench. */
async function nodeCeiling(url: string, clients: number, rows: number): Promise<Ceiling> {
  await prepareCeilingTables(url, rows);
  const payload = Buffer.alloc(330, 0xab);
  const latency: number[] = [];
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const head = 1 + (c % rows);
      while (performance.now() < deadline) {
        const t = performance.now();
        await client.query("BEGIN");
        const { rows: r } = await client.query("SELECT n + 1 AS n FROM bench_head WHERE id = $1 FOR UPDATE", [
          head,
        ]);
        await client.query("UPDATE bench_head SET n = $2 WHERE id = $1", [head, r[0]?.n]);
        await client.query("INSERT INTO bench_rows VALUES ($1, $2, $3)", [head, r[0]?.n, payload]);
        await client.query("COMMIT");
        latency.push(performance.now() - t);
      }
      await client.end();
    }),
  );
  latency.sort((a, b) => a - b);
  return {
    tool: "Node pg",
    tps: latency.length / ((performance.now() - started) / 1000),
    p50: percentile(latency, 50),
    p99: percentile(latency, 99),
  };
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const server = await startBenchServer("cast");
  const scratch = mkdtempSync(path.join(os.tmpdir(), "suara-bench-cast-"));
  try {
    const url = await server.freshDatabase("suara_bench_cast");
    const pidFile = path.join(server.dir, "pg", "postmaster.pid");
    if (server.embedded && existsSync(pidFile))
      postmasterPid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    const suara = await startSuara({
      DATABASE_URL: url,
      TOKEN_TTL_SECONDS: "7200",
      KIOSK_SESSION_TTL_SECONDS: "7200",
      LOGIN_RATE_PER_MINUTE: "100000",
    });
    let one: Measured;
    let many: Measured;
    let setupSeconds: number;
    let rss: number | null = null;
    try {
      const api = new Api(suara.baseUrl);
      const admin = await api.signIn("admin", suara.adminPassword);
      const started = performance.now();
      const size = (perKiosk: number) => perKiosk + 5;
      const single = await setUpElection(api, admin, {
        label: "satu",
        voters: ONE_KIOSKS * size(ONE_PER_KIOSK),
        tpsSize: [size(ONE_PER_KIOSK), size(ONE_PER_KIOSK)],
        kiosksPerTps: 1,
        seed: 1,
        transport: TRANSPORT,
      });
      log(`one election set up in ${fmt((performance.now() - started) / 1000, 1)} s`);
      await checkInVoters(api, single, ONE_PER_KIOSK, 16);
      log(`${ONE_KIOSKS * ONE_PER_KIOSK} checked in at ${fmt((performance.now() - started) / 1000, 1)} s`);
      const several: SimElection[] = [];
      for (let e = 0; e < ELECTIONS; e++) {
        several.push(
          await setUpElection(api, admin, {
            label: `desa${e + 1}`,
            voters: KIOSKS_PER_ELECTION * size(MANY_PER_KIOSK),
            tpsSize: [MANY_KIOSKS_PER_TPS * size(MANY_PER_KIOSK), MANY_KIOSKS_PER_TPS * size(MANY_PER_KIOSK)],
            kiosksPerTps: MANY_KIOSKS_PER_TPS,
            seed: 100 + e,
            transport: TRANSPORT,
          }),
        );
      }
      // Check-ins of one election follow one another (its audit chain is locked per event); elections in parallel.
      await Promise.all(several.map((election) => checkInVoters(api, election, MANY_PER_KIOSK, 4)));
      for (const election of [single, ...several]) {
        for (const kiosk of election.kiosks) await prepareBallots(kiosk, election.tallyPublicKey);
      }
      setupSeconds = (performance.now() - started) / 1000;
      log(`set up in ${fmt(setupSeconds, 0)} s; casting into one election …`);

      await signInKiosks(single.kiosks);
      const runOne = await castMeasured(suara.pid, single.kiosks);
      await checkLogs(url, [single], runOne.run);
      one = measure(runOne);
      log(
        `one election: ${fmt(one.rate, 0)} receipts/s, p99 ${fmt(one.p99)} ms; casting into ${ELECTIONS} …`,
      );

      const manyKiosks = several.flatMap((e) => e.kiosks);
      await signInKiosks(manyKiosks);
      const runMany = await castMeasured(suara.pid, manyKiosks);
      await checkLogs(url, several, runMany.run);
      many = measure(runMany);
      log(`${ELECTIONS} elections: ${fmt(many.rate, 0)} receipts/s, p99 ${fmt(many.p99)} ms; the ceiling …`);
    } finally {
      rss = suara.peakRss();
      await suara.stop();
    }

    const ceiling = (clients: number, rows: number) =>
      PGBENCH ? pgbenchCeiling(url, clients, rows, scratch) : nodeCeiling(url, clients, rows);
    const ceilingOne = await ceiling(ONE_KIOSKS, 1);
    const ceilingMany = await ceiling(ELECTIONS * KIOSKS_PER_ELECTION, ELECTIONS);

    const row = (what: string, m: Measured, target: string, c: Ceiling, meets: boolean) =>
      `| ${what} | **${fmt(m.rate, 0)}** | ${fmt(m.p50, 1)} / ${fmt(m.p95, 1)} / **${fmt(m.p99, 1)}** ms | ${target} | ` +
      `${fmt(c.tps, 0)} tx/s (p50 ${fmt(c.p50, 1)} / p99 ${fmt(c.p99, 1)} ms) | **${fmt((m.rate / c.tps) * 100, 0)}%** | ` +
      `${fmt(m.perCommit, 1)} | ${fmt(m.cpu.service, 2)} / ${fmt(m.cpu.postgres, 2)} / ${fmt(m.cpu.kiosks, 2)} ms | ` +
      `${m.resubmitted} / ${m.refusals} | ${meets ? "yes" : "**no**"} |`;
    const dry = [one, many].some((m) => m.ranDry)
      ? " A kiosk ran out of voters before the time was up, so that window ended there."
      : "";
    const body = [
      `${machineLine(server)} Run by \`npm run bench:cast\`: a Suara process on the same PostgreSQL, ` +
        `${fmt(SECONDS, 0)} s of casting per scenario (the first ${WARMUP} s not counted), set-up ` +
        `(elections, ${fmt(CHECK_INS, 0)} check-ins, ballots sealed and signed) ${fmt(setupSeconds, 0)} s before it. ` +
        `Kiosks' HTTP: ${TRANSPORT === "http" ? "node:http, one kept-alive connection each" : "fetch (undici)"}. Ceiling by ${ceilingOne.tool}. Service peak RSS ${rss === null ? "n/a" : `${fmt(rss / 2 ** 20, 0)} MB`}.${dry}`,
      "",
      "| casting over HTTP | receipts/s | latency p50 / p95 / p99 | target | ceiling: bare lock + update + insert, same clients | receipts / ceiling | casts per commit | CPU per receipt: service / PostgreSQL / kiosks | resubmitted / refused | target met |",
      "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
      row(
        `one election, ${ONE_KIOSKS} kiosks (${fmt(one.receipts, 0)} receipts in ${fmt(one.seconds, 1)} s)`,
        one,
        "≥ 400/s, p99 ≤ 100 ms",
        ceilingOne,
        one.rate >= 400 && one.p99 <= 100,
      ),
      row(
        `${ELECTIONS} elections × ${KIOSKS_PER_ELECTION} kiosks (${fmt(many.receipts, 0)} receipts in ${fmt(many.seconds, 1)} s)`,
        many,
        "≥ 1,000/s",
        ceilingMany,
        many.rate >= 1000,
      ),
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (!values["no-docs"]) writeDocsSection("cast", body);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await server.stop();
  }
}

await main();
