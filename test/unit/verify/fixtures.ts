// Builds a valid synthetic election log in memory for the verifier tests (not a test file itself): kiosks over
// two TPS, a tally key pair, ballots with known choices sealed and kiosk-signed with the server-side crypto,
// records chained by prev_hash, and checkpoints signed by a log key at several sizes. A `plan` hook lets a test
// build a log in which a malicious server or kiosk did something wrong *and* chained and checkpointed over it
// consistently, so that the one wrong thing is the only thing the verifier may report.

import { randomUUID } from "node:crypto";
import { canonicalBallotBytes, encodeBallotChoice } from "../../../src/crypto/ballot.js";
import { electionLogOrigin, signCheckpoint } from "../../../src/crypto/checkpoint.js";
import {
  type Ed25519KeyPair,
  generateEd25519KeyPair,
  kioskKeyId,
  signEd25519,
} from "../../../src/crypto/ed25519.js";
import { leafHash } from "../../../src/crypto/hash.js";
import { InMemoryMerkleTree } from "../../../src/crypto/merkle.js";
import {
  generateTallyKeyPair,
  sealBallotChoiceWithSodium,
  type TallyKeyPair,
} from "../../../src/crypto/sealed-ballot.js";
import { ed25519NoteSigner, type NoteSigner } from "../../../src/crypto/signed-note.js";
import { encodeVoteRecord, genesisPrevHash } from "../../../src/crypto/vote-record.js";
import type { ElectionCounts, LogEntry, VerifierInput } from "../../../src/verify/verifier.js";

export const SERVICE_ORIGIN = "suara.test";
export const CANDIDATE_NUMBERS = [1, 2, 3];

export interface TestKiosk {
  name: string;
  publicKey: Buffer;
  secretKey: Buffer;
  keyId: Buffer;
  tpsId: string;
}

/** How one ballot is made; the defaults describe an honest kiosk. */
export interface BallotPlan {
  seq: number;
  ballotId: string;
  tpsId: string;
  /** Whose key id goes into the record. */
  kiosk: TestKiosk;
  /** 0 = blank. */
  candidateNumber: number;
  /** What the sealed choice binds (the record's own election and ballot id when honest). */
  sealedFor: { electionId: string; ballotId: string };
  /** The key that signs; the kiosk's own when honest. */
  signingKey: Uint8Array;
  /** The X25519 key the choice is sealed to; the election's tally key when honest. */
  sealedTo: Uint8Array;
}

export interface BuildOptions {
  ballots?: number;
  /** Sizes at which the log key signs a checkpoint; sizes beyond the log are ignored. */
  checkpointSizes?: number[];
  /** Changes a ballot's plan before it is made; sees the plans made before it and the election's parties. */
  plan?: (plan: BallotPlan, earlier: readonly BallotPlan[], parties: BuildParties) => BallotPlan;
}

export interface BuildParties {
  electionId: string;
  tpsIds: [string, string];
  kiosks: [TestKiosk, TestKiosk, TestKiosk];
  stranger: TestKiosk;
}

export interface SyntheticElection {
  electionId: string;
  origin: string;
  tpsIds: [string, string];
  /** Enrolled: two at the first TPS, one at the second. */
  kiosks: [TestKiosk, TestKiosk, TestKiosk];
  /** A kiosk with a valid key that was never enrolled. */
  stranger: TestKiosk;
  logKey: Ed25519KeyPair;
  logSigner: NoteSigner;
  tallyKey: TallyKeyPair;
  plans: BallotPlan[];
  entries: LogEntry[];
  checkpoints: Array<{ note: string }>;
  /** The recount of the choices the builder cast, every ballot counted as cast (tests adjust for tampering). */
  expectedCounts: ElectionCounts;
  /** The Merkle root of the first `size` entries as built. */
  rootAt(size: number): Uint8Array;
  /** A checkpoint note for `size`, by default with the true root and the log key. */
  checkpointAt(
    size: number,
    options?: { rootHash?: Uint8Array; signer?: NoteSigner; origin?: string },
  ): string;
  /** A verifier input over the built log; each call returns fresh arrays that a test may change. */
  input(
    overrides?: Partial<Omit<VerifierInput, "checkpoints">> & { checkpoints?: Array<{ note: string }> },
  ): VerifierInput & { checkpoints: Array<{ note: string }> };
}

function makeKiosk(name: string, tpsId: string): TestKiosk {
  const pair = generateEd25519KeyPair();
  return { name, ...pair, keyId: kioskKeyId(pair.publicKey), tpsId };
}

/** An uneven, deterministic spread over the candidates and blank votes. */
export function choiceFor(seq: number): number {
  const pattern = [1, 2, 1, 3, 2, 1, 0, 1, 2, 3, 1];
  return pattern[(seq * 7 + Math.floor(seq / 13)) % pattern.length] ?? 1;
}

export function emptyCounts(tpsIds: readonly string[]): ElectionCounts {
  const perCandidate = (): Record<string, number> =>
    Object.fromEntries(CANDIDATE_NUMBERS.map((number) => [String(number), 0]));
  return {
    perCandidate: perCandidate(),
    blank: 0,
    invalid: 0,
    perTps: Object.fromEntries(
      tpsIds.map((id) => [id, { perCandidate: perCandidate(), blank: 0, invalid: 0, ballots: 0 }]),
    ),
    ballots: 0,
  };
}

/** Adds one ballot to counts the way a tally would: 0 blank, a listed number a vote, anything else invalid. */
export function countBallot(
  counts: ElectionCounts,
  tpsId: string,
  candidateNumber: number | "invalid",
): void {
  const tps = counts.perTps[tpsId];
  if (tps === undefined) throw new Error(`no TPS ${tpsId} in the expected counts`);
  counts.ballots++;
  tps.ballots++;
  if (candidateNumber === 0) {
    counts.blank++;
    tps.blank++;
  } else if (candidateNumber !== "invalid" && CANDIDATE_NUMBERS.includes(candidateNumber)) {
    const key = String(candidateNumber);
    counts.perCandidate[key] = (counts.perCandidate[key] ?? 0) + 1;
    tps.perCandidate[key] = (tps.perCandidate[key] ?? 0) + 1;
  } else {
    counts.invalid++;
    tps.invalid++;
  }
}

export function buildElectionLog(options: BuildOptions = {}): SyntheticElection {
  const ballots = options.ballots ?? 200;
  const electionId = randomUUID();
  const origin = electionLogOrigin(SERVICE_ORIGIN, electionId);
  const tpsIds: [string, string] = [randomUUID(), randomUUID()];
  const kiosks: [TestKiosk, TestKiosk, TestKiosk] = [
    makeKiosk("A1", tpsIds[0]),
    makeKiosk("B1", tpsIds[1]),
    makeKiosk("A2", tpsIds[0]),
  ];
  const stranger = makeKiosk("stranger", tpsIds[0]);
  const logKey = generateEd25519KeyPair();
  const logSigner = ed25519NoteSigner(origin, logKey.secretKey);
  const tallyKey = generateTallyKeyPair();

  const plans: BallotPlan[] = [];
  const entries: LogEntry[] = [];
  const tree = new InMemoryMerkleTree();
  const expectedCounts = emptyCounts(tpsIds);
  let prevHash: Uint8Array = genesisPrevHash();

  for (let seq = 1; seq <= ballots; seq++) {
    const kiosk = kiosks[seq % kiosks.length] as TestKiosk;
    const ballotId = randomUUID();
    const honest: BallotPlan = {
      seq,
      ballotId,
      tpsId: kiosk.tpsId,
      kiosk,
      candidateNumber: choiceFor(seq),
      sealedFor: { electionId, ballotId },
      signingKey: kiosk.secretKey,
      sealedTo: tallyKey.publicKey,
    };
    const plan = options.plan
      ? options.plan(honest, plans, { electionId, tpsIds, kiosks, stranger })
      : honest;
    plans.push(plan);
    if (tpsIds.includes(plan.tpsId)) countBallot(expectedCounts, plan.tpsId, plan.candidateNumber);

    const sealed = sealBallotChoiceWithSodium(
      encodeBallotChoice({ ...plan.sealedFor, candidateNumber: plan.candidateNumber }),
      plan.sealedTo,
    );
    const content = { electionId, ballotId: plan.ballotId, tpsId: plan.tpsId, ...sealed };
    const leaf = encodeVoteRecord({
      ...content,
      seq,
      kioskKeyId: plan.kiosk.keyId,
      kioskSignature: signEd25519(canonicalBallotBytes(content), plan.signingKey),
      prevHash,
    });
    prevHash = leafHash(leaf);
    tree.append(prevHash);
    entries.push({ seq, leaf });
  }

  const checkpointAt: SyntheticElection["checkpointAt"] = (size, overrides = {}) =>
    signCheckpoint(
      {
        origin: overrides.origin ?? origin,
        size,
        rootHash: overrides.rootHash ?? tree.root(size),
        extensions: [],
      },
      [overrides.signer ?? logSigner],
    );
  const sizes = [...new Set(options.checkpointSizes ?? [1, 50, 100, 150, ballots])].filter(
    (size) => size <= ballots,
  );
  const checkpoints = sizes.map((size) => ({ note: checkpointAt(size) }));

  return {
    electionId,
    origin,
    tpsIds,
    kiosks,
    stranger,
    logKey,
    logSigner,
    tallyKey,
    plans,
    entries,
    checkpoints,
    expectedCounts,
    rootAt: (size) => tree.root(size),
    checkpointAt,
    input: (overrides = {}) => ({
      electionId,
      origin,
      logPublicKeys: [logKey.publicKey],
      kiosks: kiosks.map((kiosk) => ({
        keyId: kiosk.keyId,
        publicKey: kiosk.publicKey,
        tpsId: kiosk.tpsId,
        revokedAtLogSize: null,
      })),
      tpsIds: [...tpsIds],
      entries: [...entries],
      checkpoints: [...checkpoints],
      tally: { secretKey: tallyKey.secretKey, candidateNumbers: [...CANDIDATE_NUMBERS] },
      ...overrides,
    }),
  };
}
