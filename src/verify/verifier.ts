// Owns the audit verifier core (SPEC §9): given one election's log entries, checkpoints, enrolled kiosks and log
// keys — and optionally the tally key and the published counts — it checks everything the log promises and
// reports every failure by seq (or checkpoint size) and kind. It knows nothing of Fastify or the database: the
// caller streams entries in (from PostgreSQL, from an election-record file) and gets a report back. It depends
// on src/crypto/ and nothing else.
//
// Shape of the work, per entry, in stored order: hash the leaf, feed the running Merkle tree (CompactRange),
// compare the root at every checkpointed size, check seq continuity and the prev_hash chain, decode strictly,
// look the kiosk up, check the ballot id is new. Those steps are cheap and must stay in order. The expensive,
// independent part — the Ed25519 kiosk signature and, with the tally key, opening the sealed ballot — is queued
// into batches of `batchSize` entries and handed to a CryptoWorker. The in-process worker below does the work on
// the calling thread; a worker-thread pool (e.g. piscina, not a dependency yet) can implement the same
// interface to use every core, with no change here: batches are plain structured-clonable data, several are
// kept in flight, and their results are applied strictly in log order, so failures come out sorted by seq.
//
// Memory stays bounded by the batches in flight, except for the set of ballot ids already seen, which is a
// packed open-addressing table of 16-byte ids (about 34 bytes per ballot at the worst load factor).

import {
  BALLOT_CHOICE_BYTES,
  BALLOT_CHOICE_DOMAIN,
  BALLOT_DOMAIN,
  BOX_MAC_BYTES,
  decodeBallotChoice,
  MAX_CIPHERTEXT_BYTES,
  type SealedBallot,
} from "../crypto/ballot.js";
import { encodeBase64 } from "../crypto/base64.js";
import { bytesEqual, bytesToUuid, utf8, uuidToBytes } from "../crypto/bytes.js";
import { parseCheckpoint } from "../crypto/checkpoint.js";
import { CompactRange } from "../crypto/compact-range.js";
import { kioskKeyId, verifyEd25519 } from "../crypto/ed25519.js";
import { CryptoFormatError } from "../crypto/errors.js";
import { emptyTreeRoot, leafHash } from "../crypto/hash.js";
import { randomBytesFor } from "../crypto/random.js";
import { openSealedBallot } from "../crypto/sealed-ballot.js";
import { ed25519NoteVerifier, parseNote } from "../crypto/signed-note.js";
import { decodeVoteRecord, genesisPrevHash, VOTE_RECORD_DOMAIN } from "../crypto/vote-record.js";

// ---------------------------------------------------------------------------------------------------------------
// Public types

export interface EnrolledKiosk {
  /** SHA-256("suara/kiosk-key-id/v1\n" ‖ publicKey). The verifier recomputes it from publicKey and uses that. */
  keyId: Uint8Array;
  publicKey: Uint8Array;
  tpsId: string;
  /** Entries with seq greater than this log size, signed by this kiosk, are invalid; null = never revoked. */
  revokedAtLogSize: number | null;
}

export interface LogEntry {
  seq: number;
  /** The canonical vote-record bytes (docs/record-format.md §6). */
  leaf: Uint8Array;
}

export interface TpsCounts {
  perCandidate: Record<string, number>;
  blank: number;
  invalid: number;
  ballots: number;
}

export interface ElectionCounts {
  /** Keyed by the candidate's ballot number (nomor urut) as a decimal string. */
  perCandidate: Record<string, number>;
  blank: number;
  /** Tidak sah: undecryptable, bound to another election or ballot, out of range, or a rejected entry. */
  invalid: number;
  perTps: Record<string, TpsCounts>;
  ballots: number;
}

export type FailureKind =
  | "malformed_record"
  | "wrong_election"
  | "seq_gap"
  | "seq_out_of_order"
  | "prev_hash_mismatch"
  | "unknown_kiosk"
  | "kiosk_wrong_tps"
  | "kiosk_revoked"
  | "unknown_tps"
  | "signature_invalid"
  | "duplicate_ballot_id"
  | "checkpoint_malformed"
  | "checkpoint_signature_invalid"
  | "checkpoint_wrong_origin"
  | "checkpoint_root_mismatch"
  | "checkpoint_beyond_log"
  | "checkpoints_inconsistent"
  | "ballot_undecryptable"
  | "ballot_binding_mismatch"
  | "counts_mismatch";

/** Every kind in the order a report lists them. */
export const FAILURE_KINDS: readonly FailureKind[] = [
  "malformed_record",
  "wrong_election",
  "seq_gap",
  "seq_out_of_order",
  "prev_hash_mismatch",
  "unknown_kiosk",
  "kiosk_wrong_tps",
  "kiosk_revoked",
  "unknown_tps",
  "signature_invalid",
  "duplicate_ballot_id",
  "checkpoint_malformed",
  "checkpoint_signature_invalid",
  "checkpoint_wrong_origin",
  "checkpoint_root_mismatch",
  "checkpoint_beyond_log",
  "checkpoints_inconsistent",
  "ballot_undecryptable",
  "ballot_binding_mismatch",
  "counts_mismatch",
];

export interface VerificationFailure {
  kind: FailureKind;
  /** The entry's stored seq; null for failures of a checkpoint or of the counts. */
  seq: number | null;
  checkpointSize?: number;
  message: string;
}

export interface VerificationReport {
  /** True only when no failure of any kind was found. */
  ok: boolean;
  entriesChecked: number;
  treeSize: number;
  /** Base64 Merkle root of every entry streamed, as stored. */
  rootHash: string;
  /** Checkpoints whose signature and origin were valid and whose root was compared. */
  checkpointsChecked: number;
  /** In log order: each checkpoint's after the entry that completes its size, then those beyond the log, counts last. */
  failures: VerificationFailure[];
  failuresTruncated: boolean;
  /** The recount, present when a tally key was given. */
  counts?: ElectionCounts;
}

/** One entry's signature check and box opening: plain data, so it can cross a worker-thread boundary. */
export interface CryptoTask {
  /**
   * canonicalBallotBytes rebuilt from the record: what the kiosk signed. May be given as consecutive parts (views
   * into the leaf), which a worker lays out side by side, so that no copy is made per entry on this thread.
   */
  message: Uint8Array | readonly Uint8Array[];
  signature: Uint8Array;
  /** The enrolled kiosk key; null when there is none (then only the box is opened, if asked). */
  publicKey: Uint8Array | null;
  /** The sealed choice to open; null when the entry is not counted or no tally key was given. */
  sealed: SealedBallot | null;
}

/**
 * One vote entry's signature check and box opening, given as its leaf: the packer lays out what the kiosk signed,
 * the signature and the sealed choice from the leaf's bytes (the v1 layout below), so the verifier's thread makes
 * no view or copy per field. Only for a leaf canonicalLeafEnd accepts.
 */
export interface LeafCryptoTask {
  leaf: Uint8Array;
  /** The enrolled kiosk key; null when there is none (then only the box is opened, if asked). */
  publicKey: Uint8Array | null;
  /** Open the sealed choice with the batch's tally key. */
  open: boolean;
}

export interface CryptoBatch {
  tasks: Array<CryptoTask | LeafCryptoTask>;
  /** The X25519 tally secret; null for an audit without recount. */
  tallySecretKey: Uint8Array | null;
}

export interface CryptoResult {
  /** False also when the task had no public key. */
  signatureValid: boolean;
  /** The opened plaintext, or null when not asked or the box did not open. */
  plaintext: Uint8Array | null;
}

/** Verifies and opens a batch; results are in task order. Implementations may run batches concurrently. */
export interface CryptoWorker {
  verifyAndOpen(batch: CryptoBatch): Promise<CryptoResult[]>;
}

export interface VerifierInput {
  /** Lower-case UUID of the election. */
  electionId: string;
  /** The log origin, `<service origin>/elections/<election id>`; also the checkpoint key name. */
  origin: string;
  /** Every key that may have signed checkpoints, retired ones included. */
  logPublicKeys: Uint8Array[];
  kiosks: EnrolledKiosk[];
  tpsIds: string[];
  /** In stored order (by seq), one by one or in pages (a page costs one await instead of one per entry). */
  entries: AsyncIterable<LogEntry | readonly LogEntry[]> | Iterable<LogEntry | readonly LogEntry[]>;
  /**
   * Every stored checkpoint. An array may be in any order; any other iterable must yield them in ascending tree
   * size (as the database and the record file store them), so a log with a checkpoint per append streams in
   * bounded memory. Each checkpoint is settled when the tree reaches its size.
   */
  checkpoints: Iterable<{ note: string }> | AsyncIterable<{ note: string }>;
  /** With the tally key, every ballot is opened and counted. */
  tally?: { secretKey: Uint8Array; candidateNumbers: number[] };
  /** Compared with the recount (needs `tally`). */
  publishedCounts?: ElectionCounts;
  /** Called after every batch with the number of entries fully checked so far. */
  onProgress?: (entriesChecked: number) => void;
  /** Where signatures are verified and boxes opened; defaults to the calling thread. */
  cryptoWorker?: CryptoWorker;
  /** Entries per crypto batch (default 512). */
  batchSize?: number;
  /** Batches handed to the worker before waiting for the oldest (default 4). */
  batchesInFlight?: number;
  /**
   * The number of entries expected (the log's size, when known): the table of seen ballot ids is sized for it
   * once instead of doubling on the way, which would briefly hold both tables (memory, SPEC §13), and the last
   * batches are made smaller so that the crypto threads run out of work together. A hint only: a wrong one
   * changes neither what is checked nor the report.
   */
  expectedEntries?: number;
  /** Failures kept in the report (default 1000); the rest are counted in `ok` and `failuresTruncated` only. */
  maxFailures?: number;
}

export const DEFAULT_BATCH_SIZE = 512;
const FIRST_BATCH_SIZE = 64;
export const DEFAULT_BATCHES_IN_FLIGHT = 4;
export const DEFAULT_MAX_FAILURES = 1000;

// ---------------------------------------------------------------------------------------------------------------
// The in-process crypto worker

/** The signed bytes of a task as one array. */
export function taskMessage(task: CryptoTask): Uint8Array {
  return task.message instanceof Uint8Array ? task.message : Buffer.concat(task.message);
}

/** The field form of a leaf task: views into its leaf. */
export function leafTaskFields(task: LeafCryptoTask): CryptoTask {
  const fields = readCanonicalLeaf(task.leaf);
  if (fields === null) throw new Error("a leaf crypto task needs a canonical v1 leaf");
  return {
    message: fields.message,
    signature: fields.kioskSignature,
    publicKey: task.publicKey,
    sealed: task.open
      ? { ephemeralPublicKey: fields.ephemeralPublicKey, nonce: fields.nonce, ciphertext: fields.ciphertext }
      : null,
  };
}

export function isLeafTask(task: CryptoTask | LeafCryptoTask): task is LeafCryptoTask {
  return "leaf" in task;
}

function verifyAndOpenTask(
  given: CryptoTask | LeafCryptoTask,
  tallySecretKey: Uint8Array | null,
): CryptoResult {
  const task = isLeafTask(given) ? leafTaskFields(given) : given;
  const signatureValid =
    task.publicKey !== null && verifyEd25519(task.signature, taskMessage(task), task.publicKey);
  const plaintext =
    task.sealed !== null && tallySecretKey !== null ? openSealedBallot(task.sealed, tallySecretKey) : null;
  return { signatureValid, plaintext };
}

/** Runs each batch synchronously on the calling thread (libsodium through sodium-native). */
export const inProcessCryptoWorker: CryptoWorker = {
  async verifyAndOpen(batch) {
    return batch.tasks.map((task) => verifyAndOpenTask(task, batch.tallySecretKey));
  },
};

// ---------------------------------------------------------------------------------------------------------------
// The verifier

/** Byte offset of ballot_id inside a v1 vote record: domain (21) ‖ election (16) ‖ seq (8). */
const BALLOT_ID_OFFSET = 21 + 16 + 8;
const BALLOT_ID_BYTES = 16;

/** What the streaming pass learned about one entry, waiting for its batch's crypto results. */
interface PendingEntry {
  /** Null for an item that carries only checkpoints (size 0, or beyond the end of the log). */
  seq: number | null;
  /** NO_FAILURES until the first. */
  failures: readonly VerificationFailure[];
  /** Index into the batch's tasks, or -1 when nothing was queued (malformed record). */
  task: number;
  /** True when a kiosk key was found, so a false signature result is a failure to report. */
  expectSignature: boolean;
  /** Null when the entry is not a ballot of this election (malformed, wrong election). */
  ballot: PendingBallot | null;
  /** Checkpoints settled with this item, reported after the entry's own failures. */
  checkpoints: PendingCheckpoints | null;
}

/** A ballot waiting for its opening: its id as four big-endian words (no copy of the leaf is kept). */
interface PendingBallot {
  id0: number;
  id1: number;
  id2: number;
  id3: number;
  tpsId: string;
  authentic: boolean;
}

/** The checkpoints of one tree size (or only malformed ones), with the root the entries gave at that size. */
interface PendingCheckpoints {
  size: number;
  /** The computed root at `size`; null when the log ended before it (checkpoint beyond the log). */
  root: Uint8Array | null;
  /** The log's size when these were taken. */
  logSize: number;
  /** In input order; malformed ones carry their failure and no size. */
  notes: Array<{ parsed: ParsedCheckpoint; tasks: number[] }>;
}

interface Batch {
  entries: PendingEntry[];
  /** Emptied once handed to the worker (see submit); `taskCount` keeps their number. */
  tasks: Array<CryptoTask | LeafCryptoTask>;
  taskCount: number;
}

function newBatch(): Batch {
  return { entries: [], tasks: [], taskCount: 0 };
}

function checkpointOnlyItem(checkpoints: PendingCheckpoints): PendingEntry {
  return { seq: null, failures: NO_FAILURES, task: -1, expectSignature: false, ballot: null, checkpoints };
}

export async function verifyElectionLog(input: VerifierInput): Promise<VerificationReport> {
  const sink = new FailureSink(input.maxFailures ?? DEFAULT_MAX_FAILURES);
  const electionId = input.electionId.toLowerCase();
  const electionIdBytes = uuidToBytes(electionId);
  const feed = new CheckpointFeed(input.checkpoints, input.origin, input.logPublicKeys);
  const kiosks = indexKiosks(input.kiosks);
  const tpsIds = new Set(input.tpsIds.map((id) => id.toLowerCase()));
  const tally = input.tally ? new Recount(input.tally.candidateNumbers, input.tpsIds) : null;
  const tallySecretKey = input.tally ? Uint8Array.from(input.tally.secretKey) : null;
  const worker = input.cryptoWorker ?? inProcessCryptoWorker;
  const batchSize = Math.max(1, input.batchSize ?? DEFAULT_BATCH_SIZE);
  const batchesInFlight = Math.max(1, input.batchesInFlight ?? DEFAULT_BATCHES_IN_FLIGHT);

  const tree = CompactRange.empty();
  // Load stays ≤ 1/2: room for twice the expected ids, capped so a wrong hint cannot allocate without bound.
  const hint = Number.isFinite(input.expectedEntries) ? Math.floor(input.expectedEntries as number) : 0;
  const expected = Math.min(Math.max(0, hint), 1 << 26);
  const ballotIds = new BallotIdSet(Math.max(1 << 12, expected * 2 + 2));
  const checked = { checkpoints: 0 };
  let previousLeafHash: Uint8Array = genesisPrevHash();
  let previousSeq = 0;
  let entriesSettled = 0;

  const inFlight: Array<{ batch: Batch; results: Promise<CryptoResult[]> }> = [];
  const settleOldest = async (): Promise<void> => {
    const oldest = inFlight.shift();
    if (oldest === undefined) return;
    const results = await oldest.results;
    entriesSettled += settleBatch(
      oldest.batch,
      results,
      sink,
      tally,
      electionIdBytes,
      tallySecretKey !== null,
      checked,
    );
    input.onProgress?.(entriesSettled);
  };
  const submit = async (batch: Batch): Promise<void> => {
    const results = worker.verifyAndOpen({ tasks: batch.tasks, tallySecretKey });
    // The worker holds the tasks now; dropping ours lets the leaves they view die young instead of being
    // promoted with the batch and pinning their network chunks until a full collection (memory, SPEC §13).
    batch.taskCount = batch.tasks.length;
    batch.tasks = [];
    // Awaited in order later; until then a rejection must not surface as an unhandled one.
    results.catch(() => undefined);
    inFlight.push({ batch, results });
    while (inFlight.length >= batchesInFlight) await settleOldest();
  };

  const context: RecordContext = {
    electionId,
    electionIdBytes,
    kiosks,
    tpsIds,
    ballotIds,
    open: tallySecretKey !== null,
    tpsText: new IdText((bytes, start, end) => uuidOfHex(bytes.toString("hex", start, end))),
    keyIdText: new IdText((bytes, start, end) => bytes.toString("hex", start, end)),
  };
  let batch = newBatch();
  // The first batches are small and double up to batchSize, so that every crypto thread has work within a few
  // milliseconds of the first page instead of waiting for a full batch read by still-cold code.
  const firstFill = Math.min(batchSize, FIRST_BATCH_SIZE);
  let fill = firstFill;
  /**
   * The size of the next batch: doubling from the first up to batchSize, and near the expected end of the log
   * no more than an even share of what is left among the batches in flight, so the threads do not finish one
   * whole batch apart (one idle while the other works through the last full batch).
   */
  const nextFill = (): number => {
    // Every entry read is in the tree, so its size is what has been read.
    const grown = Math.min(batchSize, fill * 2);
    if (expected <= tree.size) return grown;
    const share = Math.ceil((expected - tree.size) / batchesInFlight);
    return Math.max(firstFill, Math.min(grown, share));
  };
  /** Takes the checkpoints up to the tree's current size (and malformed ones read on the way) into `batch`. */
  const takeCheckpoints = async (root: () => Uint8Array): Promise<PendingCheckpoints | null> => {
    const notes = await feed.takeThrough(tree.size);
    if (notes.length === 0) return null;
    return {
      size: tree.size,
      root: notes.some((note) => note.size >= 0) ? root() : null,
      logSize: tree.size,
      notes: notes.map((parsed) => ({ parsed, tasks: queueCheckpoint(parsed, batch) })),
    };
  };
  try {
    // Size-0 checkpoints: the empty tree is never reached by appending.
    await feed.start();
    const atZero = await takeCheckpoints(emptyTreeRoot);
    if (atZero !== null) batch.entries.push(checkpointOnlyItem(atZero));

    for await (const item of input.entries) {
      const page: readonly LogEntry[] = Array.isArray(item) ? item : [item as LogEntry];
      for (const entry of page) {
        const pending: PendingEntry = {
          seq: entry.seq,
          failures: NO_FAILURES,
          task: -1,
          expectSignature: false,
          ballot: null,
          checkpoints: null,
        };

        // Seq continuity of the log as stored.
        const expectedSeq = previousSeq + 1;
        if (entry.seq > expectedSeq) {
          const missing =
            entry.seq === expectedSeq + 1 ? `seq ${expectedSeq}` : `seqs ${expectedSeq}..${entry.seq - 1}`;
          failEntry(
            pending,
            "seq_gap",
            `seq ${entry.seq} follows seq ${previousSeq}: ${missing} missing here`,
          );
        } else if (entry.seq < expectedSeq) {
          failEntry(pending, "seq_out_of_order", `seq ${entry.seq} comes after seq ${previousSeq}`);
        }
        previousSeq = Math.max(previousSeq, entry.seq);

        // Hash chain and Merkle tree over the bytes exactly as stored.
        const hash = leafHash(entry.leaf);
        // The tree keeps `hash` (push takes it over); it is only read from here on.
        tree.push(hash);
        const end = readLeafEnd(entry.leaf, pending);
        if (end >= 0) {
          const leaf = asBuffer(entry.leaf);
          const seq = leafSeq(leaf);
          if (seq !== entry.seq) {
            failEntry(pending, "seq_out_of_order", `entry stored as seq ${entry.seq} says it is seq ${seq}`);
          }
          if (!equalAt(leaf, end + SIGNATURE_BYTES, previousLeafHash, 0, previousLeafHash.length)) {
            failEntry(
              pending,
              "prev_hash_mismatch",
              "prev_hash is not the leaf hash of the entry stored before it",
            );
          }
          checkRecord(leaf, seq, entry, pending, batch, context);
        }
        previousLeafHash = hash;

        if (feed.due(tree.size)) pending.checkpoints = await takeCheckpoints(() => tree.root());

        batch.entries.push(pending);
        if (batch.entries.length >= fill) {
          const full = batch;
          batch = newBatch();
          await submit(full);
          fill = nextFill();
        }
      }
    }
    // Checkpoints beyond the end of the log: their signatures still decide whether they are the log's claims.
    for (;;) {
      const beyond = await feed.takeNextRun();
      if (beyond === null) break;
      batch.entries.push(
        checkpointOnlyItem({
          size: beyond.size,
          root: null,
          logSize: tree.size,
          notes: beyond.notes.map((parsed) => ({ parsed, tasks: queueCheckpoint(parsed, batch) })),
        }),
      );
      if (batch.tasks.length >= batchSize) {
        const full = batch;
        batch = newBatch();
        await submit(full);
      }
    }
    if (batch.entries.length > 0) await submit(batch);
    while (inFlight.length > 0) await settleOldest();
  } finally {
    tallySecretKey?.fill(0);
  }

  const treeSize = tree.size;
  let counts: ElectionCounts | undefined;
  if (tally !== null) {
    counts = tally.result();
    if (input.publishedCounts !== undefined) {
      const differences = compareCounts(input.publishedCounts, counts);
      if (differences.length > 0) {
        sink.add({
          kind: "counts_mismatch",
          seq: null,
          message: `published counts differ from the recount: ${differences.join("; ")}`,
        });
      }
    }
  }

  const report: VerificationReport = {
    ok: sink.total === 0,
    entriesChecked: entriesSettled,
    treeSize,
    rootHash: encodeBase64(tree.root()),
    checkpointsChecked: checked.checkpoints,
    failures: sink.failures,
    failuresTruncated: sink.truncated,
  };
  if (counts !== undefined) report.counts = counts;
  return report;
}

/** Byte layout of a v1 vote record (docs/record-format.md §6); every field before the ciphertext is fixed-size. */
const VOTE_DOMAIN_BYTES = utf8(VOTE_RECORD_DOMAIN);
const BALLOT_DOMAIN_BYTES = utf8(BALLOT_DOMAIN);
const ELECTION_AT = VOTE_DOMAIN_BYTES.length; // 21
const SEQ_AT = ELECTION_AT + 16;
const TPS_AT = BALLOT_ID_OFFSET + BALLOT_ID_BYTES;
const KIOSK_KEY_ID_AT = TPS_AT + 16;
const EPHEMERAL_AT = KIOSK_KEY_ID_AT + 32;
const LENGTH_AT = EPHEMERAL_AT + 32 + 24;
const CIPHERTEXT_AT = LENGTH_AT + 4;
const SIGNATURE_BYTES = 64;
const TRAILER_BYTES = SIGNATURE_BYTES + 32;
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

/** What the verifier needs of one record, read in place from the leaf's bytes (views, not copies). */
export interface LeafFields {
  seq: number;
  electionIdBytes: Uint8Array;
  ballotIdBytes: Uint8Array;
  tpsId: string;
  kioskKeyIdHex: string;
  ephemeralPublicKey: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  kioskSignature: Uint8Array;
  prevHash: Uint8Array;
  /** canonicalBallotBytes of the record's ballot fields, what the kiosk signed, as four consecutive parts. */
  message: readonly Uint8Array[];
}

/**
 * The end of the ciphertext of a leaf in canonical v1 form, or -1 with malformed_record reported. The hot path
 * reads the fields in place: canonicalLeafEnd accepts exactly what decodeVoteRecord accepts (the domain line, seq
 * 1..2^53-1, a ciphertext of 16..4096 bytes, nothing after the prev hash) and, since every field is then at a
 * fixed position or length-prefixed, the bytes are the one encoding of their fields — what re-encoding would
 * confirm. Anything else goes to decodeVoteRecord, the authority, for the reason.
 */
function readLeafEnd(leaf: Uint8Array, pending: PendingEntry): number {
  const end = canonicalLeafEnd(leaf);
  if (end >= 0) return end;
  try {
    decodeVoteRecord(leaf);
  } catch (error) {
    const why = error instanceof CryptoFormatError ? error.message : String(error);
    failEntry(pending, "malformed_record", `entry does not decode as a v1 vote record: ${why}`);
    return -1;
  }
  // Unreachable while the two agree; fail loudly rather than judge an entry by a reader that is wrong.
  throw new Error("the verifier's leaf reader refused a record that decodeVoteRecord accepts");
}

/** The end of the ciphertext when the leaf is a canonical v1 vote record, else -1 (see readLeafEnd). */
export function canonicalLeafEnd(leaf: Uint8Array): number {
  if (leaf.length < CIPHERTEXT_AT) return -1;
  for (let i = 0; i < VOTE_DOMAIN_BYTES.length; i++) if (leaf[i] !== VOTE_DOMAIN_BYTES[i]) return -1;
  const high = readWord(leaf, SEQ_AT);
  const seq = high * 2 ** 32 + readWord(leaf, SEQ_AT + 4);
  if (high > MAX_SAFE_HIGH_WORD || seq < 1) return -1;
  const ciphertextBytes = readWord(leaf, LENGTH_AT);
  if (ciphertextBytes < BOX_MAC_BYTES || ciphertextBytes > MAX_CIPHERTEXT_BYTES) return -1;
  const ciphertextEnd = CIPHERTEXT_AT + ciphertextBytes;
  if (leaf.length !== ciphertextEnd + TRAILER_BYTES) return -1;
  return ciphertextEnd;
}

function leafSeq(leaf: Uint8Array): number {
  return readWord(leaf, SEQ_AT) * 2 ** 32 + readWord(leaf, SEQ_AT + 4);
}

/**
 * Every field of a canonical v1 leaf, as views; null when it is not one. The verifier's hot path reads the same
 * offsets in place (checkRecord, and the packers of LeafCryptoTask); this is their reference, held to
 * decodeVoteRecord by the leaf reader's test.
 */
export function readCanonicalLeaf(leaf: Uint8Array): LeafFields | null {
  const ciphertextEnd = canonicalLeafEnd(leaf);
  if (ciphertextEnd < 0) return null;
  // "suara/ballot/v1\n" ‖ election ‖ ballot ‖ tps ‖ ephemeral pk ‖ nonce ‖ u32 len ‖ ciphertext: the record's
  // own bytes in three runs (the record puts seq after the election and the kiosk key id after the TPS).
  const electionIdBytes = leaf.subarray(ELECTION_AT, SEQ_AT);
  const message = [
    BALLOT_DOMAIN_BYTES,
    electionIdBytes,
    leaf.subarray(BALLOT_ID_OFFSET, KIOSK_KEY_ID_AT),
    leaf.subarray(EPHEMERAL_AT, ciphertextEnd),
  ];
  const bytes = asBuffer(leaf);
  return {
    seq: leafSeq(leaf),
    electionIdBytes,
    ballotIdBytes: leaf.subarray(BALLOT_ID_OFFSET, TPS_AT),
    tpsId: uuidOfHex(bytes.toString("hex", TPS_AT, KIOSK_KEY_ID_AT)),
    kioskKeyIdHex: bytes.toString("hex", KIOSK_KEY_ID_AT, EPHEMERAL_AT),
    ephemeralPublicKey: leaf.subarray(EPHEMERAL_AT, EPHEMERAL_AT + 32),
    nonce: leaf.subarray(EPHEMERAL_AT + 32, LENGTH_AT),
    ciphertext: leaf.subarray(CIPHERTEXT_AT, ciphertextEnd),
    kioskSignature: leaf.subarray(ciphertextEnd, ciphertextEnd + SIGNATURE_BYTES),
    prevHash: leaf.subarray(ciphertextEnd + SIGNATURE_BYTES),
    message,
  };
}

/** The v1 layout the packers of LeafCryptoTask need (docs/record-format.md §6). */
export const VOTE_LEAF_LAYOUT = {
  ballotDomain: BALLOT_DOMAIN_BYTES,
  electionAt: ELECTION_AT,
  seqAt: SEQ_AT,
  ballotIdAt: BALLOT_ID_OFFSET,
  kioskKeyIdAt: KIOSK_KEY_ID_AT,
  ephemeralAt: EPHEMERAL_AT,
  nonceAt: EPHEMERAL_AT + 32,
  lengthAt: LENGTH_AT,
  ciphertextAt: CIPHERTEXT_AT,
  signatureBytes: SIGNATURE_BYTES,
} as const;

/** The leaf's bytes as a Buffer (the same memory; no copy). */
function asBuffer(leaf: Uint8Array): Buffer {
  return Buffer.isBuffer(leaf) ? leaf : Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength);
}

/** a[aStart, aStart + length) equals b[bStart, bStart + length), without views. */
function equalAt(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, length: number): boolean {
  if (aStart + length > a.length || bStart + length > b.length) return false;
  for (let i = 0; i < length; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/**
 * The text form of an id field read in place, remembered by its raw bytes: a log names a handful of TPS and
 * kiosks, so each is formatted once. Bounded, so a tampered log with a new id in every entry cannot grow it.
 */
class IdText {
  private readonly known = new Map<string, string>();

  constructor(private readonly format: (bytes: Buffer, start: number, end: number) => string) {}

  of(bytes: Buffer, start: number, end: number): string {
    const raw = bytes.toString("latin1", start, end);
    let text = this.known.get(raw);
    if (text === undefined) {
      text = this.format(bytes, start, end);
      if (this.known.size < 4096) this.known.set(raw, text);
    }
    return text;
  }
}

/** 32 lower-case hex digits as a UUID's text form. */
function uuidOfHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

interface RecordContext {
  electionId: string;
  electionIdBytes: Uint8Array;
  kiosks: Map<string, EnrolledKiosk[]>;
  tpsIds: Set<string>;
  ballotIds: BallotIdSet;
  open: boolean;
  tpsText: IdText;
  keyIdText: IdText;
}

/** Shared by every entry without a failure; failEntry gives an entry its own list. */
const NO_FAILURES: readonly VerificationFailure[] = Object.freeze([]);

function failEntry(pending: PendingEntry, kind: FailureKind, message: string): void {
  if (pending.failures === NO_FAILURES) pending.failures = [];
  (pending.failures as VerificationFailure[]).push({ kind, seq: pending.seq, message });
}

/**
 * Every per-record check that needs no signature: election, seq, kiosk, TPS, ballot id; queues the crypto. Reads
 * the canonical leaf in place (`seq`: its seq field).
 */
function checkRecord(
  leaf: Buffer,
  seq: number,
  entry: LogEntry,
  pending: PendingEntry,
  batch: Batch,
  context: RecordContext,
): void {
  let authentic = true;
  const ofThisElection = equalAt(leaf, ELECTION_AT, context.electionIdBytes, 0, 16);
  if (!ofThisElection) {
    failEntry(
      pending,
      "wrong_election",
      `entry belongs to election ${bytesToUuid(leaf.subarray(ELECTION_AT, SEQ_AT))}`,
    );
  }
  const tpsId = context.tpsText.of(leaf, TPS_AT, KIOSK_KEY_ID_AT);
  if (!context.tpsIds.has(tpsId)) {
    authentic = false;
    failEntry(pending, "unknown_tps", `TPS ${tpsId} is not a TPS of this election`);
  }

  const keyIdHex = context.keyIdText.of(leaf, KIOSK_KEY_ID_AT, EPHEMERAL_AT);
  const enrolments = context.kiosks.get(keyIdHex);
  let publicKey: Uint8Array | null = null;
  if (enrolments === undefined) {
    authentic = false;
    failEntry(pending, "unknown_kiosk", `kiosk key ${keyIdHex} is not enrolled`);
  } else {
    const first = enrolments[0] as EnrolledKiosk;
    publicKey = first.publicKey;
    let atTps: EnrolledKiosk | undefined;
    for (const kiosk of enrolments) {
      if (kiosk.tpsId === tpsId) {
        atTps = kiosk;
        break;
      }
    }
    if (atTps === undefined) {
      authentic = false;
      const where = enrolments.map((kiosk) => kiosk.tpsId).join(", ");
      failEntry(pending, "kiosk_wrong_tps", `kiosk ${keyIdHex} is enrolled for TPS ${where}, not ${tpsId}`);
    } else {
      // The larger of the two seqs: a rewritten seq field cannot move an entry back before the revocation.
      const position = Math.max(entry.seq, seq);
      if (atTps.revokedAtLogSize !== null && position > atTps.revokedAtLogSize) {
        authentic = false;
        failEntry(
          pending,
          "kiosk_revoked",
          `kiosk ${keyIdHex} was revoked at log size ${atTps.revokedAtLogSize}`,
        );
      }
    }
  }

  if (!context.ballotIds.add(leaf, BALLOT_ID_OFFSET)) {
    authentic = false;
    failEntry(
      pending,
      "duplicate_ballot_id",
      `ballot_id ${bytesToUuid(leaf.subarray(BALLOT_ID_OFFSET, TPS_AT))} already appeared earlier in the log`,
    );
  }

  // The id as numbers, so that the pending entry does not keep the leaf (and its chunk) alive.
  pending.ballot = ofThisElection
    ? {
        id0: readWord(leaf, BALLOT_ID_OFFSET),
        id1: readWord(leaf, BALLOT_ID_OFFSET + 4),
        id2: readWord(leaf, BALLOT_ID_OFFSET + 8),
        id3: readWord(leaf, BALLOT_ID_OFFSET + 12),
        tpsId,
        authentic,
      }
    : null;
  pending.expectSignature = publicKey !== null;
  pending.task = batch.tasks.length;
  // A ballot that is already rejected is counted invalid without opening it.
  const task: LeafCryptoTask = { leaf, publicKey, open: context.open && ofThisElection && authentic };
  batch.tasks.push(task);
}

/**
 * Applies a batch's crypto results in log order: signature failures, then the count of each ballot, then the
 * checkpoints settled at that entry. Returns the number of log entries settled.
 */
function settleBatch(
  batch: Batch,
  results: CryptoResult[],
  sink: FailureSink,
  tally: Recount | null,
  electionIdBytes: Uint8Array,
  opened: boolean,
  checked: { checkpoints: number },
): number {
  if (results.length !== batch.taskCount) {
    throw new Error(`crypto worker returned ${results.length} results for ${batch.taskCount} tasks`);
  }
  let entries = 0;
  for (const pending of batch.entries) {
    if (pending.seq !== null) entries++;
    for (const failure of pending.failures) sink.add(failure);
    const result = pending.task >= 0 ? results[pending.task] : undefined;
    const ballot = pending.ballot;
    let authentic = ballot?.authentic ?? false;
    if (result !== undefined && pending.expectSignature && !result.signatureValid) {
      authentic = false;
      sink.add({
        kind: "signature_invalid",
        seq: pending.seq,
        message: "kiosk signature does not verify over the ballot bytes",
      });
    }
    if (tally !== null && ballot !== null && pending.seq !== null) {
      if (!authentic) {
        tally.add(ballot.tpsId, INVALID);
      } else {
        const choice = readChoice(result?.plaintext ?? null, opened, ballot, electionIdBytes);
        if (choice.failure !== null) sink.add({ ...choice.failure, seq: pending.seq });
        tally.add(ballot.tpsId, choice.candidateNumber);
      }
    }
    if (pending.checkpoints !== null) settleCheckpoints(pending.checkpoints, results, sink, checked);
  }
  return entries;
}

const INVALID = -1;

const CHOICE_DOMAIN_BYTES = utf8(BALLOT_CHOICE_DOMAIN);

function readChoice(
  plaintext: Uint8Array | null,
  opened: boolean,
  ballot: PendingBallot,
  electionIdBytes: Uint8Array,
): { candidateNumber: number; failure: Omit<VerificationFailure, "seq"> | null } {
  if (!opened || plaintext === null) {
    return {
      candidateNumber: INVALID,
      failure: { kind: "ballot_undecryptable", message: "sealed ballot does not open with the tally key" },
    };
  }
  // The common case read in place: "suara/choice/v1\n" ‖ this election ‖ this ballot ‖ u8 candidate number.
  const domain = CHOICE_DOMAIN_BYTES.length;
  const id = domain + 16;
  if (
    plaintext.length === BALLOT_CHOICE_BYTES &&
    equalAt(plaintext, 0, CHOICE_DOMAIN_BYTES, 0, domain) &&
    equalAt(plaintext, domain, electionIdBytes, 0, 16) &&
    readWord(plaintext, id) === ballot.id0 &&
    readWord(plaintext, id + 4) === ballot.id1 &&
    readWord(plaintext, id + 8) === ballot.id2 &&
    readWord(plaintext, id + 12) === ballot.id3
  ) {
    return { candidateNumber: plaintext[domain + 32] as number, failure: null };
  }
  let choice: ReturnType<typeof decodeBallotChoice>;
  try {
    choice = decodeBallotChoice(plaintext);
  } catch {
    return {
      candidateNumber: INVALID,
      failure: { kind: "ballot_undecryptable", message: "sealed ballot opens but is not a v1 ballot choice" },
    };
  }
  return {
    candidateNumber: INVALID,
    failure: {
      kind: "ballot_binding_mismatch",
      message: `sealed choice is bound to election ${choice.electionId}, ballot ${choice.ballotId}`,
    },
  };
}

function rootMismatch(size: number, claimed: Uint8Array, computed: Uint8Array): VerificationFailure {
  return {
    kind: "checkpoint_root_mismatch",
    seq: null,
    checkpointSize: size,
    message: `checkpoint of size ${size} has root ${encodeBase64(claimed)}, the entries give ${encodeBase64(computed)}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Checkpoints

/** One stored checkpoint as read: its claim, and the signatures by known log keys still to verify. */
interface ParsedCheckpoint {
  /** "checkpoint #n", n counting from 1 in input order. */
  which: string;
  /** -1 when the note does not parse (then `failure` is checkpoint_malformed). */
  size: number;
  rootHash: Uint8Array;
  /** Set when the checkpoint is already known to be no claim of the log (malformed, other origin, no known key). */
  failure: VerificationFailure | null;
  /** The signed text's bytes, and each distinct known key's signature over them, as openNote checks them. */
  text: Uint8Array;
  signatures: Array<{ id: string; signature: Uint8Array; publicKey: Uint8Array }>;
}

/**
 * Reads checkpoints one ahead of the tree, in ascending size: syntax, origin and which log keys signed are
 * checked here (cheap); the signatures themselves go into the crypto batches beside the entries.
 */
class CheckpointFeed {
  /** By "<key name>+<8 hex digit key id>", as signed-note lines name them. */
  private readonly keys = new Map<string, Uint8Array>();
  private readonly next: () => Promise<ParsedCheckpoint | null>;
  private index = 0;
  private peek: ParsedCheckpoint | null = null;

  constructor(
    source: Iterable<{ note: string }> | AsyncIterable<{ note: string }>,
    private readonly origin: string,
    logPublicKeys: readonly Uint8Array[],
  ) {
    for (const key of logPublicKeys) {
      const id = `${origin}+${keyIdHex(ed25519NoteVerifier(origin, key).keyId)}`;
      this.keys.set(id, Uint8Array.from(key));
    }
    if (Array.isArray(source)) {
      // An array is in memory already: parse it all and settle it in size order (malformed first), stably.
      const parsed = (source as Array<{ note: string }>).map((item) => this.parse(item.note));
      parsed.sort((a, b) => a.size - b.size);
      let at = 0;
      this.next = async () => parsed[at++] ?? null;
    } else {
      const iterator =
        Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
      this.next = async () => {
        const item = await iterator.next();
        return item.done === true ? null : this.parse(item.value.note);
      };
    }
  }

  /** Reads the first checkpoint. */
  async start(): Promise<void> {
    this.peek = await this.next();
  }

  /** True when a checkpoint of at most `size`, or a malformed one, is next. */
  due(size: number): boolean {
    return this.peek !== null && this.peek.size <= size;
  }

  /** Every checkpoint of exactly `size`, and malformed ones among them. */
  async takeThrough(size: number): Promise<ParsedCheckpoint[]> {
    const taken: ParsedCheckpoint[] = [];
    while (this.peek !== null && this.peek.size <= size) {
      if (this.peek.size >= 0 && this.peek.size < size) {
        // Only an iterable can get here (arrays are sorted): its contract is ascending size.
        throw new Error(
          `checkpoints must be given in ascending tree size: ${this.peek.which} (size ${this.peek.size}) ` +
            `came after the log had passed that size`,
        );
      }
      taken.push(this.peek);
      this.peek = await this.next();
    }
    return taken;
  }

  /** After the last entry: the malformed checkpoints next and the run of the next size, or null at the end. */
  async takeNextRun(): Promise<{ size: number; notes: ParsedCheckpoint[] } | null> {
    if (this.peek === null) return null;
    const notes = await this.takeThrough(-1);
    const size = this.peek?.size ?? -1;
    if (size >= 0) notes.push(...(await this.takeThrough(size)));
    return { size, notes };
  }

  private parse(note: string): ParsedCheckpoint {
    const which = `checkpoint #${++this.index}`;
    let text: string;
    let signatures: ReturnType<typeof parseNote>["signatures"];
    let checkpoint: ReturnType<typeof parseCheckpoint>;
    try {
      ({ text, signatures } = parseNote(note));
      checkpoint = parseCheckpoint(text);
    } catch (error) {
      const why = error instanceof CryptoFormatError ? error.message : String(error);
      return {
        which,
        size: -1,
        rootHash: new Uint8Array(0),
        text: new Uint8Array(0),
        signatures: [],
        failure: { kind: "checkpoint_malformed", seq: null, message: `${which}: ${why}` },
      };
    }
    const { size, rootHash, origin } = checkpoint;
    const parsed: ParsedCheckpoint = {
      which,
      size,
      rootHash,
      text: utf8(text),
      signatures: [],
      failure: null,
    };
    if (origin !== this.origin) {
      parsed.failure = {
        kind: "checkpoint_wrong_origin",
        seq: null,
        checkpointSize: size,
        message: `${which} (size ${size}) is for log ${origin}, not ${this.origin}`,
      };
      return parsed;
    }
    // As openNote: signatures by unknown keys are ignored, each known key counts once, one at least is needed.
    for (const line of signatures) {
      const id = `${line.name}+${keyIdHex(line.keyId)}`;
      const publicKey = this.keys.get(id);
      if (publicKey === undefined || parsed.signatures.some((s) => s.id === id)) continue;
      parsed.signatures.push({ id, signature: line.signature, publicKey });
    }
    if (parsed.signatures.length === 0) {
      parsed.failure = signatureInvalid(parsed, "no signature by a known key");
    }
    return parsed;
  }
}

function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, "0");
}

function signatureInvalid(parsed: ParsedCheckpoint, why: string): VerificationFailure {
  return {
    kind: "checkpoint_signature_invalid",
    seq: null,
    checkpointSize: parsed.size,
    message: `${parsed.which} (size ${parsed.size}) is not validly signed by a log key: ${why}`,
  };
}

/** Queues a checkpoint's known signatures into the batch; returns their task indexes. */
function queueCheckpoint(parsed: ParsedCheckpoint, batch: Batch): number[] {
  if (parsed.failure !== null) return [];
  return parsed.signatures.map(({ signature, publicKey }) => {
    batch.tasks.push({ message: parsed.text, signature, publicKey, sealed: null });
    return batch.tasks.length - 1;
  });
}

/**
 * Settles the checkpoints of one size, in input order: only validly signed ones are claims of the log (openNote's
 * rule: every known key's signature must verify); claims of one size must agree, and each distinct claimed root
 * must be the root the entries give — or, past the end of the log, the claim is itself the failure.
 */
function settleCheckpoints(
  pending: PendingCheckpoints,
  results: CryptoResult[],
  sink: FailureSink,
  checked: { checkpoints: number },
): void {
  const claims: Uint8Array[] = [];
  for (const { parsed, tasks } of pending.notes) {
    if (parsed.failure !== null) {
      sink.add(parsed.failure);
      continue;
    }
    const bad = parsed.signatures.find((_, i) => results[tasks[i] ?? -1]?.signatureValid !== true);
    if (bad !== undefined) {
      sink.add(signatureInvalid(parsed, `invalid signature by ${bad.id}`));
      continue;
    }
    checked.checkpoints++;
    if (claims.some((root) => bytesEqual(root, parsed.rootHash))) continue;
    if (claims.length > 0) {
      sink.add({
        kind: "checkpoints_inconsistent",
        seq: null,
        checkpointSize: parsed.size,
        message: `two signed checkpoints of size ${parsed.size} have different roots: ${claims
          .map((root) => encodeBase64(root))
          .join(", ")} and ${encodeBase64(parsed.rootHash)}`,
      });
    }
    claims.push(parsed.rootHash);
  }
  if (claims.length === 0) return;
  if (pending.root === null) {
    sink.add({
      kind: "checkpoint_beyond_log",
      seq: null,
      checkpointSize: pending.size,
      message: `checkpoint of size ${pending.size} but the log has ${pending.logSize} entries`,
    });
    return;
  }
  for (const root of claims) {
    if (!bytesEqual(root, pending.root)) sink.add(rootMismatch(pending.size, root, pending.root));
  }
}

/** By kiosk key id (hex), recomputed from the public key: the id is defined by the key, not by a stored column. */
function indexKiosks(kiosks: readonly EnrolledKiosk[]): Map<string, EnrolledKiosk[]> {
  const byId = new Map<string, EnrolledKiosk[]>();
  for (const kiosk of kiosks) {
    const id = kioskKeyId(kiosk.publicKey).toString("hex");
    const normalised = { ...kiosk, tpsId: kiosk.tpsId.toLowerCase() };
    const list = byId.get(id);
    if (list === undefined) byId.set(id, [normalised]);
    else list.push(normalised);
  }
  return byId;
}

// ---------------------------------------------------------------------------------------------------------------
// Failures

class FailureSink {
  readonly failures: VerificationFailure[] = [];
  total = 0;

  constructor(private readonly limit: number) {}

  add(failure: VerificationFailure): void {
    this.total++;
    if (this.failures.length < this.limit) this.failures.push(failure);
  }

  get truncated(): boolean {
    return this.total > this.failures.length;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Recount

function emptyTpsCounts(candidates: readonly number[]): TpsCounts {
  return { perCandidate: zeroPerCandidate(candidates), blank: 0, invalid: 0, ballots: 0 };
}

function zeroPerCandidate(candidates: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const number of candidates) out[String(number)] = 0;
  return out;
}

/** Counts per candidate, blank and invalid, in total and per TPS. Candidate 0 is a blank vote (SPEC §4). */
class Recount {
  private readonly candidates: Set<number>;
  private readonly counts: ElectionCounts;

  private readonly candidateNumbers: readonly number[];

  constructor(candidateNumbers: readonly number[], tpsIds: readonly string[]) {
    // 0 is the blank vote, never a candidate, even if a caller lists it.
    this.candidateNumbers = candidateNumbers.filter((n) => n !== 0);
    this.candidates = new Set(this.candidateNumbers);
    this.counts = {
      perCandidate: zeroPerCandidate(this.candidateNumbers),
      blank: 0,
      invalid: 0,
      perTps: {},
      ballots: 0,
    };
    for (const id of tpsIds) this.counts.perTps[id.toLowerCase()] = emptyTpsCounts(this.candidateNumbers);
  }

  /** `candidateNumber` as decrypted, or INVALID; out-of-range numbers count as invalid (tidak sah). */
  add(tpsId: string, candidateNumber: number): void {
    let tps = this.counts.perTps[tpsId];
    if (tps === undefined) {
      tps = emptyTpsCounts(this.candidateNumbers);
      this.counts.perTps[tpsId] = tps;
    }
    this.counts.ballots++;
    tps.ballots++;
    if (candidateNumber === 0) {
      this.counts.blank++;
      tps.blank++;
    } else if (this.candidates.has(candidateNumber)) {
      const key = String(candidateNumber);
      this.counts.perCandidate[key] = (this.counts.perCandidate[key] ?? 0) + 1;
      tps.perCandidate[key] = (tps.perCandidate[key] ?? 0) + 1;
    } else {
      this.counts.invalid++;
      tps.invalid++;
    }
  }

  result(): ElectionCounts {
    return structuredClone(this.counts);
  }
}

/** Every difference between published and recounted counts, as "what: published X, recounted Y". */
export function compareCounts(published: ElectionCounts, recounted: ElectionCounts): string[] {
  const differences: string[] = [];
  const compare = (what: string, a: number | undefined, b: number | undefined): void => {
    if ((a ?? 0) !== (b ?? 0)) differences.push(`${what}: published ${a ?? 0}, recounted ${b ?? 0}`);
  };
  const compareCandidates = (prefix: string, a: Record<string, number>, b: Record<string, number>): void => {
    for (const key of unionKeys(a, b)) compare(`${prefix}candidate ${key}`, a[key], b[key]);
  };
  compareCandidates("", published.perCandidate, recounted.perCandidate);
  compare("blank", published.blank, recounted.blank);
  compare("invalid", published.invalid, recounted.invalid);
  compare("ballots", published.ballots, recounted.ballots);
  for (const tpsId of unionKeys(published.perTps, recounted.perTps)) {
    const a = published.perTps[tpsId] ?? emptyTpsCounts([]);
    const b = recounted.perTps[tpsId] ?? emptyTpsCounts([]);
    compareCandidates(`TPS ${tpsId} `, a.perCandidate, b.perCandidate);
    compare(`TPS ${tpsId} blank`, a.blank, b.blank);
    compare(`TPS ${tpsId} invalid`, a.invalid, b.invalid);
    compare(`TPS ${tpsId} ballots`, a.ballots, b.ballots);
  }
  return differences;
}

function unionKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(
    (x, y) => Number(x) - Number(y) || x.localeCompare(y),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Seen ballot ids

/**
 * A set of 16-byte ballot ids in one packed table (open addressing, linear probing, load ≤ 1/2): one object for
 * the garbage collector however long the log, and about 34 bytes per id at worst. The slot hash is keyed with a
 * per-run random seed, so a log crafted to collide in the table cannot make the verifier quadratic.
 */
export class BallotIdSet {
  private words: Uint32Array;
  private used: Uint8Array;
  private mask: number;
  private count = 0;
  private readonly seed: Uint32Array;

  constructor(initialCapacity = 1 << 12) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.words = new Uint32Array(capacity * 4);
    this.used = new Uint8Array(capacity);
    this.mask = capacity - 1;
    this.seed = new Uint32Array(Uint8Array.from(randomBytesFor(16)).buffer);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the id (16 bytes, or the 16 at `offset` of a longer array); false if it was already present. */
  add(id: Uint8Array, offset = 0): boolean {
    if (offset === 0 ? id.length !== BALLOT_ID_BYTES : id.length < offset + BALLOT_ID_BYTES) {
      throw new RangeError("a ballot id is 16 bytes");
    }
    const w0 = readWord(id, offset);
    const w1 = readWord(id, offset + 4);
    const w2 = readWord(id, offset + 8);
    const w3 = readWord(id, offset + 12);
    let slot = this.slotOf(w0, w1, w2, w3);
    while (this.used[slot] === 1) {
      const at = slot * 4;
      if (
        this.words[at] === w0 &&
        this.words[at + 1] === w1 &&
        this.words[at + 2] === w2 &&
        this.words[at + 3] === w3
      )
        return false;
      slot = (slot + 1) & this.mask;
    }
    this.put(slot, w0, w1, w2, w3);
    this.count++;
    if (this.count * 2 > this.mask + 1) this.grow();
    return true;
  }

  private put(slot: number, w0: number, w1: number, w2: number, w3: number): void {
    const at = slot * 4;
    this.words[at] = w0;
    this.words[at + 1] = w1;
    this.words[at + 2] = w2;
    this.words[at + 3] = w3;
    this.used[slot] = 1;
  }

  private slotOf(w0: number, w1: number, w2: number, w3: number): number {
    const s = this.seed;
    let h = Math.imul((w0 ^ (s[0] ?? 0)) >>> 0, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ w1 ^ (s[1] ?? 0), 0x85ebca77);
    h = Math.imul(h ^ (h >>> 13) ^ w2 ^ (s[2] ?? 0), 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 16) ^ w3 ^ (s[3] ?? 0), 0x27d4eb2f);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h & this.mask;
  }

  private grow(): void {
    const oldWords = this.words;
    const oldUsed = this.used;
    const capacity = oldUsed.length * 2;
    this.words = new Uint32Array(capacity * 4);
    this.used = new Uint8Array(capacity);
    this.mask = capacity - 1;
    for (let slot = 0; slot < oldUsed.length; slot++) {
      if (oldUsed[slot] !== 1) continue;
      const at = slot * 4;
      const w0 = oldWords[at] ?? 0;
      const w1 = oldWords[at + 1] ?? 0;
      const w2 = oldWords[at + 2] ?? 0;
      const w3 = oldWords[at + 3] ?? 0;
      let next = this.slotOf(w0, w1, w2, w3);
      while (this.used[next] === 1) next = (next + 1) & this.mask;
      this.put(next, w0, w1, w2, w3);
    }
  }
}

function readWord(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] ?? 0) << 24) |
      ((bytes[offset + 1] ?? 0) << 16) |
      ((bytes[offset + 2] ?? 0) << 8) |
      (bytes[offset + 3] ?? 0)) >>>
    0
  );
}
