// Shared by the benchmarks: a PostgreSQL to measure on (DATABASE_URL, or an embedded one in a temporary
// folder), a migrated template, fresh databases cloned from it, percentiles, and rewriting a section of
// docs/benchmarks.md between its markers.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createDatabase } from "../../src/db/connection.js";
import type { Db, ElectionStatus } from "../../src/db/database.js";
import { freePort, startEmbeddedPostgres } from "../../src/db/embedded.js";
import { migrateToLatest } from "../../src/db/migrator.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface BenchServer {
  serverUrl: string;
  version: string;
  embedded: boolean;
  dir: string;
  /** A fresh, migrated database; returns its URL. */
  freshDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

async function run(serverUrl: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

export function databaseUrl(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function startBenchServer(tag: string): Promise<BenchServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `suara-bench-${tag}-`));
  chmodSync(dir, 0o755);
  let serverUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!serverUrl) {
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(dir, "pg"),
      port: await freePort(),
      persistent: false,
    });
    serverUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const version = String((await run(serverUrl, "SHOW server_version")).rows[0]?.server_version);
  const template = `suara_bench_${tag}_template`;
  await run(serverUrl, `DROP DATABASE IF EXISTS ${template}`);
  await run(serverUrl, `CREATE DATABASE ${template}`);
  const { db } = createDatabase(databaseUrl(serverUrl, template), 1);
  await migrateToLatest(db);
  await db.destroy();
  const url = serverUrl;
  return {
    serverUrl: url,
    version,
    embedded: stopEmbedded !== undefined,
    dir,
    async freshDatabase(name) {
      await run(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await run(url, `CREATE DATABASE ${name} TEMPLATE ${template}`);
      return databaseUrl(url, name);
    },
    async stop() {
      await stopEmbedded?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const i = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return sortedMs[Math.max(0, i)] as number;
}

export function fmt(n: number, digits = 2): string {
  return n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function machineLine(server: BenchServer): string {
  return (
    `Measured ${new Date().toISOString().slice(0, 10)} on this machine (${os.cpus().length} cores, Node.js ` +
    `${process.version}, PostgreSQL ${server.version}${server.embedded ? ", embedded" : ""}).`
  );
}

/** Replaces the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` in docs/benchmarks.md. */
export function writeDocsSection(name: string, body: string): void {
  const docs = path.join(ROOT, "docs/benchmarks.md");
  if (!existsSync(docs)) return;
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const text = readFileSync(docs, "utf8");
  const pattern = new RegExp(`${start}[\\s\\S]*?${end}`);
  if (!pattern.test(text)) throw new Error(`docs/benchmarks.md has no ${start} … ${end} section`);
  writeFileSync(docs, text.replace(pattern, `${start}\n${body}\n${end}`));
}

/** An administrator and one election (with the given TPS) straight into the database, for benchmarks. */
export async function createBenchElection(
  db: Db,
  options: { id?: string; status: ElectionStatus; tps: Array<{ id?: string; code: string }> },
): Promise<{ electionId: string; tpsIds: string[] }> {
  const owner =
    (await db.selectFrom("users").select("id").where("username", "=", "bench").executeTakeFirst()) ??
    (await db
      .insertInto("users")
      .values({
        username: "bench",
        display_name: "bench",
        password_hash: "x",
        is_admin: true,
        must_change_password: false,
      })
      .returning("id")
      .executeTakeFirstOrThrow());
  const electionId = options.id ?? crypto.randomUUID();
  await db
    .insertInto("elections")
    .values({
      id: electionId,
      name: "Bench",
      village_name: "Bench",
      region_code: "16.07.05.2001",
      voting_day: "2027-03-14",
      time_zone: "WIB",
      opens_at: new Date("2027-03-14T00:00:00Z"),
      closes_at: new Date("2027-03-14T06:00:00Z"),
      status: options.status,
      created_by: owner.id,
    })
    .execute();
  const tpsIds = options.tps.map((t) => t.id ?? crypto.randomUUID());
  if (tpsIds.length > 0) {
    await db
      .insertInto("tps")
      .values(
        options.tps.map((t, i) => ({
          election_id: electionId,
          id: tpsIds[i] as string,
          code: t.code,
          name: `TPS ${t.code}`,
        })),
      )
      .execute();
  }
  return { electionId, tpsIds };
}
