// Owns C2SP signed notes (c2sp.org/signed-note): signing a text with named Ed25519 keys, the strict parser,
// opening a note against known verifier keys, key ids and the "vkey" text form of a verifier key. Checkpoints
// (checkpoint.ts) are notes with a prescribed text.

import { decodeBase64Strict, encodeBase64 } from "./base64.js";
import { copyBytes, utf8 } from "./bytes.js";
import { ED25519_PUBLIC_KEY_BYTES, ed25519PublicKeyOf, signEd25519, verifyEd25519 } from "./ed25519.js";
import { CryptoFormatError } from "./errors.js";
import { sha256 } from "./hash.js";

export const SIGNATURE_TYPE_ED25519 = 0x01;
/** Go's note package caps signatures at 100; the spec asks verifiers to accept at least 16. */
export const MAX_NOTE_SIGNATURES = 100;
export const MAX_NOTE_BYTES = 64 * 1024;

const SIGNATURE_PREFIX = "\u2014 "; // EM DASH, SPACE

export type NoteSigner = {
  readonly name: string;
  readonly keyId: number;
  sign(text: Uint8Array): Uint8Array;
};

export type NoteVerifier = {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
};

export type NoteSignature = { readonly name: string; readonly keyId: number; readonly signature: Uint8Array };

export type ParsedNote = { readonly text: string; readonly signatures: readonly NoteSignature[] };

export type OpenedNote = { readonly text: string; readonly verifiedBy: readonly NoteSignature[] };

function malformed(message: string): never {
  throw new CryptoFormatError("MALFORMED_NOTE", message);
}

/** Non-empty, no Unicode spaces, no "+" (the vkey separator). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && isWellFormedUnicode(name) && !hasControlCharacters(name);
}

function isWellFormedUnicode(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

function hasControlCharacters(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return /[\u0000-\u0009\u000B-\u001F]/.test(text);
}

/** SHA-256(key name ‖ 0x0A ‖ signature type ‖ public key)[:4], read as a big-endian uint32. */
export function noteKeyId(name: string, signatureType: number, publicKey: Uint8Array): number {
  const digest = sha256(utf8(name), Uint8Array.of(0x0a, signatureType), publicKey);
  return digest.readUInt32BE(0);
}

export function ed25519NoteKeyId(name: string, publicKey: Uint8Array): number {
  return noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey);
}

export function ed25519NoteSigner(name: string, secretKey: Uint8Array): NoteSigner {
  if (!isValidKeyName(name)) throw new CryptoFormatError("MALFORMED_KEY", "invalid key name");
  const keyId = ed25519NoteKeyId(name, ed25519PublicKeyOf(secretKey));
  const key = Uint8Array.from(secretKey);
  return { name, keyId, sign: (text) => signEd25519(text, key) };
}

export function ed25519NoteVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  if (!isValidKeyName(name)) throw new CryptoFormatError("MALFORMED_KEY", "invalid key name");
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES)
    throw new CryptoFormatError("MALFORMED_KEY", "bad key size");
  const key = Uint8Array.from(publicKey);
  return {
    name,
    keyId: ed25519NoteKeyId(name, key),
    verify: (text, signature) => verifyEd25519(signature, text, key),
  };
}

function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, "0");
}

/** "<name>+<8 hex digits key id>+<base64(0x01 ‖ public key)>", the form witnesses and auditors configure. */
export function formatEd25519VerifierKey(name: string, publicKey: Uint8Array): string {
  const verifier = ed25519NoteVerifier(name, publicKey);
  const encodedKey = encodeBase64(Uint8Array.of(SIGNATURE_TYPE_ED25519, ...publicKey));
  return `${name}+${keyIdHex(verifier.keyId)}+${encodedKey}`;
}

export type ParsedVerifierKey = NoteVerifier & { readonly publicKey: Uint8Array };

/** Parses a vkey, insisting that its key id is the one the name and key imply. */
export function parseEd25519VerifierKey(vkey: string): ParsedVerifierKey {
  const bad = (why: string): never => {
    throw new CryptoFormatError("MALFORMED_KEY", `verifier key: ${why}`);
  };
  const parts = vkey.split("+");
  if (parts.length !== 3) bad("expected name+keyid+key");
  const [name = "", idHex = "", encodedKey = ""] = parts;
  if (!isValidKeyName(name)) bad("invalid key name");
  if (!/^[0-9a-f]{8}$/.test(idHex)) bad("key id must be 8 lower-case hex digits");
  let key: Uint8Array = new Uint8Array(0);
  try {
    key = decodeBase64Strict(encodedKey, "key");
  } catch {
    bad("key is not base64");
  }
  if (key.length !== 1 + ED25519_PUBLIC_KEY_BYTES || key[0] !== SIGNATURE_TYPE_ED25519)
    bad("not an Ed25519 key");
  const publicKey = copyBytes(key, 1);
  const verifier = ed25519NoteVerifier(name, publicKey);
  if (keyIdHex(verifier.keyId) !== idHex) bad("key id does not match name and key");
  return { ...verifier, publicKey };
}

/** The text followed by one signature line per signer. The text must end in a newline. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkNoteCharacters(text);
  if (!text.endsWith("\n")) malformed("note text must end with a newline");
  if (signers.length === 0) malformed("a note needs at least one signature");
  const textBytes = utf8(text);
  const lines = signers.map((signer) => {
    if (!isValidKeyName(signer.name)) throw new CryptoFormatError("MALFORMED_KEY", "invalid key name");
    const keyId = new Uint8Array(4);
    new DataView(keyId.buffer).setUint32(0, signer.keyId, false);
    const signature = encodeBase64(Uint8Array.of(...keyId, ...signer.sign(textBytes)));
    return `${SIGNATURE_PREFIX}${signer.name} ${signature}\n`;
  });
  return `${text}\n${lines.join("")}`;
}

function checkNoteCharacters(note: string): void {
  if (!isWellFormedUnicode(note)) malformed("note is not valid UTF-8");
  if (hasControlCharacters(note)) malformed("note contains control characters");
}

/** Strict syntax only; says nothing about whether any signature is valid. */
export function parseNote(note: string): ParsedNote {
  if (utf8(note).length > MAX_NOTE_BYTES) malformed("note too long");
  checkNoteCharacters(note);
  const split = note.lastIndexOf("\n\n");
  if (split < 0) malformed("no signature block");
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0 || !block.endsWith("\n")) malformed("signature block must end with a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) malformed("too many signatures");
  return { text, signatures: lines.map(parseSignatureLine) };
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX)) malformed("signature line must start with an em dash and a space");
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space < 0) malformed("signature line needs a key name and a signature");
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) malformed("invalid key name");
  let raw: Buffer = Buffer.alloc(0);
  try {
    raw = decodeBase64Strict(rest.slice(space + 1), "signature");
  } catch {
    malformed("signature is not canonical base64");
  }
  if (raw.length < 5) malformed("signature too short");
  return { name, keyId: raw.readUInt32BE(0), signature: copyBytes(raw, 4) };
}

/**
 * Opens a note as the spec requires: signatures by unknown keys (name and id not both matching a verifier) are
 * ignored; a known key's signature that fails rejects the whole note; at least one known signature must verify.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const parsed = parseNote(note);
  const known = indexVerifiers(verifiers);
  const textBytes = utf8(parsed.text);
  const verifiedBy: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const signature of parsed.signatures) {
    const id = `${signature.name}+${keyIdHex(signature.keyId)}`;
    const verifier = known.get(id);
    if (verifier === undefined || seen.has(id)) continue;
    seen.add(id);
    if (!verifier.verify(textBytes, signature.signature)) {
      throw new CryptoFormatError("NOTE_SIGNATURE_INVALID", `invalid signature by ${id}`);
    }
    verifiedBy.push(signature);
  }
  if (verifiedBy.length === 0)
    throw new CryptoFormatError("NOTE_NOT_VERIFIED", "no signature by a known key");
  return { text: parsed.text, verifiedBy };
}

function indexVerifiers(verifiers: readonly NoteVerifier[]): Map<string, NoteVerifier> {
  const byId = new Map<string, NoteVerifier>();
  for (const verifier of verifiers) {
    const id = `${verifier.name}+${keyIdHex(verifier.keyId)}`;
    // Two verifiers with one name and id would make "which key signed this" ambiguous: a configuration error.
    if (byId.has(id)) throw new CryptoFormatError("MALFORMED_KEY", `ambiguous verifier ${id}`);
    byId.set(id, verifier);
  }
  return byId;
}
