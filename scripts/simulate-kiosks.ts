// `npm run simulate-kiosks [-- --elections 1 --tps 10 --kiosks-per-tps 2 --ballots-per-kiosk 100 --seconds 30]`:
// simulated polling day load on a real Suara process. Starts the service (on DATABASE_URL, or its own embedded
// PostgreSQL in a temporary folder), sets up the elections through the API, checks voters in, and lets every
// kiosk cast its voters' ballots one at a time through the kiosk client library until the time is up or a
// kiosk has no voter left. Prints receipts per second, latency percentiles, retries and refusals, and checks
// that each receipt is in its election's log (fetched from the public bulletin board).
//
// `--url http://host:port --admin-password …` drives an already running service instead (its administrator
// signs in; the elections are added to it).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { freePort } from "../src/db/embedded.js";
import {
  Api,
  type CastSample,
  castUntil,
  checkInVoters,
  prepareBallots,
  type SimElection,
  type SuaraProcess,
  setUpElection,
  signInKiosks,
  startSuara,
} from "./lib/kiosk-sim.js";

const { values } = parseArgs({
  options: {
    elections: { type: "string", default: "1" },
    tps: { type: "string", default: "10" },
    "kiosks-per-tps": { type: "string", default: "2" },
    "ballots-per-kiosk": { type: "string", default: "100" },
    seconds: { type: "string", default: "30" },
    prepare: { type: "string", default: "sodium" },
    transport: { type: "string", default: "http" },
    url: { type: "string" },
    "admin-username": { type: "string", default: "admin" },
    "admin-password": { type: "string" },
  },
});
const ELECTIONS = Number(values.elections);
const TPS = Number(values.tps);
const KIOSKS_PER_TPS = Number(values["kiosks-per-tps"]);
const PER_KIOSK = Number(values["ballots-per-kiosk"]);
const SECONDS = Number(values.seconds);
const PREPARE = values.prepare === "library" ? "library" : "sodium";
for (const [name, n] of Object.entries({
  ELECTIONS,
  TPS,
  KIOSKS_PER_TPS,
  PER_KIOSK,
  SECONDS,
})) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name.toLowerCase()} must be a whole number ≥ 1`);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const percentile = (sorted: number[], p: number) =>
  sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

async function main(): Promise<void> {
  let service: SuaraProcess | null = null;
  let dir: string | null = null;
  let baseUrl = values.url;
  let adminPassword = values["admin-password"];
  if (!baseUrl) {
    dir = mkdtempSync(path.join(os.tmpdir(), "suara-sim-"));
    chmodSync(dir, 0o755); // the embedded PostgreSQL runs as its own user when we are root
    service = await startSuara({
      ...(process.env.DATABASE_URL ? {} : { PG_DATA_DIR: path.join(dir, "pg") }),
      PG_EMBEDDED_PORT: String(await freePort()),
      TOKEN_TTL_SECONDS: String(Math.max(900, SECONDS * 4 + 600)),
      LOGIN_RATE_PER_MINUTE: "10000",
    });
    baseUrl = service.baseUrl;
    adminPassword = service.adminPassword;
    say(`Suara started on ${baseUrl} (pid ${service.pid}).`);
  }
  if (!adminPassword) throw new Error("--admin-password is needed with --url");
  try {
    const api = new Api(baseUrl);
    const admin = await api.signIn(values["admin-username"] as string, adminPassword);
    const elections: SimElection[] = [];
    const size = KIOSKS_PER_TPS * PER_KIOSK + 5;
    for (let e = 0; e < ELECTIONS; e++) {
      const label = `sim${Date.now().toString(36)}e${e + 1}`;
      const election = await setUpElection(api, admin, {
        label,
        voters: size * TPS,
        tpsSize: [size, size],
        kiosksPerTps: KIOSKS_PER_TPS,
        seed: 7 + e,
        transport: values.transport === "fetch" ? "fetch" : "http",
      });
      await checkInVoters(api, election, PER_KIOSK);
      for (const kiosk of election.kiosks) await prepareBallots(kiosk, election.tallyPublicKey, PREPARE);
      elections.push(election);
      say(
        `Election ${e + 1}: ${election.tps.length} TPS, ${election.kiosks.length} kiosks, ${PER_KIOSK} voters checked in per kiosk.`,
      );
    }
    const kiosks = elections.flatMap((e) => e.kiosks);
    await signInKiosks(kiosks);
    say(`${kiosks.length} kiosks signed in; casting for up to ${SECONDS} s …`);
    const run = await castUntil(kiosks, SECONDS);
    const seconds = (run.stoppedAt - run.startedAt) / 1000;
    const timed = run.samples.filter((s: CastSample) => s.doneAt <= run.stoppedAt);
    const latency = timed.map((s) => s.doneAt - s.sentAt).sort((a, b) => a - b);
    const retried = run.samples.filter((s) => s.attempts > 1).length;
    say(
      `${timed.length} receipts in ${seconds.toFixed(1)} s${run.ranDry ? " (a kiosk ran out of voters)" : ""}: ` +
        `${(timed.length / seconds).toFixed(0)} receipts/s; latency p50 ${percentile(latency, 50).toFixed(1)} ms, ` +
        `p95 ${percentile(latency, 95).toFixed(1)} ms, p99 ${percentile(latency, 99).toFixed(1)} ms; ` +
        `${retried} ballots needed a resubmission; ${run.refusals.length} refusals.`,
    );
    for (const r of run.refusals.slice(0, 5)) say(`  refused at ${r.kiosk}: ${r.code} ${r.message}`);

    // Every receipt is in its election's public log with the leaf hash it names.
    let checked = 0;
    for (const election of elections) {
      const mine = run.samples.filter((s) => s.electionId === election.id);
      const bySeq = new Map(mine.map((s) => [s.receipt.seq, s.receipt]));
      const checkpoint = await api.call<{ tree_size: number }>(
        null,
        "GET",
        `/elections/${election.id}/log/checkpoint`,
      );
      if (checkpoint.tree_size !== mine.length)
        throw new Error(`election ${election.id}: log of ${checkpoint.tree_size}, ${mine.length} receipts`);
      for (let start = 1; start <= checkpoint.tree_size; start += 1000) {
        const page = await api.call<{ entries: Array<{ seq: number; leaf_hash: string }> }>(
          null,
          "GET",
          `/elections/${election.id}/log/entries?start=${start}&end=${start + 999}`,
        );
        for (const entry of page.entries) {
          if (bySeq.get(entry.seq)?.leaf_hash !== entry.leaf_hash)
            throw new Error(`election ${election.id}: entry ${entry.seq} is not the receipt's`);
          checked++;
        }
      }
    }
    say(`Every receipt (${checked}) is in its election's log as it says; the logs hold nothing else.`);
    if (service) say(`Service peak RSS: ${((service.peakRss() ?? 0) / 2 ** 20).toFixed(0)} MB.`);
  } finally {
    await service?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
