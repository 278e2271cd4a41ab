// The process: read configuration, get a database (embedded when DATABASE_URL is unset), migrate, create the
// first administrator, listen, and close gracefully on a signal.
import closeWithGrace from "close-with-grace";
import { buildApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./db/setup.js";
import { loadLogKeyring } from "./modules/log/log.keys.js";
import { bootstrapAdmin } from "./modules/users/users.service.js";
import { loggerOptions } from "./plugins/logging.js";

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase(config, say);
  const boot = await bootstrapAdmin(database.db, {
    username: config.ADMIN_USERNAME,
    password: config.ADMIN_PASSWORD,
  });
  if (boot.created && boot.oneTimePassword) {
    // Printed on the console only — never logged — and never shown again.
    say("");
    say("  First start: administrator account created.");
    say(`    username:           ${config.ADMIN_USERNAME}`);
    say(`    one-time password:  ${boot.oneTimePassword}`);
    say("  It is shown only this once. Sign in (POST /auth/login) and change it (POST /auth/password).");
    say("");
  } else if (boot.created) {
    say(
      `  First start: administrator '${config.ADMIN_USERNAME}' created with the password from ADMIN_PASSWORD.`,
    );
  }

  const logger =
    process.stdout.isTTY && config.NODE_ENV !== "production"
      ? {
          // Pretty output on a terminal, with the same redaction as always.
          ...(loggerOptions(config) as object),
          transport: {
            target: "pino-pretty",
            options: { translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname" },
          },
        }
      : undefined;
  const logKeyring = await loadLogKeyring(database.db, config.LOG_ORIGIN, config.LOG_SIGNING_KEY);
  const app = await buildApp(config, {
    db: database.db,
    pool: database.pool,
    logKeyring,
    ...(logger ? { logger } : {}),
  });

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, "shutting down after an error");
    else app.log.info(`${signal} received: draining requests and shutting down`);
    await app.close();
    await database.close();
  });

  const address = await app.listen({ host: config.HOST, port: config.PORT });
  say(`Suara is serving on ${address} (API docs at ${address}/docs)`);
}

main().catch((error) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`Suara could not start: ${error instanceof Error ? error.stack : String(error)}\n`);
  }
  process.exit(1);
});
