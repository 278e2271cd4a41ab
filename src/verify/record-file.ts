// The election record file (SPEC §9), read without a database or a network: JSON Lines — one header (the
// election with its result rules, candidates, TPS with roll counts and areas, kiosks' public keys with their
// revocations, the log's keys and origin, the tally public key with k of n), then every checkpoint, then the
// service-signed result and the committee's approvals when they exist, then every log entry in seq order. No
// personal data and no secret is in it. Everything before the entries is small and read first; entries are
// handed on as a stream, so a record of any size verifies in bounded memory. Format: docs/record-format.md,
// appendix A.
//
// Every line is checked against its schema here, so that the verifier only ever sees well-typed input: anything
// that is not a v2 record line fails with a RecordFormatError naming the line, never with a crash.
import { z } from "zod";
import type { EnrolledKiosk, LogEntry, VerifierInput } from "./verifier.js";

export const RECORD_FORMAT = "suara-election-record/v2";

/** Lines longer than this are refused before JSON.parse sees them (an entry line is under 1 KiB). */
export const MAX_LINE_CHARS = 1 << 20;
/** The same bound in bytes, for the line splitter: UTF-8 is at most 4 bytes a character. */
export const MAX_LINE_BYTES = 4 * MAX_LINE_CHARS;

const uuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, "a lower-case UUID");
/** Canonical base64 (RFC 4648 §4 with padding): decoders refuse anything that does not re-encode to itself. */
const base64 = (bytes?: number) =>
  z.string().refine(
    (text) => {
      const decoded = Buffer.from(text, "base64");
      return decoded.toString("base64") === text && (bytes === undefined || decoded.length === bytes);
    },
    `canonical base64${bytes === undefined ? "" : ` of ${bytes} bytes`}`,
  );
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const tieBreakSchema = z.strictObject({
  area_unit: z.enum(["tps", "area"]),
  fallbacks: z.array(z.enum(["largest_tps", "second_round", "drawing_lots"])).max(3),
});

const headerSchema = z.strictObject({
  type: z.literal("header"),
  format: z.literal(RECORD_FORMAT),
  election: z.strictObject({
    id: uuid,
    name: z.string(),
    village_name: z.string(),
    region_code: z.string(),
    voting_day: z.string(),
    time_zone: z.string(),
    status: z.enum(["draft", "open", "closed", "tallied", "certified", "cancelled"]),
    tie_break: tieBreakSchema,
    /** As configured; null means a majority of the committee. */
    certification_quorum: z.number().int().min(1).nullable(),
    committee_size: count,
  }),
  origin: z.string().min(1),
  log_public_keys: z.array(base64(32)).min(1),
  tally_key: z
    .strictObject({ public_key: base64(32), threshold: z.number().int().min(2), holders: count })
    .nullable(),
  candidates: z.array(z.strictObject({ ballot_number: z.number().int().min(1).max(255), name: z.string() })),
  tps: z.array(
    z.strictObject({
      id: uuid,
      code: z.string(),
      name: z.string(),
      area: z.string().nullable(),
      /** Everyone on the roll at this TPS: DPT and DPK. */
      registered: count,
      dpk: count,
    }),
  ),
  kiosks: z.array(
    z.strictObject({
      tps_id: uuid,
      label: z.string(),
      public_key: base64(32),
      key_id: z.string().regex(/^[0-9a-f]{64}$/, "64 hex digits"),
      revoked_at_log_size: count.nullable(),
    }),
  ),
});

export type RecordHeader = z.infer<typeof headerSchema>;

const checkpointSchema = z.strictObject({
  type: z.literal("checkpoint"),
  tree_size: count,
  note: z.string(),
});

const reconciliationSchema = z.strictObject({
  per_tps: z.array(
    z.strictObject({
      tps_id: uuid,
      registered: count,
      dpk: count,
      checked_in: count,
      tokens_issued: count,
      tokens_redeemed: count,
      tokens_voided: count,
      tokens_expired: count,
      ballots: count,
    }),
  ),
  discrepancies: z.array(z.string()),
});

const resultSchema = z.strictObject({
  type: z.literal("result"),
  /** The canonical JSON result document exactly as the service signed it (its UTF-8 bytes are signed). */
  document: z.string(),
  /** Base64 Ed25519 signature of `document` by one of the log keys. */
  service_signature: z.string(),
  /** The per-TPS reconciliation the document's discrepancies were derived from. */
  reconciliation: reconciliationSchema,
});

export type RecordResult = z.infer<typeof resultSchema>;
export type RecordReconciliation = z.infer<typeof reconciliationSchema>;

const approvalSchema = z.strictObject({
  type: z.literal("approval"),
  display_name: z.string(),
  approved_at: z.string(),
  public_key: base64(32).nullable(),
  signature: base64(64).nullable(),
});

export type RecordApproval = z.infer<typeof approvalSchema>;

const entrySchema = z.strictObject({
  type: z.literal("entry"),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  leaf: base64(),
});

export class RecordFormatError extends Error {}

function parseLine(line: string, number: number): Record<string, unknown> {
  if (line.length > MAX_LINE_CHARS)
    throw new RecordFormatError(`line ${number} is longer than any record line`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new RecordFormatError(`line ${number} is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new RecordFormatError(`line ${number} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function validate<T>(schema: z.ZodType<T>, value: unknown, number: number, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
  throw new RecordFormatError(
    `line ${number} is not a valid ${what}${where}: ${issue?.message ?? "invalid"}`,
  );
}

/**
 * Splits a record file's bytes into lines (LF or CRLF), holding at most one line in memory: a file with an endless
 * line is refused once the line passes MAX_LINE_BYTES, instead of filling memory. LF never occurs inside a UTF-8
 * sequence, so lines are split as bytes and decoded whole.
 */
export async function* recordLines(chunks: AsyncIterable<Uint8Array | string>): AsyncIterable<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let number = 0;
  const take = (piece: Buffer): string => {
    const line = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
    pending = [];
    pendingBytes = 0;
    number++;
    const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
    return line.toString("utf8", 0, end);
  };
  const tooLong = () => new RecordFormatError(`line ${number + 1} is longer than any record line`);
  for await (const chunk of chunks) {
    const bytes =
      typeof chunk === "string"
        ? Buffer.from(chunk, "utf8")
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let lf = bytes.indexOf(0x0a, start); lf !== -1; lf = bytes.indexOf(0x0a, start)) {
      if (pendingBytes + (lf - start) > MAX_LINE_BYTES) throw tooLong();
      yield take(bytes.subarray(start, lf));
      start = lf + 1;
    }
    const rest = bytes.subarray(start);
    if (pendingBytes + rest.length > MAX_LINE_BYTES) throw tooLong();
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield take(Buffer.alloc(0));
}

export interface ElectionRecord {
  header: RecordHeader;
  checkpoints: Array<{ note: string }>;
  /** The largest tree size a checkpoint line names: how many entries to expect (for progress only). */
  claimedTreeSize: number;
  /** Null when the election has not been tallied. */
  result: RecordResult | null;
  approvals: RecordApproval[];
  entries: AsyncIterable<LogEntry>;
}

/** The order of the line types; a line may repeat its own type or move on, never go back. */
const ORDER = ["header", "checkpoint", "result", "approval", "entry"] as const;

/** Reads everything before the entries, and returns the entries as a stream over the remaining lines. */
export async function readElectionRecord(lines: AsyncIterable<string>): Promise<ElectionRecord> {
  const iterator = lines[Symbol.asyncIterator]();
  let number = 0;
  const next = async (): Promise<string | null> => {
    for (;;) {
      const step = await iterator.next();
      if (step.done) return null;
      number++;
      if (step.value.trim() !== "") return step.value;
    }
  };
  const first = await next();
  if (first === null) throw new RecordFormatError("the record is empty");
  const head = parseLine(first, number);
  if (head.type !== "header") throw new RecordFormatError(`line ${number} is not a record header`);
  if (head.format !== RECORD_FORMAT) {
    throw new RecordFormatError(
      `line ${number}: the record is ${JSON.stringify(head.format)}; this verifier reads ${RECORD_FORMAT}`,
    );
  }
  const header = validate(headerSchema, head, number, "record header");

  const checkpoints: Array<{ note: string }> = [];
  let claimedTreeSize = 0;
  let result: RecordResult | null = null;
  const approvals: RecordApproval[] = [];
  let stage = 0;
  let firstEntry: { item: Record<string, unknown>; number: number } | null = null;
  for (;;) {
    const line = await next();
    if (line === null) break;
    const item = parseLine(line, number);
    const at = ORDER.indexOf(item.type as (typeof ORDER)[number]);
    if (at < 1)
      throw new RecordFormatError(`line ${number} has an unknown type ${JSON.stringify(item.type)}`);
    if (at < stage)
      throw new RecordFormatError(`line ${number}: a ${item.type} line comes after a ${ORDER[stage]} line`);
    stage = at;
    if (item.type === "checkpoint") {
      const checkpoint = validate(checkpointSchema, item, number, "checkpoint");
      checkpoints.push({ note: checkpoint.note });
      claimedTreeSize = Math.max(claimedTreeSize, checkpoint.tree_size);
    } else if (item.type === "result") {
      if (result !== null) throw new RecordFormatError(`line ${number}: a second result`);
      result = validate(resultSchema, item, number, "result");
    } else if (item.type === "approval") {
      if (result === null) throw new RecordFormatError(`line ${number}: an approval without a result`);
      approvals.push(validate(approvalSchema, item, number, "approval"));
    } else {
      firstEntry = { item, number };
      break;
    }
  }

  const entry = (item: Record<string, unknown>, at: number): LogEntry => {
    if (item.type !== "entry") {
      throw new RecordFormatError(`line ${at}: a ${String(item.type)} line among the entries`);
    }
    const parsed = validate(entrySchema, item, at, "entry");
    return { seq: parsed.seq, leaf: new Uint8Array(Buffer.from(parsed.leaf, "base64")) };
  };
  async function* entries(): AsyncIterable<LogEntry> {
    if (firstEntry !== null) yield entry(firstEntry.item, firstEntry.number);
    for (;;) {
      const line = await next();
      if (line === null) return;
      yield entry(parseLine(line, number), number);
    }
  }
  return { header, checkpoints, claimedTreeSize, result, approvals, entries: entries() };
}

/** What the log verifier needs from a record (plus, for a recount, the tally key and the counts to compare). */
export function verifierInputOf(
  record: ElectionRecord,
  tallySecretKey?: Uint8Array,
  publishedCounts?: VerifierInput["publishedCounts"],
): VerifierInput {
  const { header } = record;
  const kiosks: EnrolledKiosk[] = header.kiosks.map((k) => ({
    keyId: Uint8Array.from(Buffer.from(k.key_id, "hex")),
    publicKey: new Uint8Array(Buffer.from(k.public_key, "base64")),
    tpsId: k.tps_id,
    revokedAtLogSize: k.revoked_at_log_size,
  }));
  return {
    electionId: header.election.id,
    origin: header.origin,
    logPublicKeys: header.log_public_keys.map((k) => new Uint8Array(Buffer.from(k, "base64"))),
    kiosks,
    tpsIds: header.tps.map((t) => t.id),
    entries: record.entries,
    checkpoints: record.checkpoints,
    ...(tallySecretKey
      ? {
          tally: {
            secretKey: tallySecretKey,
            candidateNumbers: header.candidates.map((c) => c.ballot_number),
          },
          ...(publishedCounts ? { publishedCounts } : {}),
        }
      : {}),
  };
}
