// Owns ballot tokens (SPEC §4): 50 random bits written as 10 Crockford base32 symbols plus Crockford's mod-37
// check symbol, shown grouped (7KQ2M-XH9PA-C) and as a QR payload; read back forgivingly (any case, without
// separators, O→0, I/L→1) but exactly (a mistyped symbol fails the check rather than naming another token); and
// stored only as HMAC-SHA-256 under a server key, bound to its election.
import { createHmac, randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CHECK_ALPHABET = `${ALPHABET}*~$=U`;
export const TOKEN_BITS = 50;
const SYMBOLS = TOKEN_BITS / 5;
const DOMAIN = "suara/ballot-token/v1\n";

function checkSymbol(value: bigint): string {
  return CHECK_ALPHABET[Number(value % 37n)] as string;
}

/** A fresh token in its display form, XXXXX-XXXXX-C. */
export function generateBallotToken(): string {
  const bytes = randomBytes(7);
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  value &= (1n << BigInt(TOKEN_BITS)) - 1n;
  let symbols = "";
  for (let i = SYMBOLS - 1; i >= 0; i--) symbols += ALPHABET[Number((value >> BigInt(i * 5)) & 31n)];
  return `${symbols.slice(0, 5)}-${symbols.slice(5)}-${checkSymbol(value)}`;
}

/** The canonical 10 symbols of a token as typed or scanned, or null when it is not a valid token. */
export function normalizeBallotToken(input: string): string | null {
  const cleaned = input.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  if (cleaned.length !== SYMBOLS + 1) return null;
  let value = 0n;
  for (const c of cleaned.slice(0, SYMBOLS)) {
    const digit = ALPHABET.indexOf(c);
    if (digit < 0) return null;
    value = (value << 5n) | BigInt(digit);
  }
  return checkSymbol(value) === cleaned.slice(SYMBOLS) ? cleaned.slice(0, SYMBOLS) : null;
}

/** What is stored for a token: HMAC-SHA-256(key, domain ‖ election id ‖ canonical symbols). */
export function ballotTokenHash(key: Uint8Array, electionId: string, canonical: string): Buffer {
  return createHmac("sha256", key)
    .update(DOMAIN)
    .update(electionId.toLowerCase())
    .update("\n")
    .update(canonical)
    .digest();
}

/** The QR code's content: scanned at the kiosk instead of typing. */
export function ballotTokenQrPayload(electionId: string, token: string): string {
  return `SUARA1:${electionId.toLowerCase()}:${token}`;
}
