// Owns the one error type thrown by the crypto formats (records, ballots, notes, checkpoints, keys, tracking
// codes). Browser-safe: the kiosk bundle imports it too. Verification functions return booleans instead; an
// exception here always means "these bytes are not in the format", never "the signature is wrong".

export type CryptoFormatErrorCode =
  | "MALFORMED_BYTES"
  | "MALFORMED_RECORD"
  | "UNSUPPORTED_RECORD_VERSION"
  | "MALFORMED_BALLOT_CHOICE"
  | "MALFORMED_NOTE"
  | "MALFORMED_CHECKPOINT"
  | "MALFORMED_KEY"
  | "MALFORMED_TRACKING_CODE"
  | "MALFORMED_TREE_STATE"
  | "NOTE_NOT_VERIFIED"
  | "NOTE_SIGNATURE_INVALID"
  | "CHECKPOINT_ORIGIN_MISMATCH";

export class CryptoFormatError extends Error {
  override readonly name = "CryptoFormatError";

  constructor(
    readonly code: CryptoFormatErrorCode,
    message: string,
  ) {
    super(message);
  }

  toJSON(): { code: CryptoFormatErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}
