import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { electionLogOrigin } from "../../../src/crypto/checkpoint.js";
import { generateEd25519KeyPair } from "../../../src/crypto/ed25519.js";
import { generateTallyKeyPair } from "../../../src/crypto/sealed-ballot.js";
import { ed25519NoteSigner } from "../../../src/crypto/signed-note.js";
import { formatReport } from "../../../src/verify/report.js";
import {
  type CryptoWorker,
  type ElectionCounts,
  inProcessCryptoWorker,
  isLeafTask,
  type LogEntry,
  type VerificationReport,
  verifyElectionLog,
} from "../../../src/verify/verifier.js";
import { buildElectionLog, countBallot, SERVICE_ORIGIN, type SyntheticElection } from "./fixtures.js";

/** "kind@seq 12" or "kind@size 150": one string per failure, to compare whole reports exactly. */
function failuresOf(report: VerificationReport): string[] {
  return report.failures.map((failure) =>
    failure.seq !== null
      ? `${failure.kind}@seq ${failure.seq}`
      : failure.checkpointSize !== undefined
        ? `${failure.kind}@size ${failure.checkpointSize}`
        : failure.kind,
  );
}

function rootMismatches(...sizes: number[]): string[] {
  return sizes.map((size) => `checkpoint_root_mismatch@size ${size}`);
}

/** The builder's counts with the ballot at `seq` moved from what was cast to invalid. */
function withInvalid(election: SyntheticElection, counts: ElectionCounts, ...seqs: number[]): ElectionCounts {
  const out = structuredClone(counts);
  for (const seq of seqs) {
    const plan = election.plans[seq - 1];
    if (plan === undefined) throw new Error(`no ballot ${seq}`);
    uncount(out, plan.tpsId, plan.candidateNumber);
    countBallot(out, plan.tpsId, "invalid");
  }
  return out;
}

function uncount(counts: ElectionCounts, tpsId: string, candidateNumber: number): void {
  const tps = counts.perTps[tpsId];
  if (tps === undefined) throw new Error("unknown TPS");
  counts.ballots--;
  tps.ballots--;
  if (candidateNumber === 0) {
    counts.blank--;
    tps.blank--;
  } else {
    const key = String(candidateNumber);
    counts.perCandidate[key] = (counts.perCandidate[key] ?? 0) - 1;
    tps.perCandidate[key] = (tps.perCandidate[key] ?? 0) - 1;
  }
}

function flipByte(leaf: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(leaf);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

function entryAt(entries: readonly LogEntry[], seq: number): LogEntry {
  const entry = entries.find((candidate) => candidate.seq === seq);
  if (entry === undefined) throw new Error(`no entry ${seq}`);
  return entry;
}

/** Byte offset of the ciphertext in a v1 record: everything before it is fixed-size. */
const CIPHERTEXT_OFFSET = 21 + 16 + 8 + 16 + 16 + 32 + 32 + 24 + 4;

const shared = buildElectionLog({ ballots: 200 });

describe("the verifier, on an untouched log", () => {
  it("finds no failure in a valid log of 200 entries and recounts exactly the choices cast", async () => {
    const report = await verifyElectionLog(shared.input({ publishedCounts: shared.expectedCounts }));
    expect(failuresOf(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.entriesChecked).toBe(200);
    expect(report.treeSize).toBe(200);
    expect(report.rootHash).toBe(Buffer.from(shared.rootAt(200)).toString("base64"));
    expect(report.checkpointsChecked).toBe(5);
    expect(report.counts).toEqual(shared.expectedCounts);
    // The builder cast a real spread of votes, so equal counts mean something.
    expect(shared.expectedCounts.blank).toBeGreaterThan(0);
    for (const number of ["1", "2", "3"])
      expect(shared.expectedCounts.perCandidate[number]).toBeGreaterThan(0);
    const [tpsA, tpsB] = shared.tpsIds;
    expect(report.counts?.perTps[tpsA]?.ballots).toBe(133);
    expect(report.counts?.perTps[tpsB]?.ballots).toBe(67);
  });

  it("audits without a tally key and then reports no counts", async () => {
    const report = await verifyElectionLog(shared.input({ tally: undefined }));
    expect(report.ok).toBe(true);
    expect(report.counts).toBeUndefined();
  });

  it("accepts entries from an async stream and reports progress up to the last entry", async () => {
    const progress: number[] = [];
    async function* stream(): AsyncGenerator<LogEntry> {
      for (const entry of shared.entries) yield entry;
    }
    const report = await verifyElectionLog(
      shared.input({ entries: stream(), batchSize: 64, onProgress: (n) => progress.push(n) }),
    );
    expect(report.ok).toBe(true);
    expect(progress).toEqual([64, 128, 192, 200]);
  });

  it("gives the same report whatever the expected size hint, too small, exact or far too large", async () => {
    const reference = await verifyElectionLog(shared.input());
    for (const expectedEntries of [1, 200, 1_000_000, -5, Number.NaN]) {
      expect(await verifyElectionLog(shared.input({ expectedEntries }))).toEqual(reference);
    }
  });

  it("near the expected end hands out smaller batches, so the crypto threads run out of work together", async () => {
    const sizes: number[] = [];
    const counting: CryptoWorker = {
      verifyAndOpen(batch) {
        sizes.push(batch.tasks.filter((task) => isLeafTask(task)).length);
        return inProcessCryptoWorker.verifyAndOpen(batch);
      },
    };
    const long = buildElectionLog({ ballots: 2000, checkpointSizes: [2000] });
    const input = long.input({ cryptoWorker: counting, batchesInFlight: 4 });
    const report = await verifyElectionLog({ ...input, expectedEntries: 2000 });
    expect(report.ok).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2000);
    // Doubling from 64 towards 512, then never more than an even share of what is left per batch in flight,
    // down to 64 at the end.
    expect(sizes.slice(0, 4)).toEqual([64, 128, 256, 388]);
    for (let i = 4; i < sizes.length - 1; i++) expect(sizes[i]).toBeLessThanOrEqual(sizes[i - 1] as number);
    expect(sizes.at(-2)).toBe(64);
    // Without the hint, full batches to the end; the report is the same either way.
    sizes.length = 0;
    expect(await verifyElectionLog({ ...input, entries: [...long.entries] })).toEqual(report);
    expect(sizes).toEqual([64, 128, 256, 512, 512, 512, 16]);
  });

  it("accepts checkpoints signed by a retired log key listed beside the active one", async () => {
    const retired = generateEd25519KeyPair();
    const note = shared.checkpointAt(120, { signer: ed25519NoteSigner(shared.origin, retired.secretKey) });
    const input = shared.input();
    const report = await verifyElectionLog({
      ...input,
      logPublicKeys: [shared.logKey.publicKey, retired.publicKey],
      checkpoints: [...input.checkpoints, { note }],
    });
    expect(failuresOf(report)).toEqual([]);
    expect(report.checkpointsChecked).toBe(6);
  });
});

describe("the verifier, on a tampered log", () => {
  it("names the entry whose byte was changed, the broken chain after it and every later checkpoint", async () => {
    const input = shared.input();
    const entries = [...shared.entries];
    entries[59] = { seq: 60, leaf: flipByte(entryAt(shared.entries, 60).leaf, CIPHERTEXT_OFFSET + 5) };
    const report = await verifyElectionLog({ ...input, entries });
    expect(failuresOf(report)).toEqual([
      "signature_invalid@seq 60",
      "prev_hash_mismatch@seq 61",
      ...rootMismatches(100, 150, 200),
    ]);
    expect(report.ok).toBe(false);
    expect(report.counts).toEqual(withInvalid(shared, shared.expectedCounts, 60));
  });

  it("reports an entry that no longer decodes as malformed, and keeps checking the entries after it", async () => {
    const entries = [...shared.entries];
    entries[4] = { seq: 5, leaf: entryAt(shared.entries, 5).leaf.subarray(0, 300) };
    const report = await verifyElectionLog(shared.input({ entries }));
    expect(failuresOf(report)).toEqual([
      "malformed_record@seq 5",
      "prev_hash_mismatch@seq 6",
      ...rootMismatches(50, 100, 150, 200),
    ]);
    // A malformed entry is no ballot at all; every other ballot still counts.
    const expected = structuredClone(shared.expectedCounts);
    const plan = shared.plans[4];
    if (plan === undefined) throw new Error("no plan");
    uncount(expected, plan.tpsId, plan.candidateNumber);
    expect(report.counts).toEqual(expected);
  });

  it("names the gap left by a deleted entry, and the checkpoint that now lies beyond the log", async () => {
    const entries = shared.entries.filter((entry) => entry.seq !== 100);
    const report = await verifyElectionLog(shared.input({ entries }));
    expect(failuresOf(report)).toEqual([
      "seq_gap@seq 101",
      "prev_hash_mismatch@seq 101",
      ...rootMismatches(100, 150),
      "checkpoint_beyond_log@size 200",
    ]);
    expect(report.treeSize).toBe(199);
  });

  it("names two entries swapped in the stored order", async () => {
    const entries = [...shared.entries];
    [entries[9], entries[10]] = [entryAt(shared.entries, 11), entryAt(shared.entries, 10)];
    const report = await verifyElectionLog(shared.input({ entries }));
    expect(failuresOf(report)).toEqual([
      "seq_gap@seq 11",
      "prev_hash_mismatch@seq 11",
      "seq_out_of_order@seq 10",
      "prev_hash_mismatch@seq 10",
      "prev_hash_mismatch@seq 12",
      ...rootMismatches(50, 100, 150, 200),
    ]);
  });

  it("names two entries whose contents were swapped under their stored seq numbers", async () => {
    const entries = [...shared.entries];
    entries[9] = { seq: 10, leaf: entryAt(shared.entries, 11).leaf };
    entries[10] = { seq: 11, leaf: entryAt(shared.entries, 10).leaf };
    const report = await verifyElectionLog(shared.input({ entries }));
    expect(failuresOf(report)).toEqual([
      "seq_out_of_order@seq 10",
      "prev_hash_mismatch@seq 10",
      "seq_out_of_order@seq 11",
      "prev_hash_mismatch@seq 11",
      "prev_hash_mismatch@seq 12",
      ...rootMismatches(50, 100, 150, 200),
    ]);
  });

  it("names an entry whose kiosk signature was forged, even when chained and checkpointed over", async () => {
    const forger = generateEd25519KeyPair();
    const election = buildElectionLog({
      plan: (plan) => (plan.seq === 33 ? { ...plan, signingKey: forger.secretKey } : plan),
    });
    const report = await verifyElectionLog(election.input());
    expect(failuresOf(report)).toEqual(["signature_invalid@seq 33"]);
    expect(report.counts).toEqual(withInvalid(election, election.expectedCounts, 33));
  });

  it("rejects every entry a revoked kiosk signed after its revocation size, and only those", async () => {
    const input = shared.input();
    const revoked = shared.kiosks[1];
    input.kiosks = input.kiosks.map((kiosk) =>
      kiosk.publicKey === revoked.publicKey ? { ...kiosk, revokedAtLogSize: 120 } : kiosk,
    );
    const report = await verifyElectionLog(input);
    const afterRevocation = shared.plans.filter((plan) => plan.kiosk === revoked && plan.seq > 120);
    expect(afterRevocation.length).toBe(27);
    expect(failuresOf(report)).toEqual(afterRevocation.map((plan) => `kiosk_revoked@seq ${plan.seq}`));
    expect(report.counts).toEqual(
      withInvalid(shared, shared.expectedCounts, ...afterRevocation.map((plan) => plan.seq)),
    );
  });

  it("rejects an entry signed by a kiosk enrolled for another TPS", async () => {
    const election = buildElectionLog({
      plan: (plan, _, { tpsIds }) =>
        plan.seq === 42 ? { ...plan, tpsId: tpsIds.find((id) => id !== plan.kiosk.tpsId) ?? "" } : plan,
    });
    const report = await verifyElectionLog(election.input());
    expect(failuresOf(report)).toEqual(["kiosk_wrong_tps@seq 42"]);
  });

  it("rejects an entry signed by a kiosk that was never enrolled", async () => {
    const election = buildElectionLog({
      plan: (plan, _, { stranger }) =>
        plan.seq === 77 ? { ...plan, kiosk: stranger, signingKey: stranger.secretKey } : plan,
    });
    const report = await verifyElectionLog(election.input());
    expect(failuresOf(report)).toEqual(["unknown_kiosk@seq 77"]);
    expect(report.counts).toEqual(withInvalid(election, election.expectedCounts, 77));
  });

  it("rejects an entry naming a TPS that is not the election's, and counts it there as invalid", async () => {
    const strangeTps = randomUUID();
    const election = buildElectionLog({
      plan: (plan) => (plan.seq === 64 ? { ...plan, tpsId: strangeTps } : plan),
    });
    const report = await verifyElectionLog(election.input());
    expect(failuresOf(report)).toEqual(["unknown_tps@seq 64", "kiosk_wrong_tps@seq 64"]);
    expect(report.counts?.perTps[strangeTps]).toEqual({
      perCandidate: { "1": 0, "2": 0, "3": 0 },
      blank: 0,
      invalid: 1,
      ballots: 1,
    });
    expect(report.counts?.ballots).toBe(200);
  });

  it("rejects the second entry carrying a ballot_id already in the log, keeping the first", async () => {
    const election = buildElectionLog({
      plan: (plan, earlier) => {
        if (plan.seq !== 90) return plan;
        const ballotId = earlier[29]?.ballotId ?? "";
        return { ...plan, ballotId, sealedFor: { ...plan.sealedFor, ballotId } };
      },
    });
    const report = await verifyElectionLog(election.input());
    expect(failuresOf(report)).toEqual(["duplicate_ballot_id@seq 90"]);
    expect(report.counts).toEqual(withInvalid(election, election.expectedCounts, 90));
  });

  it("counts a ballot sealed for another election or another ballot as invalid (binding mismatch)", async () => {
    const election = buildElectionLog({
      plan: (plan) => {
        if (plan.seq === 55) return { ...plan, sealedFor: { ...plan.sealedFor, electionId: randomUUID() } };
        if (plan.seq === 56) return { ...plan, sealedFor: { ...plan.sealedFor, ballotId: randomUUID() } };
        return plan;
      },
    });
    const report = await verifyElectionLog(election.input());
    expect(failuresOf(report)).toEqual(["ballot_binding_mismatch@seq 55", "ballot_binding_mismatch@seq 56"]);
    expect(report.counts).toEqual(withInvalid(election, election.expectedCounts, 55, 56));
    expect(report.counts?.invalid).toBe(2);
  });

  it("counts a ballot that does not open with the tally key as invalid (undecryptable)", async () => {
    const otherTallyKey = generateTallyKeyPair();
    const election = buildElectionLog({
      plan: (plan) => (plan.seq === 12 ? { ...plan, sealedTo: otherTallyKey.publicKey } : plan),
    });
    const report = await verifyElectionLog(election.input());
    expect(failuresOf(report)).toEqual(["ballot_undecryptable@seq 12"]);
    expect(report.counts).toEqual(withInvalid(election, election.expectedCounts, 12));
  });

  it("counts a candidate number outside the ballot as invalid without calling the log broken", async () => {
    const election = buildElectionLog({
      plan: (plan) => (plan.seq === 7 ? { ...plan, candidateNumber: 9 } : plan),
    });
    const report = await verifyElectionLog(election.input());
    expect(report.ok).toBe(true);
    expect(report.counts?.invalid).toBe(1);
    expect(report.counts).toEqual(election.expectedCounts);
  });
});

describe("the verifier, on tampered checkpoints", () => {
  it("rejects a checkpoint signed by a key that is not a log key", async () => {
    const stranger = ed25519NoteSigner(shared.origin, generateEd25519KeyPair().secretKey);
    const input = shared.input();
    input.checkpoints.push({ note: shared.checkpointAt(120, { signer: stranger }) });
    const report = await verifyElectionLog(input);
    expect(failuresOf(report)).toEqual(["checkpoint_signature_invalid@size 120"]);
    expect(report.checkpointsChecked).toBe(5);
  });

  it("rejects a checkpoint of another election's log, even under the same service key", async () => {
    const otherOrigin = electionLogOrigin(SERVICE_ORIGIN, randomUUID());
    const input = shared.input();
    input.checkpoints.push({
      note: shared.checkpointAt(120, {
        origin: otherOrigin,
        signer: ed25519NoteSigner(otherOrigin, shared.logKey.secretKey),
      }),
    });
    const report = await verifyElectionLog(input);
    expect(failuresOf(report)).toEqual(["checkpoint_wrong_origin@size 120"]);
  });

  it("rejects a checkpoint that is not a signed note", async () => {
    const input = shared.input();
    input.checkpoints.push({ note: "not a checkpoint\n" });
    const report = await verifyElectionLog(input);
    expect(failuresOf(report)).toEqual(["checkpoint_malformed"]);
  });

  it("names a validly signed checkpoint whose root disagrees with the entries", async () => {
    const input = shared.input();
    // A split view: the log key signed a root for size 120 that these entries do not have.
    input.checkpoints.push({ note: shared.checkpointAt(120, { rootHash: shared.rootAt(119) }) });
    const report = await verifyElectionLog(input);
    expect(failuresOf(report)).toEqual(rootMismatches(120));
  });

  it("names two signed checkpoints of one size with different roots", async () => {
    const input = shared.input();
    input.checkpoints.push({ note: shared.checkpointAt(100, { rootHash: shared.rootAt(99) }) });
    const report = await verifyElectionLog(input);
    expect(failuresOf(report)).toEqual(["checkpoints_inconsistent@size 100", ...rootMismatches(100)]);
  });

  it("names a checkpoint beyond the end of the log", async () => {
    const input = shared.input();
    input.checkpoints.push({ note: shared.checkpointAt(250, { rootHash: shared.rootAt(200) }) });
    const report = await verifyElectionLog(input);
    expect(failuresOf(report)).toEqual(["checkpoint_beyond_log@size 250"]);
  });
});

describe("the verifier, on published counts", () => {
  it("reports published counts with one vote moved between candidates, naming the differences", async () => {
    const published = structuredClone(shared.expectedCounts);
    const [tpsA] = shared.tpsIds;
    const tps = published.perTps[tpsA];
    if (tps === undefined) throw new Error("no TPS");
    for (const counts of [published.perCandidate, tps.perCandidate]) {
      counts["1"] = (counts["1"] ?? 0) - 1;
      counts["2"] = (counts["2"] ?? 0) + 1;
    }
    const report = await verifyElectionLog(shared.input({ publishedCounts: published }));
    expect(failuresOf(report)).toEqual(["counts_mismatch"]);
    const message = report.failures[0]?.message ?? "";
    const recounted = shared.expectedCounts.perCandidate;
    expect(message).toContain(
      `candidate 1: published ${(recounted["1"] ?? 0) - 1}, recounted ${recounted["1"]}`,
    );
    expect(message).toContain(
      `candidate 2: published ${(recounted["2"] ?? 0) + 1}, recounted ${recounted["2"]}`,
    );
    expect(message).toContain(`TPS ${tpsA} candidate 1`);
    expect(report.counts).toEqual(shared.expectedCounts);
  });
});

describe("the verifier's report", () => {
  it("lists every tampering at once, not just the first", async () => {
    const forger = generateEd25519KeyPair();
    const election = buildElectionLog({
      plan: (plan, earlier, { stranger }) => {
        if (plan.seq === 20) return { ...plan, signingKey: forger.secretKey };
        if (plan.seq === 70) return { ...plan, kiosk: stranger, signingKey: stranger.secretKey };
        if (plan.seq === 90) {
          const ballotId = earlier[29]?.ballotId ?? "";
          return { ...plan, ballotId, sealedFor: { ...plan.sealedFor, ballotId } };
        }
        return plan;
      },
    });
    const input = election.input();
    const entries = input.entries as LogEntry[];
    entries[139] = { seq: 140, leaf: flipByte(entryAt(election.entries, 140).leaf, CIPHERTEXT_OFFSET) };
    const stranger = ed25519NoteSigner(election.origin, generateEd25519KeyPair().secretKey);
    input.checkpoints.push({ note: election.checkpointAt(175, { signer: stranger }) });
    const published = structuredClone(election.expectedCounts);
    const report = await verifyElectionLog({ ...input, entries, publishedCounts: published });
    // In log order: a checkpoint's failures come where the log reaches its size.
    expect(failuresOf(report)).toEqual([
      "signature_invalid@seq 20",
      "unknown_kiosk@seq 70",
      "duplicate_ballot_id@seq 90",
      "signature_invalid@seq 140",
      "prev_hash_mismatch@seq 141",
      ...rootMismatches(150),
      "checkpoint_signature_invalid@size 175",
      ...rootMismatches(200),
      "counts_mismatch",
    ]);
    expect(report.counts).toEqual(withInvalid(election, election.expectedCounts, 20, 70, 90, 140));

    const text = formatReport(report);
    expect(text.split("\n")[0]).toBe("Suara vote log verification: FAILED");
    expect(text).toContain("Invalid kiosk signatures [signature_invalid]: 2\n  at seq 20, 140\n");
    expect(text).toContain("  - seq 70: kiosk key");
    expect(text).toContain("[checkpoint_root_mismatch]: 2\n  at checkpoint size 150, 200\n");
    expect(text).toMatch(/\nTotal +\d+ +\d+ +\d+ +\d+ +4 +200\n$/);
  });

  it("keeps the first failures up to the cap and says that more were found", async () => {
    const input = shared.input({ maxFailures: 5 });
    input.kiosks = input.kiosks.map((kiosk) => ({ ...kiosk, revokedAtLogSize: 0 }));
    const report = await verifyElectionLog(input);
    expect(report.ok).toBe(false);
    expect(report.failuresTruncated).toBe(true);
    expect(failuresOf(report)).toEqual([1, 2, 3, 4, 5].map((seq) => `kiosk_revoked@seq ${seq}`));
    expect(formatReport(report)).toContain("Failures: 5 shown; more were found and not listed");
  });

  it("reads OK with the counts table for a valid log", async () => {
    const text = formatReport(await verifyElectionLog(shared.input()));
    expect(text.split("\n")[0]).toBe("Suara vote log verification: OK");
    expect(text).toContain("Failures: none");
    expect(text).toContain(`Merkle root:          ${Buffer.from(shared.rootAt(200)).toString("base64")}`);
    const [tpsA, tpsB] = shared.tpsIds;
    expect(text).toContain(`TPS ${tpsA}`);
    expect(text).toContain(`TPS ${tpsB}`);
    expect(text).toMatch(/\nTotal +\d+ +\d+ +\d+ +\d+ +0 +200\n$/);
  });
});

describe("the verifier, on checkpoints given as a stream", () => {
  async function* streamOf<T>(items: readonly T[]): AsyncGenerator<T> {
    for (const item of items) yield item;
  }

  it("gives the same report for checkpoints streamed in ascending size as for the same array", async () => {
    const input = shared.input();
    const stranger = ed25519NoteSigner(shared.origin, generateEd25519KeyPair().secretKey);
    const notes = [
      { note: shared.checkpointAt(0) },
      ...input.checkpoints.slice(0, 2),
      { note: "not a checkpoint\n" },
      { note: shared.checkpointAt(60, { signer: stranger }) },
      { note: shared.checkpointAt(100, { rootHash: shared.rootAt(99) }) },
      ...input.checkpoints.slice(2),
      { note: shared.checkpointAt(250, { rootHash: shared.rootAt(200) }) },
      { note: shared.checkpointAt(300, { signer: stranger, rootHash: shared.rootAt(200) }) },
    ];
    const fromArray = await verifyElectionLog({ ...input, checkpoints: [...notes] });
    const fromStream = await verifyElectionLog({ ...input, checkpoints: streamOf(notes), batchSize: 16 });
    expect(fromStream).toEqual(fromArray);
    expect(failuresOf(fromStream)).toEqual([
      "checkpoint_malformed",
      "checkpoint_signature_invalid@size 60",
      "checkpoints_inconsistent@size 100",
      ...rootMismatches(100),
      "checkpoint_beyond_log@size 250",
      "checkpoint_signature_invalid@size 300",
    ]);
    // Sizes 0, 1, 50, 100 (twice), 150, 200 and 250 are validly signed.
    expect(fromStream.checkpointsChecked).toBe(8);
  });

  it("refuses a checkpoint stream that goes back in size, rather than skip a root it can no longer check", async () => {
    const input = shared.input();
    const backwards = [...input.checkpoints].reverse();
    await expect(verifyElectionLog({ ...input, checkpoints: streamOf(backwards) })).rejects.toThrow(
      "checkpoints must be given in ascending tree size",
    );
  });
});

describe("the verifier's crypto batches", () => {
  it("applies results in log order even when a worker finishes later batches first", async () => {
    const forger = generateEd25519KeyPair();
    const election = buildElectionLog({
      plan: (plan) => (plan.seq === 3 || plan.seq === 190 ? { ...plan, signingKey: forger.secretKey } : plan),
    });
    let call = 0;
    const slowFirstBatch: CryptoWorker = {
      async verifyAndOpen(batch) {
        const delay = call++ === 0 ? 50 : 0;
        await new Promise((resolve) => setTimeout(resolve, delay));
        return inProcessCryptoWorker.verifyAndOpen(batch);
      },
    };
    const report = await verifyElectionLog(
      election.input({ cryptoWorker: slowFirstBatch, batchSize: 16, batchesInFlight: 8 }),
    );
    expect(call).toBe(13);
    expect(failuresOf(report)).toEqual(["signature_invalid@seq 3", "signature_invalid@seq 190"]);
    expect(report.counts).toEqual(withInvalid(election, election.expectedCounts, 3, 190));
  });
});

describe("the verifier's memory", () => {
  it("streams 20,000 entries with modest heap growth", { timeout: 120_000 }, async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const election = buildElectionLog({ ballots: 20_000, checkpointSizes: [1_000, 10_000, 20_000] });
    const entries = election.entries;
    election.entries = [];
    async function* stream(): AsyncGenerator<LogEntry> {
      // Copies, as a database driver would hand out: nothing the verifier keeps is already on the heap.
      for (const entry of entries) yield { seq: entry.seq, leaf: Uint8Array.from(entry.leaf) };
    }
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = 0;
    let calls = 0;
    const report = await verifyElectionLog(
      election.input({
        entries: stream(),
        onProgress: () => {
          if (++calls % 8 !== 0) return;
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
        },
      }),
    );
    expect(failuresOf(report)).toEqual([]);
    expect(report.entriesChecked).toBe(20_000);
    expect(report.counts).toEqual(election.expectedCounts);
    // Live heap, not garbage: retaining the decoded entries would be tens of megabytes.
    expect(peak).toBeLessThan(8 * 1024 * 1024);
  });
});
