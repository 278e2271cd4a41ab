// Getting the service a migrated database: the server named by DATABASE_URL, or an embedded PostgreSQL whose
// data lives in PG_DATA_DIR. Shared by the server and `npm run migrate`.
import type { Kysely } from "kysely";
import pg from "pg";
import type { Config } from "../config.js";
import { createDatabase } from "./connection.js";
import type { DB } from "./database.js";
import { startEmbeddedPostgres } from "./embedded.js";
import { migrateToLatest, withStartupLock } from "./migrator.js";

export interface OpenDatabase {
  db: Kysely<DB>;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = "suara";

async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

export async function openDatabase(config: Config, say: (line: string) => void): Promise<OpenDatabase> {
  let url = config.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (url === undefined) {
    const embedded = await startEmbeddedPostgres({
      dataDir: config.PG_DATA_DIR,
      port: config.PG_EMBEDDED_PORT,
      persistent: true,
    });
    stopEmbedded = embedded.stop;
    await ensureDatabase(embedded.url, EMBEDDED_DATABASE);
    url = embedded.url.replace(/\/postgres$/, `/${EMBEDDED_DATABASE}`);
    say(
      `Embedded PostgreSQL on 127.0.0.1:${embedded.port}, data in ${embedded.dataDir} (set DATABASE_URL to use a server)`,
    );
  }
  const { db, pool } = createDatabase(url, config.DATABASE_POOL_SIZE);
  try {
    const applied = await withStartupLock(db, () => migrateToLatest(db));
    for (const m of applied) say(`migration ${m.migrationName}: ${m.status}`);
  } catch (error) {
    await db.destroy();
    await stopEmbedded?.();
    throw error;
  }
  return {
    db,
    pool,
    url,
    close: async () => {
      await db.destroy();
      await stopEmbedded?.();
    },
  };
}
