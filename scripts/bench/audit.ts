// `npm run bench:audit [-- --sizes 10000,100000,1000000 --batch 100 --no-docs]`: the audit + tally of one
// election against SPEC §13 (≥ 80% of the raw crypto ceiling; 1,000,000 ballots end-to-end in under 90 s within
// 300 MB RSS).
//
// For each size, on a fresh database:
// 1. Fill: one closed election (3 candidates, 10 TPS, 2 kiosks each, a 2-of-3 tally key) whose log is filled
//    through the real append path (appendVotes, --batch votes per transaction, each vote a real sealed ballot
//    and kiosk signature, a signed checkpoint per transaction), and one redeemed token per ballot at its TPS so
//    the reconciliation balances.
// 2. Tally, in a child process of its own: two holders submit their shares through submitShare (what
//    POST /elections/{id}/tally/shares calls), a second apart as people do (the first share starts the crypto
//    threads); timed from the last share — the moment the tally can start — to the stored result: rebuilding
//    the key, streaming the log from PostgreSQL, verifying every entry and checkpoint, opening and counting
//    every ballot, reconciling, signing and storing the result. Peak RSS is the child's (worker threads
//    included).
// 3. Ceiling, in another child: the same number of Ed25519 verifications (kiosk signatures and checkpoint
//    signatures) and box openings, back to back on every core (one worker thread per core), no I/O.
// Steps 2 and 3 run as --repeat alternating pairs (3 below 1,000,000 ballots), the stored tally undone between
// them; the table shows the median pair and every pair's ratio.
import { execFileSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { sql } from "kysely";
import { split } from "shamir-secret-sharing";
import {
  canonicalBallotBytes,
  encodeBallotChoice,
  SEALED_BALLOT_CHOICE_BYTES,
} from "../../src/crypto/ballot.js";
import { generateEd25519KeyPair, kioskKeyId, signEd25519 } from "../../src/crypto/ed25519.js";
import { newId } from "../../src/crypto/random.js";
import { generateTallyKeyPair, sealBallotChoiceWithSodium } from "../../src/crypto/sealed-ballot.js";
import { generateHolderKeyPair } from "../../src/crypto/tally-key.js";
import { createDatabase } from "../../src/db/connection.js";
import { loadLogKeyring } from "../../src/modules/log/log.keys.js";
import { appendVotes, type VoteToAppend } from "../../src/modules/log/log.service.js";
import { submitShare, TallySessions } from "../../src/modules/tally/tally.service.js";
import { WARM_UP_ENTRIES, WARM_UP_LOG_ROWS, WARM_UP_PASSES } from "../../src/modules/tally/warm-up.js";
import { createBenchElection, fmt, machineLine, ROOT, startBenchServer, writeDocsSection } from "./lib.js";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000,1000000" },
    batch: { type: "string", default: "100" },
    // Tally/ceiling pairs per size (default 3 below 1,000,000 ballots, 1 at 1,000,000); the row is the median.
    repeat: { type: "string" },
    "no-docs": { type: "boolean", default: false },
    // Internal: what a child process runs.
    child: { type: "string" },
    url: { type: "string" },
    election: { type: "string" },
    shares: { type: "string" },
    holders: { type: "string" },
    verifications: { type: "string" },
    openings: { type: "string" },
  },
});

const TPS_COUNT = 10;
const KIOSKS_PER_TPS = 2;
const CANDIDATES = [1, 2, 3];
/** Between two holders' shares: each submits from their own device, seconds apart at the least. */
const HOLDER_PAUSE_MS = 1000;

// ---------------------------------------------------------------------------------------------------------------
// Child: the tally, end to end

interface TallyResult {
  seconds: number;
  /** Until the verifier had settled the last entry (sampled every 50 ms). */
  verifiedSeconds: number;
  /** CPU time of the whole process, worker threads included. */
  cpuSeconds: number;
  /** Peaks of process.memoryUsage() sampled every 50 ms (a sample costs the main thread a fraction of a millisecond, so not more often), in MB: where the RSS goes. */
  memoryPeaksMb: Record<string, number>;
  maxRssMb: number;
  /** The prepared threads' warm-up, started at the first share: its length, and whether it ended before the last share. */
  warmUp: { seconds: number; ok: boolean; beforeLastShare: boolean } | null;
  ok: boolean;
  ballots: number;
  entriesChecked: number;
  checkpointsChecked: number;
  discrepancies: number;
  threads: number;
}

async function tallyChild(): Promise<void> {
  const url = values.url as string;
  const electionId = values.election as string;
  const shares = (values.shares as string).split(",").map((s) => Buffer.from(s, "base64"));
  const holders = (values.holders as string).split(",");
  const { db, pool } = createDatabase(url, 4);
  const keyring = await loadLogKeyring(db, "suara.local");
  const sessions = new TallySessions();
  const submit = (i: number) =>
    submitShare(
      db,
      pool,
      keyring,
      sessions,
      { id: holders[i] as string, role: "committee" },
      electionId,
      shares[i] as Buffer,
    );
  // Every share but the last, then the pause between holders.
  for (let i = 0; i < shares.length - 1; i++) await submit(i);
  let lastShareSent = false;
  let warmedBeforeLastShare = false;
  void sessions.lastWarmUp(electionId).then(() => {
    warmedBeforeLastShare = !lastShareSent;
  });
  await new Promise((resolve) => setTimeout(resolve, HOLDER_PAUSE_MS));
  const cpu = process.cpuUsage();
  const started = performance.now();
  let verifiedSeconds = Number.NaN;
  const memoryPeaksMb: Record<string, number> = {};
  const sampler = setInterval(() => {
    for (const [what, bytes] of Object.entries(process.memoryUsage())) {
      memoryPeaksMb[what] = Math.max(memoryPeaksMb[what] ?? 0, Math.round(bytes / 1048576));
    }
    const s = sessions.get(electionId);
    if (Number.isNaN(verifiedSeconds) && s.total > 0 && s.checked === s.total) {
      verifiedSeconds = (performance.now() - started) / 1000;
    }
  }, 50);
  lastShareSent = true;
  await submit(shares.length - 1);
  await sessions.whenFinished(electionId);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  // Settled and stored between two samples.
  if (Number.isNaN(verifiedSeconds)) verifiedSeconds = seconds;
  const session = sessions.get(electionId);
  if (session.state !== "done") throw new Error(`the tally ended ${session.state}: ${session.failure}`);
  const result = await db
    .selectFrom("results")
    .select(["verification", "reconciliation", "counts"])
    .where("election_id", "=", electionId)
    .executeTakeFirstOrThrow();
  await db.destroy();
  const verification = result.verification as {
    ok: boolean;
    entries_checked: number;
    checkpoints_checked: number;
  };
  const warmUp = await sessions.lastWarmUp(electionId);
  const out: TallyResult = {
    seconds,
    verifiedSeconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    memoryPeaksMb,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    warmUp: warmUp && { seconds: warmUp.seconds, ok: warmUp.ok, beforeLastShare: warmedBeforeLastShare },
    ok: verification.ok,
    ballots: (result.counts as { ballots: number }).ballots,
    entriesChecked: verification.entries_checked,
    checkpointsChecked: verification.checkpoints_checked,
    discrepancies: (result.reconciliation as { discrepancies: string[] }).discrepancies.length,
    threads: os.availableParallelism(),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Child: the raw crypto ceiling

/**
 * One thread per core, each with its own samples (real signatures over ballot-sized messages, real sealed
 * choices), doing its share of the verifications and openings back to back once every thread is ready.
 */
const CEILING_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const sodium = require("sodium-native");
const { verifications, openings, messageBytes, ciphertextBytes } = workerData;
const SAMPLES = 256;
const pk = Buffer.alloc(32), sk = Buffer.alloc(64);
sodium.crypto_sign_keypair(pk, sk);
const boxPk = Buffer.alloc(32), boxSk = Buffer.alloc(32);
sodium.crypto_box_keypair(boxPk, boxSk);
const signed = [], sealed = [];
for (let i = 0; i < SAMPLES; i++) {
  const message = Buffer.alloc(messageBytes); sodium.randombytes_buf(message);
  const signature = Buffer.alloc(64); sodium.crypto_sign_detached(signature, message, sk);
  signed.push({ message, signature });
  const epk = Buffer.alloc(32), esk = Buffer.alloc(32); sodium.crypto_box_keypair(epk, esk);
  const nonce = Buffer.alloc(24); sodium.randombytes_buf(nonce);
  const plain = Buffer.alloc(ciphertextBytes - 16); sodium.randombytes_buf(plain);
  const ciphertext = Buffer.alloc(ciphertextBytes);
  sodium.crypto_box_easy(ciphertext, plain, nonce, boxPk, esk);
  sealed.push({ epk, nonce, ciphertext });
}
const plaintext = Buffer.alloc(ciphertextBytes - 16);
parentPort.once("message", () => {
  let good = 0;
  for (let i = 0; i < verifications; i++) {
    const s = signed[i % SAMPLES];
    if (sodium.crypto_sign_verify_detached(s.signature, s.message, pk)) good++;
  }
  for (let i = 0; i < openings; i++) {
    const b = sealed[i % SAMPLES];
    if (sodium.crypto_box_open_easy(plaintext, b.ciphertext, b.nonce, b.epk, boxSk)) good++;
  }
  parentPort.postMessage(good);
});
parentPort.postMessage("ready");
`;

async function ceilingChild(): Promise<void> {
  const verifications = Number(values.verifications);
  const openings = Number(values.openings);
  const threads = os.availableParallelism();
  // What the kiosk signs: the canonical ballot bytes of a sealed choice (the same length for every ballot).
  const messageBytes = canonicalBallotBytes({
    electionId: newId(),
    ballotId: newId(),
    tpsId: newId(),
    ephemeralPublicKey: new Uint8Array(32),
    nonce: new Uint8Array(24),
    ciphertext: new Uint8Array(SEALED_BALLOT_CHOICE_BYTES),
  }).length;
  const share = (total: number, i: number) => Math.floor(total / threads) + (i < total % threads ? 1 : 0);
  const workers = Array.from(
    { length: threads },
    (_, i) =>
      new Worker(CEILING_WORKER, {
        eval: true,
        workerData: {
          verifications: share(verifications, i),
          openings: share(openings, i),
          messageBytes,
          ciphertextBytes: SEALED_BALLOT_CHOICE_BYTES,
        },
      }),
  );
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once("message", resolve))));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const done = workers.map((w) => new Promise<number>((resolve) => w.once("message", resolve)));
  for (const w of workers) w.postMessage("go");
  const good = (await Promise.all(done)).reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await Promise.all(workers.map((w) => w.terminate()));
  if (good !== verifications + openings) throw new Error("the ceiling's own samples failed to verify");
  process.stdout.write(
    `${JSON.stringify({ seconds, threads, cpuSeconds: (used.user + used.system) / 1e6 })}\n`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: fill, then measure

function runChild<T>(args: string[]): T {
  const profile = process.env.BENCH_PROFILE
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
    : [];
  // As `npm start` runs the service: with Node's default heap settings. BENCH_NODE_FLAGS adds Node options.
  const flags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
  const out = execFileSync(
    process.execPath,
    [...flags, ...profile, "--import", "tsx", fileURLToPath(import.meta.url), ...args],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split("\n").at(-1) ?? "") as T;
}

interface Filled {
  electionId: string;
  shares: Buffer[];
  holders: string[];
  checkpoints: number;
  fillSeconds: number;
}

async function fill(url: string, ballots: number, batch: number): Promise<Filled> {
  const { db } = createDatabase(url, 4);
  const keyring = await loadLogKeyring(db, "suara.local");
  const { electionId, tpsIds } = await createBenchElection(db, {
    status: "closed",
    tps: Array.from({ length: TPS_COUNT }, (_, i) => ({ code: String(i + 1).padStart(3, "0") })),
  });
  await db
    .insertInto("candidates")
    .values(
      CANDIDATES.map((n) => ({ election_id: electionId, id: newId(), ballot_number: n, name: `Calon ${n}` })),
    )
    .execute();
  const kiosks = tpsIds.flatMap((tpsId) =>
    Array.from({ length: KIOSKS_PER_TPS }, () => ({ tpsId, ...generateEd25519KeyPair() })),
  );
  await db
    .insertInto("kiosks")
    .values(
      kiosks.map((k, i) => ({
        election_id: electionId,
        id: newId(),
        tps_id: k.tpsId,
        label: `Kiosk ${i + 1}`,
        public_key: k.publicKey,
        key_id: kioskKeyId(k.publicKey),
      })),
    )
    .execute();

  // The tally key and a 2-of-3 split, as the ceremony makes them; the holders are users of their own.
  const tally = generateTallyKeyPair();
  const shares = (await split(Uint8Array.from(tally.secretKey), 3, 2)).map((s) => Buffer.from(s));
  const holders = await db
    .insertInto("users")
    .values(
      [1, 2, 3].map((i) => ({
        username: `holder${i}`,
        display_name: `Holder ${i}`,
        password_hash: "x",
        is_admin: false,
        must_change_password: false,
      })),
    )
    .returning("id")
    .execute();
  await db
    .insertInto("tally_keys")
    .values({ election_id: electionId, public_key: tally.publicKey, threshold: 2, holders: 3 })
    .execute();
  await db
    .insertInto("tally_key_holders")
    .values(
      holders.map((h, i) => ({
        election_id: electionId,
        user_id: h.id,
        holder_public_key: generateHolderKeyPair().publicKey,
        share_index: i + 1,
        handed_over: true,
      })),
    )
    .execute();

  const ballotsPerTps = new Map<string, number>();
  const vote = (i: number): VoteToAppend => {
    const kiosk = kiosks[i % kiosks.length] as (typeof kiosks)[number];
    ballotsPerTps.set(kiosk.tpsId, (ballotsPerTps.get(kiosk.tpsId) ?? 0) + 1);
    const ballotId = newId();
    // Candidates 1–3 and a blank vote (0) now and then.
    const candidateNumber = i % 17 === 0 ? 0 : 1 + (i % 3);
    const sealed = sealBallotChoiceWithSodium(
      encodeBallotChoice({ electionId, ballotId, candidateNumber }),
      tally.publicKey,
    );
    const content = { electionId, ballotId, tpsId: kiosk.tpsId, ...sealed };
    return {
      ballotId,
      tpsId: kiosk.tpsId,
      kioskKeyId: kioskKeyId(kiosk.publicKey),
      ...sealed,
      kioskSignature: signEd25519(canonicalBallotBytes(content), kiosk.secretKey),
    };
  };

  const started = performance.now();
  let checkpoints = 0;
  // The next batch is sealed and signed while PostgreSQL commits the one before.
  let writing: Promise<unknown> = Promise.resolve();
  for (let done = 0; done < ballots; done += batch) {
    const votes = Array.from({ length: Math.min(batch, ballots - done) }, (_, j) => vote(done + j));
    await writing;
    writing = db.transaction().execute((tx) => appendVotes(tx, keyring, electionId, votes));
    checkpoints++;
    if ((done / batch) % 500 === 0) process.stderr.write(`  … ${done.toLocaleString("en")} ballots\n`);
  }
  await writing;
  // One redeemed token per ballot at its TPS, so the reconciliation's equalities hold.
  for (const [tpsId, count] of ballotsPerTps) {
    await sql`
      INSERT INTO ballot_tokens (election_id, token_hash, tps_id, expires_at, state)
      SELECT ${electionId}, sha256(convert_to(${tpsId} || ':' || i, 'UTF8')), ${tpsId}, now(), 'redeemed'
      FROM generate_series(1, ${count}::int) AS i`.execute(db);
  }
  const fillSeconds = (performance.now() - started) / 1000;
  await db.destroy();
  return { electionId, shares, holders: holders.map((h) => h.id), checkpoints, fillSeconds };
}

interface Pair {
  tally: TallyResult;
  ceiling: { seconds: number; threads: number; cpuSeconds: number };
}

interface Row {
  ballots: number;
  checkpoints: number;
  fillSeconds: number;
  /** The median pair's. */
  tally: TallyResult;
  ceilingSeconds: number;
  ceilingCpuSeconds: number;
  ceilingThreads: number;
  /** ceiling / tally of every pair, in the order run. */
  pairRatios: number[];
  /** The highest of every pair's tally. */
  peakRssMb: number;
}

/** Undoes a stored tally so that the same log can be tallied again (the benchmark's database only). */
async function resetTally(url: string, electionId: string): Promise<void> {
  const { db } = createDatabase(url, 1);
  try {
    await db.deleteFrom("results").where("election_id", "=", electionId).execute();
    await db.updateTable("elections").set({ status: "closed" }).where("id", "=", electionId).execute();
  } finally {
    await db.destroy();
  }
}

async function main(): Promise<void> {
  const sizes = (values.sizes as string).split(",").map(Number);
  const batch = Number(values.batch);
  const server = await startBenchServer("audit");
  const rows: Row[] = [];
  try {
    for (const ballots of sizes) {
      const url = await server.freshDatabase("suara_bench_audit");
      process.stderr.write(`filling ${ballots.toLocaleString("en")} ballots …\n`);
      const filled = await fill(url, ballots, batch);
      process.stderr.write(`filled in ${fmt(filled.fillSeconds, 1)} s; tally …\n`);
      const { pool } = createDatabase(url, 1);
      await pool.query("VACUUM ANALYZE log_entries, log_checkpoints, ballot_tokens");
      await pool.end();
      // Tally and ceiling in alternating pairs: this machine's speed drifts from minute to minute (it is a
      // shared virtual machine), and a pair measured back to back sees the same drift. The row is the median pair.
      const repeats = Math.max(1, Number(values.repeat ?? (ballots >= 1_000_000 ? 1 : 3)));
      const pairs: Pair[] = [];
      for (let r = 0; r < repeats; r++) {
        if (r > 0) await resetTally(url, filled.electionId);
        const tally = runChild<TallyResult>([
          "--child",
          "tally",
          "--url",
          url,
          "--election",
          filled.electionId,
          "--shares",
          filled.shares
            .slice(0, 2)
            .map((s) => s.toString("base64"))
            .join(","),
          "--holders",
          filled.holders.slice(0, 2).join(","),
        ]);
        if (!tally.ok || tally.ballots !== ballots || tally.discrepancies !== 0) {
          throw new Error(`the tally did not verify cleanly: ${JSON.stringify(tally)}`);
        }
        // The warm-up is not timed: it must have ended before the clock started, and verified its own log.
        if (tally.warmUp === null || !tally.warmUp.ok || !tally.warmUp.beforeLastShare) {
          throw new Error(
            `the warm-up did not end cleanly before the last share: ${JSON.stringify(tally.warmUp)}`,
          );
        }
        process.stderr.write(`tally ${fmt(tally.seconds)} s; ceiling …\n`);
        const ceiling = runChild<{ seconds: number; threads: number; cpuSeconds: number }>([
          "--child",
          "ceiling",
          "--verifications",
          String(ballots + filled.checkpoints),
          "--openings",
          String(ballots),
        ]);
        pairs.push({ tally, ceiling });
        process.stderr.write(
          `ceiling ${fmt(ceiling.seconds)} s (CPU ${fmt(ceiling.cpuSeconds)} s): ` +
            `${fmt((ceiling.seconds / tally.seconds) * 100, 0)}%; tally verified at ` +
            `${fmt(tally.verifiedSeconds)} s, CPU ${fmt(tally.cpuSeconds)} s, peak RSS ${fmt(tally.maxRssMb, 0)} MB ` +
            `(sampled peaks, MB: ${JSON.stringify(tally.memoryPeaksMb)})\n`,
        );
      }
      const ratio = (p: Pair) => p.ceiling.seconds / p.tally.seconds;
      const sorted = [...pairs].sort((a, b) => ratio(a) - ratio(b));
      const median = sorted[Math.floor((sorted.length - 1) / 2)] as Pair;
      rows.push({
        ballots,
        checkpoints: filled.checkpoints,
        fillSeconds: filled.fillSeconds,
        tally: median.tally,
        ceilingSeconds: median.ceiling.seconds,
        ceilingCpuSeconds: median.ceiling.cpuSeconds,
        ceilingThreads: median.ceiling.threads,
        pairRatios: pairs.map(ratio),
        peakRssMb: Math.max(...pairs.map((p) => p.tally.maxRssMb)),
      });
    }
  } finally {
    await server.stop();
  }

  const warmUpRange = (measured: Row[]): string => {
    const seconds = measured.map((r) => r.tally.warmUp?.seconds ?? Number.NaN);
    return `${fmt(Math.min(...seconds))}–${fmt(Math.max(...seconds))} s`;
  };
  const body = [
    `${machineLine(server)} Run by \`npm run bench:audit\`; logs filled through \`appendVotes\`, ${batch} votes (one signed checkpoint) per transaction.`,
    "",
    "| ballots | checkpoints | tally end-to-end (last share → stored result) | ceiling: same Ed25519 verifications + box openings on all cores | ceiling / tally (wall) | every pair's ratio | CPU: ceiling / tally | peak RSS | target |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows.map(
      (r) =>
        `| ${r.ballots.toLocaleString("en")} | ${r.checkpoints.toLocaleString("en")} | ${fmt(r.tally.seconds)} s (${fmt(r.ballots / r.tally.seconds, 0)} ballots/s) | ${fmt(r.ceilingSeconds)} s (${(r.ballots + r.checkpoints).toLocaleString("en")} verifications + ${r.ballots.toLocaleString("en")} openings, ${r.ceilingThreads} threads) | **${fmt((r.ceilingSeconds / r.tally.seconds) * 100, 0)}%** | ${r.pairRatios.map((x) => `${fmt(x * 100, 0)}%`).join(", ")} | ${fmt(r.ceilingCpuSeconds, 1)} / ${fmt(r.tally.cpuSeconds, 1)} s = ${fmt((r.ceilingCpuSeconds / r.tally.cpuSeconds) * 100, 0)}% | ${fmt(r.peakRssMb, 0)} MB | ≥ 80%${r.ballots >= 1_000_000 ? "; < 90 s; ≤ 300 MB" : ""} |`,
    ),
    "",
    "Each size runs tally and ceiling as alternating pairs (each pair back to back, so both see the machine at the same speed); the row shows the median pair by ratio, and every pair's ratio in the order run. Peak RSS is the highest of the pairs' tallies. " +
      "CPU is each child process's own (user + system, every thread); the tally's excludes PostgreSQL's work for the COPY. " +
      `The crypto threads started at the first share and warmed the tally's code — the election's log read once through the COPY path (up to ${WARM_UP_LOG_ROWS.toLocaleString("en")} rows, dropped) and a throwaway log of ${WARM_UP_ENTRIES.toLocaleString("en")} entries verified ${WARM_UP_PASSES} times — in ${warmUpRange(rows)} (the rows' pairs), in every pair before the last share arrived a second after the first: its CPU is not in the tally's. ` +
      `Tally memory at its sampled peaks (MB): ${rows
        .map(
          (r) =>
            `${r.ballots.toLocaleString("en")}: ${Object.entries(r.tally.memoryPeaksMb)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")}`,
        )
        .join("; ")}.`,
    "",
    `Fill times (not measured against a target): ${rows.map((r) => `${r.ballots.toLocaleString("en")} in ${fmt(r.fillSeconds, 1)} s`).join(", ")}.`,
  ].join("\n");
  process.stdout.write(`${body}\n`);
  if (!values["no-docs"]) writeDocsSection("audit", body);
}

if (values.child === "tally") await tallyChild();
else if (values.child === "ceiling") await ceilingChild();
else await main();
