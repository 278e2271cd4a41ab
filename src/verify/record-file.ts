// The election record file (SPEC §9), read without a database or a network: JSON Lines — one header (the
// election, candidates, TPS with roll counts, kiosks' public keys, the log's keys and origin), then every
// checkpoint, then every log entry in seq order. No personal data and no secret is in it. The header and the
// checkpoints are read first; entries are handed on as a stream, so a record of any size verifies in bounded
// memory. Format specified in docs/record-format.md.
import type { EnrolledKiosk, LogEntry, VerifierInput } from "./verifier.js";

export const RECORD_FORMAT = "suara-election-record/v1";

export interface RecordHeader {
  type: "header";
  format: typeof RECORD_FORMAT;
  election: {
    id: string;
    name: string;
    village_name: string;
    region_code: string;
    voting_day: string;
    time_zone: string;
    status: string;
  };
  origin: string;
  log_public_keys: string[];
  candidates: Array<{ ballot_number: number; name: string }>;
  tps: Array<{ id: string; code: string; name: string; registered: number }>;
  kiosks: Array<{ tps_id: string; public_key: string; key_id: string; revoked_at_log_size: number | null }>;
}

export class RecordFormatError extends Error {}

const fromB64 = (text: unknown, what: string): Uint8Array => {
  if (typeof text !== "string") throw new RecordFormatError(`${what} is not base64 text`);
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) throw new RecordFormatError(`${what} is not canonical base64`);
  return new Uint8Array(bytes);
};

function parseLine(line: string, number: number): { type?: string } & Record<string, unknown> {
  try {
    const value = JSON.parse(line) as unknown;
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
    return value as { type?: string } & Record<string, unknown>;
  } catch (error) {
    throw new RecordFormatError(`line ${number} is not a JSON object: ${(error as Error).message}`);
  }
}

export interface ElectionRecord {
  header: RecordHeader;
  checkpoints: Array<{ note: string }>;
  entries: AsyncIterable<LogEntry>;
}

/** Reads the header and checkpoints, and returns the entries as a stream over the remaining lines. */
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
  const header = parseLine(first, number) as unknown as RecordHeader;
  if (header.type !== "header" || header.format !== RECORD_FORMAT) {
    throw new RecordFormatError(`line 1 is not a ${RECORD_FORMAT} header`);
  }
  const checkpoints: Array<{ note: string }> = [];
  let pending: ({ type?: string } & Record<string, unknown>) | null = null;
  for (;;) {
    const line = await next();
    if (line === null) break;
    const item = parseLine(line, number);
    if (item.type === "checkpoint") {
      if (typeof item.note !== "string")
        throw new RecordFormatError(`line ${number}: a checkpoint needs a note`);
      checkpoints.push({ note: item.note });
      continue;
    }
    pending = item;
    break;
  }
  const entry = (item: Record<string, unknown>, at: number): LogEntry => {
    if (item.type !== "entry" || !Number.isSafeInteger(item.seq)) {
      throw new RecordFormatError(`line ${at}: expected an entry with a seq`);
    }
    return { seq: item.seq as number, leaf: fromB64(item.leaf, `line ${at} leaf`) };
  };
  async function* entries(): AsyncIterable<LogEntry> {
    if (pending !== null) yield entry(pending, number);
    for (;;) {
      const line = await next();
      if (line === null) return;
      yield entry(parseLine(line, number), number);
    }
  }
  return { header, checkpoints, entries: entries() };
}

/** What the verifier needs from a record (plus, for a recount, the tally key). */
export function verifierInputOf(record: ElectionRecord, tallySecretKey?: Uint8Array): VerifierInput {
  const { header } = record;
  const kiosks: EnrolledKiosk[] = header.kiosks.map((k, i) => ({
    keyId: Uint8Array.from(Buffer.from(k.key_id, "hex")),
    publicKey: fromB64(k.public_key, `kiosk ${i + 1} public key`),
    tpsId: k.tps_id,
    revokedAtLogSize: k.revoked_at_log_size,
  }));
  return {
    electionId: header.election.id,
    origin: header.origin,
    logPublicKeys: header.log_public_keys.map((k, i) => fromB64(k, `log key ${i + 1}`)),
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
        }
      : {}),
  };
}
