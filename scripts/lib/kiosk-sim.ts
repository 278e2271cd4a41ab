// The kiosk load simulator's parts (SPEC §4, §12, §13), shared by `npm run simulate-kiosks` and
// `npm run bench:cast`. Everything goes through a real Suara process's HTTP API, as people and kiosks use it:
// an election set up by its committee (TPS, candidates, a generated DPT imported, the tally-key ceremony,
// kiosks enrolled each with its own key pair, the polls opened), voters checked in by the KPPS officer of
// their TPS (the tokens the kiosks then redeem), and kiosks that sign in by challenge and cast through the kiosk
// client library — each kiosk one ballot at a time, as a booth with one voter in it, resubmitting the very same
// signed ballot when the network or the service fails (idempotent by ballot_id).
//
// Ballots are prepared (sealed to the tally key and signed) before the timed phase, as a kiosk does while the
// voter confirms. The library's tweetnacl code prepares ~110 ballots/s on one core here, which would make the
// set-up of a load run take minutes; by default the simulator prepares the same bytes with libsodium (the
// cross-tests in test/unit keep the two byte-identical) and hands them to the library's submitBallot.
// `--prepare library` uses the library's own prepareBallot instead.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { canonicalBallotBytes, encodeBallotChoice } from "../../src/crypto/ballot.js";
import { signEd25519 } from "../../src/crypto/ed25519.js";
import type { SignedBallot } from "../../src/crypto/kiosk-nacl.js";
import { sealBallotChoiceWithSodium } from "../../src/crypto/sealed-ballot.js";
import { generateHolderKeyPair } from "../../src/crypto/tally-key.js";
import {
  type CastReceipt,
  createKioskKeys,
  fromBase64,
  KioskClient,
  KioskError,
} from "../../src/kiosk/client.js";
import { type DptRow, expectedOutcome, generateDptRows, planTps, toCsvLines } from "./dpt-generator.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// ---------------------------------------------------------------------------------------------------------------
// The service, as `npm start` runs it, in a child process

export interface SuaraProcess {
  baseUrl: string;
  pid: number;
  adminPassword: string;
  /** The process's peak resident memory so far (VmHWM), in bytes; null where /proc is not there. */
  peakRss(): number | null;
  stop(): Promise<void>;
}

/** Starts `src/server.ts` on a free port; `env` adds to (and overrides) the service's environment. */
export async function startSuara(env: Record<string, string>): Promise<SuaraProcess> {
  const adminPassword = `Sim-${randomBytes(12).toString("base64url")}`;
  const child: ChildProcess = spawn(
    process.execPath,
    // SUARA_NODE_ARGS: extra Node options for the service (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    [...(process.env.SUARA_NODE_ARGS?.split(" ").filter(Boolean) ?? []), "--import", "tsx", "src/server.ts"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: "development",
        HOST: "127.0.0.1",
        PORT: "0",
        LOG_LEVEL: "warn",
        ADMIN_USERNAME: "admin",
        ADMIN_PASSWORD: adminPassword,
        JWT_SECRET: randomBytes(32).toString("base64url"),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-20_000);
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const serving = /Suara is serving on (http:\/\/\S+?) /.exec(line);
      if (serving) resolve(serving[1] as string);
    });
    child.once("exit", (code) => reject(new Error(`the service exited (code ${code}): ${stderr}`)));
  });
  const pid = child.pid as number;
  return {
    baseUrl,
    pid,
    adminPassword,
    peakRss() {
      try {
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        const kb = /VmHWM:\s+(\d+) kB/.exec(status);
        return kb ? Number(kb[1]) * 1024 : null;
      } catch {
        return null;
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc; null where there is no /proc. */
export function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/**
 * CPU seconds used so far by one PostgreSQL server — its postmaster (the pid in its data folder's postmaster.pid)
 * and the processes it started — or, without a postmaster pid, by every process named `postgres` here.
 */
export function postgresCpuSeconds(postmasterPid?: number): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const ours =
        postmasterPid === undefined
          ? comm === "postgres"
          : Number(entry) === postmasterPid || ppid === postmasterPid;
      if (ours) total += cpuSecondsOf(Number(entry)) ?? 0;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------------
// The HTTP API as any client sees it

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(readonly baseUrl: string) {}

  async call<T = Record<string, unknown>>(
    token: string | null,
    method: string,
    url: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<T> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = contentType;
    const response = await fetch(`${this.baseUrl}${url}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    const parsed = text === "" ? null : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const error = (parsed as { error?: { code: string; message: string } } | null)?.error;
      throw new ApiError(response.status, error?.code ?? "HTTP_ERROR", error?.message ?? text);
    }
    return parsed as T;
  }

  async signIn(username: string, password: string): Promise<string> {
    const { access_token } = await this.call<{ access_token: string }>(null, "POST", "/auth/login", {
      username,
      password,
    });
    return access_token;
  }

  /** A new account: the administrator creates it, its person signs in with the one-time password and sets one. */
  async newAccount(adminToken: string, username: string): Promise<{ id: string; token: string }> {
    const created = await this.call<{ user: { id: string }; one_time_password: string }>(
      adminToken,
      "POST",
      "/users",
      { username, display_name: username },
    );
    const first = await this.signIn(username, created.one_time_password);
    const { access_token } = await this.call<{ access_token: string }>(first, "POST", "/auth/password", {
      current_password: created.one_time_password,
      new_password: `Sim-${randomBytes(12).toString("base64url")}`,
    });
    return { id: created.user.id, token: access_token };
  }
}

/**
 * A `fetch` for the kiosk library over node:http with one kept-alive connection per kiosk. The simulator runs
 * all its kiosks on the machine that also runs the service, so the kiosks' own HTTP cost is taken from the
 * service: undici's fetch costs about 1.2 ms of CPU per cast here, this about a third of it. The library is the
 * same either way (it takes its fetch as an option, as a booth's browser would give it window.fetch).
 */
export function lightFetch(): typeof fetch {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return ((input: string | URL | Request, init?: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const request = http.request(
        String(input),
        { method: init?.method ?? "GET", headers: init?.headers as Record<string, string>, agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({
              ok: status >= 200 && status < 300,
              status,
              statusText: response.statusMessage ?? "",
              text: async () => text,
            } as Response);
          });
        },
      );
      request.on("error", reject); // a network error: the library retries the same ballot
      request.end(typeof init?.body === "string" ? init.body : undefined);
    })) as typeof fetch;
}

/** A voting day of "today" in a zone where now is away from midnight, so polls open 00:00–23:59 are open now. */
export function votingDayNow(): { day: string; zone: "WIB" | "WITA" | "WIT" } {
  for (const [zone, offset] of [
    ["WIB", 7],
    ["WITA", 8],
    ["WIT", 9],
  ] as const) {
    const local = new Date(Date.now() + offset * 3600_000);
    const minutes = local.getUTCHours() * 60 + local.getUTCMinutes();
    if (minutes >= 10 && minutes <= 23 * 60 + 20) return { day: local.toISOString().slice(0, 10), zone };
  }
  throw new Error("unreachable: one of three zones an hour apart is away from midnight");
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// One election set up for polling day

export interface SimKiosk {
  electionId: string;
  tpsId: string;
  label: string;
  client: KioskClient;
  secretKey: Uint8Array;
  /** Tokens from check-ins at this kiosk's TPS, for this kiosk's voters, in order. */
  tokens: string[];
  /** Sealed, signed ballots ready to submit, one per token. */
  ballots: SignedBallot[];
  /** Ballot submissions this kiosk has sent (POST /ballots, retries included). */
  submissions: number;
}

export interface SimElection {
  id: string;
  tps: Array<{ id: string; code: string; officerToken: string; voters: string[] }>;
  kiosks: SimKiosk[];
  tallyPublicKey: Uint8Array;
}

export interface ElectionPlan {
  /** Distinguishes this election's accounts from others' on the same service. */
  label: string;
  /** Voters on the roll (the generator makes TPS of tpsSize voters). */
  voters: number;
  tpsSize: [number, number];
  kiosksPerTps: number;
  seed: number;
  /** The kiosks' HTTP: node:http (light, the default) or the platform's fetch (undici). */
  transport?: "http" | "fetch";
}

/**
 * An open election set up through the API: a committee of two (who hold the tally key 2-of-2), one officer per
 * TPS, three candidates, the generated roll imported, kiosks enrolled with their own keys, the polls opened.
 */
export async function setUpElection(api: Api, adminToken: string, plan: ElectionPlan): Promise<SimElection> {
  const { day, zone } = votingDayNow();
  const election = await api.call<{ id: string }>(adminToken, "POST", "/elections", {
    name: `Simulated pilkades ${plan.label}`,
    village_name: `Desa ${plan.label}`,
    region_code: "16.07.05.2001",
    voting_day: day,
    time_zone: zone,
    opens_at_local: "00:00",
    closes_at_local: "23:59",
  });
  const E = `/elections/${election.id}`;
  const committee = [];
  for (const n of [1, 2]) {
    const account = await api.newAccount(adminToken, `${plan.label}.panitia${n}`);
    await api.call(adminToken, "POST", `${E}/members`, {
      username: `${plan.label}.panitia${n}`,
      role: "committee",
    });
    committee.push(account);
  }
  const ketua = (committee[0] as { token: string }).token;

  const tpsPlan = planTps({ rows: plan.voters, seed: plan.seed, tpsSize: plan.tpsSize });
  const tps: SimElection["tps"] = [];
  for (const entry of tpsPlan) {
    const created = await api.call<{ id: string }>(ketua, "POST", `${E}/tps`, {
      code: entry.code,
      name: `TPS ${entry.code}`,
    });
    const officer = `${plan.label}.kpps${entry.code}`;
    const account = await api.newAccount(adminToken, officer);
    await api.call(ketua, "POST", `${E}/members`, { username: officer, role: "officer", tps_id: created.id });
    tps.push({ id: created.id, code: entry.code, officerToken: account.token, voters: [] });
  }
  for (const [i, name] of ["Calon Satu", "Calon Dua", "Calon Tiga"].entries()) {
    await api.call(ketua, "POST", `${E}/candidates`, { ballot_number: i + 1, name });
  }

  // The roll: the generator's rows, none of them deliberately bad; the voters are those accepted once.
  const rows: DptRow[] = [
    ...generateDptRows({ rows: plan.voters, seed: plan.seed, votingDay: day, tpsSize: plan.tpsSize }),
  ];
  const csv = [...toCsvLines(rows)].join("");
  await api.call(ketua, "POST", `${E}/roll?mode=partial`, csv, "text/csv");
  const nikCount = new Map<string, number>();
  for (const r of rows) nikCount.set(r.nik, (nikCount.get(r.nik) ?? 0) + 1);
  const byCode = new Map(tps.map((t) => [t.code, t]));
  for (const r of rows) {
    if (expectedOutcome(r.kind) === "rejected" || nikCount.get(r.nik) !== 1) continue;
    byCode.get(r.tps)?.voters.push(r.nik);
  }

  // The ceremony: each holder registers a key made on their own device; 2 of 2 to tally.
  for (const holder of committee) {
    const keys = generateHolderKeyPair();
    await api.call(holder.token, "PUT", `${E}/ceremony/holder-key`, {
      public_key: keys.publicKey.toString("base64"),
    });
  }
  const ceremony = await api.call<{ public_key: string }>(ketua, "POST", `${E}/ceremony`, {
    threshold: 2,
    holders: committee.map((c) => c.id),
  });

  const kiosks: SimKiosk[] = [];
  for (const t of tps) {
    for (let k = 1; k <= plan.kiosksPerTps; k++) {
      const keys = createKioskKeys(); // made on the kiosk; only the public key leaves it
      const label = `Bilik ${k} TPS ${t.code}`;
      const enrolled = await api.call<{ id: string }>(ketua, "POST", `${E}/kiosks`, {
        tps_id: t.id,
        label,
        public_key: keys.publicKeyBase64,
      });
      const transport = plan.transport === "fetch" ? fetch : lightFetch();
      const kiosk: SimKiosk = {
        electionId: election.id,
        tpsId: t.id,
        label,
        secretKey: keys.secretKey,
        client: new KioskClient({
          baseUrl: api.baseUrl,
          electionId: election.id,
          kioskId: enrolled.id,
          secretKey: keys.secretKey,
          // The library's own fetch, counted, so the run can say how many submissions were retries.
          fetch: (input, init) => {
            if (init?.method === "POST" && String(input).endsWith("/ballots")) kiosk.submissions++;
            return transport(input, init);
          },
        }),
        tokens: [],
        ballots: [],
        submissions: 0,
      };
      kiosks.push(kiosk);
    }
  }
  await api.call(ketua, "POST", `${E}/open`);
  return { id: election.id, tps, kiosks, tallyPublicKey: fromBase64(ceremony.public_key) };
}

/**
 * Checks in `perKiosk` voters for every kiosk of the election (voters of the kiosk's TPS, by its officer) and
 * gives each kiosk the tokens of its own voters. Throws if a TPS has too few voters on the roll.
 */
export async function checkInVoters(
  api: Api,
  election: SimElection,
  perKiosk: number,
  concurrency = 8,
): Promise<void> {
  const jobs: Array<{ kiosk: SimKiosk; officerToken: string; tpsId: string; nik: string }> = [];
  for (const t of election.tps) {
    const booths = election.kiosks.filter((k) => k.tpsId === t.id);
    if (t.voters.length < booths.length * perKiosk) {
      throw new Error(
        `TPS ${t.code} has ${t.voters.length} voters, fewer than ${booths.length} kiosks × ${perKiosk} ballots`,
      );
    }
    let v = 0;
    for (const kiosk of booths) {
      for (let i = 0; i < perKiosk; i++) {
        jobs.push({ kiosk, officerToken: t.officerToken, tpsId: t.id, nik: t.voters[v++] as string });
      }
    }
  }
  await inParallel(jobs, concurrency, async (job) => {
    const { token } = await api.call<{ token: string }>(
      job.officerToken,
      "POST",
      `/elections/${election.id}/tps/${job.tpsId}/checkins`,
      { nik: job.nik },
    );
    job.kiosk.tokens.push(token);
  });
}

/** A choice the way a village might lean: candidates 1–3 and a few blank ballots (0). */
export function choiceOf(i: number): number {
  const x = (i * 0.6180339887) % 1;
  return x < 0.45 ? 1 : x < 0.8 ? 2 : x < 0.97 ? 3 : 0;
}

/**
 * One sealed, signed ballot per token of the kiosk, ready to submit. "sodium" makes the bytes the kiosk library
 * makes, with libsodium (fast); "library" calls the library's own prepareBallot (tweetnacl, ~110/s).
 */
export async function prepareBallots(
  kiosk: SimKiosk,
  tallyPublicKey: Uint8Array,
  how: "sodium" | "library" = "sodium",
): Promise<void> {
  kiosk.ballots = [];
  for (let i = 0; i < kiosk.tokens.length; i++) {
    const candidateNumber = choiceOf(i);
    if (how === "library") {
      kiosk.ballots.push(await kiosk.client.prepareBallot(candidateNumber));
      continue;
    }
    const ballotId = crypto.randomUUID();
    const sealed = sealBallotChoiceWithSodium(
      encodeBallotChoice({ electionId: kiosk.electionId, ballotId, candidateNumber }),
      tallyPublicKey,
    );
    const content = { electionId: kiosk.electionId, ballotId, tpsId: kiosk.tpsId, ...sealed };
    kiosk.ballots.push({
      ...content,
      kioskSignature: signEd25519(canonicalBallotBytes(content), kiosk.secretKey),
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Casting

export interface CastSample {
  electionId: string;
  /** performance.now() when the kiosk sent the ballot, and when it held the receipt. */
  sentAt: number;
  doneAt: number;
  /** Submissions the ballot needed (1 unless the network or the service failed). */
  attempts: number;
  receipt: CastReceipt;
}

export interface CastRun {
  samples: CastSample[];
  refusals: Array<{ kiosk: string; code: string; message: string }>;
  startedAt: number;
  /** When casting stopped: the deadline, or the moment the first kiosk used its last token, if earlier. */
  stoppedAt: number;
  /** True when a kiosk ran out of tokens before the deadline (the window then ends there). */
  ranDry: boolean;
}

/**
 * Every kiosk casts its prepared ballots one at a time until `seconds` have passed or any kiosk runs out (so
 * that the load stays that of all kiosks to the end). A failed submission (network, 5xx) is retried with the same
 * signed ballot, up to `attempts` times per ballot, by the library; a refusal (4xx) is recorded and the kiosk
 * moves on to its next voter.
 */
export async function castUntil(
  kiosks: readonly SimKiosk[],
  seconds: number,
  attempts = 8,
): Promise<CastRun> {
  const samples: CastSample[] = [];
  const refusals: CastRun["refusals"] = [];
  const startedAt = performance.now();
  let stopAt = startedAt + seconds * 1000;
  let ranDry = false;
  await Promise.all(
    kiosks.map(async (kiosk) => {
      for (let i = 0; ; i++) {
        if (performance.now() >= stopAt) return;
        const ballot = kiosk.ballots[i];
        const token = kiosk.tokens[i];
        if (!ballot || !token) {
          if (performance.now() < stopAt) {
            stopAt = performance.now();
            ranDry = true;
          }
          return;
        }
        const sentAt = performance.now();
        const before = kiosk.submissions;
        try {
          const receipt = await kiosk.client.submitBallot(ballot, token, attempts);
          samples.push({
            electionId: kiosk.electionId,
            sentAt,
            doneAt: performance.now(),
            attempts: kiosk.submissions - before,
            receipt,
          });
        } catch (error) {
          if (!(error instanceof KioskError)) throw error;
          refusals.push({ kiosk: kiosk.label, code: error.code, message: error.message });
        }
      }
    }),
  );
  return { samples, refusals, startedAt, stoppedAt: Math.min(stopAt, performance.now()), ranDry };
}

/** Signs every kiosk in (challenge, signature, session) and fetches its enrolment, before anything is timed. */
export async function signInKiosks(kiosks: readonly SimKiosk[]): Promise<void> {
  await inParallel(kiosks, 8, async (kiosk) => {
    await kiosk.client.signIn();
  });
}
