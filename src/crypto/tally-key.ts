// Owns the tally key's splitting (SPEC §7): the election's X25519 secret is split with Shamir's scheme
// (shamir-secret-sharing, audited, GF(256)) into n shares of which any k recombine it; each share is sealed to
// its holder's own X25519 public key (libsodium sealed box), so the service never stores a share it could
// read. Buffers holding the secret are wiped after use.
import { combine, split } from "shamir-secret-sharing";
import sodium from "sodium-native";
import { generateTallyKeyPair, x25519PublicKeyOf } from "./sealed-ballot.js";

export const HOLDER_PUBLIC_KEY_BYTES = sodium.crypto_box_PUBLICKEYBYTES;

export interface SealedShareForHolder {
  /** Index into the holders array given to the ceremony. */
  holder: number;
  sealedShare: Buffer;
}

export interface CeremonyResult {
  publicKey: Buffer;
  sealedShares: SealedShareForHolder[];
}

export function wipe(buffer: Uint8Array): void {
  sodium.sodium_memzero(
    Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.length),
  );
}

/** Seals a share to a holder's X25519 public key: only the holder's secret key opens it. */
export function sealShare(share: Uint8Array, holderPublicKey: Uint8Array): Buffer {
  if (holderPublicKey.length !== HOLDER_PUBLIC_KEY_BYTES) throw new RangeError("a holder key is 32 bytes");
  const sealed = Buffer.alloc(share.length + sodium.crypto_box_SEALBYTES);
  sodium.crypto_box_seal(sealed, Buffer.from(share), Buffer.from(holderPublicKey));
  return sealed;
}

/** The holder's side: opens their sealed share; null when it was not sealed to this key pair. */
export function openSealedShare(
  sealed: Uint8Array,
  holderPublicKey: Uint8Array,
  holderSecretKey: Uint8Array,
): Buffer | null {
  if (sealed.length <= sodium.crypto_box_SEALBYTES) return null;
  const share = Buffer.alloc(sealed.length - sodium.crypto_box_SEALBYTES);
  const ok = sodium.crypto_box_seal_open(
    share,
    Buffer.from(sealed),
    Buffer.from(holderPublicKey),
    Buffer.from(holderSecretKey),
  );
  return ok ? share : null;
}

/**
 * Makes the election's tally key pair, splits the secret k-of-n, seals share i to holder i's key, wipes the
 * secret and the plain shares, and returns only the public key and the sealed shares.
 */
export async function runTallyKeyCeremony(
  holderPublicKeys: Uint8Array[],
  threshold: number,
): Promise<CeremonyResult> {
  const n = holderPublicKeys.length;
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > n || n > 255) {
    throw new RangeError(`a ceremony needs 2 ≤ k ≤ n ≤ 255 (k = ${threshold}, n = ${n})`);
  }
  const pair = generateTallyKeyPair();
  // The library accepts a plain Uint8Array only (not a Buffer); this copy is wiped with the rest.
  const secret = Uint8Array.from(pair.secretKey);
  try {
    const shares = await split(secret, n, threshold);
    try {
      return {
        publicKey: Buffer.from(pair.publicKey),
        sealedShares: shares.map((share, holder) => ({
          holder,
          sealedShare: sealShare(share, holderPublicKeys[holder] as Uint8Array),
        })),
      };
    } finally {
      for (const share of shares) wipe(share);
    }
  } finally {
    wipe(secret);
    wipe(pair.secretKey);
  }
}

/**
 * Recombines shares into the tally secret and checks it against the election's public key: fewer than k
 * shares, or wrong ones, give another secret, which this refuses (returns null) without saying more.
 */
export async function recombineTallySecret(
  shares: Uint8Array[],
  expectedPublicKey: Uint8Array,
): Promise<Buffer | null> {
  let secret: Uint8Array;
  // The library gets copies (it may keep or alter what it is given); they are wiped however it ends.
  const copies = shares.map((s) => Uint8Array.from(s));
  try {
    secret = await combine(copies);
  } catch {
    return null;
  } finally {
    for (const copy of copies) wipe(copy);
  }
  if (secret.length !== 32) {
    wipe(secret);
    return null;
  }
  const candidate = Buffer.from(secret);
  wipe(secret);
  if (!x25519PublicKeyOf(candidate).equals(Buffer.from(expectedPublicKey))) {
    wipe(candidate);
    return null;
  }
  return candidate;
}

/** A share holder's own X25519 key pair (SPEC §7): the ceremony seals their share to its public half. */
export function generateHolderKeyPair(): { publicKey: Buffer; secretKey: Buffer } {
  const publicKey = Buffer.alloc(sodium.crypto_box_PUBLICKEYBYTES);
  const secretKey = Buffer.alloc(sodium.crypto_box_SECRETKEYBYTES);
  sodium.crypto_box_keypair(publicKey, secretKey);
  return { publicKey, secretKey };
}
