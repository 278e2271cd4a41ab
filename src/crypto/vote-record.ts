// Owns the canonical bytes of a vote-log entry (SPEC §6): the exact leaf that is hashed into the Merkle tree.
// One encoding only — fixed-width big-endian integers, fixed-size fields, a length prefix on the one variable
// field — so that equal records have equal bytes and a strict decoder can refuse everything else.
// Browser-safe (Uint8Array only); the layout is specified in docs/record-format.md.

import {
  type BallotContent,
  BOX_MAC_BYTES,
  BOX_NONCE_BYTES,
  checkedCiphertext,
  EPHEMERAL_PUBLIC_KEY_BYTES,
  MAX_CIPHERTEXT_BYTES,
} from "./ballot.js";
import { ByteReader, ByteWriter, bytesEqual, bytesToUuid, utf8, uuidToBytes } from "./bytes.js";
import { CryptoFormatError } from "./errors.js";

export const VOTE_RECORD_DOMAIN = "suara/vote-record/v1\n";
/** Any version's first line, so a decoder can tell "another version" from "not a vote record at all". */
const ANY_VERSION_LINE = /^suara\/vote-record\/v[0-9]{1,6}\n/;

export const KIOSK_KEY_ID_BYTES = 32;
export const KIOSK_SIGNATURE_BYTES = 64;
export const PREV_HASH_BYTES = 32;

export type VoteRecord = BallotContent & {
  /** 1, 2, 3, … without gaps within one election's log. */
  readonly seq: number;
  /** SHA-256("suara/kiosk-key-id/v1\n" ‖ kiosk public key), see ed25519.ts kioskKeyId. */
  readonly kioskKeyId: Uint8Array;
  /** Ed25519 signature by the kiosk over canonicalBallotBytes of the same record's ballot fields. */
  readonly kioskSignature: Uint8Array;
  /** Leaf hash of entry seq − 1; 32 zero bytes for seq 1. */
  readonly prevHash: Uint8Array;
};

/** prev_hash of the first entry. */
export function genesisPrevHash(): Uint8Array {
  return new Uint8Array(PREV_HASH_BYTES);
}

/**
 * "suara/vote-record/v1\n" ‖ election ‖ u64 seq ‖ ballot ‖ tps ‖ kiosk key id ‖ ephemeral pk ‖ nonce ‖
 * u32 len ‖ ciphertext ‖ kiosk signature ‖ prev hash.
 */
export function encodeVoteRecord(record: VoteRecord): Uint8Array {
  if (!Number.isSafeInteger(record.seq) || record.seq < 1) {
    throw new CryptoFormatError("MALFORMED_RECORD", "seq starts at 1");
  }
  return new ByteWriter()
    .bytes(utf8(VOTE_RECORD_DOMAIN))
    .bytes(uuidToBytes(record.electionId))
    .uint64(record.seq)
    .bytes(uuidToBytes(record.ballotId))
    .bytes(uuidToBytes(record.tpsId))
    .fixed(record.kioskKeyId, KIOSK_KEY_ID_BYTES, "kiosk key id")
    .fixed(record.ephemeralPublicKey, EPHEMERAL_PUBLIC_KEY_BYTES, "ephemeral public key")
    .fixed(record.nonce, BOX_NONCE_BYTES, "nonce")
    .lengthPrefixed(checkedCiphertext(record.ciphertext))
    .fixed(record.kioskSignature, KIOSK_SIGNATURE_BYTES, "kiosk signature")
    .fixed(record.prevHash, PREV_HASH_BYTES, "prev hash")
    .finish();
}

/** Strict inverse of encodeVoteRecord: another version, truncation, trailing bytes and bad lengths all throw. */
export function decodeVoteRecord(bytes: Uint8Array): VoteRecord {
  const domain = utf8(VOTE_RECORD_DOMAIN);
  if (!bytesEqual(bytes.subarray(0, domain.length), domain)) {
    const head = String.fromCharCode(...bytes.subarray(0, domain.length + 8));
    if (ANY_VERSION_LINE.test(head)) {
      throw new CryptoFormatError("UNSUPPORTED_RECORD_VERSION", "not a v1 vote record");
    }
    throw new CryptoFormatError("MALFORMED_RECORD", "not a vote record");
  }
  try {
    return readRecordFields(new ByteReader(bytes.subarray(domain.length), "vote record"));
  } catch (error) {
    if (error instanceof CryptoFormatError && error.code === "MALFORMED_BYTES") {
      throw new CryptoFormatError("MALFORMED_RECORD", error.message);
    }
    throw error;
  }
}

function readRecordFields(reader: ByteReader): VoteRecord {
  const electionId = bytesToUuid(reader.fixed(16));
  const seq = reader.uint64();
  if (seq < 1) throw new CryptoFormatError("MALFORMED_RECORD", "seq starts at 1");
  const record: VoteRecord = {
    electionId,
    seq,
    ballotId: bytesToUuid(reader.fixed(16)),
    tpsId: bytesToUuid(reader.fixed(16)),
    kioskKeyId: reader.fixed(KIOSK_KEY_ID_BYTES),
    ephemeralPublicKey: reader.fixed(EPHEMERAL_PUBLIC_KEY_BYTES),
    nonce: reader.fixed(BOX_NONCE_BYTES),
    ciphertext: reader.lengthPrefixed(BOX_MAC_BYTES, MAX_CIPHERTEXT_BYTES),
    kioskSignature: reader.fixed(KIOSK_SIGNATURE_BYTES),
    prevHash: reader.fixed(PREV_HASH_BYTES),
  };
  reader.end();
  return record;
}

/** The fields the kiosk signed, to rebuild canonicalBallotBytes when checking the kiosk signature. */
export function ballotContentOf(record: VoteRecord): BallotContent {
  const { electionId, ballotId, tpsId, ephemeralPublicKey, nonce, ciphertext } = record;
  return { electionId, ballotId, tpsId, ephemeralPublicKey, nonce, ciphertext };
}
