// Owns tlog checkpoints (c2sp.org/tlog-checkpoint): the note text naming a log (origin), its size and its
// Merkle root, and signing/opening them as signed notes. A checkpoint is only meaningful for the log named by
// its origin, and the service signs checkpoints of every election with one key, so opening one always
// requires the origin the caller expects.

import { decodeBase64Strict, encodeBase64 } from "./base64.js";
import { copyBytes } from "./bytes.js";
import { CryptoFormatError } from "./errors.js";
import { HASH_SIZE } from "./hash.js";
import { type NoteSigner, type NoteVerifier, openNote, signNote } from "./signed-note.js";

export type Checkpoint = {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Opaque extra lines; Suara writes none. */
  readonly extensions: readonly string[];
};

function malformed(message: string): never {
  throw new CryptoFormatError("MALFORMED_CHECKPOINT", message);
}

/** The origin of one election's log: "<service origin>/elections/<election uuid>". */
export function electionLogOrigin(serviceOrigin: string, electionId: string): string {
  return `${serviceOrigin}/elections/${electionId.toLowerCase()}`;
}

/** "origin\nsize\nbase64(root)\n" followed by any extension lines. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions } = checkpoint;
  // What we sign follows the spec's SHOULD too: an origin without spaces or "+" can double as the key name.
  if (origin.length === 0 || /[\s+]/u.test(origin))
    malformed("origin must be non-empty without spaces or '+'");
  if (!Number.isSafeInteger(size) || size < 0) malformed("size must be a non-negative safe integer");
  if (rootHash.length !== HASH_SIZE) malformed("root hash must be 32 bytes");
  if (extensions.some((line) => line.length === 0 || line.includes("\n"))) malformed("bad extension line");
  return [origin, String(size), encodeBase64(rootHash), ...extensions].map((line) => `${line}\n`).join("");
}

/** Strict: three or more non-empty lines, canonical decimal size, canonical base64 of exactly 32 bytes. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) malformed("checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined)
    malformed("fewer than three lines");
  if (lines.some((line) => line.length === 0)) malformed("empty line");
  return { origin, size: parseTreeSize(sizeLine), rootHash: parseRootHash(rootLine), extensions };
}

function parseTreeSize(line: string): number {
  if (!/^(?:0|[1-9][0-9]*)$/.test(line)) malformed("size must be decimal without leading zeros");
  const size = BigInt(line);
  if (size > 0xffff_ffff_ffff_ffffn) malformed("size exceeds uint64");
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) malformed("size beyond 2^53 - 1 is not supported");
  return Number(size);
}

function parseRootHash(line: string): Uint8Array {
  let root: Uint8Array = new Uint8Array(0);
  try {
    root = copyBytes(decodeBase64Strict(line, "root hash"));
  } catch {
    malformed("root hash is not canonical base64");
  }
  if (root.length !== HASH_SIZE) malformed("root hash must be 32 bytes");
  return root;
}

export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/** Verifies the note against the given keys, then parses it and checks that it is the expected log's. */
export function openCheckpoint(
  note: string,
  verifiers: readonly NoteVerifier[],
  expectedOrigin: string,
): Checkpoint {
  const checkpoint = parseCheckpoint(openNote(note, verifiers).text);
  if (checkpoint.origin !== expectedOrigin) {
    throw new CryptoFormatError("CHECKPOINT_ORIGIN_MISMATCH", `checkpoint is for ${checkpoint.origin}`);
  }
  return checkpoint;
}
