// The vote log's storage (SPEC §6): appending canonical vote records to an election's log, keeping the Merkle
// tree's completed nodes and a compact range so that each append and each proof costs O(log n), signing a
// checkpoint after every append, and answering the bulletin board's questions (latest checkpoint, inclusion and
// consistency proofs, entries by range). Appends to one election are serialised by its log_heads row lock, so
// seq is gapless, prev_hash chains every entry to the one before, and every checkpoint extends the last.
import type { Transaction } from "kysely";
import { type Checkpoint, signCheckpoint } from "../../crypto/checkpoint.js";
import { CompactRange } from "../../crypto/compact-range.js";
import { leafHash } from "../../crypto/hash.js";
import {
  type NodeId,
  type ProofPlan,
  planConsistencyProof,
  planInclusionProof,
  proofFromPlan,
} from "../../crypto/merkle.js";
import { trackingCodeFromLeafHash } from "../../crypto/tracking-code.js";
import { encodeVoteRecord, genesisPrevHash } from "../../crypto/vote-record.js";
import type { DB, Executor } from "../../db/database.js";
import { AppError } from "../../lib/errors.js";
import { checkpointSigner, type LogKeyring, logOrigin } from "./log.keys.js";

/** What a cast contributes to the log; seq, prev_hash and the election are the log's. */
export interface VoteToAppend {
  ballotId: string;
  tpsId: string;
  kioskKeyId: Uint8Array;
  ephemeralPublicKey: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  kioskSignature: Uint8Array;
}

export interface SignedCheckpoint {
  size: number;
  rootHash: Buffer;
  note: string;
}

export interface AppendedVote {
  seq: number;
  ballotId: string;
  leafHash: Buffer;
  trackingCode: string;
}

/** An election's log head, locked (FOR UPDATE) by the transaction that read it. */
export interface LockedLogHead {
  electionId: string;
  treeSize: number;
  compactRange: Buffer;
  lastLeafHash: Buffer;
}

/**
 * Takes the election's log head row for update (creating it for the first append), so that this transaction
 * alone appends to the log until it commits. Hold no other log lock.
 */
export async function lockLogHead(tx: Transaction<DB>, electionId: string): Promise<LockedLogHead> {
  const select = () =>
    tx
      .selectFrom("log_heads")
      .selectAll()
      .where("election_id", "=", electionId)
      .forUpdate()
      .executeTakeFirst();
  // The head exists after the first append, so the common case is one round trip.
  let head = await select();
  if (!head) {
    await tx
      .insertInto("log_heads")
      .values({
        election_id: electionId,
        tree_size: 0,
        compact_range: Buffer.from(CompactRange.empty().encode()),
        last_leaf_hash: Buffer.from(genesisPrevHash()),
      })
      .onConflict((oc) => oc.column("election_id").doNothing())
      .execute();
    head = await select();
    if (!head) throw new Error(`log head of ${electionId} could not be created`);
  }
  return {
    electionId,
    treeSize: head.tree_size,
    compactRange: head.compact_range,
    lastLeafHash: head.last_leaf_hash,
  };
}

/**
 * Appends votes to an election's log inside the caller's transaction and signs the checkpoint that covers them.
 * Hold no other log lock: the head row's lock is taken here and held until the caller commits.
 */
export async function appendVotes(
  tx: Transaction<DB>,
  keyring: LogKeyring,
  electionId: string,
  votes: readonly VoteToAppend[],
): Promise<{ appended: AppendedVote[]; checkpoint: SignedCheckpoint }> {
  if (votes.length === 0) throw new Error("appendVotes needs at least one vote");
  return appendToLockedHead(tx, keyring, await lockLogHead(tx, electionId), votes);
}

/** appendVotes for a caller that already holds the head (lockLogHead, same transaction). */
export async function appendToLockedHead(
  tx: Transaction<DB>,
  keyring: LogKeyring,
  head: LockedLogHead,
  votes: readonly VoteToAppend[],
): Promise<{ appended: AppendedVote[]; checkpoint: SignedCheckpoint }> {
  if (votes.length === 0) throw new Error("appendVotes needs at least one vote");
  const electionId = head.electionId;
  const range = CompactRange.decode(head.compactRange);
  if (range.size !== head.treeSize) throw new Error(`log head of ${electionId} is inconsistent`);
  let prevHash: Uint8Array = head.lastLeafHash;
  const entries: DB["log_entries"][] = [];
  const nodes: DB["log_tree_nodes"][] = [];
  const appended: AppendedVote[] = [];
  for (const vote of votes) {
    const seq = range.size + 1;
    const leaf = Buffer.from(encodeVoteRecord({ ...vote, electionId, seq, prevHash }));
    const hash = leafHash(leaf);
    for (const node of range.append(hash)) {
      if (node.level > 0)
        nodes.push({
          election_id: electionId,
          level: node.level,
          idx: node.index,
          hash: Buffer.from(node.hash),
        });
    }
    const trackingCode = trackingCodeFromLeafHash(hash);
    entries.push({
      election_id: electionId,
      seq,
      ballot_id: vote.ballotId,
      leaf,
      leaf_hash: hash,
      tracking_code: trackingCode,
    });
    appended.push({ seq, ballotId: vote.ballotId, leafHash: hash, trackingCode });
    prevHash = hash;
  }
  const rootHash = Buffer.from(range.root());
  const checkpoint: Checkpoint = {
    origin: logOrigin(keyring, electionId),
    size: range.size,
    rootHash,
    extensions: [],
  };
  const note = signCheckpoint(checkpoint, [checkpointSigner(keyring, electionId)]);
  // One statement, one round trip, while the head is locked: the entries, the tree's new nodes, the signed
  // checkpoint, and the head moved on (data-modifying CTEs all run, in the one snapshot, or none does).
  let statement = tx
    .with("entries", (db) => db.insertInto("log_entries").values(entries))
    .with("checkpoint", (db) =>
      db.insertInto("log_checkpoints").values({
        election_id: electionId,
        tree_size: range.size,
        root_hash: rootHash,
        note,
        key_id: keyring.active.id,
      }),
    );
  if (nodes.length > 0)
    statement = statement.with("nodes", (db) => db.insertInto("log_tree_nodes").values(nodes));
  await statement
    .updateTable("log_heads")
    .set({
      tree_size: range.size,
      compact_range: Buffer.from(range.encode()),
      last_leaf_hash: Buffer.from(prevHash),
    })
    .where("election_id", "=", electionId)
    .execute();
  return { appended, checkpoint: { size: range.size, rootHash, note } };
}

/**
 * At close: the checkpoint of the log's final size (SPEC §2). Every append already signed one for its size, so
 * this signs only when there is none yet — an election closed with an empty log gets its size-0 checkpoint.
 */
export async function signFinalCheckpoint(
  tx: Transaction<DB>,
  keyring: LogKeyring,
  electionId: string,
): Promise<SignedCheckpoint> {
  const head = await tx
    .selectFrom("log_heads")
    .select(["tree_size", "compact_range"])
    .where("election_id", "=", electionId)
    .forUpdate()
    .executeTakeFirst();
  const size = head?.tree_size ?? 0;
  const existing = await checkpointAt(tx, electionId, size);
  if (existing) return existing;
  const range = head ? CompactRange.decode(head.compact_range) : CompactRange.empty();
  const rootHash = Buffer.from(range.root());
  const note = signCheckpoint({ origin: logOrigin(keyring, electionId), size, rootHash, extensions: [] }, [
    checkpointSigner(keyring, electionId),
  ]);
  await tx
    .insertInto("log_checkpoints")
    .values({
      election_id: electionId,
      tree_size: size,
      root_hash: rootHash,
      note,
      key_id: keyring.active.id,
    })
    .execute();
  return { size, rootHash, note };
}

export async function latestCheckpoint(db: Executor, electionId: string): Promise<SignedCheckpoint | null> {
  const row = await db
    .selectFrom("log_checkpoints")
    .select(["tree_size", "root_hash", "note"])
    .where("election_id", "=", electionId)
    .orderBy("tree_size", "desc")
    .limit(1)
    .executeTakeFirst();
  return row ? { size: row.tree_size, rootHash: row.root_hash, note: row.note } : null;
}

export async function checkpointAt(
  db: Executor,
  electionId: string,
  size: number,
): Promise<SignedCheckpoint | null> {
  const row = await db
    .selectFrom("log_checkpoints")
    .select(["tree_size", "root_hash", "note"])
    .where("election_id", "=", electionId)
    .where("tree_size", "=", size)
    .executeTakeFirst();
  return row ? { size: row.tree_size, rootHash: row.root_hash, note: row.note } : null;
}

async function treeSize(db: Executor, electionId: string): Promise<number> {
  const head = await db
    .selectFrom("log_heads")
    .select("tree_size")
    .where("election_id", "=", electionId)
    .executeTakeFirst();
  return head?.tree_size ?? 0;
}

/** Fetches every node a plan names in two queries (leaves from the entries, the rest from the stored nodes). */
async function fetchNodes(
  db: Executor,
  electionId: string,
  plan: ProofPlan,
): Promise<(level: number, index: number) => Uint8Array> {
  const wanted: NodeId[] = plan.flat();
  const leaves = wanted.filter((n) => n.level === 0).map((n) => n.index + 1);
  const inner = wanted.filter((n) => n.level > 0);
  const found = new Map<string, Uint8Array>();
  if (leaves.length > 0) {
    const rows = await db
      .selectFrom("log_entries")
      .select(["seq", "leaf_hash"])
      .where("election_id", "=", electionId)
      .where("seq", "in", leaves)
      .execute();
    for (const r of rows) found.set(`0:${r.seq - 1}`, r.leaf_hash);
  }
  if (inner.length > 0) {
    const rows = await db
      .selectFrom("log_tree_nodes")
      .select(["level", "idx", "hash"])
      .where("election_id", "=", electionId)
      .where((eb) => eb.or(inner.map((n) => eb.and([eb("level", "=", n.level), eb("idx", "=", n.index)]))))
      .execute();
    for (const r of rows) found.set(`${r.level}:${r.idx}`, r.hash);
  }
  return (level, index) => {
    const hash = found.get(`${level}:${index}`);
    if (!hash) throw new Error(`log ${electionId} lacks tree node (${level}, ${index})`);
    return hash;
  };
}

function requireSize(size: number, current: number): void {
  if (size > current) {
    throw new AppError(
      "LOG_SIZE_UNKNOWN",
      `the log has ${current} entries; there is no tree of size ${size}`,
      {
        tree_size: current,
      },
    );
  }
}

export interface InclusionAnswer {
  seq: number;
  leafIndex: number;
  treeSize: number;
  leafHash: Buffer;
  trackingCode: string;
  proof: Uint8Array[];
}

/** Proof that entry `seq` (or the entry with `trackingCode`) is in the tree of `size` (default: current). */
export async function inclusionProofFor(
  db: Executor,
  electionId: string,
  locate: { seq: number } | { trackingCode: string },
  size?: number,
): Promise<InclusionAnswer> {
  const current = await treeSize(db, electionId);
  const treeSizeWanted = size ?? current;
  requireSize(treeSizeWanted, current);
  let query = db
    .selectFrom("log_entries")
    .select(["seq", "leaf_hash", "tracking_code"])
    .where("election_id", "=", electionId);
  query =
    "seq" in locate
      ? query.where("seq", "=", locate.seq)
      : query.where("tracking_code", "=", locate.trackingCode);
  const entries = await query.orderBy("seq").limit(2).execute();
  const entry = entries[0];
  if (!entry) throw new AppError("NOT_FOUND", "no such entry in this election's log");
  if (entries.length > 1) {
    throw new AppError("TRACKING_CODE_AMBIGUOUS", "two entries share this tracking code: ask by seq", {
      seqs: entries.map((e) => e.seq),
    });
  }
  if (entry.seq > treeSizeWanted) {
    throw new AppError(
      "LOG_SIZE_UNKNOWN",
      `entry ${entry.seq} is not in the tree of size ${treeSizeWanted}`,
      {
        tree_size: treeSizeWanted,
      },
    );
  }
  const plan = planInclusionProof(entry.seq - 1, treeSizeWanted);
  const proof = proofFromPlan(plan, await fetchNodes(db, electionId, plan));
  return {
    seq: entry.seq,
    leafIndex: entry.seq - 1,
    treeSize: treeSizeWanted,
    leafHash: entry.leaf_hash,
    trackingCode: entry.tracking_code,
    proof,
  };
}

export async function consistencyProofFor(
  db: Executor,
  electionId: string,
  from: number,
  to?: number,
): Promise<{ from: number; to: number; proof: Uint8Array[] }> {
  const current = await treeSize(db, electionId);
  const toSize = to ?? current;
  requireSize(toSize, current);
  if (from > toSize) throw new AppError("VALIDATION_FAILED", "from must not exceed to", { from, to: toSize });
  const plan = planConsistencyProof(from, toSize);
  return { from, to: toSize, proof: proofFromPlan(plan, await fetchNodes(db, electionId, plan)) };
}

/** Every entry of a log in seq order, a page at a time (keyset), so any log streams in bounded memory. */
export async function* logEntryPages(db: Executor, electionId: string, pageSize = 5000) {
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom("log_entries")
      .select(["seq", "leaf"])
      .where("election_id", "=", electionId)
      .where("seq", ">", after)
      .orderBy("seq")
      .limit(pageSize)
      .execute();
    if (rows.length === 0) return;
    yield rows;
    after = (rows.at(-1) as (typeof rows)[number]).seq;
  }
}

export const MAX_ENTRIES_PER_PAGE = 1000;

/** Entries with seq in [start, end] (inclusive, at most MAX_ENTRIES_PER_PAGE). */
export async function entriesInRange(db: Executor, electionId: string, start: number, end: number) {
  return db
    .selectFrom("log_entries")
    .select(["seq", "leaf", "leaf_hash", "tracking_code"])
    .where("election_id", "=", electionId)
    .where("seq", ">=", start)
    .where("seq", "<=", Math.min(end, start + MAX_ENTRIES_PER_PAGE - 1))
    .orderBy("seq")
    .execute();
}
