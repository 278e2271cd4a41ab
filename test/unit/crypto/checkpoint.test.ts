import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toHex } from "../../../src/crypto/bytes.js";
import {
  electionLogOrigin,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from "../../../src/crypto/checkpoint.js";
import { generateEd25519KeyPair } from "../../../src/crypto/ed25519.js";
import { CryptoFormatError } from "../../../src/crypto/errors.js";
import { emptyTreeRoot, leafHash } from "../../../src/crypto/hash.js";
import { ed25519NoteSigner, ed25519NoteVerifier } from "../../../src/crypto/signed-note.js";

const origin = electionLogOrigin("suara.example", "0f8e2a4c-6b1d-4e3f-9a5b-7c8d9e0f1a2b");
const logKey = generateEd25519KeyPair();
const signer = ed25519NoteSigner(origin, logKey.secretKey);
const verifier = ed25519NoteVerifier(origin, logKey.publicKey);
const rootHash = leafHash(Buffer.from("root"));

function rejectsAs(code: CryptoFormatError["code"], action: () => unknown): void {
  expect(action).toThrow(CryptoFormatError);
  try {
    action();
  } catch (error) {
    expect((error as CryptoFormatError).code).toBe(code);
  }
}

describe("checkpoints", () => {
  it("are origin, decimal size and base64 root, one per line", () => {
    const text = formatCheckpoint({ origin, size: 20852163, rootHash, extensions: [] });
    expect(text).toBe(`${origin}\n20852163\n${rootHash.toString("base64")}\n`);
  });

  it("round-trip through sign and open for any size and root", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (size, root) => {
          const opened = openCheckpoint(
            signCheckpoint({ origin, size, rootHash: root, extensions: [] }, [signer]),
            [verifier],
            origin,
          );
          expect(opened.size).toBe(size);
          expect(toHex(opened.rootHash)).toBe(toHex(root));
        },
      ),
      { numRuns: 50 },
    );
  });

  it("keep extension lines", () => {
    const note = signCheckpoint({ origin, size: 1, rootHash, extensions: ["ext one", "ext two"] }, [signer]);
    expect(openCheckpoint(note, [verifier], origin).extensions).toEqual(["ext one", "ext two"]);
  });

  it("are refused when the size, root or origin was changed after signing", () => {
    const note = signCheckpoint({ origin, size: 41, rootHash, extensions: [] }, [signer]);
    rejectsAs("NOTE_SIGNATURE_INVALID", () =>
      openCheckpoint(note.replace("\n41\n", "\n42\n"), [verifier], origin),
    );
    const otherRoot = emptyTreeRoot().toString("base64");
    rejectsAs("NOTE_SIGNATURE_INVALID", () =>
      openCheckpoint(note.replace(rootHash.toString("base64"), otherRoot), [verifier], origin),
    );
  });

  it("are refused under the wrong key", () => {
    const note = signCheckpoint({ origin, size: 41, rootHash, extensions: [] }, [signer]);
    const stranger = ed25519NoteVerifier(origin, generateEd25519KeyPair().publicKey);
    rejectsAs("NOTE_NOT_VERIFIED", () => openCheckpoint(note, [stranger], origin));
  });

  it("of one election are refused as another election's, even under the same log key", () => {
    const otherOrigin = electionLogOrigin("suara.example", "11111111-2222-4333-8444-555555555555");
    const note = signCheckpoint({ origin: otherOrigin, size: 3, rootHash, extensions: [] }, [signer]);
    rejectsAs("CHECKPOINT_ORIGIN_MISMATCH", () => openCheckpoint(note, [verifier], origin));
  });

  it.each([
    ["a size with a leading zero", `${origin}\n041\nROOT\n`],
    ["a negative size", `${origin}\n-1\nROOT\n`],
    ["a size with a plus sign", `${origin}\n+1\nROOT\n`],
    ["a size with spaces", `${origin}\n 1\nROOT\n`],
    ["a size beyond uint64", `${origin}\n18446744073709551616\nROOT\n`],
    ["a size beyond 2^53 - 1", `${origin}\n9007199254740992\nROOT\n`],
    ["a root of 31 bytes", `${origin}\n1\n${Buffer.alloc(31).toString("base64")}\n`],
    ["an unpadded root", `${origin}\n1\n${"ROOT".replace(/=+$/, "")}\n`.replace("ROOT", "AAAA")],
    ["a root in URL-safe base64", `${origin}\n1\nROOT\n`.replace("ROOT", `${"_".repeat(43)}=`)],
    ["a missing root line", `${origin}\n1\n`],
    ["an empty origin", "\n1\nROOT\n"],
    ["an empty extension line", `${origin}\n1\nROOT\n\n`],
    ["no final newline", `${origin}\n1\nROOT`],
  ])("are refused with %s", (_, text) => {
    rejectsAs("MALFORMED_CHECKPOINT", () =>
      parseCheckpoint(text.replace("ROOT", rootHash.toString("base64"))),
    );
  });

  it("accept size 0 with the empty-tree root", () => {
    const text = `${origin}\n0\n${emptyTreeRoot().toString("base64")}\n`;
    expect(parseCheckpoint(text).size).toBe(0);
  });

  it("are never made with an origin that has spaces or a plus", () => {
    rejectsAs("MALFORMED_CHECKPOINT", () =>
      formatCheckpoint({ origin: "a b", size: 1, rootHash, extensions: [] }),
    );
    rejectsAs("MALFORMED_CHECKPOINT", () =>
      formatCheckpoint({ origin: "a+b", size: 1, rootHash, extensions: [] }),
    );
  });
});
