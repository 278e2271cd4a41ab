// Importing a voter roll (SPEC §3): a CSV stream is decoded, parsed and validated row by row, the valid rows go
// through PostgreSQL COPY into a temporary staging table, duplicates inside the file are found there, and one
// merge upserts by NIK within the election — all in one transaction, so an import is applied whole or not at
// all (unless the caller asks for `partial`, which applies the valid rows). Memory stays bounded whatever the
// file size: nothing holds more than a chunk of rows, and at most MAX_REPORTED_PROBLEMS problems are kept.
// The HTTP route and `scripts/import-roll.ts` both call importRoll().
import { once } from "node:events";
import { Kysely, PostgresDialect, sql, type Transaction } from "kysely";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { DB, Db } from "../../db/database.js";
import { AppError, notFound } from "../../lib/errors.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import { CsvFormatError, CsvReader } from "./csv-reader.js";
import {
  type HeaderMap,
  isBlankRow,
  type RollContext,
  type RollProblem,
  resolveHeader,
  type VoterRow,
  validateRow,
} from "./roll-row.js";

export type ImportMode = "all-or-nothing" | "partial";
export type RollEncoding = "utf-8" | "windows-1252";

export interface ImportOptions {
  mode: ImportMode;
  dryRun: boolean;
  encoding: RollEncoding;
  /** Refuse the input once it exceeds this many bytes (the HTTP route's limit); undefined for the CLI. */
  maxBytes?: number;
  onProgress?: (progress: { rows: number; bytes: number }) => void;
  progressEvery?: number;
}

export interface ImportCounts {
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  warnings: number;
}

export interface ImportReport {
  applied: boolean;
  mode: ImportMode;
  dry_run: boolean;
  delimiter: string | null;
  counts: ImportCounts;
  /** Counts of every problem by code, including those beyond the listed ones. */
  problem_counts: Record<string, number>;
  problems: RollProblem[];
  problems_truncated: boolean;
}

export const MAX_REPORTED_PROBLEMS = 1000;
const COPY_CHUNK_CHARS = 256 * 1024;

const STAGING_COLUMNS = [
  "line",
  "nik",
  "nkk",
  "name",
  "birth_place",
  "birth_date",
  "sex",
  "marital_status",
  "address",
  "dusun",
  "rt",
  "rw",
  "tps_id",
  "disability",
  "note",
] as const;
const VOTER_COLUMNS = STAGING_COLUMNS.slice(1);

/** COPY text format: backslash, tab and line breaks escaped; NULL as \N. */
function copyValue(value: string | null): string {
  if (value === null) return "\\N";
  if (!/[\\\t\n\r]/.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

function copyLine(line: number, v: VoterRow): string {
  return `${line}\t${v.nik}\t${copyValue(v.nkk)}\t${copyValue(v.name)}\t${copyValue(v.birth_place)}\t${v.birth_date}\t${v.sex}\t${v.marital_status}\t${copyValue(v.address)}\t${copyValue(v.dusun)}\t${copyValue(v.rt)}\t${copyValue(v.rw)}\t${v.tps_id}\t${copyValue(v.disability)}\t${copyValue(v.note)}\n`;
}

/** A Kysely instance over one checked-out client, so COPY and queries share one transaction. */
function kyselyOnClient(client: pg.PoolClient): Kysely<DB> {
  const borrowed = { query: client.query.bind(client), release: () => {} };
  const pool = { connect: async () => borrowed, end: async () => {} };
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool: pool as unknown as pg.Pool }) });
}

class ProblemList {
  readonly listed: RollProblem[] = [];
  readonly counts: Record<string, number> = {};
  truncated = false;
  errors = 0;
  warnings = 0;

  add(problem: RollProblem): void {
    this.counts[problem.code] = (this.counts[problem.code] ?? 0) + 1;
    if (problem.severity === "error") this.errors++;
    else this.warnings++;
    if (this.listed.length < MAX_REPORTED_PROBLEMS) this.listed.push(problem);
    else this.truncated = true;
  }
}

class DryRunRollback extends Error {}

async function loadContext(db: Db, electionId: string): Promise<RollContext & { status: string }> {
  const election = await db
    .selectFrom("elections")
    .select(["status", "voting_day", "region_code"])
    .where("id", "=", electionId)
    .executeTakeFirst();
  if (!election) throw notFound("election");
  const tps = await db
    .selectFrom("tps")
    .select(["id", "code"])
    .where("election_id", "=", electionId)
    .execute();
  return {
    status: election.status,
    votingDay: election.voting_day,
    regionPrefix: election.region_code.split(".").slice(0, 3).join(""),
    tpsByCode: new Map(tps.map((t) => [t.code, t.id])),
  };
}

function rollFrozen(status: string): AppError {
  return new AppError(
    "ELECTION_NOT_DRAFT",
    `the election is ${status}: the roll changes only through DPK additions and corrections`,
    {
      status,
    },
  );
}

export async function importRoll(
  db: Db,
  pool: pg.Pool,
  actor: Actor,
  electionId: string,
  input: AsyncIterable<Buffer | string>,
  options: ImportOptions,
): Promise<ImportReport> {
  const ctx = await loadContext(db, electionId);
  if (ctx.status !== "draft") throw rollFrozen(ctx.status);

  const problems = new ProblemList();
  const counts: ImportCounts = { read: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0, warnings: 0 };
  const reader = new CsvReader();
  let header: HeaderMap | null = null;
  let applied = false;

  const client = await pool.connect();
  const kdb = kyselyOnClient(client);
  try {
    await kdb
      .transaction()
      .execute(async (tx) => {
        await sql`
          CREATE TEMP TABLE roll_staging (
            line integer NOT NULL, nik text NOT NULL, nkk text, name text NOT NULL, birth_place text,
            birth_date date NOT NULL, sex text NOT NULL, marital_status text NOT NULL, address text, dusun text,
            rt text, rw text, tps_id uuid NOT NULL, disability text, note text
          ) ON COMMIT DROP`.execute(tx);
        const copy = client.query(copyFrom(`COPY roll_staging (${STAGING_COLUMNS.join(", ")}) FROM STDIN`));
        let copyError: unknown = null;
        copy.on("error", (e) => {
          copyError = e;
        });
        let pending: string[] = [];
        let pendingChars = 0;
        const flush = async () => {
          if (pending.length === 0) return;
          const text = pending.join("");
          pending = [];
          pendingChars = 0;
          if (!copy.write(text)) await Promise.race([once(copy, "drain"), once(copy, "error")]);
          if (copyError) throw copyError;
        };

        const handle = async (line: number, fields: string[]) => {
          if (header === null) {
            header = resolveHeader(fields);
            if (header.missing.length > 0) {
              throw new AppError(
                "ROLL_COLUMNS_MISSING",
                `the file has no ${header.missing.join(", ")} column${header.missing.length > 1 ? "s" : ""}: nothing was imported`,
                { missing_columns: header.missing, found_columns: fields.map((f) => f.trim()) },
              );
            }
            for (const name of header.unknown) {
              problems.add({
                line,
                column: name,
                code: "COLUMN_IGNORED",
                severity: "warning",
                message: `column "${name}" is not part of the roll and was ignored`,
              });
            }
            for (const name of header.duplicated) {
              problems.add({
                line,
                column: name,
                code: "COLUMN_DUPLICATED",
                severity: "warning",
                message: `column "${name}" appears twice; the first one was used`,
              });
            }
            return;
          }
          if (isBlankRow(fields)) return;
          counts.read++;
          const result = validateRow(line, fields, header, ctx);
          for (const p of result.problems) problems.add(p);
          if (result.voter === null) {
            counts.rejected++;
            return;
          }
          const text = copyLine(line, result.voter);
          pending.push(text);
          pendingChars += text.length;
          if (pendingChars >= COPY_CHUNK_CHARS) await flush();
          if (options.onProgress && counts.read % (options.progressEvery ?? 100_000) === 0) {
            options.onProgress({ rows: counts.read, bytes });
          }
        };

        const decoder = new TextDecoder(options.encoding, { fatal: true });
        let bytes = 0;
        try {
          for await (const chunk of input) {
            const buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
            bytes += buffer.length;
            if (options.maxBytes !== undefined && bytes > options.maxBytes)
              throw rollTooLarge(options.maxBytes);
            for (const record of reader.push(decoder.decode(buffer, { stream: true }))) {
              await handle(record.line, record.fields);
            }
          }
          for (const record of reader.push(decoder.decode())) await handle(record.line, record.fields);
          for (const record of reader.end()) await handle(record.line, record.fields);
        } catch (error) {
          copy.destroy();
          throw translateInputError(error, options);
        }
        if (header === null) {
          copy.destroy();
          throw new AppError("ROLL_EMPTY_FILE", "the file is empty: nothing was imported");
        }
        await flush();
        copy.end();
        await Promise.race([once(copy, "finish"), once(copy, "error").then(([e]) => Promise.reject(e))]);

        await rejectDuplicates(tx, problems, counts);
        counts.warnings = problems.warnings;

        // Lock the election for the merge: no open, TPS change or second import can interleave.
        const election = await tx
          .selectFrom("elections")
          .select("status")
          .where("id", "=", electionId)
          .forUpdate()
          .executeTakeFirstOrThrow();
        if (election.status !== "draft") throw rollFrozen(election.status);
        Object.assign(counts, await previewMerge(tx, electionId));

        const refused = options.mode === "all-or-nothing" && counts.rejected > 0;
        if (options.dryRun || refused) throw new DryRunRollback();
        await mergeStaging(tx, electionId);
        await recordAuditEvent(tx, actor, {
          electionId,
          action: "roll.imported",
          targetType: "election",
          targetId: electionId,
          details: { mode: options.mode, ...counts },
        });
        applied = true;
      })
      .catch((error) => {
        if (!(error instanceof DryRunRollback)) throw error;
      });
  } finally {
    await kdb.destroy();
    client.release();
  }

  return {
    applied,
    mode: options.mode,
    dry_run: options.dryRun,
    delimiter: reader.delimiter,
    counts,
    problem_counts: problems.counts,
    problems: problems.listed.sort((a, b) => a.line - b.line),
    problems_truncated: problems.truncated,
  };
}

export function rollTooLarge(maxBytes: number): AppError {
  return new AppError(
    "ROLL_TOO_LARGE",
    `the file is larger than ${maxBytes} bytes, the limit for uploads: import it with the command-line importer ` +
      "(npm run import-roll -- --election <id> --as <username> <file.csv>)",
    { max_bytes: maxBytes },
  );
}

function translateInputError(error: unknown, options: ImportOptions): unknown {
  const encoding = options.encoding;
  if (error instanceof AppError) return error;
  if ((error as { code?: string }).code === "FST_REQ_FILE_TOO_LARGE")
    return rollTooLarge(options.maxBytes ?? 0);
  if (error instanceof CsvFormatError) {
    return new AppError("ROLL_CSV_MALFORMED", `line ${error.line}: ${error.message}; nothing was imported`, {
      line: error.line,
    });
  }
  if (
    error instanceof TypeError &&
    (error as { code?: string }).code === "ERR_ENCODING_INVALID_ENCODED_DATA"
  ) {
    return new AppError(
      "ROLL_ENCODING_INVALID",
      encoding === "utf-8"
        ? "the file is not UTF-8 — probably Windows-1252 ('CSV' rather than 'CSV UTF-8' in Excel): save it as " +
            "CSV UTF-8, or send it again with encoding=windows-1252; nothing was imported"
        : `the file is not valid ${encoding}; nothing was imported`,
    );
  }
  return error;
}

/** Both (all) rows of a NIK that appears more than once in the file are rejected (SPEC §3). */
async function rejectDuplicates(
  tx: Transaction<DB>,
  problems: ProblemList,
  counts: ImportCounts,
): Promise<void> {
  const duplicates = await sql<{ lines: number[] }>`
    SELECT array_agg(line ORDER BY line) AS lines FROM roll_staging GROUP BY nik HAVING count(*) > 1`.execute(
    tx,
  );
  if (duplicates.rows.length === 0) return;
  for (const { lines } of duplicates.rows) {
    for (const line of lines) {
      const others = lines.filter((l) => l !== line);
      problems.add({
        line,
        column: "nik",
        code: "DUPLICATE_NIK",
        severity: "error",
        message: `the same NIK is also on line${others.length > 1 ? "s" : ""} ${others.join(", ")}: every copy is rejected`,
      });
      counts.rejected++;
    }
  }
  await sql`DELETE FROM roll_staging WHERE nik IN (SELECT nik FROM roll_staging GROUP BY nik HAVING count(*) > 1)`.execute(
    tx,
  );
}

const COMPARED = sql.raw(
  VOTER_COLUMNS.filter((c) => c !== "nik")
    .map((c) => `v.${c}`)
    .join(", "),
);
const COMPARED_STAGED = sql.raw(
  VOTER_COLUMNS.filter((c) => c !== "nik")
    .map((c) => `s.${c}`)
    .join(", "),
);

/** What the merge will do: rows new to the roll, rows that differ, rows identical to what is stored. */
async function previewMerge(tx: Transaction<DB>, electionId: string) {
  const result = await sql<{ inserted: number; updated: number; unchanged: number }>`
    SELECT
      count(*) FILTER (WHERE v.nik IS NULL)::int AS inserted,
      count(*) FILTER (WHERE v.nik IS NOT NULL AND (${COMPARED}) IS DISTINCT FROM (${COMPARED_STAGED}))::int AS updated,
      count(*) FILTER (WHERE v.nik IS NOT NULL AND (${COMPARED}) IS NOT DISTINCT FROM (${COMPARED_STAGED}))::int AS unchanged
    FROM roll_staging s
    LEFT JOIN voters v ON v.election_id = ${electionId} AND v.nik = s.nik`.execute(tx);
  const row = result.rows[0];
  return { inserted: row?.inserted ?? 0, updated: row?.updated ?? 0, unchanged: row?.unchanged ?? 0 };
}

async function mergeStaging(tx: Transaction<DB>, electionId: string): Promise<void> {
  const columns = sql.raw(VOTER_COLUMNS.join(", "));
  const updates = sql.raw(
    VOTER_COLUMNS.filter((c) => c !== "nik")
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(", "),
  );
  const existing = sql.raw(
    VOTER_COLUMNS.filter((c) => c !== "nik")
      .map((c) => `voters.${c}`)
      .join(", "),
  );
  const incoming = sql.raw(
    VOTER_COLUMNS.filter((c) => c !== "nik")
      .map((c) => `EXCLUDED.${c}`)
      .join(", "),
  );
  await sql`
    INSERT INTO voters (election_id, ${columns})
    SELECT ${electionId}::uuid, ${columns} FROM roll_staging
    ON CONFLICT (election_id, nik) DO UPDATE SET ${updates}, updated_at = now()
    WHERE (${existing}) IS DISTINCT FROM (${incoming})`.execute(tx);
}
