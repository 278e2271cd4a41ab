// Owns what a kiosk commits to: the sealed-choice plaintext and the canonical ballot bytes it signs.
// Browser-safe (Uint8Array only) because the kiosk builds exactly these bytes; the server rebuilds them from a
// vote record to check the kiosk signature. Layouts are specified in docs/record-format.md.

import { ByteReader, ByteWriter, bytesEqual, bytesToUuid, utf8, uuidToBytes } from "./bytes.js";
import { CryptoFormatError } from "./errors.js";

export const BALLOT_DOMAIN = "suara/ballot/v1\n";
export const BALLOT_CHOICE_DOMAIN = "suara/choice/v1\n";

export const EPHEMERAL_PUBLIC_KEY_BYTES = 32;
export const BOX_NONCE_BYTES = 24;
export const BOX_MAC_BYTES = 16;
/** Every choice encodes to the same length, so ciphertext length reveals nothing about the vote. */
export const BALLOT_CHOICE_BYTES = 16 + 16 + 16 + 1;
export const SEALED_BALLOT_CHOICE_BYTES = BALLOT_CHOICE_BYTES + BOX_MAC_BYTES;
/** Upper bound on any ciphertext in the format; leaves room for later choice layouts. */
export const MAX_CIPHERTEXT_BYTES = 4096;

/** The output of sealing: NaCl box under a fresh ephemeral X25519 key pair. */
export type SealedBallot = {
  readonly ephemeralPublicKey: Uint8Array;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
};

/** Everything the kiosk knows when it signs: ids are UUID strings. */
export type BallotContent = SealedBallot & {
  readonly electionId: string;
  readonly ballotId: string;
  readonly tpsId: string;
};

/**
 * The plaintext inside the box. Binding election and ballot id lets the tally check that a decrypted choice
 * belongs to the record it was found in, so a ciphertext copied into another record is detected.
 */
export type BallotChoice = {
  readonly electionId: string;
  readonly ballotId: string;
  /** The candidate's ballot number (nomor urut) 1..255, or 0 for a blank vote (SPEC §4); the election bounds it further. */
  readonly candidateNumber: number;
};

/** "suara/ballot/v1\n" ‖ election ‖ ballot ‖ tps ‖ ephemeral pk ‖ nonce ‖ u32 len ‖ ciphertext. */
export function canonicalBallotBytes(ballot: BallotContent): Uint8Array {
  return new ByteWriter()
    .bytes(utf8(BALLOT_DOMAIN))
    .bytes(uuidToBytes(ballot.electionId))
    .bytes(uuidToBytes(ballot.ballotId))
    .bytes(uuidToBytes(ballot.tpsId))
    .fixed(ballot.ephemeralPublicKey, EPHEMERAL_PUBLIC_KEY_BYTES, "ephemeral public key")
    .fixed(ballot.nonce, BOX_NONCE_BYTES, "nonce")
    .lengthPrefixed(checkedCiphertext(ballot.ciphertext))
    .finish();
}

/** A box is at least its MAC; the upper bound keeps a decoder from trusting a huge length prefix. */
export function checkedCiphertext(ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length < BOX_MAC_BYTES || ciphertext.length > MAX_CIPHERTEXT_BYTES) {
    throw new CryptoFormatError(
      "MALFORMED_BYTES",
      `ciphertext must be ${BOX_MAC_BYTES}..${MAX_CIPHERTEXT_BYTES} bytes`,
    );
  }
  return ciphertext;
}

/** "suara/choice/v1\n" ‖ election ‖ ballot ‖ u8 candidate number: always 49 bytes. */
export function encodeBallotChoice(choice: BallotChoice): Uint8Array {
  if (
    !Number.isInteger(choice.candidateNumber) ||
    choice.candidateNumber < 0 ||
    choice.candidateNumber > 255
  ) {
    throw new CryptoFormatError("MALFORMED_BALLOT_CHOICE", "candidate number must be 0 (blank) or 1..255");
  }
  return new ByteWriter()
    .bytes(utf8(BALLOT_CHOICE_DOMAIN))
    .bytes(uuidToBytes(choice.electionId))
    .bytes(uuidToBytes(choice.ballotId))
    .uint8(choice.candidateNumber)
    .finish();
}

export function decodeBallotChoice(plaintext: Uint8Array): BallotChoice {
  const domain = utf8(BALLOT_CHOICE_DOMAIN);
  if (plaintext.length !== BALLOT_CHOICE_BYTES || !bytesEqual(plaintext.subarray(0, domain.length), domain)) {
    throw new CryptoFormatError("MALFORMED_BALLOT_CHOICE", "not a v1 ballot choice");
  }
  const reader = new ByteReader(plaintext.subarray(domain.length), "ballot choice");
  const electionId = bytesToUuid(reader.fixed(16));
  const ballotId = bytesToUuid(reader.fixed(16));
  const candidateNumber = reader.uint8();
  reader.end();
  return { electionId, ballotId, candidateNumber };
}
