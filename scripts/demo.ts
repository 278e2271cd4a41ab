// `npm run demo [-- --voters 3000 --turnout 0.7 --seed 2027 --out data/demo]`: a whole pilkades, told step by
// step, through the real HTTP API of a real Suara process — nothing but Node.js needed (the service starts its
// embedded PostgreSQL in the demo's folder). The regency operator sets up the election and the committee; the
// committee imports a generated DPT, sets candidates and TPS, holds the tally-key ceremony and enrols the
// kiosks; the officers check voters in (with a DPK resident, a voter at the wrong TPS, a voter who leaves and
// comes back), the kiosks cast sealed, signed ballots; the polls close; the share holders tally; the committee
// certifies; a witness downloads the election record and verifies it offline with the command any witness can
// run. At the end the service's own log is searched for every NIK, token, password and bearer token the demo
// used: there must be none. Exit code 0 only if every step did what it should.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { verifyInclusion } from "../src/crypto/merkle.js";
import { generateHolderKeyPair, openSealedShare } from "../src/crypto/tally-key.js";
import { freePort } from "../src/db/embedded.js";
import { createKioskKeys, KioskClient, KioskError } from "../src/kiosk/client.js";
import { maskNik } from "../src/modules/roll/nik.js";
import { type DptRow, expectedOutcome, generateDptRows, planTps, toCsvLines } from "./lib/dpt-generator.js";
import { votingDayNow } from "./lib/kiosk-sim.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const { values } = parseArgs({
  options: {
    voters: { type: "string", default: "3000" },
    turnout: { type: "string", default: "0.7" },
    seed: { type: "string", default: "2027" },
    out: { type: "string", default: path.join("data", "demo") },
    quiet: { type: "boolean", default: false },
  },
});
const VOTERS = Number(values.voters);
const TURNOUT = Number(values.turnout);
const SEED = Number(values.seed);
if (!Number.isInteger(VOTERS) || VOTERS < 400 || VOTERS > 200_000) {
  throw new Error("--voters must be a whole number from 400 to 200000");
}
if (!(TURNOUT > 0 && TURNOUT <= 1)) throw new Error("--turnout must be in (0, 1]");
const OUT = path.resolve(ROOT, values.out);
// TPS of 200–600 voters as in Banyuasin; a small demo roll gets smaller TPS, so there are always several.
const TPS_SIZE: [number, number] =
  VOTERS >= 1200 ? [200, 600] : [Math.floor(VOTERS / 4), Math.floor(VOTERS / 2)];

// ---------------------------------------------------------------------------------------------------------------
// Telling the story

let step = 0;
const started = performance.now();
const say = (line = "") => process.stdout.write(`${line}\n`);
const chapter = (title: string) => {
  step++;
  const at = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  say();
  say(`[${at} s] ${step}. ${title}`);
};
const detail = (line: string) => say(`     ${line}`);

/** What the demo expects, checked as it goes; a broken promise ends the demo with exit code 1. */
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`demo check failed: ${what}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded choices (the demo is deterministic but for keys, ids and tokens, which must be random)

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The service, started exactly as `npm start` starts it, with its data and log in the demo's folder

interface Service {
  baseUrl: string;
  oneTimePassword: string;
  process: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

async function startService(): Promise<Service> {
  const logFile = path.join(OUT, "service.log");
  const log = createWriteStream(logFile);
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.ADMIN_PASSWORD;
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: ROOT,
    env: {
      ...env,
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      PORT: "0",
      PG_DATA_DIR: path.join(OUT, "pg"),
      PG_EMBEDDED_PORT: String(await freePort()),
      LOG_LEVEL: "info",
      LOG_ORIGIN: "pilkades.banyuasinkab.go.id",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr?.pipe(log, { end: false });
  let oneTimePassword: string | null = null;
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      // Everything the service prints goes to its log file, except the one-time password, which it prints
      // once for the operator's eyes (the demo is that operator).
      const otp = /one-time password:\s+(\S+)/.exec(line);
      if (otp) oneTimePassword = otp[1] as string;
      else log.write(`${line}\n`);
      const serving = /Suara is serving on (http:\/\/\S+?) /.exec(line);
      if (serving) resolve(serving[1] as string);
    });
    child.once("exit", (code) => reject(new Error(`the service exited (code ${code}); see ${logFile}`)));
  });
  if (oneTimePassword === null)
    throw new Error("the service printed no one-time password (is the data folder new?)");
  return {
    baseUrl,
    oneTimePassword,
    process: child,
    logFile,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      await new Promise((resolve) => log.end(resolve));
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The HTTP API, as any client sees it

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let baseUrl = "";
/** Every secret the demo handled, to search the service's log for at the end. */
const secrets = {
  niks: new Set<string>(),
  tokens: new Set<string>(),
  passwords: new Set<string>(),
  bearers: new Set<string>(),
};

async function api<T = Record<string, unknown>>(
  token: string | null,
  method: string,
  url: string,
  body?: unknown,
  contentType = "application/json",
): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = contentType;
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers,
    ...(body === undefined
      ? {}
      : { body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed =
    text === "" ? null : response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
  if (!response.ok) {
    const error = (parsed as { error?: { code: string; message: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "HTTP_ERROR", error?.message ?? text);
  }
  return parsed as T;
}

/** A request that must be refused with `code`; returns the service's message for the story. */
async function refused(code: string, call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    // ApiError here, KioskError from the kiosk library: both carry the service's code.
    if ((error instanceof ApiError || error instanceof KioskError) && error.code === code)
      return error.message;
    throw error;
  }
  throw new Error(`demo check failed: expected the service to refuse with ${code}`);
}

async function signIn(username: string, password: string): Promise<string> {
  const { access_token } = await api<{ access_token: string }>(null, "POST", "/auth/login", {
    username,
    password,
  });
  secrets.bearers.add(access_token);
  return access_token;
}

/** First sign-in with a one-time password: the service insists on a new password before anything else. */
async function firstSignIn(username: string, oneTimePassword: string): Promise<string> {
  secrets.passwords.add(oneTimePassword);
  const first = await signIn(username, oneTimePassword);
  const chosen = `Sandi-${randomBytes(9).toString("base64url")}-Rengit`;
  secrets.passwords.add(chosen);
  const { access_token } = await api<{ access_token: string }>(first, "POST", "/auth/password", {
    current_password: oneTimePassword,
    new_password: chosen,
  });
  secrets.bearers.add(access_token);
  return access_token;
}

// ---------------------------------------------------------------------------------------------------------------

const CANDIDATES = [
  { ballot_number: 1, name: "H. Ahmad Fauzi, S.Pd." },
  { ballot_number: 2, name: "Siti Rahmawati" },
  { ballot_number: 3, name: "Budi Santoso, S.T." },
];
/** How the village leans (candidate 1, 2, 3, blank), for the generated choices. */
const LEANING = [0.44, 0.36, 0.17, 0.03];

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  say(
    "Suara — a whole pilkades (village-head election), from the voter roll to a certified, verified result.",
  );
  say(
    `Everything below goes through the service's real HTTP API. Files: ${path.relative(ROOT, OUT) || "."}/`,
  );

  chapter("The regency operator (Dinas PMD) starts Suara on a fresh machine");
  const service = await startService();
  baseUrl = service.baseUrl;
  detail(
    `Suara serves on ${baseUrl}; its embedded PostgreSQL keeps data in ${path.relative(ROOT, path.join(OUT, "pg"))}/.`,
  );
  detail("On first start it printed a one-time password for the administrator, once.");
  let exitCode = 1;
  try {
    await story(service);
    exitCode = 0;
  } finally {
    await service.stop();
    if (exitCode !== 0)
      say(`\nThe demo stopped early; the service log is in ${path.relative(ROOT, service.logFile)}.`);
  }
  scanLog(service.logFile);
  say();
  say(`Done in ${((performance.now() - started) / 1000).toFixed(0)} s.`);
}

async function story(service: Service): Promise<void> {
  const admin = await firstSignIn("admin", service.oneTimePassword);
  detail("The administrator signed in and replaced it with a password of their own (the service insists).");

  chapter("The operator creates the election and the accounts of the village's people");
  // The polls must be open now: the demo votes "today" in a zone where now is not near midnight (a real
  // committee opens 07:00–13:00 WIB; the demo keeps its polls open all day).
  const { day, zone } = votingDayNow();
  const election = await api<{ id: string; voting_day: string }>(admin, "POST", "/elections", {
    name: "Pilkades Desa Sungai Rengit 2027",
    village_name: "Sungai Rengit",
    region_code: "16.07.05.2001",
    voting_day: day,
    time_zone: zone,
    opens_at_local: "00:00",
    closes_at_local: "23:59",
    tie_break: { area_unit: "area", fallbacks: ["largest_tps", "second_round"] },
  });
  const E = `/elections/${election.id}`;
  detail(`Election "Pilkades Desa Sungai Rengit 2027", voting day ${day} (${zone}), in draft.`);
  detail(
    "Ties, should there be one, go to the candidate leading in more dusun; then the largest TPS; then a second round.",
  );

  const dpt = [
    ...generateDptRows({
      rows: VOTERS,
      seed: SEED,
      votingDay: day,
      tpsSize: TPS_SIZE,
      bad: {
        nik_scientific: 0.002,
        date_feb31: 0.001,
        underage_unmarried: 0.001,
        duplicate_nik: 0.002,
        nik_region_mismatch: 0.002,
      },
    }),
  ];
  const tpsCodes = planTps({ rows: VOTERS, seed: SEED, tpsSize: TPS_SIZE }).map((t) => t.code);
  const people = {
    committee: ["ketua.panitia", "sekretaris.panitia", "anggota.panitia"],
    witnesses: ["saksi.calon1", "saksi.calon2", "saksi.calon3"],
    officers: tpsCodes.map((c) => `kpps.tps${c}`),
  };
  const tokens: Record<string, string> = { admin };
  const userIds: Record<string, string> = {};
  for (const username of [...people.committee, ...people.witnesses, ...people.officers]) {
    const created = await api<{ user: { id: string }; one_time_password: string }>(admin, "POST", "/users", {
      username,
      display_name: username.replace(".", " ").replace(/\b\w/g, (c) => c.toUpperCase()),
    });
    userIds[username] = created.user.id;
    tokens[username] = await firstSignIn(username, created.one_time_password);
  }
  for (const username of people.committee) {
    await api(admin, "POST", `${E}/members`, { username, role: "committee" });
  }
  detail(
    `${people.committee.length} committee members (panitia), ${people.witnesses.length} candidates' witnesses (saksi), ${people.officers.length} KPPS officers;`,
  );
  detail("each signed in with a one-time password and chose their own. The operator named the committee.");
  const ketua = tokens[people.committee[0] as string] as string;

  chapter("The committee sets up TPS, candidates, officers and witnesses");
  const tpsIds: Record<string, string> = {};
  for (const [i, code] of tpsCodes.entries()) {
    const dusun = ["Dusun I", "Dusun II", "Dusun III"][i % 3] as string;
    const tps = await api<{ id: string }>(ketua, "POST", `${E}/tps`, {
      code,
      name: `TPS ${code}`,
      area: dusun,
    });
    tpsIds[code] = tps.id;
  }
  for (const candidate of CANDIDATES) await api(ketua, "POST", `${E}/candidates`, candidate);
  for (const [i, code] of tpsCodes.entries()) {
    await api(ketua, "POST", `${E}/members`, {
      username: people.officers[i],
      role: "officer",
      tps_id: tpsIds[code],
    });
  }
  for (const username of people.witnesses)
    await api(ketua, "POST", `${E}/members`, { username, role: "witness" });
  detail(
    `${tpsCodes.length} TPS (${tpsCodes.join(", ")}) in ${Math.min(3, tpsCodes.length)} dusun; candidates:`,
  );
  for (const c of CANDIDATES) detail(`  ${c.ballot_number}. ${c.name}`);

  chapter("The committee imports the voter roll (DPT) the village office exported from its spreadsheet");
  const csv = [
    ...toCsvLines(dpt, { seed: SEED, separator: ";", lineEnding: "\r\n", bom: true, dateFormat: "mixed" }),
  ].join("");
  writeFileSync(path.join(OUT, "dpt.csv"), csv);
  for (const row of dpt) secrets.niks.add(row.nik.replace(/^'/, ""));
  const dry = await api<Report>(ketua, "POST", `${E}/roll?dry_run=true`, csv, "text/csv");
  detail(
    `A dry run first (Excel's ';' separators, CRLF, BOM): ${dry.counts.read} rows read, ${dry.counts.rejected} would be rejected, ${dry.counts.warnings} warnings.`,
  );
  for (const p of dry.problems.filter((x) => x.severity === "error").slice(0, 4)) {
    detail(`  line ${p.line}, ${p.column}: ${p.message}`);
  }
  const strict = await refused("ROLL_REJECTED", api<Report>(ketua, "POST", `${E}/roll`, csv, "text/csv"));
  detail(`All-or-nothing (the default) refuses the file whole: "${strict}".`);
  const imported = await api<Report>(ketua, "POST", `${E}/roll?mode=partial`, csv, "text/csv");
  check(imported.applied && imported.counts.inserted > 0, "the partial import applies");
  detail(
    `The committee accepts the valid rows (mode=partial): ${imported.counts.inserted} voters on the roll, ${imported.counts.rejected} rows sent back to the village office to correct.`,
  );
  const again = await api<Report>(ketua, "POST", `${E}/roll?mode=partial`, csv, "text/csv");
  check(
    again.counts.inserted === 0 && again.counts.updated === 0,
    "re-importing the same file changes nothing",
  );
  detail(`Importing the same file again changes nothing (${again.counts.unchanged} unchanged).`);
  const summary = await api<{ tps: Array<{ code: string; registered: number }> }>(
    ketua,
    "GET",
    `${E}/roll/summary`,
  );
  detail(`Registered per TPS: ${summary.tps.map((t) => `${t.code}: ${t.registered}`).join(", ")}.`);

  // Who may vote where: accepted rows whose NIK is on the roll once.
  const nikCount = new Map<string, number>();
  for (const r of dpt) nikCount.set(r.nik, (nikCount.get(r.nik) ?? 0) + 1);
  const voters = dpt.filter(
    (r) => expectedOutcome(r.kind) !== "rejected" && nikCount.get(r.nik) === 1 && tpsIds[r.tps],
  );
  check(
    voters.length === imported.counts.inserted,
    `the roll holds exactly the valid rows (${voters.length})`,
  );

  chapter("The tally-key ceremony: 3 of 5 holders will be needed to open the ballots");
  const holders = [people.committee[0], people.committee[1], ...people.witnesses] as string[];
  const holderKeys = new Map<string, { publicKey: Buffer; secretKey: Buffer }>();
  const idOf = (username: string) => userIds[username] as string;
  for (const holder of holders) {
    const keys = generateHolderKeyPair(); // on the holder's own device
    holderKeys.set(holder, keys);
    await api(tokens[holder] as string, "PUT", `${E}/ceremony/holder-key`, {
      public_key: keys.publicKey.toString("base64"),
    });
  }
  await api(ketua, "POST", `${E}/ceremony`, { threshold: 3, holders: holders.map(idOf) });
  const shares = new Map<string, string>();
  // What each holder keeps on their own device: the sealed share as handed over, and their key.
  const holderFiles = new Map<string, { sealed: string; key: string }>();
  mkdirSync(path.join(OUT, "holders"), { recursive: true });
  for (const holder of holders) {
    const taken = await api<{ sealed_share: string }>(
      tokens[holder] as string,
      "POST",
      `${E}/ceremony/share`,
    );
    const files = {
      sealed: path.join(OUT, "holders", `${holder}.sealed-share.json`),
      key: path.join(OUT, "holders", `${holder}.key`),
    };
    writeFileSync(files.sealed, `${JSON.stringify(taken)}\n`, { mode: 0o600 });
    writeFileSync(
      files.key,
      `${(holderKeys.get(holder) as { secretKey: Buffer }).secretKey.toString("base64")}\n`,
      {
        mode: 0o600,
      },
    );
    holderFiles.set(holder, files);
    const keys = holderKeys.get(holder) as { publicKey: Buffer; secretKey: Buffer };
    const opened = openSealedShare(Buffer.from(taken.sealed_share, "base64"), keys.publicKey, keys.secretKey);
    check(opened !== null, "each holder opens their own share");
    shares.set(holder, (opened as Buffer).toString("base64"));
    secrets.tokens.add(shares.get(holder) as string);
  }
  const twice = await refused("SHARE_ALREADY_HANDED_OVER", api(ketua, "POST", `${E}/ceremony/share`));
  detail(`Holders: ${holders.join(", ")}. Each registered a key made on their own device;`);
  detail(
    "the service made the election's key, split it 3-of-5, sealed each share to its holder and kept only the public key.",
  );
  detail(`A second request for a share is refused: "${twice}".`);

  chapter("The committee enrols one voting kiosk (bilik) per TPS, each with a key pair it made itself");
  const kiosks: Record<string, KioskClient> = {};
  for (const code of tpsCodes) {
    const keys = createKioskKeys();
    const enrolled = await api<{ id: string }>(ketua, "POST", `${E}/kiosks`, {
      tps_id: tpsIds[code],
      label: `Bilik TPS ${code}`,
      public_key: keys.publicKeyBase64,
    });
    kiosks[code] = new KioskClient({
      baseUrl,
      electionId: election.id,
      kioskId: enrolled.id,
      secretKey: keys.secretKey,
    });
  }
  detail(
    `${tpsCodes.length} kiosks enrolled; each signs in by answering a single-use challenge with its key.`,
  );

  chapter("Polling day: the committee opens the polls");
  const sealedAdmin = await refused("RESULTS_SEALED", api(admin, "GET", `${E}/results`));
  await api(ketua, "POST", `${E}/open`);
  detail(
    "Open. Roll and candidates are frozen; no count exists for anyone — even the administrator is told:",
  );
  detail(`"${sealedAdmin}"`);

  chapter("KPPS officers check voters in; voters choose at the kiosk; each kiosk seals, signs and casts");
  const random = rng(SEED);
  const castByKiosks: Record<string, number> = { "1": 0, "2": 0, "3": 0, blank: 0 };
  const choose = () => {
    const x = random();
    let acc = 0;
    for (const [i, share] of LEANING.entries()) {
      acc += share;
      if (x < acc) return i === 3 ? 0 : i + 1;
    }
    return 0;
  };
  const receipts: Array<{ tracking_code: string; seq: number; leaf_hash: string }> = [];
  const officerOf = (code: string) => tokens[people.officers[tpsCodes.indexOf(code)] as string] as string;
  const checkIn = async (code: string, nik: string) => {
    const token = await api<{ token: string }>(officerOf(code), "POST", `${E}/tps/${tpsIds[code]}/checkins`, {
      nik,
    });
    secrets.tokens.add(token.token);
    return token.token;
  };
  const vote = async (code: string, token: string) => {
    const choice = choose();
    const receipt = await (kiosks[code] as KioskClient).castBallot(choice, token);
    castByKiosks[choice === 0 ? "blank" : String(choice)] =
      (castByKiosks[choice === 0 ? "blank" : String(choice)] ?? 0) + 1;
    receipts.push(receipt);
    return receipt;
  };

  // The morning's special cases, at the first TPS.
  const first = tpsCodes[0] as string;
  const second = tpsCodes[1] as string;
  const atSecond = voters.find((v) => v.tps === second) as DptRow;
  const wrongTps = await refused("WRONG_TPS", checkIn(first, atSecond.nik));
  detail(`A voter of TPS ${second} comes to TPS ${first} (NIK ${maskNik(atSecond.nik)}): "${wrongTps}"`);

  // A resident's NIK (born 15-08-1985, a man, of this district) that is not on the roll.
  let serial = 9000;
  while (secrets.niks.has(`160705150885${serial}`)) serial++;
  const dpkNik = `160705150885${serial}`;
  secrets.niks.add(dpkNik);
  const notOnRoll = await refused("VOTER_NOT_ON_ROLL", checkIn(first, dpkNik));
  await api(officerOf(first), "POST", `${E}/tps/${tpsIds[first]}/dpk`, {
    nik: dpkNik,
    name: "Rahmat Hidayat",
    birth_date: "15-08-1985",
    sex: "L",
    marital_status: "S",
    reason: "pindah datang, e-KTP Desa Sungai Rengit, tidak terdaftar di DPT",
  });
  await vote(first, await checkIn(first, dpkNik));
  detail(`A resident with a village e-KTP is not on the roll ("${notOnRoll}");`);
  detail("the officer adds him as DPK with a reason (audited), checks him in, and he votes.");

  const leaver = voters.find((v) => v.tps === first) as DptRow;
  const leftToken = await checkIn(first, leaver.nik);
  await api(officerOf(first), "POST", `${E}/tps/${tpsIds[first]}/tokens/void`, { token: leftToken });
  const dead = await refused("TOKEN_VOIDED", (kiosks[first] as KioskClient).castBallot(1, leftToken));
  const again2 = await refused("ALREADY_CHECKED_IN", checkIn(first, leaver.nik));
  const reissued = await api<{ token: string }>(
    officerOf(first),
    "POST",
    `${E}/tps/${tpsIds[first]}/tokens/reissue`,
    {
      nik: leaver.nik,
      reason: "pemilih pulang mengambil kacamata, kembali pukul 10",
    },
  );
  secrets.tokens.add(reissued.token);
  await vote(first, reissued.token);
  detail(
    `A voter is called away after check-in; the officer voids the token (the kiosk then says "${dead}").`,
  );
  detail(
    `When she returns, checking in again is refused ("${again2}"); the officer re-issues a token with a reason, and she votes.`,
  );

  // Everyone else: a turnout share of each TPS, TPS in parallel, each kiosk one voter at a time.
  const byTps = new Map<string, DptRow[]>();
  for (const v of voters) {
    if (v === leaver) continue;
    const list = byTps.get(v.tps) ?? [];
    list.push(v);
    byTps.set(v.tps, list);
  }
  let done = 0;
  const goal = [...byTps.values()].reduce((n, list) => n + Math.round(list.length * TURNOUT), 0);
  const progress = setInterval(() => detail(`… ${done} of ${goal} ballots cast`), 10_000);
  try {
    await Promise.all(
      [...byTps.entries()].map(async ([code, list]) => {
        for (const voter of list.slice(0, Math.round(list.length * TURNOUT))) {
          await vote(code, await checkIn(code, voter.nik));
          done++;
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
  detail(
    `${receipts.length} ballots cast at ${tpsCodes.length} TPS. Every kiosk got a receipt after commit: seq, tracking code, a signed checkpoint.`,
  );

  const mine = receipts[Math.floor(receipts.length / 2)] as {
    tracking_code: string;
    seq: number;
    leaf_hash: string;
  };
  const checkpoint = await api<{ root_hash: string; tree_size: number }>(null, "GET", `${E}/log/checkpoint`);
  const proof = await api<{ proof: string[]; leaf_hash: string; tree_size: number; leaf_index: number }>(
    null,
    "GET",
    `${E}/log/proofs/inclusion?tracking_code=${encodeURIComponent(mine.tracking_code)}&tree_size=${checkpoint.tree_size}`,
  );
  const included = verifyInclusion({
    leafHash: Buffer.from(mine.leaf_hash, "base64"),
    index: proof.leaf_index,
    size: checkpoint.tree_size,
    proof: proof.proof.map((h) => Buffer.from(h, "base64")),
    root: Buffer.from(checkpoint.root_hash, "base64"),
  });
  check(included, "the receipt's entry is proven to be in the signed log");
  detail(
    `A voter looks up receipt ${mine.tracking_code} on the public bulletin board (no login needed): entry`,
  );
  detail(
    `${proof.leaf_index + 1}, proven by ${proof.proof.length} hashes to be in the signed checkpoint of ${checkpoint.tree_size} entries.`,
  );

  chapter("The committee closes the polls");
  await api(ketua, "POST", `${E}/close`);
  const final = await api<{ tree_size: number; root_hash: string }>(null, "GET", `${E}/log/checkpoint`);
  const notYet = await refused("NOT_TALLIED", api(ketua, "GET", `${E}/results`));
  detail(`Closed. Final signed checkpoint: ${final.tree_size} entries, root ${final.root_hash}.`);
  detail(`Results still cannot be read: "${notYet}"`);

  chapter("The tally: three of the five holders bring their shares");
  const tallyHolders = [people.committee[0], people.witnesses[0], people.witnesses[1]] as string[];
  const two = tallyHolders.slice(0, 2);
  for (const holder of two) {
    await api(tokens[holder] as string, "POST", `${E}/tally/shares`, { share: shares.get(holder) });
  }
  const waiting = await api<{ state: string; shares_received: number }>(ketua, "GET", `${E}/tally`);
  detail(
    `${waiting.shares_received} shares in: the tally waits (${waiting.state}) — fewer than 3 reveal nothing.`,
  );
  await api(tokens[tallyHolders[2] as string] as string, "POST", `${E}/tally/shares`, {
    share: shares.get(tallyHolders[2] as string),
  });
  for (;;) {
    const status = await api<{
      state: string;
      entries_checked: number;
      entries_total: number;
      failure: string | null;
    }>(ketua, "GET", `${E}/tally`);
    if (status.state === "done") break;
    check(status.state !== "failed", `the tally succeeds (${status.failure})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  detail(
    "Third share in: the key was rebuilt in memory, every entry verified, every ballot opened and counted, the key wiped.",
  );

  const result = await api<ResultView>(ketua, "GET", `${E}/results`);
  const counted = result.counts as Counts;
  check(
    CANDIDATES.every(
      (c) => counted.perCandidate[String(c.ballot_number)] === castByKiosks[String(c.ballot_number)],
    ) &&
      counted.blank === castByKiosks.blank &&
      counted.invalid === 0,
    "the tally equals what the kiosks cast",
  );
  check((result.verification as { ok: boolean }).ok, "the log verifies");
  check(
    (result.reconciliation as { discrepancies: string[] }).discrepancies.length === 0,
    "the reconciliation balances",
  );
  detail(
    "The count equals what the kiosks themselves cast, ballot for ballot; the reconciliation has no discrepancy:",
  );
  detail(
    "DPT + DPK ≥ checked in; tokens issued = redeemed + voided + expired; ballots in the log = tokens redeemed.",
  );

  chapter("Certification: the committee approves the signed result");
  const first1 = await api<{ approvals: number; quorum: number; certified: boolean }>(
    ketua,
    "POST",
    `${E}/result/approve`,
  );
  const second1 = await api<{ approvals: number; quorum: number; certified: boolean }>(
    tokens[people.committee[1] as string] as string,
    "POST",
    `${E}/result/approve`,
  );
  check(second1.certified, "a majority of the committee certifies");
  detail(
    `Approvals ${first1.approvals} then ${second1.approvals} of the quorum ${second1.quorum} (a majority of 3): certified. The result is public now.`,
  );

  chapter("A witness downloads the election record and verifies it offline");
  const recordFile = path.join(OUT, "election-record.jsonl");
  const record = await fetch(`${baseUrl}${E}/record`);
  check(record.ok, "the certified record is public");
  writeFileSync(recordFile, Buffer.from(await record.arrayBuffer()));
  const reportFile = path.join(OUT, "verification-report.json");
  detail(
    `Saved ${path.relative(ROOT, recordFile)}; now, with no database and no network: npm run verify-record -- ${path.relative(ROOT, recordFile)}`,
  );
  const verified = spawnSync(
    process.execPath,
    ["--import", "tsx", "scripts/verify-record.ts", recordFile, "--json", reportFile],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, DATABASE_URL: "" } },
  );
  for (const line of verified.stdout.trim().split("\n")) detail(`  │ ${line}`);
  check(
    verified.status === 0,
    `the offline verifier passes (exit ${verified.status}: ${verified.stderr.trim()})`,
  );

  chapter("Three holders recount offline with their own shares");
  detail(
    "Each holder turns the sealed share they kept into a share file on their own device (npm run holder-share -- open …);",
  );
  detail(
    "the verifier rebuilds the key from any 3, opens every ballot again and compares with the signed result.",
  );
  const shareFiles: string[] = [];
  for (const holder of tallyHolders) {
    const files = holderFiles.get(holder) as { sealed: string; key: string };
    const shareFile = path.join(OUT, "holders", `${holder}.share.json`);
    rmSync(shareFile, { force: true }); // the tool never overwrites a share file; a re-run starts clean
    const made = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/holder-share.ts",
        "open",
        "--sealed",
        files.sealed,
        "--secret-key",
        files.key,
        "--out",
        shareFile,
      ],
      { cwd: ROOT, encoding: "utf8" },
    );
    check(made.status === 0, `${holder} makes a share file (exit ${made.status}: ${made.stderr.trim()})`);
    shareFiles.push(shareFile);
  }
  const recountReport = path.join(OUT, "recount-report.json");
  const recounted = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "scripts/verify-record.ts",
      recordFile,
      ...shareFiles.flatMap((f) => ["--share", f]),
      "--json",
      recountReport,
    ],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, DATABASE_URL: "" } },
  );
  for (const line of recounted.stdout.trim().split("\n")) detail(`  │ ${line}`);
  check(
    recounted.status === 0,
    `the offline recount agrees with the certified result (exit ${recounted.status}: ${recounted.stderr.trim()})`,
  );

  chapter("The berita acara");
  const html = await api<string>(null, "GET", `${E}/berita-acara`);
  const minutes = path.join(OUT, "berita-acara.html");
  writeFileSync(minutes, html);
  detail(
    `Printable minutes saved to ${path.relative(ROOT, minutes)} (also at ${baseUrl}${E}/berita-acara while the service runs).`,
  );

  say();
  say("  Result — Pilkades Desa Sungai Rengit 2027");
  say("  ─────────────────────────────────────────────────────────────");
  const valid = Object.values(counted.perCandidate).reduce((a, b) => a + b, 0);
  for (const c of CANDIDATES) {
    const votes = counted.perCandidate[String(c.ballot_number)] ?? 0;
    say(
      `  ${c.ballot_number}. ${c.name.padEnd(26)} ${String(votes).padStart(6)}  ${((100 * votes) / Math.max(1, valid)).toFixed(1).padStart(5)}%`,
    );
  }
  say(`     ${"blank (kosong)".padEnd(26)} ${String(counted.blank).padStart(6)}`);
  say(`     ${"invalid (tidak sah)".padEnd(26)} ${String(counted.invalid).padStart(6)}`);
  say(`     ${"ballots in the log".padEnd(26)} ${String(counted.ballots).padStart(6)}`);
  const decision = result.decision as { winner: number | null; rule: string };
  const winner = CANDIDATES.find((c) => c.ballot_number === decision.winner);
  say("  ─────────────────────────────────────────────────────────────");
  say(
    `  Elected: ${winner ? `${winner.ballot_number}. ${winner.name}` : "nobody yet"} (rule: ${decision.rule}); status: certified.`,
  );
  say();
  say(`  Election record:   ${path.relative(ROOT, recordFile)}`);
  say(`  Offline report:    ${path.relative(ROOT, reportFile)}`);
  say(`  Offline recount:   ${path.relative(ROOT, recountReport)}`);
  say(`  Berita acara:      ${path.relative(ROOT, minutes)}`);
  say(`  Service log:       ${path.relative(ROOT, service.logFile)}`);
}

/** SPEC §5: the service's log must hold no NIK, token, share, password or bearer token of the whole run. */
function scanLog(logFile: string): void {
  chapter("Secrecy check of the service's own log");
  const text = readFileSync(logFile, "utf8");
  const found: string[] = [];
  const look = (kind: string, values: Iterable<string>) => {
    for (const value of values) if (value.length >= 8 && text.includes(value)) found.push(kind);
  };
  look("NIK", secrets.niks);
  look("ballot token or share", secrets.tokens);
  look("password", secrets.passwords);
  look("bearer token", secrets.bearers);
  const lines = text.split("\n").length - 1;
  check(found.length === 0, `the service log holds no secret (found: ${[...new Set(found)].join(", ")})`);
  detail(
    `${lines.toLocaleString("en")} log lines searched for ${secrets.niks.size.toLocaleString("en")} NIKs, ${secrets.tokens.size.toLocaleString("en")} tokens and shares, ` +
      `${secrets.passwords.size} passwords and ${secrets.bearers.size} bearer tokens: none found.`,
  );
}

interface Report {
  applied: boolean;
  counts: {
    read: number;
    inserted: number;
    updated: number;
    unchanged: number;
    rejected: number;
    warnings: number;
  };
  problems: Array<{ line: number; column: string | null; code: string; severity: string; message: string }>;
}
interface Counts {
  perCandidate: Record<string, number>;
  blank: number;
  invalid: number;
  ballots: number;
}
interface ResultView {
  counts: unknown;
  verification: unknown;
  reconciliation: unknown;
  decision: unknown;
}

main().catch((error) => {
  // The service's refusals and the demo's own checks are told as they are; anything else with its stack.
  const told =
    error instanceof ApiError ||
    error instanceof KioskError ||
    String(error?.message).startsWith("demo check");
  process.stderr.write(`\n${told ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
