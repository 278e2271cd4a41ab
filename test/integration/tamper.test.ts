// SPEC §9 (issue #6): every kind of tampering on the list is caught and named — by its kind, and by the entry's
// seq or the checkpoint's size — by both verifiers, over one table:
//   (a) the service's: an intruder rewrites the database rows; the tally, which verifies the stored log before
//       it counts, names the failure in the stored verification (and, for a result rewritten after the tally,
//       the service's check of the stored election with the tally key names it);
//   (b) the offline command, run as a witness runs it on an election record altered after download, with k
//       share files made by the holders' own tool: exit code 1, the failure named in the JSON and the text.
// Each tamper is written once, over the log's abstract state (entries in stored order, checkpoints, kiosk
// revocations, the signed result), and applied to database rows on one side and to record lines on the other.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonicalBallotBytes, encodeBallotChoice } from "../../src/crypto/ballot.js";
import { parseCheckpoint, signCheckpoint } from "../../src/crypto/checkpoint.js";
import { CompactRange } from "../../src/crypto/compact-range.js";
import { generateEd25519KeyPair, kioskKeyId, signEd25519 } from "../../src/crypto/ed25519.js";
import { leafHash } from "../../src/crypto/hash.js";
import { sealBallotChoiceWithSodium } from "../../src/crypto/sealed-ballot.js";
import { ed25519NoteSigner, parseNote } from "../../src/crypto/signed-note.js";
import { recombineTallySecret, wipe } from "../../src/crypto/tally-key.js";
import { trackingCodeFromLeafHash } from "../../src/crypto/tracking-code.js";
import { decodeVoteRecord, encodeVoteRecord, type VoteRecord } from "../../src/crypto/vote-record.js";
import { canonicalJson } from "../../src/lib/canonical-json.js";
import { type LogKeyring, loadLogKeyring, logOrigin } from "../../src/modules/log/log.keys.js";
import { verifyStoredElection } from "../../src/modules/record/record.service.js";
import { decideWinner } from "../../src/modules/tally/winner.js";
import type { ElectionCounts, LogEntry, VerificationFailure } from "../../src/verify/verifier.js";
import { buildTestApp, createUser, login, testConfig } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { type Pilkades, runPilkades, tally } from "../helpers/pilkades.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** TPS 1 casts seq 1–3, TPS 2 seq 4–6: candidate 1 wins 4 to 1, one blank. */
const VOTES = [
  [1, 1, 2],
  [1, 0, 1],
];

// ---------------------------------------------------------------------------------------------------------------
// The log's state, as both sides hold it

interface LogState {
  /** In stored order. */
  entries: LogEntry[];
  checkpoints: Array<{ tree_size: number; note: string }>;
  /** revoked_at_log_size by kiosk key id (hex). */
  revocations: Record<string, number | null>;
  result: { document: string; service_signature: string } | null;
}

interface TamperContext {
  electionId: string;
  origin: string;
  keyring: LogKeyring;
  tpsIds: string[];
  tallyPublicKey: Buffer;
  /** The real kiosk key pair of each TPS. */
  kioskKeys: Pilkades["kioskKeys"];
}

interface Expected {
  kind: VerificationFailure["kind"];
  seq?: number;
  checkpointSize?: number;
}

interface Tamper {
  name: string;
  /** "log": the intruder acts before the tally; "result": on the stored result after it. */
  stage: "log" | "result";
  expect: Expected;
  apply(state: LogState, context: TamperContext): LogState;
}

const decode = (entry: LogEntry | undefined): VoteRecord => decodeVoteRecord((entry as LogEntry).leaf);

/** Recomputes the prev_hash chain from index `from` on, as an intruder covering their tracks would. */
function rechain(entries: LogEntry[], from: number): LogEntry[] {
  const out = entries.map((e) => ({ ...e }));
  for (let i = Math.max(1, from); i < out.length; i++) {
    const record = decode(out[i]);
    const prevHash = leafHash((out[i - 1] as LogEntry).leaf);
    (out[i] as LogEntry).leaf = encodeVoteRecord({ ...record, prevHash });
  }
  return out;
}

/** A well-formed ballot record, sealed to the tally key, signed by `signingKey` under the key id given. */
function makeRecord(
  context: TamperContext,
  options: {
    seq: number;
    prevHash: Uint8Array;
    tpsId: string;
    kioskKeyId: Uint8Array;
    signingKey: Uint8Array;
    candidate: number;
    ballotId?: string;
  },
): Uint8Array {
  const ballotId = options.ballotId ?? randomUUID();
  const sealed = sealBallotChoiceWithSodium(
    encodeBallotChoice({ electionId: context.electionId, ballotId, candidateNumber: options.candidate }),
    context.tallyPublicKey,
  );
  const content = { electionId: context.electionId, ballotId, tpsId: options.tpsId, ...sealed };
  return encodeVoteRecord({
    ...content,
    seq: options.seq,
    kioskKeyId: options.kioskKeyId,
    kioskSignature: signEd25519(canonicalBallotBytes(content), options.signingKey),
    prevHash: options.prevHash,
  });
}

/** Appends an entry at the end of the log, chained to the last one. */
function append(state: LogState, leafOf: (seq: number, prevHash: Uint8Array) => Uint8Array): LogState {
  const last = state.entries.at(-1) as LogEntry;
  const seq = last.seq + 1;
  return { ...state, entries: [...state.entries, { seq, leaf: leafOf(seq, leafHash(last.leaf)) }] };
}

function replaceCheckpoint(state: LogState, size: number, note: string): LogState {
  return {
    ...state,
    checkpoints: state.checkpoints.map((c) => (c.tree_size === size ? { tree_size: size, note } : c)),
  };
}

const CIPHERTEXT_OFFSET = 21 + 16 + 8 + 16 + 16 + 32 + 32 + 24 + 4;

const TAMPERS: Tamper[] = [
  {
    name: "a changed byte in an entry",
    stage: "log",
    expect: { kind: "signature_invalid", seq: 3 },
    apply(state) {
      const entries = state.entries.map((e) => ({ ...e, leaf: Uint8Array.from(e.leaf) }));
      const leaf = (entries[2] as LogEntry).leaf;
      leaf[CIPHERTEXT_OFFSET + 10] = (leaf[CIPHERTEXT_OFFSET + 10] as number) ^ 0x01;
      return { ...state, entries };
    },
  },
  {
    name: "a deleted entry",
    stage: "log",
    expect: { kind: "seq_gap", seq: 4 },
    apply: (state) => ({ ...state, entries: state.entries.filter((e) => e.seq !== 3) }),
  },
  {
    name: "two entries swapped",
    stage: "log",
    expect: { kind: "seq_out_of_order", seq: 3 },
    apply(state) {
      // Swapped in the stored order: row seq 3 holds entry 4 and row seq 4 holds entry 3.
      const entries = state.entries.map((e) => ({ ...e }));
      const [third, fourth] = [entries[2] as LogEntry, entries[3] as LogEntry];
      [third.leaf, fourth.leaf] = [fourth.leaf, third.leaf];
      return { ...state, entries };
    },
  },
  {
    name: "a forged kiosk signature",
    stage: "log",
    expect: { kind: "signature_invalid", seq: 3 },
    apply(state, context) {
      // Entry 3's vote replaced by one for candidate 1, signed by a key that is not the kiosk's, and the chain
      // recomputed over it: only the signature (and the checkpoints) can give it away.
      const original = decode(state.entries[2]);
      const entries = state.entries.map((e) => ({ ...e }));
      (entries[2] as LogEntry).leaf = makeRecord(context, {
        seq: 3,
        prevHash: original.prevHash,
        tpsId: original.tpsId,
        kioskKeyId: original.kioskKeyId,
        signingKey: generateEd25519KeyPair().secretKey,
        candidate: 1,
        ballotId: original.ballotId,
      });
      return { ...state, entries: rechain(entries, 3) };
    },
  },
  {
    name: "an entry from a revoked kiosk",
    stage: "log",
    expect: { kind: "kiosk_revoked", seq: 7 },
    apply(state, context) {
      // TPS 1's kiosk was revoked at log size 6; a ballot it signed (its key stolen) is appended after.
      const kiosk = context.kioskKeys[0] as Pilkades["kioskKeys"][number];
      const keyId = kioskKeyId(kiosk.publicKey);
      const revoked = { ...state, revocations: { ...state.revocations, [keyId.toString("hex")]: 6 } };
      return append(revoked, (seq, prevHash) =>
        makeRecord(context, {
          seq,
          prevHash,
          tpsId: context.tpsIds[0] as string,
          kioskKeyId: keyId,
          signingKey: kiosk.secretKey,
          candidate: 2,
        }),
      );
    },
  },
  {
    name: "an entry from a foreign kiosk",
    stage: "log",
    expect: { kind: "unknown_kiosk", seq: 7 },
    apply(state, context) {
      const foreign = generateEd25519KeyPair();
      return append(state, (seq, prevHash) =>
        makeRecord(context, {
          seq,
          prevHash,
          tpsId: context.tpsIds[1] as string,
          kioskKeyId: kioskKeyId(foreign.publicKey),
          signingKey: foreign.secretKey,
          candidate: 2,
        }),
      );
    },
  },
  {
    name: "a duplicated ballot_id",
    stage: "log",
    expect: { kind: "duplicate_ballot_id", seq: 7 },
    apply(state) {
      // Entry 2 replayed at the end: its kiosk signature is still valid, its ballot_id is not new.
      const replayed = decode(state.entries[1]);
      return append(state, (seq, prevHash) => encodeVoteRecord({ ...replayed, seq, prevHash }));
    },
  },
  {
    name: "a checkpoint signed by the wrong key",
    stage: "log",
    expect: { kind: "checkpoint_signature_invalid", checkpointSize: 4 },
    apply(state, context) {
      const original = state.checkpoints.find((c) => c.tree_size === 4) as LogState["checkpoints"][number];
      const checkpoint = parseCheckpoint(parseNote(original.note).text);
      const intruder = ed25519NoteSigner(context.origin, generateEd25519KeyPair().secretKey);
      return replaceCheckpoint(state, 4, signCheckpoint(checkpoint, [intruder]));
    },
  },
  {
    name: "a checkpoint inconsistent with an earlier one",
    stage: "log",
    expect: { kind: "checkpoint_root_mismatch", checkpointSize: 5 },
    apply(state, context) {
      // Signed by the real log key over a forked history (entry 2 different), so the checkpoint of size 5 does
      // not extend the checkpoints of sizes 2 to 4, which the entries match.
      const tree = CompactRange.empty();
      for (const [i, entry] of state.entries.slice(0, 5).entries()) {
        const leaf = Uint8Array.from(entry.leaf);
        if (i === 1) leaf[CIPHERTEXT_OFFSET] = (leaf[CIPHERTEXT_OFFSET] as number) ^ 0x80;
        tree.append(leafHash(leaf));
      }
      const signer = ed25519NoteSigner(context.origin, context.keyring.active.secretKey);
      const note = signCheckpoint(
        { origin: context.origin, size: 5, rootHash: tree.root(), extensions: [] },
        [signer],
      );
      return replaceCheckpoint(state, 5, note);
    },
  },
  {
    name: "a result with one vote moved between candidates",
    stage: "result",
    expect: { kind: "counts_mismatch" },
    apply(state, context) {
      // An insider with the log key moves one of TPS 1's votes from candidate 1 to candidate 2, recomputes the
      // decision and signs the document again: consistent in itself, it differs only from a fresh count.
      const document = JSON.parse((state.result as { document: string }).document);
      const counts = document.counts as ElectionCounts;
      const tps = counts.perTps[context.tpsIds[0] as string] as ElectionCounts["perTps"][string];
      for (const where of [counts.perCandidate, tps.perCandidate]) {
        where["1"] = (where["1"] ?? 0) - 1;
        where["2"] = (where["2"] ?? 0) + 1;
      }
      document.decision = decideWinner(counts, { registered: {}, area: {} }, document.decision.rules);
      const text = canonicalJson(document);
      const signature = signEd25519(Buffer.from(text, "utf8"), context.keyring.active.secretKey);
      return { ...state, result: { document: text, service_signature: signature.toString("base64") } };
    },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// The database side

async function readStoredState(database: TestDatabase, electionId: string): Promise<LogState> {
  const db = database.db;
  const [entries, checkpoints, kiosks, result] = await Promise.all([
    db
      .selectFrom("log_entries")
      .select(["seq", "leaf"])
      .where("election_id", "=", electionId)
      .orderBy("seq")
      .execute(),
    db
      .selectFrom("log_checkpoints")
      .select(["tree_size", "note"])
      .where("election_id", "=", electionId)
      .orderBy("tree_size")
      .execute(),
    db
      .selectFrom("kiosks")
      .select(["key_id", "revoked_at_log_size"])
      .where("election_id", "=", electionId)
      .execute(),
    db
      .selectFrom("results")
      .select(["document", "service_signature"])
      .where("election_id", "=", electionId)
      .executeTakeFirst(),
  ]);
  return {
    entries: entries.map((e) => ({ seq: Number(e.seq), leaf: new Uint8Array(e.leaf) })),
    checkpoints: checkpoints.map((c) => ({ tree_size: Number(c.tree_size), note: c.note })),
    revocations: Object.fromEntries(
      kiosks.map((k) => [
        k.key_id.toString("hex"),
        k.revoked_at_log_size === null ? null : Number(k.revoked_at_log_size),
      ]),
    ),
    result: result ?? null,
  };
}

/** Writes what changed, as an intruder with the database superuser's powers would (triggers bypassed). */
async function writeStoredState(
  database: TestDatabase,
  electionId: string,
  before: LogState,
  after: LogState,
): Promise<void> {
  const sql = (text: string, values: unknown[]) => database.superuser(text, values, { bypassTriggers: true });
  if (canonicalJson(before.entries.map(hexOf)) !== canonicalJson(after.entries.map(hexOf))) {
    await sql("DELETE FROM log_entries WHERE election_id = $1", [electionId]);
    const ballotIds = new Set<string>();
    for (const entry of after.entries) {
      // The ballot_id column is the intruder's to write: the leaf's id when it is free, any other otherwise.
      let ballotId = decode(entry).ballotId;
      if (ballotIds.has(ballotId)) ballotId = randomUUID();
      ballotIds.add(ballotId);
      const hash = leafHash(entry.leaf);
      await sql(
        "INSERT INTO log_entries (election_id, seq, ballot_id, leaf, leaf_hash, tracking_code) VALUES ($1, $2, $3, $4, $5, $6)",
        [electionId, entry.seq, ballotId, Buffer.from(entry.leaf), hash, trackingCodeFromLeafHash(hash)],
      );
    }
    await sql("UPDATE log_heads SET tree_size = $2 WHERE election_id = $1", [
      electionId,
      after.entries.length,
    ]);
  }
  if (canonicalJson(before.checkpoints) !== canonicalJson(after.checkpoints)) {
    const { rows } = await sql("SELECT key_id FROM log_checkpoints WHERE election_id = $1 LIMIT 1", [
      electionId,
    ]);
    await sql("DELETE FROM log_checkpoints WHERE election_id = $1", [electionId]);
    for (const c of after.checkpoints) {
      await sql(
        "INSERT INTO log_checkpoints (election_id, tree_size, root_hash, note, key_id) VALUES ($1, $2, $3, $4, $5)",
        [
          electionId,
          c.tree_size,
          Buffer.from(parseCheckpoint(parseNote(c.note).text).rootHash),
          c.note,
          rows[0]?.key_id,
        ],
      );
    }
  }
  for (const [keyId, size] of Object.entries(after.revocations)) {
    if (before.revocations[keyId] === size) continue;
    await sql(
      "UPDATE kiosks SET revoked_at = now(), revoked_at_log_size = $3 WHERE election_id = $1 AND key_id = $2",
      [electionId, Buffer.from(keyId, "hex"), size],
    );
  }
  if (after.result !== null && before.result?.document !== after.result.document) {
    await sql(
      "UPDATE results SET document = $2, service_signature = $3, counts = $4 WHERE election_id = $1",
      [
        electionId,
        after.result.document,
        after.result.service_signature,
        JSON.stringify(JSON.parse(after.result.document).counts),
      ],
    );
  }
}

function hexOf(entry: LogEntry): [number, string] {
  return [entry.seq, Buffer.from(entry.leaf).toString("hex")];
}

// ---------------------------------------------------------------------------------------------------------------
// The record-file side

function stateOfRecord(lines: string[]): LogState {
  const items = lines.map((line) => JSON.parse(line));
  const header = items[0];
  const result = items.find((i) => i.type === "result");
  return {
    entries: items
      .filter((i) => i.type === "entry")
      .map((i) => ({ seq: i.seq, leaf: new Uint8Array(Buffer.from(i.leaf, "base64")) })),
    checkpoints: items
      .filter((i) => i.type === "checkpoint")
      .map((i) => ({ tree_size: i.tree_size, note: i.note })),
    revocations: Object.fromEntries(
      header.kiosks.map((k: { key_id: string; revoked_at_log_size: number | null }) => [
        k.key_id,
        k.revoked_at_log_size,
      ]),
    ),
    result: result ? { document: result.document, service_signature: result.service_signature } : null,
  };
}

function recordOfState(lines: string[], state: LogState): string {
  const items = lines.map((line) => JSON.parse(line));
  const header = items[0];
  for (const k of header.kiosks) k.revoked_at_log_size = state.revocations[k.key_id] ?? null;
  const result = items.find((i) => i.type === "result");
  const out = [
    header,
    ...state.checkpoints.map((c) => ({ type: "checkpoint", ...c })),
    ...(result && state.result ? [{ ...result, ...state.result }] : []),
    ...items.filter((i) => i.type === "approval"),
    ...state.entries.map((e) => ({
      type: "entry",
      seq: e.seq,
      leaf: Buffer.from(e.leaf).toString("base64"),
    })),
  ];
  return `${out.map((item) => JSON.stringify(item)).join("\n")}\n`;
}

/** The offline command, as a witness runs it: nothing but the files, no database, no network. */
function verifyOffline(args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/verify-record.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function holderShare(args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/holder-share.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

// ---------------------------------------------------------------------------------------------------------------

let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let admin: string;
let keyring: LogKeyring;
const dir = mkdtempSync(path.join(os.tmpdir(), "suara-tamper-"));
chmodSync(dir, 0o700);

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  await createUser(database.db, "admin", { isAdmin: true });
  admin = await login(app, "admin");
  keyring = await loadLogKeyring(database.db, testConfig().LOG_ORIGIN);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function contextOf(run: Pilkades): Promise<TamperContext> {
  const key = await database.db
    .selectFrom("tally_keys")
    .select("public_key")
    .where("election_id", "=", run.election.id)
    .executeTakeFirstOrThrow();
  return {
    electionId: run.election.id,
    origin: logOrigin(keyring, run.election.id),
    keyring,
    tpsIds: run.election.tpsIds,
    tallyPublicKey: key.public_key,
    kioskKeys: run.kioskKeys,
  };
}

function located(expected: Expected) {
  return expect.objectContaining(expected);
}

describe("the service's verifier, after an intruder rewrote the database", () => {
  for (const [i, tamper] of TAMPERS.entries()) {
    it(`names ${tamper.name}: ${tamper.expect.kind} at ${where(tamper.expect)}`, async () => {
      const run = await runPilkades(app, baseUrl, database.db, admin, {
        prefix: `db${i}`,
        votes: VOTES,
        untallied: tamper.stage === "log",
      });
      const context = await contextOf(run);
      const before = await readStoredState(database, run.election.id);
      await writeStoredState(database, run.election.id, before, tamper.apply(before, context));
      if (tamper.stage === "log") {
        // The tally verifies the stored log before it counts, and keeps what it found with the result.
        await tally(run);
        const stored = await database.db
          .selectFrom("results")
          .select("verification")
          .where("election_id", "=", run.election.id)
          .executeTakeFirstOrThrow();
        const verification = stored.verification as unknown as {
          ok: boolean;
          failures: VerificationFailure[];
        };
        expect(verification.ok).toBe(false);
        expect(verification.failures).toContainEqual(located(tamper.expect));
        // The service's check of the stored election, without the key, names it too.
        const again = await verifyStoredElection(database.db, keyring, run.election.id);
        expect(again.ok).toBe(false);
        expect(again.log.failures).toContainEqual(located(tamper.expect));
      } else {
        // The stored result, checked by the service with the tally key rebuilt from two holders' shares.
        const shares = [run.committee[0] as string, run.witness].map((h) =>
          Buffer.from(run.shares[h] as string, "base64"),
        );
        const secret = (await recombineTallySecret(shares, context.tallyPublicKey)) as Buffer;
        const report = await verifyStoredElection(database.db, keyring, run.election.id, secret);
        wipe(secret);
        expect(report.ok).toBe(false);
        expect(report.log.failures).toContainEqual(located(tamper.expect));
      }
    });
  }
});

function where(expected: Expected): string {
  if (expected.seq !== undefined) return `seq ${expected.seq}`;
  if (expected.checkpointSize !== undefined) return `checkpoint size ${expected.checkpointSize}`;
  return "the result";
}

describe("the offline verifier, on a record altered after download", () => {
  let run: Pilkades;
  let context: TamperContext;
  let lines: string[];
  const recordFile = path.join(dir, "record.jsonl");
  const shareFiles = [path.join(dir, "share-ketua.json"), path.join(dir, "share-saksi.json")];
  const withShares = shareFiles.flatMap((f) => ["--share", f]);

  beforeAll(async () => {
    run = await runPilkades(app, baseUrl, database.db, admin, { prefix: "offline", votes: VOTES });
    context = await contextOf(run);
    // Certified: one member approves with their own Ed25519 signature, the other without.
    const document = (await run.call(run.committee[0] as string, "GET", "/results")).json()
      .document as string;
    const member = generateEd25519KeyPair();
    const signed = await run.call(run.committee[0] as string, "POST", "/result/approve", {
      public_key: member.publicKey.toString("base64"),
      signature: signEd25519(Buffer.from(document, "utf8"), member.secretKey).toString("base64"),
    });
    expect(signed.statusCode, signed.body).toBe(200);
    const approved = await run.call(run.committee[1] as string, "POST", "/result/approve");
    expect(approved.json()).toMatchObject({ certified: true });
    // The certified record is public.
    const response = await app.inject({ method: "GET", url: `/elections/${run.election.id}/record` });
    expect(response.statusCode).toBe(200);
    writeFileSync(recordFile, response.body);
    lines = response.body.trim().split("\n");
    // Two holders make their share files on their own devices with the holder tool.
    for (const [i, holder] of [run.committee[0] as string, run.witness].entries()) {
      const sealedFile = path.join(dir, `sealed-${i}.json`);
      const keyFile = path.join(dir, `holder-${i}.key`);
      writeFileSync(sealedFile, JSON.stringify(run.sealedShares[holder]));
      writeFileSync(keyFile, `${run.holderKeys[holder]?.secretKey.toString("base64")}\n`);
      const made = holderShare([
        "open",
        "--sealed",
        sealedFile,
        "--secret-key",
        keyFile,
        "--out",
        shareFiles[i] as string,
      ]);
      expect(made.code, made.out).toBe(0);
    }
  });

  it("verifies the untouched record with two shares: exit 0, the recount equals the published result", () => {
    const json = path.join(dir, "clean.report.json");
    const { code, stdout, stderr } = verifyOffline([recordFile, ...withShares, "--json", json]);
    expect(code, `${stdout}${stderr}`).toBe(0);
    expect(stdout).toMatch(/^Election record verification: OK/);
    const report = JSON.parse(readFileSync(json, "utf8"));
    expect(report).toMatchObject({
      ok: true,
      recounted: true,
      log: { ok: true, entriesChecked: 6, treeSize: 6, failures: [] },
      result: { present: true, ok: true, decision: { winner: 1, rule: "most_votes" } },
    });
    expect(report.log.counts).toMatchObject({
      perCandidate: { "1": 4, "2": 1 },
      blank: 1,
      invalid: 0,
      ballots: 6,
    });
    expect(report.result.approvals).toEqual({ total: 2, signed: 1, quorum: 2 });
  });

  it("holds no secret of the run: no share, holder or kiosk secret key, log key, session token or NIK", () => {
    const body = lines.join("\n");
    const secrets = [
      ...Object.values(run.shares),
      ...Object.values(run.holderKeys).map((k) => k.secretKey.toString("base64")),
      ...run.kioskKeys.map((k) => Buffer.from(k.secretKey).toString("base64")),
      keyring.active.secretKey.toString("base64"),
      keyring.active.secretKey.subarray(0, 32).toString("base64"),
      ...Object.values(run.tokens),
    ];
    for (const secret of secrets) {
      expect(body).not.toContain(secret);
      expect(body).not.toContain(Buffer.from(secret, "base64").toString("hex"));
    }
    // addVoters gives NIKs 1607050101800001 onwards.
    expect(body).not.toMatch(/16070501018\d{5}/);
    expect(body).not.toMatch(/"(nik|token|password|password_hash|secret_key|share)":/i);
  });

  it("refuses to recount with fewer than k shares, saying how many are needed (exit 2)", () => {
    const { code, stdout, stderr } = verifyOffline([recordFile, "--share", shareFiles[0] as string]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/2 different shares are needed to recount; 1 given/);
    expect(stdout).toBe("");
  });

  it("refuses a corrupted share without printing anything of the shares (exit 2)", () => {
    const good = JSON.parse(readFileSync(shareFiles[1] as string, "utf8"));
    const bytes = Buffer.from(good.share, "base64");
    bytes[5] = (bytes[5] as number) ^ 0xff;
    const bad = path.join(dir, "share-corrupted.json");
    writeFileSync(bad, JSON.stringify({ ...good, share: bytes.toString("base64") }));
    const { code, stdout, stderr } = verifyOffline([
      recordFile,
      "--share",
      shareFiles[0] as string,
      "--share",
      bad,
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/do not rebuild this election's tally key/);
    expect(stdout).toBe("");
    const first = JSON.parse(readFileSync(shareFiles[0] as string, "utf8")).share as string;
    for (const secret of [first, good.share, bytes.toString("base64")]) {
      expect(`${stdout}${stderr}`).not.toContain(secret);
      expect(`${stdout}${stderr}`).not.toContain(Buffer.from(secret, "base64").toString("hex"));
    }
  });

  for (const tamper of TAMPERS) {
    it(`names ${tamper.name}: exit 1, ${tamper.expect.kind} at ${where(tamper.expect)}`, () => {
      const file = path.join(dir, `${tamper.expect.kind}-${tamper.name.length}.jsonl`);
      writeFileSync(file, recordOfState(lines, tamper.apply(stateOfRecord(lines), context)));
      const json = `${file}.report.json`;
      const { code, stdout, stderr } = verifyOffline([file, ...withShares, "--json", json]);
      expect(code, `${stdout}${stderr}`).toBe(1);
      const report = JSON.parse(readFileSync(json, "utf8"));
      expect(report.ok).toBe(false);
      expect(report.log.failures).toContainEqual(located(tamper.expect));
      expect(stdout).toMatch(/^Election record verification: FAILED/);
      // The text report's section for this kind names the place.
      const at = stdout.indexOf(`[${tamper.expect.kind}]`);
      expect(at, stdout).toBeGreaterThan(-1);
      const section = stdout.slice(at).split("\n\n")[0] as string;
      if (tamper.expect.seq !== undefined) expect(section).toContain(`seq ${tamper.expect.seq}`);
      if (tamper.expect.checkpointSize !== undefined)
        expect(section).toContain(`checkpoint size ${tamper.expect.checkpointSize}`);
    });
  }
});
