// `npm run demo` as a fresh user runs it (issue #7): a whole pilkades through a real Suara process on its own
// embedded PostgreSQL, here with a smaller roll. It must finish with a certified, offline-verified result whose
// count equals what the kiosks cast (the demo checks that itself and exits 1 otherwise), and leave a service
// log holding no NIK, token, password or bearer token of the run.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const out = mkdtempSync(path.join(os.tmpdir(), "suara-demo-"));

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("npm run demo", () => {
  it("runs a whole pilkades to a certified, offline-verified result, and its service log keeps every secret", () => {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/demo.ts", "--voters", "400", "--turnout", "0.5", "--out", out],
      { encoding: "utf8", env: { ...process.env, DATABASE_URL: "" }, timeout: 240_000 },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const story = run.stdout;
    for (const chapter of [
      "starts Suara on a fresh machine",
      "imports the voter roll (DPT)",
      "tally-key ceremony",
      "opens the polls",
      "closes the polls",
      "Certification",
      "verifies it offline",
      "Suara vote log verification: OK",
      "status: certified",
      "none found.",
    ]) {
      expect(story).toContain(chapter);
    }
    // The files the demo says it left, and the minutes of the count among them.
    expect(readFileSync(path.join(out, "berita-acara.html"), "utf8")).toContain("BERITA ACARA REKAPITULASI");
    const report = JSON.parse(readFileSync(path.join(out, "verification-report.json"), "utf8"));
    expect(report.ok).toBe(true);
    // The log is the service's own (JSON lines), and it is not empty: the scan had something to search.
    const log = readFileSync(path.join(out, "service.log"), "utf8").trim().split("\n");
    expect(log.length).toBeGreaterThan(100);
    expect(log.filter((line) => line.startsWith("{")).length).toBeGreaterThan(100);
    // The demo searches the log for the secrets it knows; the kiosks' session tokens live inside the kiosk
    // library, so also refuse anything shaped like a JWT, and any 16-digit run (a NIK) that is not the tail of a
    // fraction (pino writes responseTime as 4.2957100000003265).
    const text = log.join("\n");
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    expect(text).not.toMatch(/(?<![\d.])\d{16}(?!\d)/);
  });
});
