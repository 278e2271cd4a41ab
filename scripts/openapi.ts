// `npm run openapi`: writes the OpenAPI 3.1 document (the same one served at /docs/json) to docs/openapi.json.
// The app is built exactly as the server builds it; no database connection is opened, since none is used.
import { writeFileSync } from "node:fs";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createDatabase } from "../src/db/connection.js";

const config = loadConfig({ ...process.env, LOG_LEVEL: "silent", JWT_SECRET: "x".repeat(32) });
const { db, pool } = createDatabase("postgres://unused@127.0.0.1:1/unused", 1);
const app = await buildApp(config, { db, pool });
const document = app.swagger();
writeFileSync(new URL("../docs/openapi.json", import.meta.url), `${JSON.stringify(document, null, 2)}\n`);
await app.close();
await db.destroy();
process.stdout.write(`docs/openapi.json: ${Object.keys(document.paths ?? {}).length} paths\n`);
