// `tsx scripts/generate-dpt.ts --rows 5000 --seed 42 --voting-day 2027-03-14 [--out dpt.csv] …`: writes a
// synthetic DPT (voter roll) CSV for tests, the demo and benchmarks; `--help` lists the options. The CSV goes to
// --out or stdout; a one-line summary goes to stderr so it never mixes with the data.
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  BAD_ROW_KINDS,
  type BadRowKind,
  type CsvFormat,
  type DptFileSummary,
  type DptOptions,
  WARNING_ROW_KINDS,
  writeDpt,
  writeDptFile,
} from "./lib/dpt-generator.js";

const USAGE = `usage: tsx scripts/generate-dpt.ts --rows N --voting-day YYYY-MM-DD [options]
  --seed N                 PRNG seed (default 1); the same seed gives the same bytes
  --out FILE               write here instead of stdout
  --separator ',' | ';'    field separator (default ','; Excel in Indonesian locale writes ';')
  --crlf                   CRLF line endings
  --bom                    start with a UTF-8 byte order mark
  --date-format F          iso | dmy-dash | dmy-slash | mixed (default iso)
  --apostrophe-nik S       share of NIK/NKK cells written as Excel text, '1607…
  --bad-share S            share of rejected rows, spread evenly over every rejected kind
  --bad k=S,k=S            shares of particular kinds (rejected or warning), e.g. nik_scientific=0.001
  --married-minor-share S  married 16-year-olds, who may vote (default 0.002)
  --quoted-multiline       put separators, quotes and line breaks inside some alamat/keterangan cells
  --tps-size MIN-MAX       voters per TPS (default 200-600)
  --village-code DDDDDD    district code in every valid NIK (default 160705)
kinds: ${[...BAD_ROW_KINDS, ...WARNING_ROW_KINDS].join(", ")}`;

export interface GenerateDptCommand {
  options: DptOptions;
  format: CsvFormat;
  out: string | undefined;
}

class UsageError extends Error {}

function number(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isFinite(value)) {
    throw new UsageError(`--${flag} needs a number, not "${text ?? ""}"`);
  }
  return value;
}

function isKind(name: string): name is BadRowKind {
  return (
    (BAD_ROW_KINDS as readonly string[]).includes(name) ||
    (WARNING_ROW_KINDS as readonly string[]).includes(name)
  );
}

/** `--bad-share` spread over the rejected kinds, then `--bad k=S` for the kinds named. */
function badShares(
  evenShare: string | undefined,
  list: string | undefined,
): Partial<Record<BadRowKind, number>> {
  const shares: Partial<Record<BadRowKind, number>> = {};
  if (evenShare !== undefined) {
    const each = number("bad-share", evenShare) / BAD_ROW_KINDS.length;
    for (const kind of BAD_ROW_KINDS) shares[kind] = each;
  }
  for (const item of list?.split(",").filter((part) => part.trim() !== "") ?? []) {
    const [name = "", share] = item.split("=").map((part) => part.trim());
    if (!isKind(name)) throw new UsageError(`--bad: unknown kind "${name}"`);
    shares[name] = number(`bad ${name}`, share);
  }
  return shares;
}

function tpsSize(text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  if (!match) throw new UsageError(`--tps-size must look like 200-600, not "${text}"`);
  return [Number(match[1]), Number(match[2])];
}

function oneOf<T extends string>(
  flag: string,
  text: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (text === undefined) return undefined;
  const found = allowed.find((value) => value === text);
  if (found === undefined)
    throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}, not "${text}"`);
  return found;
}

/** Turns the command line into generator options; throws a UsageError the user can act on. */
export function parseCommand(argv: string[]): GenerateDptCommand | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      rows: { type: "string" },
      seed: { type: "string", default: "1" },
      "voting-day": { type: "string" },
      out: { type: "string", short: "o" },
      separator: { type: "string" },
      crlf: { type: "boolean" },
      bom: { type: "boolean" },
      "date-format": { type: "string" },
      "apostrophe-nik": { type: "string" },
      "bad-share": { type: "string" },
      bad: { type: "string" },
      "married-minor-share": { type: "string" },
      "quoted-multiline": { type: "boolean" },
      "tps-size": { type: "string" },
      "village-code": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (values.rows === undefined) throw new UsageError("--rows is required");
  if (values["voting-day"] === undefined) throw new UsageError("--voting-day is required");
  const options: DptOptions = {
    rows: number("rows", values.rows),
    seed: number("seed", values.seed),
    votingDay: values["voting-day"],
    tpsSize: tpsSize(values["tps-size"]),
    villageCode: values["village-code"],
    bad: badShares(values["bad-share"], values.bad),
    quotedMultiline: values["quoted-multiline"] ?? false,
  };
  if (values["married-minor-share"] !== undefined) {
    options.marriedMinorShare = number("married-minor-share", values["married-minor-share"]);
  }
  const format: CsvFormat = {
    separator: oneOf("separator", values.separator, [",", ";"] as const),
    lineEnding: values.crlf ? "\r\n" : "\n",
    bom: values.bom ?? false,
    dateFormat: oneOf("date-format", values["date-format"], [
      "iso",
      "dmy-dash",
      "dmy-slash",
      "mixed",
    ] as const),
    apostropheNik:
      values["apostrophe-nik"] === undefined ? undefined : number("apostrophe-nik", values["apostrophe-nik"]),
  };
  return { options, format, out: values.out };
}

function isBrokenPipe(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "EPIPE";
}

async function main(): Promise<void> {
  let command: GenerateDptCommand | "help";
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const started = performance.now();
  let summary: DptFileSummary;
  try {
    summary =
      command.out === undefined
        ? await writeDpt(process.stdout, command.options, command.format, { end: false })
        : await writeDptFile(command.out, command.options, command.format);
  } catch (error) {
    if (isBrokenPipe(error)) return; // the reader (head, less) has had enough
    process.stderr.write(`generate-dpt: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    return;
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(
    `generate-dpt: ${summary.rows} rows, ${summary.tps.length} TPS, ${summary.bytes} bytes, ` +
      `${seconds.toFixed(2)} s → ${command.out ?? "stdout"}\n`,
  );
}

function isEntryPoint(): boolean {
  const invoked = process.argv[1];
  if (invoked === undefined) return false;
  try {
    return realpathSync(resolve(invoked)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main();
