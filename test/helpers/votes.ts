// Sealed, kiosk-signed ballots for tests that exercise the log without the polling-day flow. Built with the
// server-side libsodium primitives for speed; the kiosk library's own bytes are cross-tested in test/unit/crypto.
import { canonicalBallotBytes, encodeBallotChoice } from "../../src/crypto/ballot.js";
import { generateEd25519KeyPair, kioskKeyId, signEd25519 } from "../../src/crypto/ed25519.js";
import { newId } from "../../src/crypto/random.js";
import { generateTallyKeyPair, sealBallotChoiceWithSodium } from "../../src/crypto/sealed-ballot.js";
import type { VoteToAppend } from "../../src/modules/log/log.service.js";

export interface TestKiosk {
  publicKey: Buffer;
  secretKey: Buffer;
  keyId: Buffer;
}

export function makeKiosk(): TestKiosk {
  const pair = generateEd25519KeyPair();
  return { ...pair, keyId: kioskKeyId(pair.publicKey) };
}

export const testTallyKey = generateTallyKeyPair();

export function makeVote(electionId: string, tpsId: string, kiosk: TestKiosk, candidate = 1): VoteToAppend {
  const ballotId = newId();
  const sealed = sealBallotChoiceWithSodium(
    encodeBallotChoice({ electionId, ballotId, candidateNumber: candidate }),
    testTallyKey.publicKey,
  );
  const content = { electionId, ballotId, tpsId, ...sealed };
  return {
    ballotId,
    tpsId,
    kioskKeyId: kiosk.keyId,
    ephemeralPublicKey: sealed.ephemeralPublicKey,
    nonce: sealed.nonce,
    ciphertext: sealed.ciphertext,
    kioskSignature: signEd25519(canonicalBallotBytes(content), kiosk.secretKey),
  };
}
