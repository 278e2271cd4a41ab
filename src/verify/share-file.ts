// Owns the share file (SPEC §7, §9): what a tally-key holder gives the offline verifier so that k of them can
// recount a record. A holder makes it on their own device from the sealed share the service handed them once
// and their own X25519 secret key (scripts/holder-share.ts); the file holds their opened Shamir share, so it is
// a secret to be kept like the holder key itself. Format: docs/record-format.md, appendix B.
//
// Rebuilding the key refuses, with one message and nothing of the shares or of any key in it, whenever the
// shares are fewer than k, belong to another election's key, repeat, or do not rebuild the record's tally
// public key (a wrong or corrupted share).
import { z } from "zod";
import { x25519PublicKeyOf } from "../crypto/sealed-ballot.js";
import { openSealedShare, recombineTallySecret, wipe } from "../crypto/tally-key.js";

export const SHARE_FORMAT = "suara-tally-share/v1";

/** A Shamir share of the 32-byte tally secret: 32 bytes of y and one byte of x (its index, 1..255). */
const SHARE_BYTES = 33;

const base64 = (bytes: number) =>
  z.string().refine((text) => {
    const decoded = Buffer.from(text, "base64");
    return decoded.toString("base64") === text && decoded.length === bytes;
  }, `canonical base64 of ${bytes} bytes`);

const shareFileSchema = z.strictObject({
  format: z.literal(SHARE_FORMAT),
  /** The election's tally public key (base64): which key this share rebuilds. */
  tally_public_key: base64(32),
  threshold: z.number().int().min(2).max(255),
  holders: z.number().int().min(2).max(255),
  share_index: z.number().int().min(1).max(255),
  /** The opened share (base64 of 33 bytes). Secret. */
  share: base64(SHARE_BYTES),
});

export type ShareFile = z.infer<typeof shareFileSchema>;

/** What the ceremony route hands a holder once (POST /elections/{id}/ceremony/share). */
const sealedShareSchema = z.object({
  share_index: z.number().int().min(1).max(255),
  sealed_share: z.string(),
  threshold: z.number().int().min(2).max(255),
  holders: z.number().int().min(2).max(255),
  tally_public_key: base64(32),
});

/** A refusal to use shares; its message never holds a share or a key. */
export class ShareError extends Error {}

/** Reads one share file's text; `name` is how the file is called in messages. */
export function readShareFile(text: string, name: string): ShareFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ShareError(`${name} is not a share file (not JSON)`);
  }
  const parsed = shareFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ShareError(
      `${name} is not a ${SHARE_FORMAT} file (${issue?.path.join(".") || "format"}: ${issue?.message})`,
    );
  }
  return parsed.data;
}

/**
 * The holder's side: opens the sealed share with the holder's X25519 secret key and writes the share file.
 * Refuses when the share was not sealed to this key or does not carry its own index.
 */
export function shareFileFromSealed(sealedResponse: unknown, holderSecretKey: Uint8Array): ShareFile {
  const parsed = sealedShareSchema.safeParse(sealedResponse);
  if (!parsed.success)
    throw new ShareError("not the sealed share the ceremony handed over (share_index, sealed_share, …)");
  if (holderSecretKey.length !== 32) throw new ShareError("a holder secret key is 32 bytes (X25519)");
  const sealed = Buffer.from(parsed.data.sealed_share, "base64");
  const holderPublicKey = x25519PublicKeyOf(holderSecretKey);
  const share = openSealedShare(sealed, holderPublicKey, holderSecretKey);
  if (share === null) throw new ShareError("the sealed share does not open with this holder key");
  try {
    if (share.length !== SHARE_BYTES || share[SHARE_BYTES - 1] === 0) {
      throw new ShareError("the opened share is not a share of a 32-byte key");
    }
    return {
      format: SHARE_FORMAT,
      tally_public_key: parsed.data.tally_public_key,
      threshold: parsed.data.threshold,
      holders: parsed.data.holders,
      share_index: parsed.data.share_index,
      share: share.toString("base64"),
    };
  } finally {
    wipe(share);
  }
}

/**
 * Rebuilds the tally secret from share files for a record whose tally key is `tallyKey`; the caller wipes the
 * returned key when done. Every refusal is a ShareError with a plain reason.
 */
export async function recombineShareFiles(
  files: ReadonlyArray<{ name: string; share: ShareFile }>,
  tallyKey: { public_key: string; threshold: number } | null,
): Promise<Buffer> {
  if (tallyKey === null) throw new ShareError("the record has no tally key: the ceremony was never held");
  const distinct = new Map<string, Buffer>();
  try {
    for (const { name, share } of files) {
      if (share.tally_public_key !== tallyKey.public_key) {
        throw new ShareError(`${name} is a share of another tally key, not this election's`);
      }
      const bytes = Buffer.from(share.share, "base64");
      const x = String(bytes[SHARE_BYTES - 1]);
      const seen = distinct.get(x);
      if (seen !== undefined && !seen.equals(bytes)) {
        wipe(bytes);
        throw new ShareError(`${name} and another share file claim the same share index`);
      }
      if (seen !== undefined) wipe(bytes);
      else distinct.set(x, bytes);
    }
    if (distinct.size < tallyKey.threshold) {
      throw new ShareError(
        `${tallyKey.threshold} different shares are needed to recount; ${distinct.size} given: fewer than k shares reveal nothing`,
      );
    }
    const secret = await recombineTallySecret(
      [...distinct.values()],
      Buffer.from(tallyKey.public_key, "base64"),
    );
    if (secret === null) {
      throw new ShareError(
        "the shares do not rebuild this election's tally key: one of them is wrong or corrupted",
      );
    }
    return secret;
  } finally {
    for (const bytes of distinct.values()) wipe(bytes);
  }
}
