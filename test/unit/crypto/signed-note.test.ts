import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../../src/crypto/bytes.js";
import { ed25519KeyPairFromSeed, generateEd25519KeyPair } from "../../../src/crypto/ed25519.js";
import { CryptoFormatError } from "../../../src/crypto/errors.js";
import {
  ed25519NoteKeyId,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatEd25519VerifierKey,
  openNote,
  parseEd25519VerifierKey,
  parseNote,
  signNote,
} from "../../../src/crypto/signed-note.js";

// Known answers from the Go reference implementation (golang.org/x/mod/sumdb/note): the skey's base64 payload is
// 0x01 ‖ Ed25519 seed. Reproducing its signature byte for byte proves our key id, line format and signing match.
const GO_SEED = Buffer.from("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "base64").subarray(1);
const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
// The example in c2sp.org/signed-note (verify-only: its private key is not published).
const C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const C2SP_NOTE =
  "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

function rejectsAs(code: CryptoFormatError["code"], action: () => unknown): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoFormatError);
    expect((error as CryptoFormatError).code).toBe(code);
    return;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

const keys = ed25519KeyPairFromSeed(fromHex("11".repeat(32)));
const signer = ed25519NoteSigner("suara.example/log", keys.secretKey);
const verifier = ed25519NoteVerifier("suara.example/log", keys.publicKey);

describe("signed notes: interoperability", () => {
  it("reproduce the Go reference note, key id and verifier key exactly", () => {
    const goKeys = ed25519KeyPairFromSeed(GO_SEED);
    expect(ed25519NoteKeyId("PeterNeumann", goKeys.publicKey).toString(16)).toBe("c74f20a3");
    expect(formatEd25519VerifierKey("PeterNeumann", goKeys.publicKey)).toBe(GO_VKEY);
    expect(signNote(GO_TEXT, [ed25519NoteSigner("PeterNeumann", goKeys.secretKey)])).toBe(GO_NOTE);
    expect(openNote(GO_NOTE, [parseEd25519VerifierKey(GO_VKEY)]).text).toBe(GO_TEXT);
  });

  it("verify the c2sp.org/signed-note example with its published verifier key", () => {
    expect(openNote(C2SP_NOTE, [parseEd25519VerifierKey(C2SP_VKEY)]).text).toBe(
      "This is an example message.\n",
    );
  });
});

describe("signed notes: signing and opening", () => {
  it("open to the signed text with the signer's verifier", () => {
    const note = signNote("hello\nworld\n", [signer]);
    expect(note.startsWith("hello\nworld\n\n\u2014 suara.example/log ")).toBe(true);
    expect(openNote(note, [verifier])).toMatchObject({ text: "hello\nworld\n" });
  });

  it("ignore signatures from unknown keys but require one known, valid signature", () => {
    const other = ed25519NoteSigner("witness.example", generateEd25519KeyPair().secretKey);
    const note = signNote("text\n", [other, signer]);
    expect(openNote(note, [verifier]).verifiedBy.map((s) => s.name)).toEqual(["suara.example/log"]);
    rejectsAs("NOTE_NOT_VERIFIED", () => openNote(signNote("text\n", [other]), [verifier]));
  });

  it("treat a known name with a different key id as an unknown key", () => {
    const impostor = ed25519NoteSigner("suara.example/log", generateEd25519KeyPair().secretKey);
    rejectsAs("NOTE_NOT_VERIFIED", () => openNote(signNote("text\n", [impostor]), [verifier]));
  });

  it("reject the whole note when a known key's signature does not verify", () => {
    const forged = { ...signer, sign: () => new Uint8Array(64) };
    rejectsAs("NOTE_SIGNATURE_INVALID", () => openNote(signNote("text\n", [forged]), [verifier]));
    const truncated = { ...signer, sign: () => new Uint8Array(10) };
    rejectsAs("NOTE_SIGNATURE_INVALID", () => openNote(signNote("text\n", [truncated]), [verifier]));
  });

  it("reject any change to the signed text", () => {
    const note = signNote("size 10\n", [signer]);
    rejectsAs("NOTE_SIGNATURE_INVALID", () => openNote(note.replace("size 10", "size 11"), [verifier]));
  });

  it("refuse an ambiguous set of verifiers", () => {
    rejectsAs("MALFORMED_KEY", () => openNote(signNote("t\n", [signer]), [verifier, verifier]));
  });
});

describe("signed notes: strict parsing", () => {
  const good = signNote("text\n", [signer]);
  const [, signatureLine = ""] = good.split("\n\n");

  it.each([
    ["no blank line before the signatures", good.replace("\n\n", "\n")],
    ["no final newline", good.slice(0, -1)],
    ["a hyphen instead of an em dash", good.replace("\u2014", "-")],
    ["no space after the dash", good.replace("\u2014 ", "\u2014")],
    ["a carriage return", good.replace("text\n", "text\r\n")],
    ["a tab", good.replace("text", "te\txt")],
    ["a lone surrogate", good.replace("text", "te\uD800xt")],
    ["a key name with a plus", good.replace("suara.example/log", "suara+log")],
    ["unpadded base64", good.replace(/=\n$/, "\n")],
    ["base64 with junk", good.replace(/ (\S{4})(\S+)\n$/, " $1!$2\n")],
    ["a signature shorter than a key id", good.replace(/ \S+\n$/, " AAAA\n")],
    ["a trailing empty line", `${good}\n`],
    ["a note over 64 KiB", `${"x".repeat(70_000)}\n\n${signatureLine}`],
    ["more than 100 signatures", `text\n\n${`${signatureLine}\n`.repeat(101)}`],
  ])("rejects %s", (_, note) => {
    rejectsAs("MALFORMED_NOTE", () => parseNote(note));
  });

  it("rejects base64 with non-zero padding bits (a second spelling of the same signature)", () => {
    const lastChar = good.at(-3) ?? "A";
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const twin = alphabet[(alphabet.indexOf(lastChar) ^ 1) % 64] ?? "A";
    rejectsAs("MALFORMED_NOTE", () => parseNote(`${good.slice(0, -3)}${twin}${good.slice(-2)}`));
  });

  it("accepts at least 16 signatures", () => {
    const signers = Array.from({ length: 16 }, (_, i) =>
      ed25519NoteSigner(`w${i}`, ed25519KeyPairFromSeed(new Uint8Array(32).fill(i)).secretKey),
    );
    expect(parseNote(signNote("t\n", signers)).signatures).toHaveLength(16);
  });

  it("will not sign a text without a final newline or without signers", () => {
    rejectsAs("MALFORMED_NOTE", () => signNote("no newline", [signer]));
    rejectsAs("MALFORMED_NOTE", () => signNote("text\n", []));
  });
});

describe("verifier keys", () => {
  it("round-trip and carry the key id derived from name and key", () => {
    const vkey = formatEd25519VerifierKey("suara.example/log", keys.publicKey);
    const parsed = parseEd25519VerifierKey(vkey);
    expect(toHex(parsed.publicKey)).toBe(toHex(keys.publicKey));
    expect(parsed.keyId).toBe(verifier.keyId);
  });

  it.each([
    ["a wrong key id", GO_VKEY.replace("c74f20a3", "c74f20a4")],
    ["an upper-case key id", GO_VKEY.replace("c74f20a3", "C74F20A3")],
    ["an unknown algorithm", "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"],
    ["a wrong-length key", "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="],
    ["a missing part", "PeterNeumann+c74f20a3"],
    ["an empty name", GO_VKEY.replace("PeterNeumann", "")],
  ])("reject %s", (_, vkey) => {
    rejectsAs("MALFORMED_KEY", () => parseEd25519VerifierKey(vkey));
  });

  it("reject every truncation of a valid key", () => {
    for (let end = 0; end < GO_VKEY.length; end++) {
      expect(() => parseEd25519VerifierKey(GO_VKEY.slice(0, end))).toThrow(CryptoFormatError);
    }
  });
});
