// The pool and the Kysely instance over it. int8 is read as a JS number (sequence numbers stay far below 2^53;
// a larger value is an error, never a silent rounding) and `date` as its literal YYYY-MM-DD text, so a voting day
// never shifts with the server's time zone.
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { DB } from "./database.js";

const INT8_OID = 20;
const DATE_OID = 1082;

function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${value} exceeds the safe integer range`);
  return n;
}

const typeParsers = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID) return parseInt8;
    if (oid === DATE_OID) return (value: string) => value;
    // biome-ignore lint/suspicious/noExplicitAny: pg's own signature
    return pg.types.getTypeParser(oid, format as any);
  },
};

export interface DatabaseHandle {
  db: Kysely<DB>;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createPool(connectionString: string, max = 20): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    types: typeParsers as pg.CustomTypesConfig,
    // A vote acknowledged is durable: never let a session weaken synchronous_commit (SPEC §12).
    options: "-c synchronous_commit=on -c TimeZone=UTC",
    connectionTimeoutMillis: 10_000,
    // TCP keepalive: a connection the network silently dropped is found out instead of waited on forever.
    keepAlive: true,
  });
  // An idle client losing its connection (database restart) must not crash the process; the pool drops it.
  pool.on("error", () => {});
  // Nor may a checked-out client between two queries (a transaction while Node signs, say): pg-pool removes
  // its idle listener at checkout, so an 'error' event there would be uncaught and kill the process. The
  // client is unusable afterwards — its next query fails, the request answers 503 (src/plugins/errors.ts) and
  // the pool discards the client on release (it is no longer queryable).
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

export function createDatabase(connectionString: string, max = 20): DatabaseHandle {
  const pool = createPool(connectionString, max);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool, close: () => db.destroy() };
}
