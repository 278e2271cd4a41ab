// Issue #7: the record file reader and verifier, fuzzed (fast-check, fixed seed, bounded runs). Whatever bytes a
// record file holds, reading and verifying it ends in a RecordFormatError naming a line, or in a report — never
// in any other exception. And whatever is changed in the parts a witness relies on — the entries, the checkpoint
// notes, the signed result and its signature, the approvals' signatures, the header's election id, origin, log
// key, kiosk keys, TPS and revocations and tie-break rules, or where the file ends — the report never passes.
// (What the record does not prove, e.g. candidates' names, is listed in docs/record-format.md, appendix A.)
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RecordFormatError, readElectionRecord } from "../../../src/verify/record-file.js";
import { verifyElectionRecord } from "../../../src/verify/record-verify.js";
import { asLines, buildElectionRecord } from "./record-fixture.js";

const SEED = 20261202;
const record = buildElectionRecord({ ballots: 12 });
const TEXT = `${record.lines.join("\n")}\n`;

/** What the command does with a file's bytes: UTF-8 text, lines split as readline splits them. */
async function outcome(text: string): Promise<"format_error" | "failed" | "passed"> {
  try {
    const lines = text.split(/\r?\n/);
    const parsed = await readElectionRecord(asLines(lines));
    const report = await verifyElectionRecord(parsed);
    return report.ok ? "passed" : "failed";
  } catch (error) {
    if (error instanceof RecordFormatError) return "format_error";
    throw error;
  }
}

const lineIndex = (predicate: (line: string) => boolean) =>
  record.lines.flatMap((line, i) => (predicate(line) ? [i] : []));
const ENTRY_LINES = lineIndex((line) => line.startsWith('{"type":"entry"'));
const CHECKPOINT_LINES = lineIndex((line) => line.startsWith('{"type":"checkpoint"'));
const RESULT_LINE = lineIndex((line) => line.startsWith('{"type":"result"'))[0] as number;
const SIGNED_APPROVAL = lineIndex(
  (line) => line.includes('"type":"approval"') && !line.includes('"signature":null'),
)[0] as number;

type Header = {
  election: { id: string; tie_break: { area_unit: string } };
  origin: string;
  log_public_keys: string[];
  kiosks: Array<{ public_key: string; tps_id: string; revoked_at_log_size: number | null }>;
  tps: Array<{ id: string }>;
};
const otherKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const HEADER_CHANGES: Array<(header: Header, n: number) => void> = [
  (h) => (h.election.id = crypto.randomUUID()),
  (h, n) => (h.origin = `${h.origin}${"x".repeat(1 + (n % 3))}`),
  (h) => (h.log_public_keys = [otherKey()]),
  (h, n) => ((h.kiosks[n % h.kiosks.length] as Header["kiosks"][number]).public_key = otherKey()),
  (h, n) => {
    const kiosk = h.kiosks[n % h.kiosks.length] as Header["kiosks"][number];
    kiosk.tps_id = (h.tps.find((t) => t.id !== kiosk.tps_id) as { id: string }).id;
  },
  // Revoked before the kiosk's last entry (each kiosk signs every third one), so the revocation bites.
  (h, n) => ((h.kiosks[n % h.kiosks.length] as Header["kiosks"][number]).revoked_at_log_size = n % 3),
  (h) => (h.election.tie_break.area_unit = "area"),
];

/** Replaces one character of `text` at `at` (modulo its length) with `char`, which differs from it. */
function changeChar(text: string, at: number, char: string): string {
  const i = at % text.length;
  const replacement = char === text[i] ? (char === "A" ? "B" : "A") : char;
  return `${text.slice(0, i)}${replacement}${text.slice(i + 1)}`;
}

/** Changes one string member of one line's JSON object and writes the line back. */
function changeMember(lines: string[], index: number, member: string, at: number, char: string): string {
  const out = [...lines];
  const item = JSON.parse(out[index] as string);
  item[member] = changeChar(String(item[member]), at, char);
  out[index] = JSON.stringify(item);
  return `${out.join("\n")}\n`;
}

describe("the record reader and verifier, fuzzed", () => {
  it("never crash on a damaged file: random bytes changed, inserted or cut give a format error or a report", async () => {
    const bytes = Buffer.from(TEXT, "utf8");
    const damage = fc.oneof(
      // Bytes overwritten anywhere, including invalid UTF-8 and line breaks.
      fc
        .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
        .map((edits) => {
          const copy = Buffer.from(bytes);
          for (const [at, value] of edits) copy[at % copy.length] = value;
          return copy.toString("utf8");
        }),
      // Garbage inserted at a random point.
      fc.tuple(fc.nat(), fc.string({ maxLength: 40 })).map(([at, junk]) => {
        const i = at % TEXT.length;
        return `${TEXT.slice(0, i)}${junk}${TEXT.slice(i)}`;
      }),
      // Cut anywhere.
      fc.nat().map((at) => TEXT.slice(0, at % TEXT.length)),
      // Any JSON value on a line of its own, in place of a real line.
      fc.tuple(fc.nat(), fc.json()).map(([at, json]) => {
        const lines = [...record.lines];
        lines[at % lines.length] = json;
        return lines.join("\n");
      }),
      // Whole lines deleted, repeated or moved.
      fc.tuple(fc.nat(), fc.nat(), fc.constantFrom("delete", "repeat", "swap")).map(([a, b, op]) => {
        const lines = [...record.lines];
        const i = a % lines.length;
        const j = b % lines.length;
        if (op === "delete") lines.splice(i, 1);
        else if (op === "repeat") lines.splice(j, 0, lines[i] as string);
        else [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
        return lines.join("\n");
      }),
      // Garbage from scratch.
      fc.string({ maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(damage, async (text) => {
        expect(["format_error", "failed", "passed"]).toContain(await outcome(text));
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it("never pass a record whose entries, checkpoint notes, signed result, signatures, header keys or end changed", async () => {
    const base64ish = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="{}:, \n',
    );
    const tampering = fc.oneof(
      // A character of an entry line (its seq, its leaf, its syntax).
      fc.tuple(fc.constantFrom(...ENTRY_LINES), fc.nat(), base64ish).map(([line, at, char]) => {
        const lines = [...record.lines];
        lines[line] = changeChar(lines[line] as string, at, char);
        return `${lines.join("\n")}\n`;
      }),
      // An entry line deleted, repeated or moved among the entries.
      fc
        .tuple(
          fc.constantFrom(...ENTRY_LINES),
          fc.constantFrom(...ENTRY_LINES),
          fc.constantFrom("delete", "repeat", "swap"),
        )
        .filter(([a, b, op]) => op !== "swap" || a !== b)
        .map(([a, b, op]) => {
          const lines = [...record.lines];
          if (op === "delete") lines.splice(a, 1);
          else if (op === "repeat") lines.splice(b, 0, lines[a] as string);
          else [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
          return `${lines.join("\n")}\n`;
        }),
      // A character of a checkpoint's signed note.
      fc
        .tuple(fc.constantFrom(...CHECKPOINT_LINES), fc.nat(), base64ish)
        .map(([line, at, char]) => changeMember(record.lines, line, "note", at, char)),
      // A character of the result document or of its signature.
      fc
        .tuple(fc.constantFrom("document", "service_signature"), fc.nat(), base64ish)
        .map(([member, at, char]) => changeMember(record.lines, RESULT_LINE, member, at, char)),
      // A character of a member's approval signature.
      fc
        .tuple(fc.nat(), base64ish)
        .map(([at, char]) => changeMember(record.lines, SIGNED_APPROVAL, "signature", at, char)),
      // A field of the header that the checks rest on: the election, the log's origin and keys, a kiosk's key,
      // TPS or revocation, the tie-break rules.
      fc.tuple(fc.constantFrom(...HEADER_CHANGES), fc.nat()).map(([change, n]) => {
        const header = JSON.parse(record.lines[0] as string);
        change(header, n);
        return `${[JSON.stringify(header), ...record.lines.slice(1)].join("\n")}\n`;
      }),
      // The file cut short anywhere before its last character of content.
      fc.nat().map((at) => TEXT.slice(0, at % (TEXT.length - 1))),
    );
    await fc.assert(
      fc.asyncProperty(tampering, async (text) => {
        fc.pre(text !== TEXT);
        expect(await outcome(text)).not.toBe("passed");
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it("pass the untouched record, so that the properties above are not vacuous", async () => {
    expect(await outcome(TEXT)).toBe("passed");
  });
});
