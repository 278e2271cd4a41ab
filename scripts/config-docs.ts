// `npm run config:docs`: prints the configuration table for the README, generated from src/config.ts.
// A unit test checks that the README contains exactly this table.
import { fileURLToPath } from "node:url";
import { describeConfig } from "../src/config.js";

export function renderConfigTable(): string {
  const rows = describeConfig().map(
    (v) =>
      `| \`${v.name}\` | ${v.default === "" ? "" : `\`${v.default}\``} | ${v.description.replaceAll("|", "\\|")} |`,
  );
  return ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${renderConfigTable()}\n`);
