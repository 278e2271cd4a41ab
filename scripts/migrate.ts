// `npm run migrate`: apply pending migrations to DATABASE_URL (or the embedded PostgreSQL) and exit.
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/setup.js";

const say = (line: string) => process.stdout.write(`${line}\n`);
const database = await openDatabase(loadConfig(), say);
say("migrations are current");
await database.close();
