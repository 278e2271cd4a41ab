// The rows an import loads, encoded for PostgreSQL's binary COPY (FORMAT binary): every value is sent in the
// column type's own binary form, so PostgreSQL parses no text — no date, uuid or integer input functions, no
// escapes — which measured ≈ 2× cheaper for the server to ingest than the same rows as COPY text (docs/benchmarks.md).
// The voter's id is made here, not by the column's gen_random_uuid() default: that default cost PostgreSQL
// ≈ 2 µs per row, on the core the import is waiting for, while Node draws 16 random bytes per row in bulk.
import { randomFillSync } from "node:crypto";
import type { VoterRow } from "./roll-row.js";

/** The load table's columns in the order each tuple carries them; the others take their defaults. */
export const COPY_COLUMNS = [
  "source_line",
  "id",
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

/** Signature, flags (no OIDs) and header-extension length, as the COPY binary format begins. */
const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const FIELD_COUNT = COPY_COLUMNS.length;
/** Bytes of a tuple besides its text: field count, 16 lengths, int4 line, 3 uuids, nik, nkk, date, sex, marital. */
export const TUPLE_FIXED_BYTES = 2 + 4 * FIELD_COUNT + 4 + 16 * 3 + 16 + 16 + 4 + 1 + 1;
/** PostgreSQL's dates count days from 2000-01-01, which is day 10957 of the Unix epoch. */
const PG_EPOCH_DAY = 10_957;

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** A `date` in PostgreSQL's binary form: days since 2000-01-01. */
export function pgDate(year: number, month: number, day: number): number {
  return daysFromCivil(year, month, day) - PG_EPOCH_DAY;
}

/** A uuid in its 16 bytes. */
export function uuidBytes(uuid: string): Buffer {
  const bytes = Buffer.from(uuid.replaceAll("-", ""), "hex");
  if (bytes.length !== 16) throw new Error(`not a uuid: ${uuid}`);
  return bytes;
}

/** Where voter ids come from: 16 bytes per call into `out` at `at`. Tests pass a predictable one. */
export type IdSource = (out: Buffer, at: number) => void;

const ID_BATCH = 4096;
/** Ids served from the first batch before the first refill. */
const FIRST_BATCH = 32;

/** Random version-4 uuids (RFC 9562), like gen_random_uuid(): 122 bits from the CSPRNG, drawn in batches. */
export function randomIds(): IdSource {
  const pool = Buffer.allocUnsafe(16 * ID_BATCH);
  randomFillSync(pool);
  // The first refill comes after FIRST_BATCH ids, not ID_BATCH: V8 then sees the refill's call while it still
  // collects type feedback, before it optimises this function (one call per row). A first refill only at id
  // 4097 found the optimised code without feedback for that call, and V8 threw it away (--trace-deopt:
  // "Insufficient type feedback for call").
  let next = ID_BATCH - FIRST_BATCH;
  return (out, at) => {
    if (next === ID_BATCH) {
      randomFillSync(pool);
      next = 0;
    }
    const p = next * 16;
    next++;
    for (let k = 0; k < 16; k++) out[at + k] = pool[p + k] as number;
    out[at + 6] = ((out[at + 6] as number) & 0x0f) | 0x40;
    out[at + 8] = ((out[at + 8] as number) & 0x3f) | 0x80;
  };
}

/**
 * Accumulates tuples in a buffer that callers hand to COPY with take(). Writers reserve room first
 * (ensure), then write at `used`; the hot path (roll-fast-path.ts) writes through the same methods.
 */
export class BinaryCopyBuffer {
  buf: Buffer;
  used = 0;
  /** Where the bytes not yet taken begin. */
  private start = 0;

  constructor(
    private readonly size: number,
    readonly nextId: IdSource = randomIds(),
    /** take() goes on writing in the same buffer while it has this much room left (by default, never). */
    private readonly reserve: number = size,
  ) {
    this.buf = Buffer.allocUnsafe(size);
    this.buf.set(SIGNATURE, 0);
    this.used = SIGNATURE.length;
    this.int32(0); // flags
    this.int32(0); // header extension length
  }

  /** Makes room for `bytes` more (growing the buffer in the rare case one row does not fit). */
  ensure(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + bytes));
    this.buf.copy(bigger, 0, 0, this.used);
    this.buf = bigger;
  }

  /** Bytes written since the last take(). */
  get pending(): number {
    return this.used - this.start;
  }

  /**
   * The bytes written since the last take(); they stay COPY's, as nothing is written over them again. What
   * follows is written after them while the buffer has `reserve` bytes of room left, else in a fresh buffer.
   */
  take(): Buffer {
    const chunk = this.buf.subarray(this.start, this.used);
    if (this.buf.length - this.used < this.reserve) {
      this.buf = Buffer.allocUnsafe(this.size);
      this.used = 0;
    }
    this.start = this.used;
    return chunk;
  }

  int16(value: number): void {
    const b = this.buf;
    const u = this.used;
    b[u] = (value >>> 8) & 0xff;
    b[u + 1] = value & 0xff;
    this.used = u + 2;
  }

  int32(value: number): void {
    const b = this.buf;
    const u = this.used;
    b[u] = (value >>> 24) & 0xff;
    b[u + 1] = (value >>> 16) & 0xff;
    b[u + 2] = (value >>> 8) & 0xff;
    b[u + 3] = value & 0xff;
    this.used = u + 4;
  }

  /** Starts a tuple: its field count, then the source line (int4) and a fresh id (uuid). */
  beginTuple(line: number): void {
    this.int16(FIELD_COUNT);
    this.int32(4);
    this.int32(line);
    this.int32(16);
    this.nextId(this.buf, this.used);
    this.used += 16;
  }

  null(): void {
    this.int32(-1);
  }

  /** A field copied from bytes already encoded (UTF-8 text, or a uuid's 16 bytes). */
  bytes(source: Uint8Array, start: number, end: number): void {
    this.int32(end - start);
    const b = this.buf;
    let u = this.used;
    for (let k = start; k < end; k++) b[u++] = source[k] as number;
    this.used = u;
  }

  /** A text field from a string, as UTF-8 (room for it must have been ensured: 3 bytes a UTF-16 unit). */
  text(value: string | null): void {
    if (value === null) {
      this.null();
      return;
    }
    const at = this.used;
    const written = this.buf.write(value, at + 4, "utf8");
    this.used = at + 4;
    const b = this.buf;
    b[at] = written >>> 24;
    b[at + 1] = (written >>> 16) & 0xff;
    b[at + 2] = (written >>> 8) & 0xff;
    b[at + 3] = written & 0xff;
    this.used += written;
  }

  date(pgDays: number): void {
    this.int32(4);
    this.int32(pgDays);
  }

  /** A one-letter code (sex, marital status) given as its character code. */
  letter(code: number): void {
    this.int32(1);
    this.buf[this.used++] = code;
  }

  /** One voter as the general path validated it; `tpsId` is the voter's TPS id in its 16 bytes. */
  voter(line: number, v: VoterRow, tpsId: Uint8Array): void {
    const textLength =
      v.name.length +
      (v.birth_place?.length ?? 0) +
      (v.address?.length ?? 0) +
      (v.dusun?.length ?? 0) +
      (v.rt?.length ?? 0) +
      (v.rw?.length ?? 0) +
      (v.disability?.length ?? 0) +
      (v.note?.length ?? 0);
    this.ensure(TUPLE_FIXED_BYTES + 3 * textLength);
    this.beginTuple(line);
    this.text(v.nik);
    this.text(v.nkk);
    this.text(v.name);
    this.text(v.birth_place);
    const d = v.birth_date;
    this.date(pgDate(Number(d.slice(0, 4)), Number(d.slice(5, 7)), Number(d.slice(8, 10))));
    this.letter(v.sex.charCodeAt(0));
    this.letter(v.marital_status.charCodeAt(0));
    this.text(v.address);
    this.text(v.dusun);
    this.text(v.rt);
    this.text(v.rw);
    this.bytes(tpsId, 0, 16);
    this.text(v.disability);
    this.text(v.note);
  }

  /** The end of the data: a field count of -1. */
  trailer(): void {
    this.ensure(2);
    this.int16(0xffff);
  }
}
