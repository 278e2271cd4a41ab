// Streams one election's vote log out of PostgreSQL for the tally: the entries by a binary COPY on a connection
// of their own (one sequential scan of the log in seq order, no per-page queries, no hex decoding of bytea), and
// the checkpoints in ascending size a page at a time. Memory stays bounded by what the consumer holds: the COPY
// stream is read with backpressure, so PostgreSQL waits while the verifier is busy.
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { Db } from "../../db/database.js";
import type { LogEntry } from "../../verify/verifier.js";

/** "PGCOPY\n\xff\r\n\0": the signature that opens every binary COPY stream. */
const COPY_SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);

/**
 * Every entry of the election's log in seq order, as `{ seq, leaf }` with the leaf's bytes exactly as stored,
 * in pages (the rows each network chunk completes; the verifier takes pages as they are); the first `limit`
 * only, when given. Takes a client from `pool` for the duration and gives it back however the iteration ends.
 */
export async function* copyLogEntries(
  pool: pg.Pool,
  electionId: string,
  options: { limit?: number } = {},
): AsyncGenerator<LogEntry[]> {
  const client = await pool.connect();
  let failed = false;
  try {
    const limit = options.limit === undefined ? "" : ` LIMIT ${Math.max(0, Math.floor(options.limit))}`;
    const query =
      `COPY (SELECT seq, leaf FROM log_entries WHERE election_id = ${client.escapeLiteral(electionId)} ` +
      `ORDER BY seq${limit}) TO STDOUT (FORMAT binary)`;
    const stream = client.query(copyTo(query));
    let finished = false;
    try {
      for await (const rows of copyRows(stream as AsyncIterable<Buffer>)) yield rows;
      // copyRows ends normally only after the stream's trailer.
      finished = true;
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // Ended early (the consumer stopped) or failed: the connection is mid-COPY and cannot be reused.
      if (!finished) {
        failed = true;
        stream.destroy();
      }
    }
  } finally {
    client.release(failed);
  }
}

/**
 * The rows of a binary COPY of (int8 seq, bytea leaf) as its chunks arrive, in pages (the rows each chunk
 * completes). A stream that ends before its trailer throws.
 */
export async function* copyRows(chunks: AsyncIterable<Buffer>): AsyncGenerator<LogEntry[]> {
  const reader = new BinaryCopyReader();
  for await (const chunk of chunks) {
    const rows = reader.push(chunk);
    if (rows.length > 0) yield rows;
  }
  if (!reader.finished) throw new Error("the COPY stream of the log ended before its trailer");
}

/**
 * Parses PostgreSQL's binary COPY format for rows of (int8 seq, bytea leaf), chunk by chunk, in any chunking.
 * The leaves returned are views into the chunks given, which must not be reused by the caller.
 * Format: signature ‖ int32 flags ‖ int32 extension length ‖ extension ‖ rows ‖ int16 -1; a row is int16 field
 * count ‖ per field int32 length ‖ bytes (all big-endian).
 */
export class BinaryCopyReader {
  private pending: Buffer = Buffer.alloc(0);
  private headerRead = false;
  finished = false;

  /** The rows completed by this chunk; an incomplete row waits for the next chunk. */
  push(chunk: Buffer): LogEntry[] {
    const buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const rows: LogEntry[] = [];
    let at = 0;
    if (!this.headerRead) {
      if (buffer.length < COPY_SIGNATURE.length + 8) {
        this.pending = buffer;
        return rows;
      }
      if (!buffer.subarray(0, COPY_SIGNATURE.length).equals(COPY_SIGNATURE)) {
        throw new Error("not a binary COPY stream");
      }
      const extension = buffer.readInt32BE(COPY_SIGNATURE.length + 4);
      const start = COPY_SIGNATURE.length + 8 + extension;
      if (buffer.length < start) {
        this.pending = buffer;
        return rows;
      }
      at = start;
      this.headerRead = true;
    }
    while (at + 2 <= buffer.length) {
      const fields = buffer.readInt16BE(at);
      if (fields === -1) {
        this.finished = true;
        at += 2;
        break;
      }
      if (fields !== 2) throw new Error(`binary COPY row has ${fields} fields, expected 2`);
      // int16 count ‖ int32 8 ‖ int64 seq ‖ int32 length ‖ leaf
      if (at + 2 + 4 + 8 + 4 > buffer.length) break;
      if (buffer.readInt32BE(at + 2) !== 8) throw new Error("binary COPY seq is not an int8");
      const seq = Number(buffer.readBigInt64BE(at + 6));
      const length = buffer.readInt32BE(at + 14);
      if (length < 0) throw new Error(`log entry ${seq} has a NULL leaf`);
      const end = at + 18 + length;
      if (end > buffer.length) break;
      // A view, not a copy: a chunk lives until its last entry is settled, a few chunks at a time, and one
      // allocation per chunk instead of one per entry keeps the tally's memory flat (SPEC §13).
      rows.push({ seq, leaf: buffer.subarray(at + 18, end) });
      at = end;
    }
    this.pending = at === buffer.length ? Buffer.alloc(0) : Buffer.from(buffer.subarray(at));
    return rows;
  }
}

/** The election's stored checkpoint notes in ascending tree size, a page at a time. */
export async function* checkpointNotes(
  db: Db,
  electionId: string,
  pageSize = 1000,
): AsyncGenerator<{ note: string }> {
  let after = -1;
  for (;;) {
    const rows = await db
      .selectFrom("log_checkpoints")
      .select(["tree_size", "note"])
      .where("election_id", "=", electionId)
      .where("tree_size", ">", after)
      .orderBy("tree_size")
      .limit(pageSize)
      .execute();
    for (const row of rows) yield { note: row.note };
    if (rows.length < pageSize) return;
    after = (rows.at(-1) as (typeof rows)[number]).tree_size;
  }
}

/**
 * `source`, its first item already asked for: a stream that starts with a query starts it now instead of on the
 * consumer's first read. The first item's failure surfaces when it is read. Close the result with `return()` if
 * it may not be read to the end.
 */
export function startNow<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let first: Promise<IteratorResult<T>> | null = source.next();
  // Handled when read; until then a rejection must not surface as an unhandled one.
  first.catch(() => undefined);
  const started: AsyncGenerator<T> = {
    next: () => {
      if (first === null) return source.next();
      const item = first;
      first = null;
      return item;
    },
    return: (value) => {
      first = null;
      return source.return(value);
    },
    throw: (error) => {
      first = null;
      return source.throw(error);
    },
    [Symbol.asyncIterator]: () => started,
  };
  return started;
}
