// Prepares the PostgreSQL that the integration tier runs against, once per test run:
//   TEST_DATABASE_URL set → that server (any database on it; we create our own there);
//   TEST_PG=docker        → a testcontainers PostgreSQL (machines with a Docker engine);
//   otherwise             → an embedded PostgreSQL in a temporary folder, as on a fresh machine.
// It migrates a template database once; every test file clones it (CREATE DATABASE … TEMPLATE), so each file
// starts from a clean, fully migrated schema in a few tens of milliseconds.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { createDatabase } from "../../src/db/connection.js";
import { freePort, startEmbeddedPostgres } from "../../src/db/embedded.js";
import { migrateToLatest } from "../../src/db/migrator.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgServerUrl: string;
    pgTemplate: string;
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanups: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const cleanup of cleanups) await cleanup();
  };
  try {
    await prepare(project, cleanups);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}

async function prepare(project: TestProject, cleanups: Array<() => Promise<void>>): Promise<void> {
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    process.stdout.write(`[tests] PostgreSQL from TEST_DATABASE_URL (${new URL(serverUrl).host})\n`);
  } else if (process.env.TEST_PG === "docker") {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
    const container = await new PostgreSqlContainer("postgres:16-alpine").start();
    serverUrl = container.getConnectionUri();
    cleanups.push(async () => void (await container.stop()));
    process.stdout.write(`[tests] PostgreSQL in a testcontainer (${container.getHost()})\n`);
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), "suara-test-pg-"));
    chmodSync(dir, 0o755); // as root, PostgreSQL runs as the 'postgres' user, which must reach the data folder
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(dir, "data"),
      port: await freePort(),
      persistent: false,
      // Test databases are thrown away: trade durability for speed here only.
    });
    serverUrl = embedded.url;
    cleanups.push(async () => {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    process.stdout.write(`[tests] embedded PostgreSQL on port ${embedded.port}\n`);
  }

  const template = `suara_template_${process.pid}`;
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${template}`);
  await adminQuery(serverUrl, `CREATE DATABASE ${template}`);
  const { db } = createDatabase(withDatabase(serverUrl, template), 2);
  await migrateToLatest(db);
  await db.destroy();
  cleanups.unshift(() => adminQuery(serverUrl as string, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`));

  project.provide("pgServerUrl", serverUrl);
  project.provide("pgTemplate", template);
}
