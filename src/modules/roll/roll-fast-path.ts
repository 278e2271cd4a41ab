// The common row of a DPT, read straight from its bytes: one line, no quotes, no control characters, every
// cell already in the form the validator would store (16-digit NIK and NKK, a date in one of the three formats,
// L/P, B/S/P, a known TPS code, no blanks to trim), and nothing to warn about. Such a row is checked and
// encoded into binary COPY here without becoming strings — no decoding, no split, no voter object — which
// is what takes the import's CPU from ≈ 5 µs to ≈ 1 µs per row (docs/benchmarks.md).
//
// The rule that keeps it honest: this path only accepts or declines. Anything it is not sure of — a problem,
// a warning, a cell that needs trimming or repair, a character it does not handle — it declines, and the row
// goes through the CSV reader and RowValidator like any other. For every row it accepts, the tuple it writes is
// byte for byte the one the general path writes (test/unit/roll-fast-path.test.ts checks this on generated rolls
// with every kind of bad row, and on random lines).
import { isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";
import type { CsvReader, CsvRecord } from "./csv-reader.js";
import type { BinaryCopyBuffer } from "./roll-copy.js";
import { pgDate, TUPLE_FIXED_BYTES, uuidBytes } from "./roll-copy.js";
import {
  daysInMonth,
  type HeaderMap,
  MAX_LENGTH,
  NO_DISABILITY,
  type RollColumn,
  type RollContext,
} from "./roll-row.js";

const QUOTE = 34;
const SPACE = 32;
const DEL = 127;
const ZERO = 48;
const MINUS = 45;
const SLASH = 47;
const L = 76;
const P = 80;
const B = 66;
const S = 83;
/** The longest value that means "no disability" (TIDAK ADA), in UTF-16 units. */
const NO_DISABILITY_LONGEST = Math.max(...[...NO_DISABILITY].map((v) => v.length));

/** TPS codes the fast path can look up by their bytes: 1–6 printable ASCII characters, packed in a number. */
const MAX_PACKED_CODE = 6;

function packCode(code: string): number | null {
  if (code.length < 1 || code.length > MAX_PACKED_CODE) return null;
  let key = 0;
  for (let k = 0; k < code.length; k++) {
    const c = code.charCodeAt(k);
    if (c <= SPACE || c >= DEL) return null;
    key = key * 256 + c;
  }
  return key;
}

const isDigit = (b: number) => b >= ZERO && b <= ZERO + 9;
const two = (src: Uint8Array, at: number) =>
  ((src[at] as number) - ZERO) * 10 + ((src[at + 1] as number) - ZERO);
/** The ten bytes of a date at `from` are digits but at the two separator positions. */
function digitsBut(src: Uint8Array, from: number, sep1: number, sep2: number): boolean {
  for (let k = 0; k < 10; k++) {
    if (k !== sep1 && k !== sep2 && !isDigit(src[from + k] as number)) return false;
  }
  return true;
}
const four = (src: Uint8Array, at: number) => two(src, at) * 100 + two(src, at + 2);

export class FastRowEncoder {
  private readonly fieldCount: number;
  /** Field index of each roll column, -1 when the file has no such column. */
  private readonly nik: number;
  private readonly nkk: number;
  private readonly name: number;
  private readonly birthPlace: number;
  private readonly birthDate: number;
  private readonly sex: number;
  private readonly marital: number;
  private readonly address: number;
  private readonly dusun: number;
  private readonly rt: number;
  private readonly rw: number;
  private readonly tps: number;
  private readonly disability: number;
  private readonly note: number;
  private readonly region: Uint8Array;
  private readonly votingYear: number;
  private readonly votingMonthDay: number;
  /** The voting day as YYYYMMDD. */
  private readonly votingDate: number;
  private readonly tpsByKey = new Map<number, { id: string; bytes: Buffer; used: boolean }>();
  /** Field boundaries of the line being looked at: field k is [starts[k], ends[k]). */
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  // What check() found, for write().
  private src: Uint8Array = new Uint8Array(0);
  private days = 0;
  private sexCode = 0;
  private maritalCode = 0;
  private rowTps: { id: string; bytes: Buffer; used: boolean } | undefined;
  private disabilityIsNull = false;
  private lineBytes = 0;
  /** Whether the line check() last declined has a quote (then the CSV reader's record may span lines). */
  sawQuote = false;

  constructor(
    header: HeaderMap,
    ctx: RollContext,
    private readonly separator: number,
  ) {
    const at = (c: RollColumn) => header.index[c] ?? -1;
    this.fieldCount = header.fieldCount;
    this.nik = at("nik");
    this.nkk = at("nkk");
    this.name = at("nama");
    this.birthPlace = at("tempat_lahir");
    this.birthDate = at("tanggal_lahir");
    this.sex = at("jenis_kelamin");
    this.marital = at("status_kawin");
    this.address = at("alamat");
    this.dusun = at("dusun");
    this.rt = at("rt");
    this.rw = at("rw");
    this.tps = at("tps");
    this.disability = at("disabilitas");
    this.note = at("keterangan");
    this.region = Buffer.from(ctx.regionPrefix, "latin1");
    this.votingYear = Number(ctx.votingDay.slice(0, 4));
    this.votingMonthDay = Number(ctx.votingDay.slice(5, 7)) * 100 + Number(ctx.votingDay.slice(8, 10));
    this.votingDate = this.votingYear * 10_000 + this.votingMonthDay;
    for (const [code, id] of ctx.tpsByCode) {
      const key = packCode(code);
      if (key !== null) this.tpsByKey.set(key, { id, bytes: uuidBytes(id), used: false });
    }
    this.starts = new Int32Array(this.fieldCount + 1);
    this.ends = new Int32Array(this.fieldCount + 1);
  }

  /**
   * Whether the line in src[start, end) (its line ending removed) is a common clean row; if so, write() encodes
   * it. Declining says nothing about the row: the general path judges it.
   */
  check(src: Uint8Array, start: number, end: number): boolean {
    if (!this.split(src, start, end)) return false;
    const starts = this.starts;
    const ends = this.ends;
    this.src = src;
    this.lineBytes = end - start;

    // NIK: exactly 16 digits of this village's district, a birth date DDMMYY (day + 40 for women) and a serial.
    const nikAt = starts[this.nik] as number;
    if ((ends[this.nik] as number) - nikAt !== 16) return false;
    for (let k = 0; k < 16; k++) if (!isDigit(src[nikAt + k] as number)) return false;
    for (let k = 0; k < 6; k++) if (src[nikAt + k] !== this.region[k]) return false;
    if (two(src, nikAt) < 11) return false;
    const dd = two(src, nikAt + 6);
    const nikMonth = two(src, nikAt + 8);
    const nikYy = two(src, nikAt + 10);
    const female = dd > 40;
    const nikDay = female ? dd - 40 : dd;
    if (nikDay < 1 || nikDay > 31 || nikMonth < 1 || nikMonth > 12) return false;
    if (two(src, nikAt + 12) === 0 && two(src, nikAt + 14) === 0) return false;

    // NKK: absent, empty, or exactly 16 digits.
    if (this.nkk >= 0) {
      const from = starts[this.nkk] as number;
      const length = (ends[this.nkk] as number) - from;
      if (length !== 0) {
        if (length !== 16) return false;
        for (let k = 0; k < 16; k++) if (!isDigit(src[from + k] as number)) return false;
      }
    }

    // Name: printable ASCII, no blank at either end, no double space (nothing to trim or collapse).
    {
      const from = starts[this.name] as number;
      const to = ends[this.name] as number;
      if (to === from || to - from > (MAX_LENGTH.nama as number)) return false;
      if (src[from] === SPACE || src[to - 1] === SPACE) return false;
      for (let k = from; k < to; k++) {
        const b = src[k] as number;
        if (b >= DEL) return false;
        if (b === SPACE && src[k + 1] === SPACE) return false;
      }
    }

    // Birth date: YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY with two-digit day and month, a day that exists.
    let year: number;
    let month: number;
    let day: number;
    {
      const from = starts[this.birthDate] as number;
      if ((ends[this.birthDate] as number) - from !== 10) return false;
      const s2 = src[from + 2];
      const s4 = src[from + 4];
      if (s4 === MINUS && src[from + 7] === MINUS) {
        if (!digitsBut(src, from, 4, 7)) return false;
        year = four(src, from);
        month = two(src, from + 5);
        day = two(src, from + 8);
      } else if ((s2 === MINUS || s2 === SLASH) && src[from + 5] === s2) {
        if (!digitsBut(src, from, 2, 5)) return false;
        day = two(src, from);
        month = two(src, from + 3);
        year = four(src, from + 6);
      } else {
        return false;
      }
      if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
    }
    // Not after the voting day, and neither older than 130 nor (checked with the marital status) under 17.
    // Compared as one number YYYYMMDD, so no comparison here runs only on the rare row (see the marital check).
    const monthDay = month * 100 + day;
    if (year * 10_000 + monthDay > this.votingDate) return false;
    const age = this.votingYear - year - (this.votingMonthDay < monthDay ? 1 : 0);
    if (age > 130) return false;
    // The NIK's birth date digits and sex must agree with the columns (else a warning: the general path).
    if (nikDay !== day || nikMonth !== month || nikYy !== year % 100) return false;

    if ((ends[this.sex] as number) - (starts[this.sex] as number) !== 1) return false;
    const sex = src[starts[this.sex] as number] as number;
    if (sex !== (female ? P : L)) return false;
    if ((ends[this.marital] as number) - (starts[this.marital] as number) !== 1) return false;
    const marital = src[starts[this.marital] as number] as number;
    if (marital !== B && marital !== S && marital !== P) return false;
    // The common comparison first: one reached only by the rare row (a minor) would have no type feedback when V8
    // optimises check(), and the optimised code would be thrown away at the first minor (--trace-deopt).
    if (marital === B && age < 17) return false;

    // TPS: a code known byte for byte.
    {
      const from = starts[this.tps] as number;
      const to = ends[this.tps] as number;
      if (to - from < 1 || to - from > MAX_PACKED_CODE) return false;
      let key = 0;
      for (let k = from; k < to; k++) key = key * 256 + (src[k] as number);
      this.rowTps = this.tpsByKey.get(key);
      if (this.rowTps === undefined) return false;
    }

    // Optional text: empty, or with nothing to trim and within its length.
    if (!this.plain(this.birthPlace, MAX_LENGTH.tempat_lahir as number)) return false;
    if (!this.plain(this.address, MAX_LENGTH.alamat as number)) return false;
    if (!this.plain(this.dusun, MAX_LENGTH.dusun as number)) return false;
    if (!this.plain(this.rt, MAX_LENGTH.rt as number)) return false;
    if (!this.plain(this.rw, MAX_LENGTH.rw as number)) return false;
    if (!this.plain(this.note, MAX_LENGTH.keterangan as number)) return false;
    if (!this.plain(this.disability, MAX_LENGTH.disabilitas as number)) return false;
    this.disabilityIsNull = this.disability < 0 || this.noDisability();

    this.days = pgDate(year, month, day);
    this.sexCode = sex;
    this.maritalCode = marital;
    return true;
  }

  /**
   * Splits the line at the separator into starts/ends, refusing quotes and control characters (tab, CR and DEL
   * included): whether it is plain with as many fields as the header. A function of its own, small, so that V8
   * optimises this loop over every byte after a few dozen rows instead of with the rest of check().
   */
  private split(src: Uint8Array, start: number, end: number): boolean {
    this.sawQuote = false;
    const sep = this.separator;
    const starts = this.starts;
    const ends = this.ends;
    let field = 0;
    starts[0] = start;
    // The scan goes to the end of a line it declines unless it meets a quote, so sawQuote is always known.
    let plain = true;
    for (let i = start; i < end; i++) {
      const b = src[i] as number;
      if (b === sep) {
        if (field + 1 < this.fieldCount) {
          ends[field] = i;
          field++;
          starts[field] = i + 1;
        } else {
          plain = false; // more fields than the header: the general path says so
        }
      } else if (b < SPACE || b === DEL) {
        plain = false;
      } else if (b === QUOTE) {
        this.sawQuote = true;
        return false;
      }
    }
    ends[field] = end;
    return plain && field + 1 === this.fieldCount;
  }

  /** An optional cell is plain: absent, empty, or printable ASCII at both ends (so trim() leaves it whole). */
  private plain(index: number, max: number): boolean {
    if (index < 0) return true;
    const from = this.starts[index] as number;
    const to = this.ends[index] as number;
    if (to === from) return true;
    if (to - from > max) return false;
    const first = this.src[from] as number;
    const last = this.src[to - 1] as number;
    return first > SPACE && first < DEL && last > SPACE && last < DEL;
  }

  /** Whether a non-empty disability cell says "none" (TIDAK, -, 0 …), exactly as the validator decides it. */
  private noDisability(): boolean {
    const from = this.starts[this.disability] as number;
    const to = this.ends[this.disability] as number;
    if (to === from) return true;
    let ascii = true;
    for (let k = from; k < to; k++) if ((this.src[k] as number) >= DEL) ascii = false;
    // toUpperCase() keeps an ASCII string's length, so a longer one cannot be one of the words.
    if (ascii && to - from > NO_DISABILITY_LONGEST) return false;
    const text = Buffer.from(this.src.buffer, this.src.byteOffset + from, to - from).toString("utf8");
    return NO_DISABILITY.has(text.toUpperCase());
  }

  /** Encodes the row check() accepted, with its source line. */
  write(line: number, out: BinaryCopyBuffer): void {
    const src = this.src;
    const starts = this.starts;
    const ends = this.ends;
    out.ensure(TUPLE_FIXED_BYTES + this.lineBytes);
    out.beginTuple(line);
    out.bytes(src, starts[this.nik] as number, ends[this.nik] as number);
    this.optional(out, this.nkk);
    out.bytes(src, starts[this.name] as number, ends[this.name] as number);
    this.optional(out, this.birthPlace);
    out.date(this.days);
    out.letter(this.sexCode);
    out.letter(this.maritalCode);
    this.optional(out, this.address);
    this.optional(out, this.dusun);
    this.optional(out, this.rt);
    this.optional(out, this.rw);
    const tps = this.rowTps as { bytes: Buffer; used: boolean };
    out.bytes(tps.bytes, 0, 16);
    tps.used = true;
    if (this.disabilityIsNull) out.null();
    else this.optional(out, this.disability);
    this.optional(out, this.note);
  }

  /** The TPS of the rows this path wrote. */
  usedTps(): string[] {
    return [...this.tpsByKey.values()].filter((t) => t.used).map((t) => t.id);
  }

  private optional(out: BinaryCopyBuffer, index: number): void {
    if (index < 0 || this.starts[index] === this.ends[index]) out.null();
    else out.bytes(this.src, this.starts[index] as number, this.ends[index] as number);
  }
}

const LF = 10;
const CR = 13;
/** A "line" this long without a line feed (a file with CR line ends, or a huge quoted cell) ends line mode. */
const MAX_CARRY_BYTES = 1 << 20;

/**
 * data[from, to) without asking Buffer's subarray() for an end at the buffer's end: that takes a path of
 * subarray() the optimised routing loop has not seen, and V8 threw the loop's code away at the first chunk
 * that ended with a line feed (--trace-deopt: "Insufficient type feedback for call").
 */
function bytesOf(data: Buffer, from: number, to: number): Buffer {
  if (to < data.length) return data.subarray(from, to);
  return from === 0 ? data : data.subarray(from);
}

function refuseInvalidUtf8(data: Buffer, from: number, to: number): void {
  const bytes = bytesOf(data, from, to);
  if (!isUtf8(bytes)) new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/**
 * Splits the file's bytes into whole lines and routes each: to the fast path when it takes the line, otherwise
 * (runs of lines at a time) through one streaming decoder to the CSV reader, which numbers the lines the fast
 * path took too. The fast path is only asked about a line that starts a record, so a quoted cell spanning lines
 * stays whole. Line mode needs UTF-8 (a line feed is then never inside a character, and each run of whole
 * lines is checked with isUtf8); other encodings, and files without line feeds, go to the reader as they come.
 */
export class RollInput {
  /** Set by the importer once the header is read; until then every line goes to the reader. */
  fast: FastRowEncoder | null = null;
  private lineMode: boolean;
  private readonly decoder: TextDecoder;
  private carry: Buffer | null = null;

  constructor(
    private readonly reader: CsvReader,
    encoding: string,
    private readonly out: BinaryCopyBuffer,
    /** Records the reader completed (the header first). */
    private readonly general: (records: CsvRecord[]) => void,
    /** Called after each row the fast path wrote. */
    private readonly onFastRow: () => void,
  ) {
    this.decoder = new TextDecoder(encoding, { fatal: true });
    this.lineMode = encoding === "utf-8";
  }

  push(chunk: Buffer): void {
    if (!this.lineMode) {
      this.toReader(chunk, 0, chunk.length);
      return;
    }
    const firstLf = chunk.indexOf(LF);
    if (firstLf < 0) {
      const data = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
      this.carry = data;
      if (data.length > MAX_CARRY_BYTES) {
        this.lineMode = false;
        this.carry = null;
        this.toReader(data, 0, data.length);
      }
      return;
    }
    // Only the line carried over from the last chunk is copied, completed up to the chunk's first line feed;
    // the chunk's other whole lines are routed where they are (copying every chunk whole was ≈ 7% of the
    // load's samples in a CPU profile of 100,000 rows).
    const head = this.carry === null ? null : Buffer.concat([this.carry, chunk.subarray(0, firstLf + 1)]);
    const from = head === null ? 0 : firstLf + 1;
    const end = chunk.lastIndexOf(LF) + 1;
    this.carry = end < chunk.length ? Buffer.from(chunk.subarray(end)) : null;
    // Invalid UTF-8 is refused as the reader's decoder refuses it, with the same error, before any line is routed.
    if (head !== null) refuseInvalidUtf8(head, 0, head.length);
    refuseInvalidUtf8(chunk, from, end);
    if (head !== null) this.lines(head, 0, head.length);
    this.lines(chunk, from, end);
  }

  end(): void {
    if (this.carry !== null) this.toReader(this.carry, 0, this.carry.length);
    this.carry = null;
    this.general(this.reader.push(this.decoder.decode()));
    this.general(this.reader.end());
  }

  private toReader(data: Buffer, from: number, to: number): void {
    this.general(this.reader.push(this.decoder.decode(bytesOf(data, from, to), { stream: true })));
  }

  /** Routes the whole lines in data[from, end) (from at a line start, end just after a line feed). */
  private lines(data: Buffer, from: number, end: number): void {
    const reader = this.reader;
    // Lines not yet given to the reader: data[pending, pos). `clean`: the reader was at a record start when
    // they began and none has a quote, so it will be at a record start again after them.
    let pending = -1;
    let clean = false;
    let pos = from;
    while (pos < end) {
      const lf = data.indexOf(LF, pos);
      const lineEnd = lf > pos && data[lf - 1] === CR ? lf - 1 : lf;
      if (pending >= 0 && !clean) {
        this.toReader(data, pending, pos);
        pending = -1;
      }
      const fast = this.fast;
      const atStart = pending >= 0 || reader.atRecordStart;
      if (fast !== null && atStart && fast.check(data, pos, lineEnd)) {
        if (pending >= 0) this.toReader(data, pending, pos);
        pending = -1;
        fast.write(reader.nextLine, this.out);
        reader.skipLine();
        this.onFastRow();
      } else {
        if (pending < 0) {
          pending = pos;
          clean = fast !== null && atStart;
        }
        if (fast === null || !atStart || fast.sawQuote) clean = false;
      }
      pos = lf + 1;
    }
    if (pending >= 0) this.toReader(data, pending, end);
  }
}
