// `npm run rotate-log-key`: retires the active vote-log signing key and generates a new one. Checkpoints signed
// with the old key stay verifiable (GET /log/keys lists it as retired). Restart the service afterwards so that
// it signs with the new key. A key given in LOG_SIGNING_KEY is rotated by setting a new LOG_SIGNING_KEY instead.
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/setup.js";
import { listLogKeys, rotateLogKey } from "../src/modules/log/log.keys.js";

const config = loadConfig();
if (config.LOG_SIGNING_KEY !== undefined) {
  process.stderr.write("LOG_SIGNING_KEY is set: rotate by setting a new one and restarting the service\n");
  process.exit(2);
}
const say = (line: string) => process.stderr.write(`${line}\n`);
const database = await openDatabase(config, say);
try {
  const id = await rotateLogKey(database.db);
  const keys = await listLogKeys(database.db);
  const active = keys.find((k) => k.id === id);
  say(
    `new log key ${id} (public key ${active?.publicKey.toString("base64")}); ${keys.length - 1} retired key(s) kept`,
  );
  say("restart the service so that it signs with the new key");
} finally {
  await database.close();
}
