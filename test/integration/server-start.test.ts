// The README's promise, tested as a person would meet it: on a machine with only Node.js, `npm start` (here:
// the same entry point) starts an embedded PostgreSQL, prints the administrator's one-time password once,
// serves the API, shuts down cleanly on SIGTERM, and keeps its data for the next start.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/db/embedded.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(path.join(os.tmpdir(), "suara-start-"));
chmodSync(dir, 0o755);

interface Running {
  child: ChildProcess;
  output: () => string;
  url: string;
}

async function startServer(pgPort: number): Promise<Running> {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: ROOT,
    env: {
      ...env,
      PORT: "0",
      PG_DATA_DIR: path.join(dir, "pg"),
      PG_EMBEDDED_PORT: String(pgPort),
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const check = () => {
      const match = /Suara is serving on (http:\/\/[^\s]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", check);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output, url };
}

async function stop(running: Running): Promise<number | null> {
  return new Promise((resolve) => {
    running.child.on("exit", (code) => resolve(code));
    running.child.kill("SIGTERM");
  });
}

async function post(url: string, body: unknown, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("starting the service on a machine with only Node.js", () => {
  it("serves on an embedded PostgreSQL, prints the one-time password once, and keeps data across restarts", async () => {
    const pgPort = await freePort();
    const first = await startServer(pgPort);
    try {
      expect(first.output()).toContain(`data in ${path.join(dir, "pg")}`);
      const otp = /one-time password:\s+(\S+)/.exec(first.output())?.[1];
      expect(otp).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);

      const ready = await fetch(`${first.url}/ready`);
      expect(await ready.json()).toEqual({ status: "ready", database: "ok", migrations: "current" });

      const login = await post(`${first.url}/auth/login`, { username: "admin", password: otp });
      expect(login.status).toBe(200);
      expect(login.body.must_change_password).toBe(true);
      const changed = await post(
        `${first.url}/auth/password`,
        { current_password: otp, new_password: "Kantor-PMD-Banyuasin-2027" },
        login.body.access_token as string,
      );
      expect(changed.status).toBe(200);
    } finally {
      expect(await stop(first)).toBe(0);
    }

    const second = await startServer(pgPort);
    try {
      expect(second.output()).not.toContain("one-time password");
      const login = await post(`${second.url}/auth/login`, {
        username: "admin",
        password: "Kantor-PMD-Banyuasin-2027",
      });
      expect(login.status).toBe(200);
      expect(login.body.must_change_password).toBe(false);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  }, 120_000);
});
