// A streaming RFC 4180 CSV reader for voter-roll files, fed text chunks, yielding records with the physical line
// on which each record starts (so a problem in a row after a quoted multi-line field is still reported on the
// right line). It accepts what spreadsheets write: `,` or `;` separators (detected from the header line), CRLF,
// LF or CR line ends, quoted fields with separators, quotes and newlines inside.
//
// Why not csv-parse: on a 1,000,000-row DPT it parsed ~290,000 rows/s here, which alone takes longer than the
// whole import may take under SPEC §13 (≥ 40% of a bare COPY); this reader does several times that (measured in
// `npm run bench:import`), and gives record start lines directly. It is tested against the same pitfalls.

export interface CsvRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  fields: string[];
  /**
   * What the reader noticed in the record's fields while scanning them anyway, so callers need not scan again:
   * CONTROL_CHARACTER (a C0 control other than tab, CR, LF; or DEL), COPY_SPECIAL (backslash, tab, CR or LF).
   */
  flags: number;
}

export const CONTROL_CHARACTER = 1;
export const COPY_SPECIAL = 2;

// Any character that sets a flag: C0 controls (tab, CR and LF included), DEL, backslash.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const SPECIAL = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f\\]/;

/** The flags of one piece of field text (used for quoted text, which is copied in bulk rather than scanned). */
function flagsOf(text: string): number {
  let flags = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) flags |= CONTROL_CHARACTER;
  if (/[\\\t\r\n]/.test(text)) flags |= COPY_SPECIAL;
  return flags;
}

export class CsvFormatError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const QUOTE = 34; // "
const CR = 13;
const LF = 10;

export class CsvReader {
  private separator = -1;
  private field = "";
  private fields: string[] = [];
  private flags = 0;
  private inQuotes = false;
  /** Just closed a quoted section: the next character must be a quote (escaped), separator or line end. */
  private afterQuote = false;
  private pendingCR = false;
  private quotedCR = false;
  private line = 1;
  private recordLine = 1;
  private quoteOpenedAt = 0;
  private detectBuffer: string | null = "";

  /** The detected separator, once known. */
  get delimiter(): string | null {
    return this.separator < 0 ? null : String.fromCharCode(this.separator);
  }

  /** Whether the next text starts a record: the separator is known and no record is part-read. */
  get atRecordStart(): boolean {
    return (
      this.detectBuffer === null &&
      !this.inQuotes &&
      !this.afterQuote &&
      !this.pendingCR &&
      this.field === "" &&
      this.fields.length === 0
    );
  }

  /** The physical line the next record starts on. */
  get nextLine(): number {
    return this.line;
  }

  /** Counts one whole line a caller read itself (at a record start), so later records keep their numbers. */
  skipLine(): void {
    if (!this.atRecordStart) throw new Error("skipLine() in the middle of a record");
    this.line++;
    this.recordLine = this.line;
  }

  /** Feeds a chunk of text; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    if (chunk === "") return [];
    if (this.detectBuffer !== null) {
      // Wait for the whole header line (or 64 KiB) before choosing the separator.
      this.detectBuffer += chunk;
      const end = this.detectBuffer.search(/[\r\n]/);
      if (end < 0 && this.detectBuffer.length < 65_536) return [];
      const text = this.detectBuffer;
      this.detectBuffer = null;
      this.separator = detectSeparator(end < 0 ? text : text.slice(0, end));
      return this.parse(text);
    }
    return this.parse(chunk);
  }

  /** Signals the end of input; returns the last record if the file did not end with a line break. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (this.detectBuffer !== null) {
      const text = this.detectBuffer;
      this.detectBuffer = null;
      this.separator = detectSeparator(text);
      out.push(...this.parse(text));
    }
    if (this.inQuotes) {
      throw new CsvFormatError(this.quoteOpenedAt, "a quoted field opened on this line is never closed");
    }
    if (this.field !== "" || this.fields.length > 0 || this.afterQuote) {
      this.fields.push(this.field);
      out.push({ line: this.recordLine, fields: this.fields, flags: this.flags });
      this.fields = [];
      this.field = "";
      this.flags = 0;
      this.afterQuote = false;
    }
    return out;
  }

  private parse(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const sep = this.separator;
    const n = text.length;
    let i = 0;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (n > 0 && text.charCodeAt(0) === LF) i = 1;
    }
    const sepChar = String.fromCharCode(sep);
    // Whether this chunk has any character that would set a flag; when not, lines need no scan for them.
    const chunkSpecial = SPECIAL.test(text);
    while (i < n) {
      // Fast path for the common line: at a record's start, a whole line ending in LF (or CRLF) with no quote
      // and no lone CR is just its fields split at the separator — native split instead of a character loop.
      if (!this.inQuotes && !this.afterQuote && this.field === "" && this.fields.length === 0) {
        const lf = text.indexOf("\n", i);
        if (lf >= 0) {
          const end = lf > i && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
          const line = text.slice(i, end);
          if (line.indexOf('"') < 0 && line.indexOf("\r") < 0) {
            const flags = chunkSpecial ? flagsOf(line) : 0;
            out.push({ line: this.line, fields: line.split(sepChar), flags });
            this.line++;
            this.recordLine = this.line;
            i = lf + 1;
            continue;
          }
        }
      }
      if (this.inQuotes) {
        // Copy everything up to the next quote in one slice.
        const q = text.indexOf('"', i);
        if (q < 0) {
          this.countLines(text, i, n);
          const part = text.slice(i, n);
          this.flags |= flagsOf(part);
          this.field += part;
          i = n;
          break;
        }
        this.countLines(text, i, q);
        const part = text.slice(i, q);
        if (part.length > 0) this.flags |= flagsOf(part);
        this.field += part;
        this.inQuotes = false;
        this.afterQuote = true;
        this.quotedCR = false;
        i = q + 1;
        continue;
      }
      const c = text.charCodeAt(i);
      if (this.afterQuote) {
        if (c === QUOTE) {
          // "" inside a quoted field: a literal quote, and the field continues quoted.
          this.field += '"';
          this.inQuotes = true;
          this.afterQuote = false;
          i++;
          continue;
        }
        if (c !== sep && c !== CR && c !== LF) {
          throw new CsvFormatError(this.line, "unexpected character after a closing quote");
        }
        this.afterQuote = false;
      }
      if (c === sep) {
        this.fields.push(this.field);
        this.field = "";
        i++;
      } else if (c === CR || c === LF) {
        this.fields.push(this.field);
        out.push({ line: this.recordLine, fields: this.fields, flags: this.flags });
        this.fields = [];
        this.field = "";
        this.flags = 0;
        this.line++;
        if (c === CR) {
          if (i + 1 < n) {
            if (text.charCodeAt(i + 1) === LF) i++;
          } else {
            this.pendingCR = true;
          }
        }
        i++;
        this.recordLine = this.line;
      } else if (c === QUOTE && this.field === "") {
        this.inQuotes = true;
        this.quoteOpenedAt = this.line;
        i++;
      } else {
        // An unquoted run: take it whole up to the next separator, line end or quote.
        let j = i;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d === sep || d === CR || d === LF) break;
          if (d < 32 || d === 92 || d === 127)
            this.flags |= d === 9 || d === 92 ? COPY_SPECIAL : CONTROL_CHARACTER;
          j++;
        }
        const run = text.slice(i, j);
        if (run.includes('"')) {
          throw new CsvFormatError(this.line, "a quote inside an unquoted field: quote the whole field");
        }
        this.field += run;
        i = j;
      }
    }
    return out;
  }

  /** Counts line breaks inside a quoted field: CRLF, CR and LF each count once, even split across chunks. */
  private countLines(text: string, from: number, to: number): void {
    for (let k = from; k < to; k++) {
      const c = text.charCodeAt(k);
      if (c === CR) {
        this.line++;
        this.quotedCR = true;
      } else {
        if (c === LF && !this.quotedCR) this.line++;
        this.quotedCR = false;
      }
    }
  }
}

/** `;` when the header line has more semicolons than commas (Excel in the Indonesian locale), else `,`. */
export function detectSeparator(headerLine: string): number {
  let commas = 0;
  let semicolons = 0;
  for (let i = 0; i < headerLine.length; i++) {
    const c = headerLine.charCodeAt(i);
    if (c === 44) commas++;
    else if (c === 59) semicolons++;
  }
  return semicolons > commas ? 59 : 44;
}
