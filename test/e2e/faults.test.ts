// SPEC §12 under faults (issue #7): kiosks cast through a real Suara process while the process is killed with
// SIGKILL at random moments and restarted, PostgreSQL itself is restarted, and a proxy between kiosks and service
// drops connections after the service has answered (so after commit, before the kiosk hears). Each kiosk does what
// a real one does: keeps its prepared, signed ballot and resubmits the very same one (same ballot_id) until it has
// a receipt. Afterwards: every receipt a kiosk holds is in the log as it says; every ballot is in the log exactly
// once; tokens redeemed equal entries, per TPS; the log verifies end to end. Seeded: FAULT_SEED picks other moments.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SignedBallot } from "../../src/crypto/kiosk-nacl.js";
import { createDatabase, type DatabaseHandle } from "../../src/db/connection.js";
import { type EmbeddedPostgresHandle, freePort, startEmbeddedPostgres } from "../../src/db/embedded.js";
import { migrateToLatest } from "../../src/db/migrator.js";
import { type CastReceipt, createKioskKeys, KioskClient, KioskError } from "../../src/kiosk/client.js";
import { readElectionRecord, verifierInputOf } from "../../src/verify/record-file.js";
import { verifyElectionLog } from "../../src/verify/verifier.js";
import {
  addMember,
  addTallyKey,
  addVoters,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
  openPollsNow,
  TEST_JWT_SECRET,
} from "../helpers/app.js";

const SEED = Number(process.env.FAULT_SEED ?? 12);
const TPS = 2;
const KIOSKS_PER_TPS = 3;
const BALLOTS_PER_KIOSK = 30;
const BALLOTS = TPS * KIOSKS_PER_TPS * BALLOTS_PER_KIOSK;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}
const random = rng(SEED);
const trace = (what: string) => {
  if (process.env.FAULT_TRACE)
    process.stderr.write(`[faults ${new Date().toISOString().slice(11, 23)}] ${what}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
let pgPort: number;
let postgres: EmbeddedPostgresHandle;
let database: DatabaseHandle;
let setupApp: FastifyInstance;
let election: ElectionFixture;
let committeeToken: string;
const tokensByTps: string[][] = [];
const kioskIds: Array<{ id: string; tps: number; secretKey: Uint8Array }> = [];

const startPostgres = async () => {
  postgres = await startEmbeddedPostgres({ dataDir: path.join(dir, "pg"), port: pgPort, persistent: true });
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "suara-faults-"));
  chmodSync(dir, 0o755);
  pgPort = await freePort();
  await startPostgres();
  database = createDatabase(postgres.url, 5);
  await migrateToLatest(database.db);

  // Set-up through the app in this process: an open election, officers' check-ins (tokens), kiosks enrolled.
  ({ app: setupApp } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  const admin = await login(setupApp, "admin");
  election = await createElection(setupApp, admin, { tps: TPS, candidates: 3 });
  await addVoters(database.db, election, KIOSKS_PER_TPS * BALLOTS_PER_KIOSK);
  await addTallyKey(database.db, election.id);
  const ketua = await createUser(database.db, "ketua");
  await addMember(database.db, election.id, ketua.id, "committee");
  committeeToken = await login(setupApp, "ketua");
  for (const [t, tpsId] of election.tpsIds.entries()) {
    const officer = await createUser(database.db, `kpps-${t}`);
    await addMember(database.db, election.id, officer.id, "officer", tpsId);
    const officerToken = await login(setupApp, `kpps-${t}`);
    for (let k = 0; k < KIOSKS_PER_TPS; k++) {
      const keys = createKioskKeys();
      const enrolled = await setupApp.inject({
        method: "POST",
        url: `/elections/${election.id}/kiosks`,
        headers: bearer(committeeToken),
        payload: { tps_id: tpsId, label: `Bilik ${t}-${k}`, public_key: keys.publicKeyBase64 },
      });
      kioskIds.push({ id: enrolled.json().id, tps: t, secretKey: keys.secretKey });
    }
    await openPollsNow(database.db, election.id);
    tokensByTps[t] = [];
    for (let i = 0; i < KIOSKS_PER_TPS * BALLOTS_PER_KIOSK; i++) {
      const serial = t * KIOSKS_PER_TPS * BALLOTS_PER_KIOSK + i + 1;
      const checkin = await setupApp.inject({
        method: "POST",
        url: `/elections/${election.id}/tps/${tpsId}/checkins`,
        headers: bearer(officerToken),
        payload: { nik: `160705010180${String(serial).padStart(4, "0")}` },
      });
      expect(checkin.statusCode, checkin.body).toBe(201);
      (tokensByTps[t] as string[]).push(checkin.json().token);
    }
  }
  await setupApp.close();
}, 180_000);

afterAll(async () => {
  await database?.close();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// The service as a separate process, killed and restarted on one port

class ServiceProcess {
  private child: ChildProcess | null = null;
  readonly port: Promise<number> = freePort();
  restarts = 0;

  async start(): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
      env: {
        ...process.env,
        NODE_ENV: "test",
        DATABASE_URL: database ? postgres.url.replace(/\/postgres$/, "/postgres") : "",
        HOST: "127.0.0.1",
        PORT: String(await this.port),
        JWT_SECRET: TEST_JWT_SECRET,
        LOG_LEVEL: "error",
        DATABASE_POOL_SIZE: "10",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.once("exit", (code, signal) => trace(`service exited (${code ?? signal})`));
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      trace(`service stderr: ${chunk.toString("utf8").trim()}`);
    });
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      lines.on("line", (line) => {
        if (line.includes("Suara is serving on")) resolve();
      });
      child.once("exit", (code, signal) =>
        reject(new Error(`the service exited at start (${code ?? signal}): ${stderr}`)),
      );
    });
  }

  /** SIGKILL: no draining, no cleanup — the process is simply gone, mid-transaction or not. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await gone;
  }

  async restart(): Promise<void> {
    await this.kill();
    this.restarts++;
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await gone;
  }
}

/**
 * Between kiosks and service: passes bytes both ways, but while `dropShare` > 0 drops that share of the
 * service's responses — closing the kiosk's connection the moment the response starts, so the cast committed and
 * the kiosk never hears of it.
 */
function startDroppingProxy(
  target: number,
): Promise<{ port: number; dropped: () => number; close(): void; set(share: number): void }> {
  let share = 0;
  let dropped = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (chunk.subarray(0, 7).toString("latin1") === "HTTP/1." && random() < share) {
        dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        port: address.port,
        dropped: () => dropped,
        close: () => server.close(),
        set: (s) => {
          share = s;
        },
      });
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------

describe("casting under faults", () => {
  it("SIGKILLs, a PostgreSQL restart and responses lost after commit lose no ballot and cast none twice", async () => {
    const service = new ServiceProcess();
    await service.start();
    const proxy = await startDroppingProxy(await service.port);
    const baseUrl = `http://127.0.0.1:${proxy.port}`;

    // Each kiosk prepares its ballots first (sealed and signed, ballot ids chosen): what it will resubmit.
    const kiosks = kioskIds.map(
      (k) => new KioskClient({ baseUrl, electionId: election.id, kioskId: k.id, secretKey: k.secretKey }),
    );
    const prepared: SignedBallot[][] = [];
    for (const [i, kiosk] of kiosks.entries()) {
      prepared[i] = [];
      for (let b = 0; b < BALLOTS_PER_KIOSK; b++) {
        (prepared[i] as SignedBallot[]).push(await kiosk.prepareBallot(Math.floor(random() * 4)));
      }
    }

    const receipts = new Map<string, CastReceipt>();
    const refusals: string[] = [];
    let resubmissions = 0;
    const deadline = Date.now() + 150_000;
    const castAll = async (i: number) => {
      const kiosk = kiosks[i] as KioskClient;
      const tps = (kioskIds[i] as { tps: number }).tps;
      for (const ballot of prepared[i] as SignedBallot[]) {
        const token = (tokensByTps[tps] as string[]).pop() as string;
        for (;;) {
          try {
            receipts.set(ballot.ballotId, await kiosk.submitBallot(ballot, token, 1));
            break;
          } catch (error) {
            // A refusal is final (and must not happen here); anything else is retried with the same ballot.
            if (error instanceof KioskError && error.status < 500 && error.status !== 401) {
              refusals.push(`${error.code}: ${error.message}`);
              break;
            }
            if (Date.now() > deadline) throw new Error(`kiosk ${i} gave up: ${String(error)}`);
            resubmissions++;
            await sleep(50 + random() * 150);
          }
        }
      }
    };

    // Faults land when casting has reached these shares of the ballots, each after a random few milliseconds.
    const faults = async () => {
      const at = async (share: number) => {
        while (receipts.size < share * BALLOTS) await sleep(5);
        await sleep(random() * 40);
        trace(`fault at ${receipts.size} receipts`);
      };
      proxy.set(0.15);
      await at(0.15);
      await service.restart();
      await at(0.35);
      await service.restart();
      await at(0.5);
      // PostgreSQL goes away under a running service, and comes back.
      await postgres.stop();
      await sleep(300);
      await startPostgres();
      await at(0.7);
      await service.restart();
      await at(0.85);
      proxy.set(0.3);
    };

    try {
      await Promise.all([...kiosks.map((_, i) => castAll(i)), faults()]);
    } finally {
      proxy.set(0);
    }
    expect(refusals).toEqual([]);
    expect(receipts.size).toBe(BALLOTS);
    expect(service.restarts).toBe(3);
    expect(proxy.dropped()).toBeGreaterThan(0);
    expect(resubmissions).toBeGreaterThan(0);

    // Every receipt held is in the log exactly as it says; the log holds each ballot once and nothing else.
    const entries = await database.db
      .selectFrom("log_entries")
      .select(["seq", "ballot_id", "leaf_hash", "tracking_code"])
      .where("election_id", "=", election.id)
      .orderBy("seq")
      .execute();
    expect(entries.length).toBe(BALLOTS);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: BALLOTS }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.ballot_id)).size).toBe(BALLOTS);
    const bySeq = new Map(entries.map((e) => [e.seq, e]));
    for (const [ballotId, receipt] of receipts) {
      const entry = bySeq.get(receipt.seq);
      expect(entry?.ballot_id).toBe(ballotId);
      expect(entry?.leaf_hash.toString("base64")).toBe(receipt.leaf_hash);
      expect(entry?.tracking_code).toBe(receipt.tracking_code);
      expect(receipt.checkpoint.tree_size).toBeGreaterThanOrEqual(receipt.seq);
    }

    // No token redeemed without its entry, no entry without a redeemed token: per TPS, the two counts agree.
    for (const [t, tpsId] of election.tpsIds.entries()) {
      const redeemed = await database.db
        .selectFrom("ballot_tokens")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("election_id", "=", election.id)
        .where("tps_id", "=", tpsId)
        .where("state", "=", "redeemed")
        .executeTakeFirstOrThrow();
      const cast = kioskIds.filter((k) => k.tps === t).length * BALLOTS_PER_KIOSK;
      expect(Number(redeemed.n)).toBe(cast);
    }

    // The log verifies end to end, read back as a witness reads it.
    const record = await fetch(`http://127.0.0.1:${await service.port}/elections/${election.id}/record`, {
      headers: bearer(committeeToken),
    });
    expect(record.status).toBe(200);
    const lines = (await record.text()).split("\n");
    const report = await verifyElectionLog(verifierInputOf(await readElectionRecord(toAsync(lines))));
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ ok: true, entriesChecked: BALLOTS, treeSize: BALLOTS });

    proxy.close();
    await service.stop();
  }, 240_000);
});

async function* toAsync(lines: string[]): AsyncIterable<string> {
  yield* lines;
}
