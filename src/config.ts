// The service's configuration: every environment variable it reads, validated with zod at start and described
// here once. The README's configuration table is generated from this schema (`npm run config:docs`), so the two
// cannot drift apart.
import { z } from "zod";

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  NODE_ENV: z
    .enum(["development", "test", "production"])
    .default("development")
    .describe("`production` makes JWT_SECRET mandatory and turns off pretty console logs."),
  HOST: z
    .string()
    .default("127.0.0.1")
    .describe("Address the HTTP server listens on (`0.0.0.0` in containers)."),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe("HTTP port (0 picks a free one)."),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
    .default("info")
    .describe("pino log level. Logs never contain NIKs, tokens, ballots, passwords or bearer tokens."),
  DATABASE_URL: optionalString.describe(
    "PostgreSQL connection string. When unset, an embedded PostgreSQL is started with its data in PG_DATA_DIR.",
  ),
  PG_DATA_DIR: z
    .string()
    .default("./data/pg")
    .describe("Data folder of the embedded PostgreSQL (used only when DATABASE_URL is unset)."),
  PG_EMBEDDED_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(54320)
    .describe("Port of the embedded PostgreSQL, on 127.0.0.1 (used only when DATABASE_URL is unset)."),
  DATABASE_POOL_SIZE: z.coerce
    .number()
    .int()
    .min(2)
    .max(200)
    .default(20)
    .describe(
      "Connections in the pool (at least 2: start-up holds one for its lock while migrating on another).",
    ),
  JWT_SECRET: optionalString.describe(
    "HMAC key (at least 32 characters) signing access tokens (HS256, pinned). Required in production and when " +
      "several instances serve the same database. When unset outside production, a random key is made at start, " +
      "so restarting the service signs everybody out.",
  ),
  JWT_ISSUER: z.string().default("suara").describe("`iss` claim written into and required of access tokens."),
  JWT_AUDIENCE: z
    .string()
    .default("suara-api")
    .describe("`aud` claim written into and required of access tokens."),
  ACCESS_TOKEN_TTL_SECONDS: seconds(900).describe("Lifetime of an access token (default 15 minutes)."),
  KIOSK_SESSION_TTL_SECONDS: seconds(900).describe(
    "Lifetime of a kiosk's session after it answers a challenge; the kiosk library signs in again when it ends.",
  ),
  TOKEN_TTL_SECONDS: seconds(900).describe(
    "How long a ballot token handed out at check-in stays redeemable.",
  ),
  TOKEN_HMAC_SECRET: optionalString.describe(
    "Key (at least 32 characters) of the HMAC under which ballot tokens are stored. When unset, the service makes " +
      "one at first start and keeps it in the database; set it to keep it out of the database.",
  ),
  ADMIN_USERNAME: z
    .string()
    .default("admin")
    .describe("Username of the administrator created on first start."),
  ADMIN_PASSWORD: optionalString.describe(
    "Password for the first administrator. When unset, a one-time password is generated and printed once on the " +
      "console; it must be changed at first login.",
  ),
  LOGIN_MAX_FAILURES: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe(
      "Consecutive failed logins of one account before it is locked for a while (doubling each time).",
    ),
  LOGIN_LOCK_SECONDS: seconds(60).describe("First lock period after LOGIN_MAX_FAILURES failures."),
  LOGIN_RATE_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .default(30)
    .describe("Login attempts accepted per minute from one client address, whatever the account."),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1_048_576)
    .describe("Largest JSON request body accepted (larger bodies get 413)."),
  ROLL_UPLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1_048_576)
    .describe(
      "Largest voter-roll CSV accepted over HTTP (larger files get 413 naming the command-line importer, " +
        "`npm run import-roll`, which has no limit).",
    ),
  LOG_ORIGIN: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]*(\/[a-z0-9._-]+)*$/, "a host name, optionally with a path, lower case")
    .default("suara.local")
    .describe(
      "This deployment's name in vote-log checkpoints: each election's log origin is " +
        "`<LOG_ORIGIN>/elections/<election id>` (e.g. `pilkades.banyuasinkab.go.id`). Never change it once " +
        "an election has a log.",
    ),
  LOG_SIGNING_KEY: optionalString.describe(
    "Base64 of a 32-byte Ed25519 seed for the key that signs vote-log checkpoints. When unset, the service " +
      "generates one at first start and keeps it in the database; setting a new one retires the previous key " +
      "(old checkpoints stay verifiable).",
  ),
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    )
    .describe("Comma-separated browser origins allowed by CORS. Empty (the default) allows none."),
  TRUST_PROXY: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe(
      "Trust X-Forwarded-* headers (set when behind a reverse proxy), so throttles see real client addresses.",
    ),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const config = parsed.data;
  if (config.JWT_SECRET !== undefined && config.JWT_SECRET.length < 32) {
    throw new ConfigError("Invalid configuration:\n  JWT_SECRET: must be at least 32 characters");
  }
  if (config.TOKEN_HMAC_SECRET !== undefined && config.TOKEN_HMAC_SECRET.length < 32) {
    throw new ConfigError("Invalid configuration:\n  TOKEN_HMAC_SECRET: must be at least 32 characters");
  }
  if (config.LOG_SIGNING_KEY !== undefined && Buffer.from(config.LOG_SIGNING_KEY, "base64").length !== 32) {
    throw new ConfigError("Invalid configuration:\n  LOG_SIGNING_KEY: must be base64 of exactly 32 bytes");
  }
  if (config.NODE_ENV === "production" && config.JWT_SECRET === undefined) {
    throw new ConfigError("Invalid configuration:\n  JWT_SECRET: required when NODE_ENV=production");
  }
  return config;
}

/** The configuration variables and their descriptions, for the README table. */
export function describeConfig(): Array<{ name: string; default: string; description: string }> {
  return Object.entries(configSchema.shape).map(([name, schema]) => {
    const parsed = (schema as z.ZodType).safeParse(undefined);
    const fallback = parsed.success && parsed.data !== undefined ? JSON.stringify(parsed.data) : "";
    return { name, default: fallback, description: (schema as z.ZodType).description ?? "" };
  });
}
