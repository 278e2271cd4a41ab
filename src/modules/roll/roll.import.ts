// Importing a voter roll (SPEC §3): a CSV stream is decoded, parsed and validated row by row, and the valid rows
// go through PostgreSQL COPY (binary, roll-copy.ts) into a fresh load table. The common clean row is checked and
// encoded straight from its bytes (roll-fast-path.ts); every other row, and any the fast path is unsure of, goes
// through the CSV reader and RowValidator. Then, with the election locked:
//   - the election's first roll: the load table is indexed in bulk (its unique NIK constraint is also how
//     duplicates inside the file are found) and attached as the election's partition of `voters`;
//   - a later import: duplicates are found by grouping, and one merge upserts by NIK within the election.
// All of it is one transaction, so an import is applied whole or not at all (unless the caller asks for
// `partial`, which applies the valid rows). Memory stays bounded whatever the file size: nothing holds more
// than a chunk of rows, and at most MAX_REPORTED_PROBLEMS problems are kept.
// The HTTP route and `scripts/import-roll.ts` both call importRoll().
import { Kysely, PostgresDialect, sql, type Transaction } from "kysely";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { newId } from "../../crypto/random.js";
import type { DB, Db } from "../../db/database.js";
import { AppError, notFound } from "../../lib/errors.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import { CsvFormatError, CsvReader, type CsvRecord } from "./csv-reader.js";
import { voterPartitionExists, voterPartitionName } from "./roll.partition.js";
import { BinaryCopyBuffer, COPY_COLUMNS, randomIds, uuidBytes } from "./roll-copy.js";
import { FastRowEncoder, RollInput } from "./roll-fast-path.js";
import {
  type HeaderMap,
  isBlankRow,
  type RollColumn,
  type RollContext,
  type RollProblem,
  RowValidator,
  resolveHeader,
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
  /** Called as each phase ends with its wall time and this process's CPU time, in ms (for benchmarks). */
  onPhase?: (phase: string, wallMs: number, cpuMs: number) => void;
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
const COPY_BUFFER_BYTES = 1024 * 1024;
/**
 * COPY is handed the rows every 128 KiB of tuples (≈ 650 rows), so PostgreSQL, which ingests them on the other
 * core, starts early: the import's first rows are its slowest, as V8 has not optimised the code yet, and the
 * first 768 KiB (≈ 4,000 rows), which COPY used to wait for, took ≈ 25 ms here, five times as long as warm.
 */
const COPY_FLUSH_BYTES = 128 * 1024;
/**
 * The room kept for one chunk of input between flushes: the buffer is replaced once it has less left, and a
 * chunk's tuples beyond it make ensure() grow the buffer (a copy). 256 KiB more than a flush, as before.
 */
const COPY_RESERVE_BYTES = COPY_FLUSH_BYTES + 256 * 1024;

/** The columns an import writes and compares (the load table's COPY columns but the id, which is the row's own). */
const DATA_COLUMNS = COPY_COLUMNS.filter((c) => c !== "source_line" && c !== "id");
const COMPARED_COLUMNS = DATA_COLUMNS.filter((c) => c !== "nik");

/** The roll column each optional stored column comes from: a file without it must not erase it. */
const SOURCE_OF: Partial<Record<(typeof DATA_COLUMNS)[number], RollColumn>> = {
  nkk: "nkk",
  birth_place: "tempat_lahir",
  address: "alamat",
  dusun: "dusun",
  rt: "rt",
  rw: "rw",
  disability: "disabilitas",
  note: "keterangan",
};

/** The stored columns a file with this header speaks for (the required ones, and the optional it has). */
function columnsOf(header: HeaderMap): string[] {
  return COMPARED_COLUMNS.filter((c) => {
    const source = SOURCE_OF[c];
    return source === undefined || header.index[source] !== undefined;
  });
}

/** Resolves on `event`, rejects on the stream's error, and leaves no listener behind either way. */
function settled(stream: NodeJS.EventEmitter, event: "drain" | "finish"): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEvent = () => {
      stream.off("error", onError);
      resolve();
    };
    const onError = (error: unknown) => {
      stream.off(event, onEvent);
      reject(error);
    };
    stream.once(event, onEvent);
    stream.once("error", onError);
  });
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

  /** Counts a problem, building its message only if it will be listed (some messages are costly). */
  addLazily(code: string, severity: "error" | "warning", build: () => RollProblem): void {
    if (this.listed.length < MAX_REPORTED_PROBLEMS) {
      this.add(build());
      return;
    }
    this.counts[code] = (this.counts[code] ?? 0) + 1;
    if (severity === "error") this.errors++;
    else this.warnings++;
    this.truncated = true;
  }

  add(problem: RollProblem): void {
    this.counts[problem.code] = (this.counts[problem.code] ?? 0) + 1;
    if (problem.severity === "error") this.errors++;
    else this.warnings++;
    if (this.listed.length < MAX_REPORTED_PROBLEMS) this.listed.push(problem);
    else this.truncated = true;
  }
}

class DryRunRollback extends Error {}

async function loadContext(
  db: Db,
  electionId: string,
): Promise<RollContext & { status: string; regionCode: string }> {
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
    regionCode: election.region_code,
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
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  options: ImportOptions,
): Promise<ImportReport> {
  const ctx = await loadContext(db, electionId);
  if (ctx.status !== "draft") throw rollFrozen(ctx.status);

  const problems = new ProblemList();
  const counts: ImportCounts = { read: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0, warnings: 0 };
  const reader = new CsvReader();
  const loadTable = `roll_load_${newId().replaceAll("-", "")}`;
  let header: HeaderMap | null = null;
  let validator: RowValidator | null = null;
  let applied = false;
  let bytes = 0;
  let phaseStart = performance.now();
  let cpuStart = process.cpuUsage();
  const phase = (name: string) => {
    const now = performance.now();
    const cpu = process.cpuUsage(cpuStart);
    options.onPhase?.(name, now - phaseStart, (cpu.user + cpu.system) / 1000);
    phaseStart = now;
    cpuStart = process.cpuUsage();
  };

  const client = await pool.connect();
  const kdb = kyselyOnClient(client);
  let failure: unknown;
  try {
    await kdb
      .transaction()
      .execute(async (tx) => {
        // A plain table shaped like the roll, constrained to this election, so it can become its partition.
        await sql`
          CREATE TABLE ${sql.id(loadTable)} (
            LIKE voters INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
            CHECK (election_id = ${sql.lit(electionId)}::uuid)
          )`.execute(tx);
        await sql`ALTER TABLE ${sql.id(loadTable)} ALTER election_id SET DEFAULT ${sql.lit(electionId)}::uuid`.execute(
          tx,
        );
        const copy = client.query(
          copyFrom(`COPY ${loadTable} (${COPY_COLUMNS.join(", ")}) FROM STDIN (FORMAT binary)`),
        );
        let copyError: unknown = null;
        copy.on("error", (e) => {
          copyError = e;
        });
        // Tuples are encoded straight into a buffer, handed to COPY every COPY_FLUSH_BYTES.
        const out = new BinaryCopyBuffer(COPY_BUFFER_BYTES, randomIds(), COPY_RESERVE_BYTES);
        const tpsIdBytes = new Map([...ctx.tpsByCode.values()].map((id) => [id, uuidBytes(id)]));
        const flush = async () => {
          if (out.pending === 0) return;
          const chunk = out.take();
          if (copyError) throw copyError;
          if (!copy.write(chunk)) await settled(copy, "drain");
          if (copyError) throw copyError;
        };

        // Rows are handled synchronously, a chunk of input at a time; COPY is written (and its backpressure
        // awaited) once per chunk, not once per row. Most rows take the fast path (roll-fast-path.ts) and are
        // encoded from their bytes; the others, and the header, come here from the CSV reader.
        const progress = () => {
          if (options.onProgress && counts.read % (options.progressEvery ?? 100_000) === 0) {
            options.onProgress({ rows: counts.read, bytes });
          }
        };
        const usedTps = new Set<string>(); // the TPS of the rows loaded (also those of input.fast)
        const handle = (records: CsvRecord[]) => {
          for (const { line, fields, flags } of records) {
            if (validator === null) {
              header = readHeader(line, fields, problems);
              validator = new RowValidator(header, ctx);
              input.fast = new FastRowEncoder(header, ctx, (reader.delimiter as string).charCodeAt(0));
              continue;
            }
            if (isBlankRow(fields)) continue;
            counts.read++;
            const result = validator.validate(line, fields, flags);
            for (const p of result.problems) problems.add(p);
            if (result.voter === null) {
              counts.rejected++;
              continue;
            }
            out.voter(line, result.voter, tpsIdBytes.get(result.voter.tps_id) as Buffer);
            usedTps.add(result.voter.tps_id);
            progress();
          }
        };
        const input = new RollInput(reader, options.encoding, out, handle, () => {
          counts.read++;
          progress();
        });

        try {
          for await (const chunk of source) {
            const buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
            bytes += buffer.length;
            if (options.maxBytes !== undefined && bytes > options.maxBytes)
              throw rollTooLarge(options.maxBytes);
            input.push(buffer);
            if (out.pending >= COPY_FLUSH_BYTES) await flush();
          }
          input.end();
        } catch (error) {
          copy.destroy();
          throw translateInputError(error, options);
        }
        if (header === null) {
          copy.destroy();
          throw new AppError("ROLL_EMPTY_FILE", "the file is empty: nothing was imported");
        }
        out.trailer();
        await flush();
        copy.end();
        await settled(copy, "finish");
        const loaded = counts.read - counts.rejected;
        phase("read, validate and COPY");

        // Lock the election: no opening, TPS change or second import interleaves with what follows.
        const election = await tx
          .selectFrom("elections")
          .select(["status", "voting_day", "region_code"])
          .where("id", "=", electionId)
          .forUpdate()
          .executeTakeFirstOrThrow();
        if (election.status !== "draft") throw rollFrozen(election.status);
        // The rows were judged against the voting day, village and TPS read at the start; if the election
        // changed meanwhile, they must be judged again.
        // Every TPS a loaded row names must still be there (counted from what Node loaded rather than by
        // scanning the load table: the same answer without reading a million rows again).
        for (const id of input.fast?.usedTps() ?? []) usedTps.add(id);
        const stillThere =
          usedTps.size === 0
            ? 0
            : ((
                await sql<{ n: number }>`
                  SELECT count(*)::int AS n FROM tps
                  WHERE election_id = ${electionId} AND id = ANY(${[...usedTps]}::uuid[])`.execute(tx)
              ).rows[0]?.n ?? 0);
        if (
          election.voting_day !== ctx.votingDay ||
          election.region_code !== ctx.regionCode ||
          stillThere !== usedTps.size
        ) {
          throw new AppError(
            "ROLL_CONTEXT_CHANGED",
            "the election's voting day, village or TPS list changed during the import: nothing was imported; import the file again",
          );
        }
        // The key is built by a parallel sort when the server allows it (1M rows, PostgreSQL 15: 1.9–2.6 s with
        // two workers against 4.1–5.9 s alone); Node is idle by then, so both cores can sort.
        await sql`SET LOCAL maintenance_work_mem = '256MB'`.execute(tx);
        await sql`SET LOCAL max_parallel_maintenance_workers = 2`.execute(tx);

        const firstRoll = !(await voterPartitionExists(tx, electionId));
        if (firstRoll) {
          const duplicates = await indexLoadTable(tx, loadTable, problems);
          counts.rejected += duplicates;
          counts.inserted = loaded - duplicates;
        } else {
          counts.rejected += await rejectDuplicates(tx, loadTable, problems);
          Object.assign(
            counts,
            await previewMerge(tx, loadTable, electionId, columnsOf(header as HeaderMap)),
          );
        }
        counts.warnings = problems.warnings;
        phase(firstRoll ? "bulk keys (duplicate check)" : "duplicates and preview");

        const refused = options.mode === "all-or-nothing" && counts.rejected > 0;
        if (options.dryRun || refused) throw new DryRunRollback();
        if (firstRoll) {
          await sql`ALTER TABLE ${sql.id(loadTable)} RENAME TO ${sql.id(voterPartitionName(electionId))}`.execute(
            tx,
          );
          await sql`ALTER TABLE voters ATTACH PARTITION ${sql.id(voterPartitionName(electionId))}
            FOR VALUES IN (${sql.lit(electionId)})`.execute(tx);
        } else {
          await mergeLoadTable(tx, loadTable, electionId, columnsOf(header as HeaderMap));
          await sql`DROP TABLE ${sql.id(loadTable)}`.execute(tx);
        }
        phase(firstRoll ? "attach partition" : "merge");
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
    phase("commit");
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await kdb.destroy();
    // A client whose COPY or transaction failed may be broken: destroy it rather than return it to the pool.
    client.release(failure instanceof Error && !(failure instanceof AppError) ? failure : undefined);
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

function readHeader(line: number, fields: string[], problems: ProblemList): HeaderMap {
  const header = resolveHeader(fields);
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
  return header;
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
      options.encoding === "utf-8"
        ? "the file is not UTF-8 — probably Windows-1252 ('CSV' rather than 'CSV UTF-8' in Excel): save it as " +
            "CSV UTF-8, or send it again with encoding=windows-1252; nothing was imported"
        : `the file is not valid ${options.encoding}; nothing was imported`,
    );
  }
  return error;
}

/**
 * First roll: builds the load table's key in bulk. The key (election, NIK) doubles as the duplicate check:
 * only when it fails are the duplicates looked up, reported and removed (every copy: SPEC §3), and it is
 * built again. Returns the number of rows removed.
 */
async function indexLoadTable(tx: Transaction<DB>, table: string, problems: ProblemList): Promise<number> {
  let removed = 0;
  for (;;) {
    try {
      await sql`SAVEPOINT roll_keys`.execute(tx);
      await sql`ALTER TABLE ${sql.id(table)} ADD PRIMARY KEY (election_id, nik)`.execute(tx);
      await sql`RELEASE SAVEPOINT roll_keys`.execute(tx);
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== "23505" || removed > 0) throw error;
      await sql`ROLLBACK TO SAVEPOINT roll_keys`.execute(tx);
      removed = await rejectDuplicates(tx, table, problems);
    }
  }
  return removed;
}

/** Every row of a NIK that appears more than once in the file is rejected, each naming the others' lines. */
async function rejectDuplicates(tx: Transaction<DB>, table: string, problems: ProblemList): Promise<number> {
  const duplicates = await sql<{ lines: number[] }>`
    SELECT array_agg(source_line ORDER BY source_line) AS lines FROM ${sql.id(table)}
    GROUP BY nik HAVING count(*) > 1`.execute(tx);
  let removed = 0;
  for (const { lines } of duplicates.rows) {
    for (const line of lines) {
      // Name a few of the other lines, not all: a fill-down mistake can repeat one NIK thousands of times.
      problems.addLazily("DUPLICATE_NIK", "error", () => {
        const others = lines.filter((l) => l !== line);
        const named =
          others.slice(0, 5).join(", ") + (others.length > 5 ? ` and ${others.length - 5} more` : "");
        return {
          line,
          column: "nik",
          code: "DUPLICATE_NIK",
          severity: "error",
          message: `the same NIK is also on line${others.length > 1 ? "s" : ""} ${named}: every copy is rejected`,
        };
      });
      removed++;
    }
  }
  if (removed > 0) {
    await sql`DELETE FROM ${sql.id(table)} WHERE nik IN (
      SELECT nik FROM ${sql.id(table)} GROUP BY nik HAVING count(*) > 1)`.execute(tx);
  }
  return removed;
}

const listOf = (prefix: string, columns: readonly string[]) =>
  sql.raw(columns.map((c) => `${prefix}${c}`).join(", "));

/** What the merge will do: rows new to the roll, rows that differ, rows identical to what is stored. */
async function previewMerge(tx: Transaction<DB>, table: string, electionId: string, compared: string[]) {
  const stored = listOf("v.", compared);
  const incoming = listOf("s.", compared);
  const result = await sql<{ inserted: number; updated: number; unchanged: number }>`
    SELECT
      count(*) FILTER (WHERE v.nik IS NULL)::int AS inserted,
      count(*) FILTER (WHERE v.nik IS NOT NULL AND (${stored}) IS DISTINCT FROM (${incoming}))::int AS updated,
      count(*) FILTER (WHERE v.nik IS NOT NULL AND (${stored}) IS NOT DISTINCT FROM (${incoming}))::int AS unchanged
    FROM ${sql.id(table)} s
    LEFT JOIN voters v ON v.election_id = ${electionId} AND v.nik = s.nik`.execute(tx);
  const row = result.rows[0];
  return { inserted: row?.inserted ?? 0, updated: row?.updated ?? 0, unchanged: row?.unchanged ?? 0 };
}

/**
 * Upserts by NIK, writing only the columns the file has (a correction file with fewer columns leaves the others
 * as stored); a voter whose data did not change is not written at all (its id and updated_at stay).
 */
async function mergeLoadTable(
  tx: Transaction<DB>,
  table: string,
  electionId: string,
  compared: string[],
): Promise<void> {
  const columns = listOf("", ["source_line", ...DATA_COLUMNS]);
  const updates = sql.raw(["source_line", ...compared].map((c) => `${c} = EXCLUDED.${c}`).join(", "));
  await sql`
    INSERT INTO voters (election_id, ${columns})
    SELECT ${electionId}::uuid, ${columns} FROM ${sql.id(table)}
    ON CONFLICT (election_id, nik) DO UPDATE SET ${updates}, updated_at = now()
    WHERE (${listOf("voters.", compared)}) IS DISTINCT FROM (${listOf("EXCLUDED.", compared)})`.execute(tx);
}
