// The worker thread of the verifier's crypto pool (src/verify/crypto-pool.ts): Ed25519 signature checks and
// sealed-ballot openings with libsodium, one packed batch at a time. Plain JavaScript on purpose: it needs only
// sodium-native, so it loads the same way under `node --import tsx` (the service), tsx (scripts) and vitest,
// none of which would otherwise agree on how a worker thread compiles TypeScript. CommonJS on purpose too:
// piscina loads a worker with require() first, and on Node 20.19+ require() of an ES module with a default
// export goes through Node's require(esm) facade, which aborted the whole process in CI (2026-12-03: "Assertion
// failed: facade->InstantiateModule", the offline verifier started with tsx's hooks registered). A CommonJS
// file is required as it is, with no ES-module machinery in between.
//
// The packed layouts are defined once, in crypto-pool.ts (packBatch / unpackResults); this file mirrors them.
// Request: u32 task count ‖ u8 has-secret ‖ 32-byte X25519 secret (zeros when absent) ‖ tasks, each:
//   u8 flags (1 = verify the signature, 2 = open the box) ‖ field message ‖ field signature ‖ field public key
//   ‖ field ephemeral public key ‖ field nonce ‖ field ciphertext, where a field is u32 length ‖ bytes.
// Response: per task u8 signature valid ‖ u8 opened ‖ u32 plaintext length ‖ plaintext. Integers little-endian.
// The secret is wiped from the request before the response is returned.
"use strict";
const { move } = require("piscina");
const sodium = require("sodium-native");

const VERIFY = 1;
const OPEN = 2;
const LEAF = 4;

/**
 * Where a canonical v1 vote leaf keeps what a LEAF task needs: VOTE_LEAF_LAYOUT in src/verify/verifier.ts
 * (docs/record-format.md §6), mirrored here; test/unit/verify/crypto-pool.test.ts holds the two equal.
 */
const LEAF_LAYOUT = Object.freeze({
  ballotDomain: Buffer.from("suara/ballot/v1\n", "utf8"),
  electionAt: 21,
  seqAt: 37,
  ballotIdAt: 45,
  kioskKeyIdAt: 77,
  ephemeralAt: 109,
  nonceAt: 141,
  lengthAt: 165,
  ciphertextAt: 169,
  signatureBytes: 64,
});
/** What the kiosk signed, laid out for one LEAF task at a time (grown when a ciphertext is longer). */
let signedScratch = Buffer.alloc(512);

/**
 * A LEAF task's fields from its leaf (canonical: the verifier checked it): the signed ballot bytes are
 * "suara/ballot/v1\n" ‖ election ‖ ballot ‖ TPS ‖ ephemeral key ‖ nonce ‖ u32 length ‖ ciphertext — the leaf's own
 * bytes in three runs around its seq and kiosk key id.
 */
function leafFields(task) {
  const L = LEAF_LAYOUT;
  const leaf = task.message;
  const end = L.ciphertextAt + leaf.readUInt32BE(L.lengthAt);
  const domain = L.ballotDomain.length;
  const length = domain + (L.seqAt - L.electionAt) + (L.kioskKeyIdAt - L.ballotIdAt) + (end - L.ephemeralAt);
  if (length > signedScratch.length) signedScratch = Buffer.alloc(length * 2);
  let at = L.ballotDomain.copy(signedScratch, 0);
  at += leaf.copy(signedScratch, at, L.electionAt, L.seqAt);
  at += leaf.copy(signedScratch, at, L.ballotIdAt, L.kioskKeyIdAt);
  leaf.copy(signedScratch, at, L.ephemeralAt, end);
  task.message = signedScratch.subarray(0, length);
  task.signature = leaf.subarray(end, end + L.signatureBytes);
  task.ephemeralPublicKey = leaf.subarray(L.ephemeralAt, L.nonceAt);
  task.nonce = leaf.subarray(L.nonceAt, L.lengthAt);
  task.ciphertext = leaf.subarray(L.ciphertextAt, end);
}
const SIGNATURE_BYTES = sodium.crypto_sign_BYTES;
const PUBLIC_KEY_BYTES = sodium.crypto_sign_PUBLICKEYBYTES;
const BOX_PUBLIC_KEY_BYTES = sodium.crypto_box_PUBLICKEYBYTES;
const BOX_SECRET_KEY_BYTES = sodium.crypto_box_SECRETKEYBYTES;
const NONCE_BYTES = sodium.crypto_box_NONCEBYTES;
const MAC_BYTES = sodium.crypto_box_MACBYTES;

/** @param {ArrayBuffer} request */
function verifyAndOpenPacked(request) {
  const view = new DataView(request);
  const bytes = Buffer.from(request);
  const count = view.getUint32(0, true);
  const hasSecret = view.getUint8(4) === 1;
  const secret = bytes.subarray(5, 5 + BOX_SECRET_KEY_BYTES);
  let at = 5 + BOX_SECRET_KEY_BYTES;
  const field = () => {
    const length = view.getUint32(at, true);
    const start = at + 4;
    at = start + length;
    return bytes.subarray(start, at);
  };

  // Upper bound of the response: 6 bytes per task plus every ciphertext (a plaintext is 16 bytes shorter).
  const tasks = [];
  let responseBytes = 0;
  for (let i = 0; i < count; i++) {
    const flags = view.getUint8(at);
    at += 1;
    const task = {
      flags,
      message: field(),
      signature: field(),
      publicKey: field(),
      ephemeralPublicKey: field(),
      nonce: field(),
      ciphertext: field(),
    };
    tasks.push(task);
    // Room for a LEAF task's plaintext only when it is to be opened (nothing else is ever written for it).
    let ciphertextBytes = task.ciphertext.length;
    if ((flags & LEAF) !== 0) {
      ciphertextBytes = (flags & OPEN) !== 0 ? task.message.readUInt32BE(LEAF_LAYOUT.lengthAt) : 0;
    }
    responseBytes += 6 + ciphertextBytes;
  }

  const response = new ArrayBuffer(responseBytes);
  const out = new DataView(response);
  const outBytes = Buffer.from(response);
  let written = 0;
  try {
    for (const task of tasks) {
      // The signed bytes of a LEAF task live in a scratch buffer reused by the next one: read them before it.
      if ((task.flags & LEAF) !== 0) leafFields(task);
      const signatureValid =
        (task.flags & VERIFY) !== 0 &&
        task.signature.length === SIGNATURE_BYTES &&
        task.publicKey.length === PUBLIC_KEY_BYTES &&
        sodium.crypto_sign_verify_detached(task.signature, task.message, task.publicKey);
      let opened = false;
      let plaintextLength = 0;
      if (
        (task.flags & OPEN) !== 0 &&
        hasSecret &&
        task.ephemeralPublicKey.length === BOX_PUBLIC_KEY_BYTES &&
        task.nonce.length === NONCE_BYTES &&
        task.ciphertext.length >= MAC_BYTES
      ) {
        const plaintext = outBytes.subarray(written + 6, written + 6 + task.ciphertext.length - MAC_BYTES);
        opened = sodium.crypto_box_open_easy(
          plaintext,
          task.ciphertext,
          task.nonce,
          task.ephemeralPublicKey,
          secret,
        );
        if (opened) plaintextLength = plaintext.length;
        else plaintext.fill(0);
      }
      out.setUint8(written, signatureValid ? 1 : 0);
      out.setUint8(written + 1, opened ? 1 : 0);
      out.setUint32(written + 2, plaintextLength, true);
      written += 6 + plaintextLength;
    }
  } finally {
    sodium.sodium_memzero(secret);
  }
  // Bytes past `written` (unopened boxes' room) stay zero; the reader stops after `count` results.
  return move(response);
}

// The handler piscina calls (CryptoPool names it) and the layout the tests hold equal to the verifier's.
module.exports = { verifyAndOpenPacked, LEAF_LAYOUT };
