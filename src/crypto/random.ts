// Random values people read or type: one-time passwords in Crockford base32 (no I, L, O, U), grouped.
import { randomBytes } from "node:crypto";

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
