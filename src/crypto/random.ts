// Random values: one-time passwords people read and type (Crockford base32, no I, L, O, U, grouped), ids, secrets.
import { randomBytes, randomUUID } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** `groups` groups of four base32 characters: 20 random bits per group (80 bits for the default 4). */
export function generateOneTimePassword(groups = 4): string {
  const chars: string[] = [];
  const bytes = randomBytes(groups * 4);
  for (const byte of bytes) chars.push(CROCKFORD[byte & 31] as string);
  const out: string[] = [];
  for (let g = 0; g < groups; g++) out.push(chars.slice(g * 4, g * 4 + 4).join(""));
  return out.join("-");
}

/** A random (version 4) UUID: the ids of elections, candidates, TPS and events carry no meaning or time. */
export function newId(): string {
  return randomUUID();
}

/** A random secret of `bytes` bytes, base64url-encoded (for keys made at start when none is configured). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** `n` random bytes from the operating system's CSPRNG. */
export function randomBytesFor(n: number): Buffer {
  return randomBytes(n);
}
