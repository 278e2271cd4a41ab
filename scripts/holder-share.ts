// The tally-key holder's tool (SPEC §7), run on the holder's own device, never on the service:
//
//   npm run holder-share -- keygen --out holder.key
//       makes the holder's X25519 key pair: writes the secret key (base64, file mode 0600) and prints the
//       public key to register (PUT /elections/{id}/ceremony/holder-key).
//   npm run holder-share -- open --sealed sealed-share.json --secret-key holder.key --out share.json
//       opens the sealed share exactly as the service handed it over (the JSON body of
//       POST /elections/{id}/ceremony/share) and writes the share file the offline verifier takes with
//       --share (docs/record-format.md, appendix B). The share file is a secret: keep it like the key.
//
// Exit codes: 0 done, 2 refused (bad input, wrong key). Nothing secret is ever printed.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { generateHolderKeyPair, wipe } from "../src/crypto/tally-key.js";
import { ShareError, shareFileFromSealed } from "../src/verify/share-file.js";

const USAGE = `usage: holder-share keygen --out holder.key
       holder-share open --sealed sealed-share.json --secret-key holder.key --out share.json
`;

function readSecretKey(file: string): Buffer {
  const text = readFileSync(file, "utf8").trim();
  const key = Buffer.from(text, "base64");
  if (key.toString("base64") !== text || key.length !== 32) {
    wipe(key);
    throw new ShareError(`${file} is not a holder secret key (base64 of 32 bytes)`);
  }
  return key;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: "string" },
      sealed: { type: "string" },
      "secret-key": { type: "string" },
    },
  });
  const [command] = positionals;
  if (command === "keygen" && values.out) {
    const pair = generateHolderKeyPair();
    // flag "wx": never overwrite an existing key by mistake.
    writeFileSync(values.out, `${pair.secretKey.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    wipe(pair.secretKey);
    process.stdout.write(`holder public key (register it): ${pair.publicKey.toString("base64")}\n`);
    return;
  }
  if (command === "open" && values.out && values.sealed && values["secret-key"]) {
    let sealed: unknown;
    try {
      sealed = JSON.parse(readFileSync(values.sealed, "utf8"));
    } catch {
      throw new ShareError(`${values.sealed} is not JSON`);
    }
    const secretKey = readSecretKey(values["secret-key"]);
    try {
      const share = shareFileFromSealed(sealed, secretKey);
      writeFileSync(values.out, `${JSON.stringify(share, null, 2)}\n`, { mode: 0o600, flag: "wx" });
      process.stdout.write(
        `share ${share.share_index} of ${share.holders} (any ${share.threshold} recount) written to ${values.out}\n`,
      );
    } finally {
      wipe(secretKey);
    }
    return;
  }
  throw new ShareError(USAGE.trimEnd());
}

try {
  main();
} catch (error) {
  const message =
    error instanceof ShareError
      ? error.message
      : `${(error as NodeJS.ErrnoException).code ?? "error"}: ${(error as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exitCode = 2;
}
