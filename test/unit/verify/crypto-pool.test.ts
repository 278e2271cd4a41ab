// The worker-thread crypto pool (src/verify/crypto-pool.ts) gives the verifier exactly the report the in-process
// worker gives — failures named by the same seqs in the same order, the same recount — and shuts down cleanly.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateEd25519KeyPair } from "../../../src/crypto/ed25519.js";
import { generateTallyKeyPair } from "../../../src/crypto/sealed-ballot.js";
import { ed25519NoteSigner } from "../../../src/crypto/signed-note.js";
import { type CryptoPool, createCryptoPool, withCryptoPool } from "../../../src/verify/crypto-pool.js";
// @ts-expect-error: the worker is plain JavaScript (no declarations); only its layout is read here.
import { LEAF_LAYOUT } from "../../../src/verify/crypto-pool.worker.cjs";
import {
  type LogEntry,
  type VerificationReport,
  VOTE_LEAF_LAYOUT,
  verifyElectionLog,
} from "../../../src/verify/verifier.js";
import { buildElectionLog } from "./fixtures.js";

function failuresOf(report: VerificationReport): string[] {
  return report.failures.map((failure) =>
    failure.seq !== null
      ? `${failure.kind}@seq ${failure.seq}`
      : failure.checkpointSize !== undefined
        ? `${failure.kind}@size ${failure.checkpointSize}`
        : failure.kind,
  );
}

/** Byte offset of the ciphertext in a v1 record: everything before it is fixed-size. */
const CIPHERTEXT_OFFSET = 21 + 16 + 8 + 16 + 16 + 32 + 32 + 24 + 4;

describe("the crypto pool", () => {
  it("reads a vote leaf at the offsets the verifier checked (the worker's mirror of VOTE_LEAF_LAYOUT)", () => {
    const { ballotDomain, ...offsets } = LEAF_LAYOUT as typeof VOTE_LEAF_LAYOUT;
    const { ballotDomain: expectedDomain, ...expectedOffsets } = VOTE_LEAF_LAYOUT;
    expect(offsets).toEqual(expectedOffsets);
    expect(Buffer.from(ballotDomain).equals(Buffer.from(expectedDomain))).toBe(true);
  });

  const forger = generateEd25519KeyPair();
  const otherTallyKey = generateTallyKeyPair();
  // One log with a failure of every crypto-dependent kind, spread over many batches.
  const election = buildElectionLog({
    ballots: 300,
    plan: (plan) => {
      if (plan.seq === 33 || plan.seq === 250) return { ...plan, signingKey: forger.secretKey };
      if (plan.seq === 12) return { ...plan, sealedTo: otherTallyKey.publicKey };
      if (plan.seq === 55) return { ...plan, sealedFor: { ...plan.sealedFor, ballotId: randomUUID() } };
      if (plan.seq === 7) return { ...plan, candidateNumber: 9 };
      return plan;
    },
  });
  const tampered = (): LogEntry[] => {
    const entries = [...election.entries];
    const entry = entries[199] as LogEntry;
    const leaf = Uint8Array.from(entry.leaf);
    leaf[CIPHERTEXT_OFFSET + 3] = (leaf[CIPHERTEXT_OFFSET + 3] ?? 0) ^ 0x01;
    entries[199] = { seq: 200, leaf };
    return entries;
  };

  it("gives the same report as the in-process worker on a log with failures, named by seq", async () => {
    const stranger = ed25519NoteSigner(election.origin, generateEd25519KeyPair().secretKey);
    const checkpoints = [
      ...election.checkpoints,
      { note: election.checkpointAt(120, { signer: stranger }) },
      { note: election.checkpointAt(400, { rootHash: election.rootAt(300) }) },
    ];
    const inProcess = await verifyElectionLog(
      election.input({ entries: tampered(), checkpoints, batchSize: 16 }),
    );
    const pooled = await withCryptoPool(
      (pool) =>
        verifyElectionLog(
          election.input({
            entries: tampered(),
            checkpoints,
            batchSize: 16,
            batchesInFlight: pool.batchesInFlight,
            cryptoWorker: pool,
          }),
        ),
      { threads: 2 },
    );
    expect(pooled).toEqual(inProcess);
    expect(failuresOf(pooled)).toEqual([
      "ballot_undecryptable@seq 12",
      "signature_invalid@seq 33",
      "ballot_binding_mismatch@seq 55",
      "checkpoint_signature_invalid@size 120",
      "signature_invalid@seq 200",
      "prev_hash_mismatch@seq 201",
      "signature_invalid@seq 250",
      "checkpoint_root_mismatch@size 300",
      "checkpoint_beyond_log@size 400",
    ]);
    expect(pooled.counts?.invalid).toBe(6);
  });

  it("runs one thread per requested core and leaves none behind once closed", async () => {
    const pool = createCryptoPool({ threads: 2 });
    expect(pool.threads).toBe(2);
    const report = await verifyElectionLog(election.input({ cryptoWorker: pool, batchSize: 32 }));
    expect(report.entriesChecked).toBe(300);
    expect(pool.runningThreads()).toBe(2);
    await pool.close();
    await pool.close();
    expect(pool.runningThreads()).toBe(0);
    await expect(pool.verifyAndOpen({ tasks: [], tallySecretKey: null })).rejects.toThrow(
      "the crypto pool is closed",
    );
  });

  it("closes the pool even when the verification throws", async () => {
    let used: CryptoPool | undefined;
    async function* failing(): AsyncGenerator<LogEntry> {
      yield election.entries[0] as LogEntry;
      throw new Error("the database went away");
    }
    await expect(
      withCryptoPool((pool) => {
        used = pool;
        return verifyElectionLog(election.input({ entries: failing(), cryptoWorker: pool }));
      }),
    ).rejects.toThrow("the database went away");
    expect(used?.runningThreads()).toBe(0);
  });
});
