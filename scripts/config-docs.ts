// `npm run config:docs [-- --write]`: prints (or writes into README.md) the configuration table generated from
// src/config.ts.
// A unit test checks that the README contains exactly this table.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeConfig } from "../src/config.js";

export function renderConfigTable(): string {
  const rows = describeConfig().map(
    (v) =>
      `| \`${v.name}\` | ${v.default === "" ? "" : `\`${v.default}\``} | ${v.description.replaceAll("|", "\\|")} |`,
  );
  return ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

/** Replaces the configuration table in README.md (the block that starts with the table's header row). */
export function updateReadme(path: string): void {
  const text = readFileSync(path, "utf8");
  const start = text.indexOf("| variable | default | meaning |");
  const end = text.indexOf("\n\n", start);
  if (start < 0 || end < 0) throw new Error(`${path} has no configuration table`);
  writeFileSync(path, `${text.slice(0, start)}${renderConfigTable()}${text.slice(end)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === "--write") updateReadme(fileURLToPath(new URL("../README.md", import.meta.url)));
  else process.stdout.write(`${renderConfigTable()}\n`);
}
