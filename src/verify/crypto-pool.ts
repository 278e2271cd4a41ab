// Owns the verifier's crypto across every core (SPEC §9, §13): a CryptoWorker backed by a pool of worker threads
// (piscina), one per available core. The verifier keeps everything order-dependent — hashing, the chain, the
// Merkle tree, checkpoints, ballot ids, counting — on its own thread and hands only the independent, expensive
// part here: Ed25519 kiosk and checkpoint signatures and opening sealed ballots.
//
// A batch crosses the thread boundary as one packed ArrayBuffer, transferred (not copied), and its results come
// back the same way; the layout is below and mirrored in crypto-pool.worker.cjs, a plain-JavaScript (CommonJS)
// worker that needs only sodium-native, so it loads identically in the service, in tsx scripts and under vitest.
//
// The tally secret travels inside each batch's buffer; the worker wipes it before answering, and the packing
// buffer is detached from this thread by the transfer, so no copy lingers here.
import os from "node:os";
import { Piscina } from "piscina";
import {
  type CryptoBatch,
  type CryptoResult,
  type CryptoTask,
  type CryptoWorker,
  isLeafTask,
  type LeafCryptoTask,
} from "./verifier.js";

export interface CryptoPool extends CryptoWorker {
  /** Worker threads in the pool. */
  readonly threads: number;
  /** Batches a caller should keep in flight so that no thread waits for the next one. */
  readonly batchesInFlight: number;
  /** Threads started and not yet exited (0 once `close()` has resolved). */
  runningThreads(): number;
  /** Stops every thread; batches still running are rejected. Safe to call twice. */
  close(): Promise<void>;
}

export interface CryptoPoolOptions {
  /** Worker threads; default: every core the process may use (os.availableParallelism()). */
  threads?: number;
}

const WORKER_URL = new URL("./crypto-pool.worker.cjs", import.meta.url);
/** The worker's exported handler (crypto-pool.worker.cjs). */
const WORKER_HANDLER = "verifyAndOpenPacked";
const VERIFY = 1;
const OPEN = 2;
const LEAF = 4;
const SECRET_BYTES = 32;
const EMPTY = new Uint8Array(0);

/** Starts a pool of worker threads that verifies and opens batches; close it when done. */
export function createCryptoPool(options: CryptoPoolOptions = {}): CryptoPool {
  const threads = Math.max(1, Math.floor(options.threads ?? os.availableParallelism()));
  const pool = new Piscina<ArrayBuffer, ArrayBuffer>({
    filename: WORKER_URL.href,
    name: WORKER_HANDLER,
    minThreads: threads,
    maxThreads: threads,
    // The worker is plain JavaScript: it needs none of the parent's loaders (tsx, vitest), and skipping them
    // keeps each thread's start-up and memory small.
    execArgv: [],
    // Two batches handed to each thread: the next waits in the thread's own queue, so it starts the moment the
    // last one ends instead of when this thread, busy reading the log, gets round to sending it (the handler is
    // synchronous, so a thread still runs one batch at a time). 10,000-ballot tally: +1–3 points of the ceiling.
    concurrentTasksPerWorker: 2,
    // Always keep the threads for the run; the pool is closed by its owner.
    idleTimeout: Number.POSITIVE_INFINITY,
    // A worker holds one batch at a time and keeps nothing: a small heap keeps each thread's memory small
    // (SPEC §13 bounds the tally's RSS), whatever the election's size. A process-wide V8 flag such as
    // --max-semi-space-size overrides these limits in every thread, so the service runs without one.
    resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 48 },
  });
  // Every thread the pool starts is watched until it exits, so an owner (and a test) can see it shut down.
  const watched = new WeakSet<object>();
  let running = 0;
  const watchThreads = (): void => {
    for (const thread of pool.threads) {
      if (watched.has(thread)) continue;
      watched.add(thread);
      running++;
      thread.once("exit", () => {
        running--;
      });
    }
  };
  pool.on("workerCreate", watchThreads);
  watchThreads();
  let closed: Promise<void> | null = null;
  return {
    threads,
    batchesInFlight: threads * 3,
    async verifyAndOpen(batch: CryptoBatch): Promise<CryptoResult[]> {
      if (closed !== null) throw new Error("the crypto pool is closed");
      const request = packBatch(batch);
      const response = await pool.run(request, { transferList: [request] });
      return unpackResults(response, batch.tasks.length);
    },
    runningThreads: () => running,
    close() {
      closed ??= pool.destroy();
      return closed;
    },
  };
}

/** Runs `fn` with a fresh pool and always closes the pool afterwards. */
export async function withCryptoPool<T>(
  fn: (pool: CryptoPool) => Promise<T>,
  options: CryptoPoolOptions = {},
): Promise<T> {
  const pool = createCryptoPool(options);
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The packed layout (little-endian)
//
// Request: u32 task count ‖ u8 has-secret ‖ 32-byte X25519 secret (zeros when absent) ‖ per task:
//   u8 flags (VERIFY | OPEN | LEAF) ‖ message ‖ signature ‖ public key ‖ ephemeral public key ‖ nonce ‖
//   ciphertext, each of the six as u32 length ‖ bytes (length 0 when absent). With LEAF (a LeafCryptoTask) the
//   message field holds the whole canonical v1 leaf and signature, ephemeral key, nonce and ciphertext are empty:
//   the worker reads them from the leaf (VOTE_LEAF_LAYOUT, mirrored in the worker) — one copy per entry here
//   instead of one per field.
// Response: per task u8 signature valid ‖ u8 opened ‖ u32 plaintext length ‖ plaintext.

export function packBatch(batch: CryptoBatch): ArrayBuffer {
  let size = 4 + 1 + SECRET_BYTES;
  for (const task of batch.tasks) {
    if (isLeafTask(task)) {
      size += 1 + 6 * 4 + task.leaf.length + (task.publicKey?.length ?? 0);
      continue;
    }
    size += 1 + 6 * 4 + messageLength(task) + task.signature.length + (task.publicKey?.length ?? 0);
    if (task.sealed !== null) {
      size +=
        task.sealed.ephemeralPublicKey.length + task.sealed.nonce.length + task.sealed.ciphertext.length;
    }
  }
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  view.setUint32(0, batch.tasks.length, true);
  const secret = batch.tallySecretKey;
  if (secret !== null) {
    if (secret.length !== SECRET_BYTES) throw new RangeError("an X25519 secret key is 32 bytes");
    view.setUint8(4, 1);
    bytes.set(secret, 5);
  }
  let at = 5 + SECRET_BYTES;
  const put = (field: Uint8Array): void => {
    view.setUint32(at, field.length, true);
    bytes.set(field, at + 4);
    at += 4 + field.length;
  };
  const putEmpty = (): void => {
    view.setUint32(at, 0, true);
    at += 4;
  };
  for (const task of batch.tasks) {
    if (isLeafTask(task)) {
      packLeafTask(task, secret !== null);
      continue;
    }
    const open = task.sealed !== null && secret !== null;
    view.setUint8(at, (task.publicKey !== null ? VERIFY : 0) | (open ? OPEN : 0));
    at += 1;
    if (task.message instanceof Uint8Array) put(task.message);
    else {
      view.setUint32(at, messageLength(task), true);
      at += 4;
      for (const part of task.message) {
        bytes.set(part, at);
        at += part.length;
      }
    }
    put(task.signature);
    put(task.publicKey ?? EMPTY);
    put(task.sealed?.ephemeralPublicKey ?? EMPTY);
    put(task.sealed?.nonce ?? EMPTY);
    put(task.sealed?.ciphertext ?? EMPTY);
  }
  return buffer;

  function packLeafTask(task: LeafCryptoTask, canOpen: boolean): void {
    view.setUint8(at, LEAF | (task.publicKey !== null ? VERIFY : 0) | (task.open && canOpen ? OPEN : 0));
    at += 1;
    put(task.leaf);
    putEmpty();
    put(task.publicKey ?? EMPTY);
    putEmpty();
    putEmpty();
    putEmpty();
  }
}

function messageLength(task: CryptoTask): number {
  if (task.message instanceof Uint8Array) return task.message.length;
  let length = 0;
  for (const part of task.message) length += part.length;
  return length;
}

export function unpackResults(response: ArrayBuffer, count: number): CryptoResult[] {
  const view = new DataView(response);
  const results: CryptoResult[] = new Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 6 > response.byteLength) throw new Error("crypto worker returned a truncated response");
    const signatureValid = view.getUint8(at) === 1;
    const opened = view.getUint8(at + 1) === 1;
    const length = view.getUint32(at + 2, true);
    results[i] = {
      signatureValid,
      plaintext: opened ? new Uint8Array(response, at + 6, length) : null,
    };
    at += 6 + length;
  }
  return results;
}
