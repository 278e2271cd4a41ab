// Owns the bytes a kiosk signs to sign in: a domain-separated message binding the election, the kiosk and the
// server's single-use challenge, so a signature answers exactly one challenge of one kiosk. Browser-safe.
import { concatBytes, utf8, uuidToBytes } from "./bytes.js";

export const KIOSK_LOGIN_DOMAIN = "suara/kiosk-login/v1\n";
export const KIOSK_CHALLENGE_BYTES = 32;

export function kioskLoginMessage(electionId: string, kioskId: string, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== KIOSK_CHALLENGE_BYTES) throw new RangeError("a kiosk challenge is 32 bytes");
  return concatBytes(utf8(KIOSK_LOGIN_DOMAIN), uuidToBytes(electionId), uuidToBytes(kioskId), nonce);
}
