// A clean, migrated database for one test file, cloned from the run's template.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { createDatabase, type DatabaseHandle } from "../../src/db/connection.js";

export interface TestDatabase extends DatabaseHandle {
  url: string;
  name: string;
  /** Runs SQL as the server's superuser on this database, e.g. to tamper with rows the way an intruder would. */
  superuser<T extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    options?: { bypassTriggers?: boolean },
  ): Promise<pg.QueryResult<T>>;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject("pgServerUrl");
  const template = inject("pgTemplate");
  const name = `suara_t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  const handle = createDatabase(url, 30);
  return {
    ...handle,
    url,
    name,
    async superuser(text, values, options) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // session_replication_role = replica skips ordinary triggers: only a superuser may set it.
        if (options?.bypassTriggers) await client.query("SET session_replication_role = replica");
        return await client.query(text, values);
      } finally {
        await client.end();
      }
    },
    async drop() {
      await handle.close();
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
