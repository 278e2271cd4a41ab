// Warms the tally's code before the tally (SPEC §13): while the holders are still submitting their shares, the
// crypto threads prepared at the first share verify and open a throwaway election log built here in memory, so
// that V8 has compiled the verifier's hot code — the COPY reader, the leaf checks, hashing, the Merkle tree, the
// packing of batches and, in each crypto thread, the unpacking — by the time the last share arrives. Measured on
// a 10,000-ballot tally, code run cold for the first time costs ≈ 0.15 s of CPU (interpreted code in the main
// thread, and optimizing compilation on V8's helper threads) against ≈ 0.8 s of cryptography.
//
// The throwaway log touches neither the database nor the election or its key: it has its own random election
// id, kiosks, log key and tally key, made for this run and dropped with it. The one read of the election is the
// optional pass over its own log through the tally's COPY path (`readLog`; the log is public to witnesses), whose
// rows are counted and dropped. The throwaway log's verification must come out clean; if it does not, that is a
// bug in this file or the verifier, reported as an error (the tally itself does not depend on it: it verifies
// the real log from scratch).
import { randomUUID } from "node:crypto";
import sodium from "sodium-native";
import { canonicalBallotBytes, encodeBallotChoice } from "../../crypto/ballot.js";
import { electionLogOrigin, signCheckpoint } from "../../crypto/checkpoint.js";
import { CompactRange } from "../../crypto/compact-range.js";
import { generateEd25519KeyPair, kioskKeyId, signEd25519 } from "../../crypto/ed25519.js";
import { leafHash } from "../../crypto/hash.js";
import { generateTallyKeyPair } from "../../crypto/sealed-ballot.js";
import { ed25519NoteSigner } from "../../crypto/signed-note.js";
import { encodeVoteRecord, genesisPrevHash } from "../../crypto/vote-record.js";
import type { CryptoPool } from "../../verify/crypto-pool.js";
import { verifyElectionLog } from "../../verify/verifier.js";
import { copyRows, startNow } from "./log-stream.js";

/** Entries in the throwaway log. */
export const WARM_UP_ENTRIES = 1000;
/**
 * Times the log is verified: calls enough for V8 to optimize every per-entry function (≈ 6,000 entries gave the
 * same tally as a second tally in the same process, 2,000 about half of it), and calls enough of the verifier
 * itself that it is optimized as a function, not only its loop (with three passes it was compiled again during
 * the tally), at a sixth of the cost of building a log that long.
 */
export const WARM_UP_PASSES = 6;
/**
 * Rows of the election's own log read once through the tally's COPY path (pg-copy-streams and the COPY reader,
 * which the throwaway log does not pass through), and dropped: about 3.4 MB at most.
 */
export const WARM_UP_LOG_ROWS = 10_000;
/** Entries per signed checkpoint (the service signs one per append transaction; how often changes no code path). */
const CHECKPOINT_EVERY = 100;
/** Bytes per chunk fed to the COPY reader, about what a socket read brings. */
const CHUNK_BYTES = 65536;
const CANDIDATES = [1, 2, 3];
const TPS_COUNT = 4;
const KIOSKS_PER_TPS = 2;

/** What a warm-up did; `ok` is false only if the verifier disagreed with the log built for it (a bug). */
export interface WarmUpReport {
  ok: boolean;
  entries: number;
  passes: number;
  /** Rows of the election's own log read (and dropped) through the COPY path. */
  logRows: number;
  seconds: number;
}

/**
 * Reads the election's log once through `readLog` (when given) and drops it, then verifies and opens a throwaway
 * log of `entries` ballots `passes` times on `threads`, as a tally would. Rejects if the threads are closed
 * meanwhile (the tally or the service no longer needs them) or the read fails.
 */
export async function warmUpTally(
  threads: CryptoPool,
  options: { entries?: number; passes?: number; readLog?: () => AsyncIterable<unknown[]> } = {},
): Promise<WarmUpReport> {
  const entries = options.entries ?? WARM_UP_ENTRIES;
  const passes = options.passes ?? WARM_UP_PASSES;
  const started = performance.now();
  let logRows = 0;
  if (options.readLog !== undefined) {
    for await (const page of options.readLog()) logRows += page.length;
  }
  const log = buildThrowawayLog(entries);
  let ok = true;
  try {
    for (let pass = 0; pass < passes; pass++) {
      const report = await verifyElectionLog({
        electionId: log.electionId,
        origin: log.origin,
        logPublicKeys: [log.logPublicKey],
        kiosks: log.kiosks,
        tpsIds: log.tpsIds,
        // Wrapped as the tally's are, so that the verifier's reads see the same kind of stream.
        entries: startNow(copyRows(chunksOf(log.copy))),
        checkpoints: startNow(pagesOf(log.checkpoints)),
        tally: { secretKey: log.tallySecretKey, candidateNumbers: CANDIDATES },
        expectedEntries: entries,
        cryptoWorker: threads,
        batchesInFlight: threads.batchesInFlight,
        // The tally reports progress: a call site left cold here would cost the tally a deoptimisation.
        onProgress: () => undefined,
      });
      ok &&=
        report.ok &&
        report.entriesChecked === entries &&
        report.checkpointsChecked === log.checkpoints.length &&
        report.counts?.ballots === entries;
    }
  } finally {
    log.tallySecretKey.fill(0);
  }
  return { ok, entries, passes, logRows, seconds: (performance.now() - started) / 1000 };
}

export interface ThrowawayLog {
  electionId: string;
  origin: string;
  logPublicKey: Buffer;
  kiosks: Array<{ keyId: Buffer; publicKey: Buffer; tpsId: string; revokedAtLogSize: null }>;
  tpsIds: string[];
  tallySecretKey: Buffer;
  /** The entries as PostgreSQL's binary COPY of (seq, leaf) sends them. */
  copy: Buffer;
  checkpoints: Array<{ note: string }>;
}

export function buildThrowawayLog(entries: number): ThrowawayLog {
  const electionId = randomUUID();
  const origin = electionLogOrigin("suara.warm-up", electionId);
  const logKey = generateEd25519KeyPair();
  const signer = ed25519NoteSigner(origin, logKey.secretKey);
  const tpsIds = Array.from({ length: TPS_COUNT }, () => randomUUID());
  const kiosks = tpsIds.flatMap((tpsId) =>
    Array.from({ length: KIOSKS_PER_TPS }, () => {
      const pair = generateEd25519KeyPair();
      return { ...pair, keyId: kioskKeyId(pair.publicKey), tpsId };
    }),
  );
  const tally = generateTallyKeyPair();
  // One ephemeral key pair for the whole throwaway log (a kiosk makes one per ballot): one scalar
  // multiplication per sealed ballot instead of two. Opening, in the threads, costs what it always does.
  const ephemeralPublicKey = Buffer.alloc(sodium.crypto_box_PUBLICKEYBYTES);
  const ephemeralSecretKey = Buffer.alloc(sodium.crypto_box_SECRETKEYBYTES);
  sodium.crypto_box_keypair(ephemeralPublicKey, ephemeralSecretKey);

  const rows: Buffer[] = [copyHeader()];
  const checkpoints: Array<{ note: string }> = [];
  const tree = CompactRange.empty();
  let prevHash: Uint8Array = genesisPrevHash();
  for (let seq = 1; seq <= entries; seq++) {
    const kiosk = kiosks[seq % kiosks.length] as (typeof kiosks)[number];
    const ballotId = randomUUID();
    const plaintext = encodeBallotChoice({
      electionId,
      ballotId,
      candidateNumber: seq % 17 === 0 ? 0 : (CANDIDATES[seq % CANDIDATES.length] as number),
    });
    const nonce = Buffer.alloc(sodium.crypto_box_NONCEBYTES);
    sodium.randombytes_buf(nonce);
    const ciphertext = Buffer.alloc(plaintext.length + sodium.crypto_box_MACBYTES);
    sodium.crypto_box_easy(ciphertext, Buffer.from(plaintext), nonce, tally.publicKey, ephemeralSecretKey);
    const content = { electionId, ballotId, tpsId: kiosk.tpsId, ephemeralPublicKey, nonce, ciphertext };
    const leaf = encodeVoteRecord({
      ...content,
      seq,
      kioskKeyId: kiosk.keyId,
      kioskSignature: signEd25519(canonicalBallotBytes(content), kiosk.secretKey),
      prevHash,
    });
    prevHash = leafHash(leaf);
    tree.push(prevHash);
    rows.push(copyRow(seq, leaf));
    if (seq % CHECKPOINT_EVERY === 0 || seq === entries) {
      checkpoints.push({
        note: signCheckpoint({ origin, size: seq, rootHash: tree.root(), extensions: [] }, [signer]),
      });
    }
  }
  sodium.sodium_memzero(ephemeralSecretKey);
  rows.push(Buffer.from([0xff, 0xff]));
  return {
    electionId,
    origin,
    logPublicKey: logKey.publicKey,
    kiosks: kiosks.map((k) => ({
      keyId: k.keyId,
      publicKey: k.publicKey,
      tpsId: k.tpsId,
      revokedAtLogSize: null,
    })),
    tpsIds,
    tallySecretKey: tally.secretKey,
    copy: Buffer.concat(rows),
    checkpoints,
  };
}

/** "PGCOPY\n\xff\r\n\0" ‖ int32 flags ‖ int32 header extension length. */
function copyHeader(): Buffer {
  const header = Buffer.alloc(19);
  Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]).copy(header);
  return header;
}

/** int16 2 ‖ int32 8 ‖ int64 seq ‖ int32 length ‖ leaf. */
function copyRow(seq: number, leaf: Uint8Array): Buffer {
  const row = Buffer.alloc(18 + leaf.length);
  row.writeInt16BE(2, 0);
  row.writeInt32BE(8, 2);
  row.writeBigInt64BE(BigInt(seq), 6);
  row.writeInt32BE(leaf.length, 14);
  row.set(leaf, 18);
  return row;
}

async function* chunksOf(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) yield bytes.subarray(at, at + CHUNK_BYTES);
}

/** The checkpoints as the tally reads them from PostgreSQL: an async stream. */
async function* pagesOf(checkpoints: Array<{ note: string }>): AsyncGenerator<{ note: string }> {
  for (const checkpoint of checkpoints) yield checkpoint;
}
