// `npm run bench:proofs [-- --entries 1000000 --samples 2000 --seconds 10 --connections 20]`: the vote log
// against SPEC §13 (inclusion and consistency proofs for a 1,000,000-entry log in ≤ 20 ms p99).
//
// 1. Fills one election's log through the real append path (appendVotes, batches of --batch votes, each with a
//    real sealed ballot and kiosk signature, a checkpoint signed per batch).
// 2. Proof latency: --samples inclusion proofs (random entry, current size) and consistency proofs (random
//    sizes) through the same functions the HTTP routes call, and over HTTP (fastify inject). Ceiling: the bare
//    PostgreSQL round trip that fetches one stored hash by primary key, measured in the same run.
// 3. Appends/s: --connections connections each appending one vote per transaction for --seconds into a second
//    election's log. Ceiling: the same connections running a bare transaction that locks one row, updates it
//    and inserts one row of the same size (what an append does, without hashing or signing).
import { parseArgs } from "node:util";
import pg from "pg";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { canonicalBallotBytes, encodeBallotChoice } from "../../src/crypto/ballot.js";
import { generateEd25519KeyPair, kioskKeyId, signEd25519 } from "../../src/crypto/ed25519.js";
import { newId } from "../../src/crypto/random.js";
import { generateTallyKeyPair, sealBallotChoiceWithSodium } from "../../src/crypto/sealed-ballot.js";
import { createDatabase } from "../../src/db/connection.js";
import { loadLogKeyring } from "../../src/modules/log/log.keys.js";
import {
  appendVotes,
  consistencyProofFor,
  inclusionProofFor,
  type VoteToAppend,
} from "../../src/modules/log/log.service.js";
import {
  createBenchElection,
  fmt,
  machineLine,
  percentile,
  startBenchServer,
  writeDocsSection,
} from "./lib.js";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "1000000" },
    batch: { type: "string", default: "2000" },
    samples: { type: "string", default: "2000" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "20" },
    "no-docs": { type: "boolean", default: false },
  },
});
const ENTRIES = Number(values.entries);
const BATCH = Number(values.batch);
const SAMPLES = Number(values.samples);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);

const kiosk = generateEd25519KeyPair();
const kioskId = kioskKeyId(kiosk.publicKey);
const tally = generateTallyKeyPair();

function vote(electionId: string, tpsId: string): VoteToAppend {
  const ballotId = newId();
  const sealed = sealBallotChoiceWithSodium(
    encodeBallotChoice({ electionId, ballotId, candidateNumber: 1 + (ballotId.charCodeAt(0) % 3) }),
    tally.publicKey,
  );
  return {
    ballotId,
    tpsId,
    kioskKeyId: kioskId,
    ...sealed,
    kioskSignature: signEd25519(
      canonicalBallotBytes({ electionId, ballotId, tpsId, ...sealed }),
      kiosk.secretKey,
    ),
  };
}

const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const randomInt = (below: number) => Math.floor(Math.random() * below);

async function main(): Promise<void> {
  const server = await startBenchServer("proofs");
  try {
    const url = await server.freshDatabase("suara_bench_proofs");
    const { db, pool } = createDatabase(url, CONNECTIONS + 2);
    const keyring = await loadLogKeyring(db, "suara.local");
    const electionId = newId();
    const appendElectionId = newId();
    const tpsId = newId();
    // The bulletin board answers only for elections that exist.
    for (const id of [electionId, appendElectionId]) {
      await createBenchElection(db, {
        id,
        status: "open",
        tps: id === electionId ? [{ id: tpsId, code: "001" }] : [],
      });
    }

    // 1. Fill the log through the real append path.
    let started = performance.now();
    for (let done = 0; done < ENTRIES; done += BATCH) {
      const votes = Array.from({ length: Math.min(BATCH, ENTRIES - done) }, () => vote(electionId, tpsId));
      await db.transaction().execute((tx) => appendVotes(tx, keyring, electionId, votes));
      if ((done / BATCH) % 50 === 0) process.stderr.write(`  … ${done.toLocaleString("en")} entries\n`);
    }
    const fillSeconds = (performance.now() - started) / 1000;
    process.stderr.write(`filled ${ENTRIES} entries in ${fmt(fillSeconds, 1)} s\n`);
    await pool.query("VACUUM ANALYZE log_entries, log_tree_nodes");

    // 2. Proof latency, in-process and over HTTP, against a bare indexed fetch.
    const inclusion: number[] = [];
    const consistency: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const seq = 1 + randomInt(ENTRIES);
      inclusion.push(await timed(() => inclusionProofFor(db, electionId, { seq })));
      const a = 1 + randomInt(ENTRIES - 1);
      const b = a + 1 + randomInt(ENTRIES - a);
      consistency.push(await timed(() => consistencyProofFor(db, electionId, a, b)));
      bare.push(
        await timed(() =>
          pool.query("SELECT leaf_hash FROM log_entries WHERE election_id = $1 AND seq = $2", [
            electionId,
            seq,
          ]),
        ),
      );
    }
    const config = loadConfig({ LOG_LEVEL: "silent", JWT_SECRET: "x".repeat(32) });
    const app = await buildApp(config, { db, pool, logKeyring: keyring });
    const http: number[] = [];
    for (let i = 0; i < SAMPLES / 2; i++) {
      const seq = 1 + randomInt(ENTRIES);
      http.push(
        await timed(async () => {
          const r = await app.inject({
            method: "GET",
            url: `/elections/${electionId}/log/proofs/inclusion?seq=${seq}`,
          });
          if (r.statusCode !== 200) throw new Error(r.body);
        }),
      );
    }
    await app.close();

    // 3. Appends per second into one log from many connections, against the bare lock-update-insert.
    const pools = Array.from({ length: CONNECTIONS }, () => createDatabase(url, 1));
    let appends = 0;
    const appendLatency: number[] = [];
    started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(
      pools.map(async ({ db: one }) => {
        while (performance.now() < deadline) {
          const v = vote(appendElectionId, tpsId);
          appendLatency.push(
            await timed(() =>
              one.transaction().execute((tx) => appendVotes(tx, keyring, appendElectionId, [v])),
            ),
          );
          appends++;
        }
      }),
    );
    const appendSeconds = (performance.now() - started) / 1000;
    await Promise.all(pools.map((p) => p.close()));

    const ceilingPools = Array.from(
      { length: CONNECTIONS },
      () => new pg.Pool({ connectionString: url, max: 1 }),
    );
    await ceilingPools[0]?.query(
      "CREATE TABLE bench_head (id int PRIMARY KEY, n bigint); INSERT INTO bench_head VALUES (1, 0); " +
        "CREATE TABLE bench_rows (n bigint PRIMARY KEY, payload bytea)",
    );
    const payload = Buffer.alloc(330, 7);
    let bareTx = 0;
    started = performance.now();
    const bareDeadline = started + SECONDS * 1000;
    await Promise.all(
      ceilingPools.map(async (p) => {
        const client = await p.connect();
        try {
          while (performance.now() < bareDeadline) {
            await client.query("BEGIN");
            const { rows } = await client.query("SELECT n FROM bench_head WHERE id = 1 FOR UPDATE");
            const n = Number(rows[0]?.n) + 1;
            await client.query("UPDATE bench_head SET n = $1 WHERE id = 1", [n]);
            await client.query("INSERT INTO bench_rows VALUES ($1, $2)", [n, payload]);
            await client.query("COMMIT");
            bareTx++;
          }
        } finally {
          client.release();
        }
      }),
    );
    const bareSeconds = (performance.now() - started) / 1000;
    await Promise.all(ceilingPools.map((p) => p.end()));
    await db.destroy();

    const inc = stats(inclusion);
    const con = stats(consistency);
    const web = stats(http);
    const raw = stats(bare);
    const app99 = stats(appendLatency);
    const appendRate = appends / appendSeconds;
    const bareRate = bareTx / bareSeconds;
    const body = [
      `${machineLine(server)} Log filled through \`appendVotes\` in batches of ${BATCH}: ${ENTRIES.toLocaleString("en")} entries in ${fmt(fillSeconds, 1)} s.`,
      "",
      "| measurement | p50 | p99 | target | ceiling in the same run (p50 / p99) | ceiling p99 / p99 |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      `| inclusion proof, ${ENTRIES.toLocaleString("en")} entries (${SAMPLES} samples) | ${fmt(inc.p50)} ms | **${fmt(inc.p99)} ms** | ≤ 20 ms | bare indexed fetch ${fmt(raw.p50)} / ${fmt(raw.p99)} ms | ${fmt((raw.p99 / inc.p99) * 100, 0)}% |`,
      `| consistency proof, random sizes (${SAMPLES} samples) | ${fmt(con.p50)} ms | **${fmt(con.p99)} ms** | ≤ 20 ms | same | ${fmt((raw.p99 / con.p99) * 100, 0)}% |`,
      `| inclusion proof over HTTP (inject, ${SAMPLES / 2} samples) | ${fmt(web.p50)} ms | ${fmt(web.p99)} ms | ≤ 20 ms | same | ${fmt((raw.p99 / web.p99) * 100, 0)}% |`,
      "",
      "| appends into one log, " +
        `${CONNECTIONS} connections, ${SECONDS} s | appends/s | append p50 / p99 | ceiling: bare lock + update + insert | appends / ceiling |`,
      "| --- | ---: | ---: | ---: | ---: |",
      `| one vote per transaction, checkpoint signed each time | ${fmt(appendRate, 0)} | ${fmt(app99.p50)} / ${fmt(app99.p99)} ms | ${fmt(bareRate, 0)} tx/s | **${fmt((appendRate / bareRate) * 100, 0)}%** |`,
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (!values["no-docs"]) writeDocsSection("proofs", body);
  } finally {
    await server.stop();
  }
}

await main();
