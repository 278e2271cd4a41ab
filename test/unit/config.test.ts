// The configuration is validated at start, described once, and the README's table is generated from it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderConfigTable } from "../../scripts/config-docs.js";
import { ConfigError, configSchema, describeConfig, loadConfig } from "../../src/config.js";

describe("configuration", () => {
  it("has working defaults for a fresh machine: embedded PostgreSQL, port 3000, CORS closed", () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.PG_DATA_DIR).toBe("./data/pg");
    expect(config.PORT).toBe(3000);
    expect(config.CORS_ORIGINS).toEqual([]);
    expect(config.ACCESS_TOKEN_TTL_SECONDS).toBe(900);
  });

  it("treats an empty DATABASE_URL as unset", () => {
    expect(loadConfig({ DATABASE_URL: "" }).DATABASE_URL).toBeUndefined();
  });

  it("names every bad variable in one error", () => {
    expect(() => loadConfig({ PORT: "eighty", LOG_LEVEL: "loud" })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: "eighty", LOG_LEVEL: "loud" });
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT/);
      expect((error as Error).message).toMatch(/LOG_LEVEL/);
    }
  });

  it("requires a JWT secret of at least 32 characters in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/JWT_SECRET: required/);
    expect(() => loadConfig({ JWT_SECRET: "short" })).toThrow(/at least 32/);
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "x".repeat(32) }).NODE_ENV).toBe("production");
  });

  it("splits CORS origins", () => {
    expect(loadConfig({ CORS_ORIGINS: "https://a.example, https://b.example" }).CORS_ORIGINS).toEqual([
      "https://a.example",
      "https://b.example",
    ]);
  });

  it("describes every variable", () => {
    for (const variable of describeConfig()) expect(variable.description, variable.name).not.toBe("");
    expect(describeConfig().map((v) => v.name)).toEqual(Object.keys(configSchema.shape));
  });

  it("the README's configuration table is the one generated from the schema", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(readme).toContain(renderConfigTable());
  });
});
