// SPEC §9: a witness downloads the election record and verifies it offline, with nothing but the file; a record
// altered after download fails, naming the entry.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLogKeyring } from "../../src/modules/log/log.keys.js";
import { appendVotes } from "../../src/modules/log/log.service.js";
import {
  addMember,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { makeKiosk, makeVote } from "../helpers/votes.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(path.join(os.tmpdir(), "suara-record-"));
chmodSync(dir, 0o755);

let database: TestDatabase;
let app: FastifyInstance;
let election: ElectionFixture;
let witnessToken: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  election = await createElection(app, await login(app, "admin"));
  const witness = await createUser(database.db, "saksi");
  await addMember(database.db, election.id, witness.id, "witness");
  witnessToken = await login(app, "saksi");
  // Two enrolled kiosks, one per TPS, and 40 ballots appended through the log's own path.
  const keyring = await loadLogKeyring(database.db, "suara.local");
  const kiosks = [makeKiosk(), makeKiosk()];
  for (const [i, k] of kiosks.entries()) {
    await database.db
      .insertInto("kiosks")
      .values({
        election_id: election.id,
        id: crypto.randomUUID(),
        tps_id: election.tpsIds[i] as string,
        label: `Bilik ${i + 1}`,
        public_key: k.publicKey,
        key_id: k.keyId,
      })
      .execute();
  }
  for (let batch = 0; batch < 8; batch++) {
    const votes = Array.from({ length: 5 }, (_, i) =>
      makeVote(
        election.id,
        election.tpsIds[i % 2] as string,
        kiosks[i % 2] as (typeof kiosks)[number],
        1 + (i % 3),
      ),
    );
    await database.db.transaction().execute((tx) => appendVotes(tx, keyring, election.id, votes));
  }
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function verifyOffline(file: string) {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "scripts/verify-record.ts", file, "--json", `${file}.report.json`],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      // No database and no network: nothing but the file.
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    },
  );
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe("the election record", () => {
  it("a witness downloads it; it holds no personal data; it verifies offline", async () => {
    const response = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/record`,
      headers: bearer(witnessToken),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("application/x-ndjson");
    const lines = response.body.trim().split("\n");
    expect(lines).toHaveLength(1 + 8 + 40);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      type: "header",
      format: "suara-election-record/v2",
    });
    expect(response.body).not.toMatch(/16\d{14}/);
    const file = path.join(dir, "record.jsonl");
    writeFileSync(file, response.body);
    const { code, out } = verifyOffline(file);
    expect(out).toMatch(/OK/);
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(`${file}.report.json`, "utf8"));
    expect(report).toMatchObject({
      ok: true,
      log: { ok: true, entriesChecked: 40, treeSize: 40, checkpointsChecked: 8 },
      result: { present: false, ok: true },
    });
  });

  it("verifies through the package's bin (npx suara-verify-record) as through npm run", () => {
    const bin = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).bin["suara-verify-record"];
    const result = spawnSync(process.execPath, [bin, path.join(dir, "record.jsonl")], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Election record verification: OK\n/);
    expect(result.stdout).toContain("Published result: none in the record");
  });

  it("a record altered after download fails offline, naming the entry", async () => {
    const body = readFileSync(path.join(dir, "record.jsonl"), "utf8").trim().split("\n");
    const target = JSON.parse(body[1 + 8 + 16] as string);
    const leaf = Buffer.from(target.leaf, "base64");
    leaf[leaf.length - 40] = (leaf[leaf.length - 40] as number) ^ 0x01;
    body[1 + 8 + 16] = JSON.stringify({ ...target, leaf: leaf.toString("base64") });
    const file = path.join(dir, "tampered.jsonl");
    writeFileSync(file, `${body.join("\n")}\n`);
    const { code, out } = verifyOffline(file);
    expect(code).toBe(1);
    expect(out).toMatch(/FAILED/);
    const report = JSON.parse(readFileSync(`${file}.report.json`, "utf8"));
    expect(report.ok).toBe(false);
    expect(report.log.failures.map((f: { seq: number | null }) => f.seq)).toContain(target.seq);
  });

  it("is not given to officers or to the public before certification", async () => {
    const anonymous = await app.inject({ method: "GET", url: `/elections/${election.id}/record` });
    expect(anonymous.statusCode).toBe(401);
  });
});
