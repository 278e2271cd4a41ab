// One migration runner for the service, `npm run migrate` and the tests. Forward-only (SPEC §12).
import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResult,
  Migrator,
  sql,
} from "kysely";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");

// Any key will do as long as every Suara process uses the same one: it serialises concurrent starts.
const MIGRATION_LOCK_KEY = 0x5355_4152; // "SUAR"

// biome-ignore lint/suspicious/noExplicitAny: the migrator is schema-agnostic
type AnyDb = Kysely<any>;

/**
 * Kysely's FileMigrationProvider imports from inside node_modules, where a TypeScript loader (tsx, vitest)
 * may not reach; importing from this module keeps migrations loadable wherever the application's code is.
 */
class MigrationFolder implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(MIGRATIONS_DIR)).filter(
      (f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith(".d.ts"),
    );
    const migrations: Record<string, Migration> = {};
    for (const file of files.sort()) {
      const module = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Migration;
      migrations[file.replace(/\.(ts|js|mjs)$/, "")] = { up: module.up, down: module.down };
    }
    return migrations;
  }
}

function migrator(db: AnyDb): Migrator {
  return new Migrator({ db, provider: new MigrationFolder() });
}

export class MigrationError extends Error {}

export async function migrateToLatest(db: AnyDb): Promise<MigrationResult[]> {
  const { error, results } = await migrator(db).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new MigrationError(
      `migration ${failed?.migrationName ?? "(unknown)"} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return results ?? [];
}

/** Names of migrations present on disk but not applied to the database; empty when the schema is current. */
export async function pendingMigrations(db: AnyDb): Promise<string[]> {
  const all = await migrator(db).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

/** Holds a session-level advisory lock while `fn` runs, so two processes never bootstrap at once. */
export async function withStartupLock<T>(db: AnyDb, fn: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
    try {
      return await fn();
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
    }
  });
}

export { sql };
