// The tally (SPEC §8). After the polls close, share holders submit their shares one by one; the shares live only
// in this process's memory (never in the database), and when k have arrived the tally key is rebuilt in memory,
// checked against the election's public key, and the whole log is streamed from PostgreSQL (a binary COPY of the
// entries on a connection of its own, the checkpoints page by page) through the verifier (src/verify), which
// checks every §9 rule and, in a pool of worker threads across every core, verifies every signature and opens
// every ballot, then counts them. The pool's threads are started when an election's first share arrives, so that
// their start-up (a few hundred milliseconds: a thread and libsodium per core) and a warm-up of the tally's code
// on them (warm-up.ts) happen while the other holders are still submitting, not after the last share; a pool
// nobody uses is shut down after POOL_IDLE_MS. The key and the shares are wiped and the pool is shut down when the
// tally ends. The counts, the verification summary and the reconciliation are stored; the election becomes
// `tallied`. Progress (entries checked of the log's size) is visible at GET /elections/{id}/tally while it runs.
//
// Because shares are held in memory, all holders of one election must reach the same instance (route the tally
// to one instance when several serve the API); a restart loses submitted shares, and holders submit again.
import type { FastifyBaseLogger } from "fastify";
import { sql } from "kysely";
import type pg from "pg";
import { signEd25519 } from "../../crypto/ed25519.js";
import { recombineTallySecret, wipe } from "../../crypto/tally-key.js";
import type { Db } from "../../db/database.js";
import { canonicalJson } from "../../lib/canonical-json.js";
import { AppError, notFound } from "../../lib/errors.js";
import { type CryptoPool, createCryptoPool } from "../../verify/crypto-pool.js";
import { type ElectionCounts, type VerificationReport, verifyElectionLog } from "../../verify/verifier.js";
import { type Actor, recordAuditEvent } from "../audit/audit.service.js";
import { getElection, tieBreakOf } from "../elections/elections.service.js";
import { type LogKeyring, listLogKeys, logOrigin } from "../log/log.keys.js";
import { checkpointNotes, copyLogEntries, startNow } from "./log-stream.js";
import { WARM_UP_LOG_ROWS, type WarmUpReport, warmUpTally } from "./warm-up.js";
import { decideWinner } from "./winner.js";

export type TallyState = "collecting" | "running" | "done" | "failed";

interface Session {
  shares: Map<string, Buffer>;
  state: TallyState;
  checked: number;
  total: number;
  failure?: string;
  /** Settles when the running tally has ended, whatever its outcome; null when none has started. */
  finished: Promise<void> | null;
  /** Crypto threads started for this election's tally before its last share; handed to the tally. */
  pool: CryptoPool | null;
  poolTimer: NodeJS.Timeout | null;
  /** The prepared threads' warm-up (warm-up.ts), settled with its report, or null if it was cut short. */
  warmUp: Promise<WarmUpReport | null> | null;
}

/** Where the sessions report their warm-ups (a pino logger, such as the app's). */
export interface TallySessionsOptions {
  logger?: Pick<FastifyBaseLogger, "info" | "warn">;
}

/** How long crypto threads started at a first share wait for the tally before they are shut down. */
export const POOL_IDLE_MS = 15 * 60 * 1000;

/** Tally sessions of this process, by election. */
export class TallySessions {
  private readonly sessions = new Map<string, Session>();
  /** Prepared threads shut down unused: a warm-up running on them ends, expectedly. */
  private readonly shutDown = new WeakSet<CryptoPool>();

  constructor(private readonly options: TallySessionsOptions = {}) {}

  get(electionId: string): Session {
    let session = this.sessions.get(electionId);
    if (!session) {
      session = {
        shares: new Map(),
        state: "collecting",
        checked: 0,
        total: 0,
        finished: null,
        pool: null,
        poolTimer: null,
        warmUp: null,
      };
      this.sessions.set(electionId, session);
    }
    return session;
  }

  /** Waits for the election's running tally, if any, to end (its outcome is in the session and the database). */
  async whenFinished(electionId: string): Promise<void> {
    await this.sessions.get(electionId)?.finished;
  }

  /**
   * Starts the election's crypto threads ahead of the tally (idempotent), and warms the tally's code on them
   * (warm-up.ts), reading the log once through `readLog` when given: all of it happens while the other holders
   * submit. Unused for POOL_IDLE_MS, the threads are shut down; the tally then starts its own.
   */
  prepareCrypto(
    electionId: string,
    idleMs = POOL_IDLE_MS,
    readLog?: () => AsyncIterable<unknown[]>,
  ): CryptoPool {
    const session = this.get(electionId);
    if (session.pool === null) {
      const pool = createCryptoPool();
      session.pool = pool;
      session.warmUp = this.warmUp(pool, readLog);
    }
    if (session.poolTimer !== null) clearTimeout(session.poolTimer);
    session.poolTimer = setTimeout(() => {
      void this.releaseCrypto(session);
    }, idleMs);
    session.poolTimer.unref();
    return session.pool;
  }

  /**
   * The prepared pool, now owned by the caller (who closes it), once its warm-up has ended (a fraction of a
   * second of work at most); or a fresh pool.
   */
  async takeCrypto(electionId: string): Promise<CryptoPool> {
    const session = this.get(electionId);
    if (session.poolTimer !== null) clearTimeout(session.poolTimer);
    session.poolTimer = null;
    const pool = session.pool;
    session.pool = null;
    if (pool === null) return createCryptoPool();
    await session.warmUp;
    return pool;
  }

  /** The last warm-up of the election's prepared threads: its report, null if cut short, or null if none. */
  async lastWarmUp(electionId: string): Promise<WarmUpReport | null> {
    return (await this.sessions.get(electionId)?.warmUp) ?? null;
  }

  private async warmUp(
    pool: CryptoPool,
    readLog?: () => AsyncIterable<unknown[]>,
  ): Promise<WarmUpReport | null> {
    const logger = this.options.logger;
    try {
      const report = await warmUpTally(pool, { readLog });
      if (report.ok) logger?.info({ warmUp: report }, "tally code warmed up on the prepared crypto threads");
      else
        logger?.warn({ warmUp: report }, "the tally warm-up's throwaway log did not verify: a bug to report");
      return report;
    } catch (error) {
      // Threads shut down mid-way (unused, forgotten, the service stopping) end it; anything else is a bug.
      if (!this.shutDown.has(pool)) logger?.warn({ err: error }, "the tally warm-up failed");
      return null;
    }
  }

  /** Crypto threads running for the election outside a tally (started ahead of it); 0 when none. */
  preparedThreads(electionId: string): number {
    return this.sessions.get(electionId)?.pool?.runningThreads() ?? 0;
  }

  forget(electionId: string): void {
    const session = this.sessions.get(electionId);
    if (session) {
      for (const share of session.shares.values()) wipe(share);
      void this.releaseCrypto(session);
    }
    this.sessions.delete(electionId);
  }

  /** Shuts down the threads started ahead of tallies (the service is stopping); a running tally owns its own. */
  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => this.releaseCrypto(s)));
  }

  private async releaseCrypto(session: Session): Promise<void> {
    if (session.poolTimer !== null) clearTimeout(session.poolTimer);
    session.poolTimer = null;
    const pool = session.pool;
    session.pool = null;
    if (pool === null) return;
    this.shutDown.add(pool);
    await pool.close();
  }
}

export function tallyStatus(sessions: TallySessions, electionId: string, threshold: number | null) {
  const s = sessions.get(electionId);
  return {
    state: s.state,
    shares_received: s.shares.size,
    threshold,
    entries_checked: s.checked,
    entries_total: s.total,
    failure: s.failure ?? null,
  };
}

export async function submitShare(
  db: Db,
  pool: pg.Pool,
  keyring: LogKeyring,
  sessions: TallySessions,
  actor: Actor & { id: string },
  electionId: string,
  share: Buffer,
) {
  const election = await db
    .selectFrom("elections")
    .select("status")
    .where("id", "=", electionId)
    .executeTakeFirst();
  if (!election) throw notFound("election");
  if (election.status === "tallied" || election.status === "certified") {
    throw new AppError("ALREADY_TALLIED", "the tally is done");
  }
  if (election.status !== "closed")
    throw new AppError("ELECTION_NOT_CLOSED", "the tally starts after the polls close");
  const holder = await db
    .selectFrom("tally_key_holders")
    .innerJoin("tally_keys", "tally_keys.election_id", "tally_key_holders.election_id")
    .select(["tally_key_holders.share_index", "tally_keys.threshold", "tally_keys.public_key"])
    .where("tally_key_holders.election_id", "=", electionId)
    .where("tally_key_holders.user_id", "=", actor.id)
    .executeTakeFirst();
  if (!holder || holder.share_index === null)
    throw new AppError("NOT_A_HOLDER", "you hold no share of this election's tally key");
  const session = sessions.get(electionId);
  if (session.state === "running") throw new AppError("TALLY_RUNNING", "the tally is running");
  if (session.state === "failed" || session.state === "done") {
    sessions.forget(electionId);
  }
  const current = sessions.get(electionId);
  current.shares.set(actor.id, Buffer.from(share));
  // Threads (and their warm-up) ahead of a tally still waiting for shares; the last share starts the tally,
  // which should not wait for a warm-up it no longer has time to gain from (a 1-of-n key, for one).
  if (current.shares.size < holder.threshold) {
    sessions.prepareCrypto(electionId, POOL_IDLE_MS, () =>
      copyLogEntries(pool, electionId, { limit: WARM_UP_LOG_ROWS }),
    );
  }
  await db.transaction().execute((tx) =>
    recordAuditEvent(tx, actor, {
      electionId,
      action: "tally.share_submitted",
      targetType: "election",
      targetId: electionId,
      details: { shares_received: current.shares.size, threshold: holder.threshold },
    }),
  );
  if (current.shares.size >= holder.threshold) {
    current.state = "running";
    // Runs after the response; progress and the outcome are read from the session and the database.
    current.finished = runTally({
      db,
      pool,
      keyring,
      sessions,
      actor,
      electionId,
      publicKey: holder.public_key,
    }).catch(() => {});
  }
  return tallyStatus(sessions, electionId, holder.threshold);
}

async function runTally(run: TallyRun): Promise<void> {
  // The threads started at the first share (or fresh ones) are the tally's from here, closed however it ends.
  const threads = await run.sessions.takeCrypto(run.electionId);
  try {
    await tallyWith(threads, run);
  } finally {
    await threads.close();
  }
}

interface TallyRun {
  db: Db;
  pool: pg.Pool;
  keyring: LogKeyring;
  sessions: TallySessions;
  actor: Actor;
  electionId: string;
  publicKey: Buffer;
}

async function tallyWith(
  threads: CryptoPool,
  { db, pool, keyring, sessions, actor, electionId, publicKey }: TallyRun,
): Promise<void> {
  const session = sessions.get(electionId);
  const secret = await recombineTallySecret([...session.shares.values()], publicKey);
  for (const share of session.shares.values()) wipe(share);
  session.shares.clear();
  if (secret === null) {
    session.state = "failed";
    session.failure =
      "the shares do not rebuild this election's tally key: each holder should submit their own share again";
    await db.transaction().execute((tx) =>
      recordAuditEvent(tx, actor, {
        electionId,
        action: "tally.failed",
        outcome: "refused",
        details: { reason: "shares_invalid" },
      }),
    );
    return;
  }
  // The log's first rows and checkpoints are asked for now, beside the election's metadata, rather than one
  // round trip after another once the verifier starts; the two streams are closed however the tally ends.
  const entries = startNow(copyLogEntries(pool, electionId));
  const checkpoints = startNow(checkpointNotes(db, electionId));
  try {
    const [head, candidates, tps, kiosks, keys] = await Promise.all([
      db.selectFrom("log_heads").select("tree_size").where("election_id", "=", electionId).executeTakeFirst(),
      db.selectFrom("candidates").select("ballot_number").where("election_id", "=", electionId).execute(),
      db.selectFrom("tps").select(["id", "area"]).where("election_id", "=", electionId).execute(),
      db
        .selectFrom("kiosks")
        .select(["key_id", "public_key", "tps_id", "revoked_at_log_size"])
        .where("election_id", "=", electionId)
        .execute(),
      listLogKeys(db),
    ]);
    session.total = head?.tree_size ?? 0;
    // Read while the log is verified rather than after it: the election is closed, so none of it changes.
    const stored = reconciliationRows(db, electionId);
    const electionRow = getElection(db, electionId);
    // Awaited below; a failure meanwhile must not surface as an unhandled rejection.
    stored.catch(() => undefined);
    electionRow.catch(() => undefined);
    const report: VerificationReport = await verifyElectionLog({
      electionId,
      origin: logOrigin(keyring, electionId),
      logPublicKeys: keys.map((k) => k.publicKey),
      kiosks: kiosks.map((k) => ({
        keyId: k.key_id,
        publicKey: k.public_key,
        tpsId: k.tps_id,
        revokedAtLogSize: k.revoked_at_log_size,
      })),
      tpsIds: tps.map((t) => t.id),
      entries,
      checkpoints,
      tally: { secretKey: secret, candidateNumbers: candidates.map((c) => c.ballot_number) },
      expectedEntries: session.total,
      cryptoWorker: threads,
      batchesInFlight: threads.batchesInFlight,
      onProgress: (n) => {
        session.checked = n;
      },
    });
    // Shut down as soon as the log is verified, while the rest goes on (runTally waits for it at the end).
    void threads.close().catch(() => undefined);
    const counts = report.counts as ElectionCounts;
    const reconciliation = reconcile(await stored, counts);
    const election = await electionRow;
    const decision = decideWinner(
      counts,
      {
        registered: Object.fromEntries(reconciliation.per_tps.map((t) => [t.tps_id, t.registered + t.dpk])),
        area: Object.fromEntries(tps.map((t) => [t.id, t.area])),
      },
      tieBreakOf(election),
    );
    // The result document: canonical JSON, signed by the service's log key (SPEC §8).
    const document = canonicalJson({
      format: "suara-result/v1",
      election_id: electionId,
      origin: logOrigin(keyring, electionId),
      tree_size: report.treeSize,
      root_hash: report.rootHash,
      verified: report.ok,
      counts,
      decision,
      discrepancies: reconciliation.discrepancies,
    });
    const serviceSignature = signEd25519(Buffer.from(document, "utf8"), keyring.active.secretKey).toString(
      "base64",
    );
    await db.transaction().execute(async (tx) => {
      await tx
        .insertInto("results")
        .values({
          election_id: electionId,
          counts: JSON.stringify(counts),
          verification: JSON.stringify({
            ok: report.ok,
            entries_checked: report.entriesChecked,
            tree_size: report.treeSize,
            root_hash: report.rootHash,
            checkpoints_checked: report.checkpointsChecked,
            failures: report.failures.slice(0, 100),
          }),
          reconciliation: JSON.stringify(reconciliation),
          decision: JSON.stringify(decision),
          document,
          service_signature: serviceSignature,
        })
        .execute();
      await tx
        .updateTable("elections")
        .set({ status: "tallied", updated_at: sql`now()` })
        .where("id", "=", electionId)
        .execute();
      await recordAuditEvent(tx, actor, {
        electionId,
        action: "election.tallied",
        targetType: "election",
        targetId: electionId,
        details: {
          ballots: counts.ballots,
          verified: report.ok,
          discrepancies: reconciliation.discrepancies.length,
          winner: decision.winner,
          rule: decision.rule,
        },
      });
    });
    session.state = "done";
  } catch (error) {
    session.state = "failed";
    session.failure = "the tally could not complete: see the service log";
    throw error;
  } finally {
    wipe(secret);
    // Streams the verifier never read to the end (it failed, or something before it did) give their
    // connections back; finished ones have nothing to close.
    await Promise.allSettled([entries.return(undefined), checkpoints.return(undefined)]);
  }
}

/** What the reconciliation compares the counts with, per TPS: the roll, check-ins and tokens as stored. */
export type ReconciliationRow = {
  tps_id: string;
  code: string;
  registered: number;
  dpk: number;
  checked_in: number;
  tokens_issued: number;
  tokens_redeemed: number;
  tokens_voided: number;
  tokens_expired: number;
};

/** Per TPS, the stored side and the ballots the log holds for it; every inequality between them listed. */
export interface Reconciliation {
  per_tps: Array<Omit<ReconciliationRow, "code"> & { ballots: number }>;
  discrepancies: string[];
}

/** The stored side of the reconciliation (a closed election's: none of it changes after the polls close). */
export async function reconciliationRows(db: Db, electionId: string): Promise<ReconciliationRow[]> {
  const rows = await sql<ReconciliationRow>`
    SELECT t.id AS tps_id, t.code,
      (SELECT count(*)::int FROM voters v WHERE v.election_id = t.election_id AND v.tps_id = t.id AND v.origin = 'dpt') AS registered,
      (SELECT count(*)::int FROM voters v WHERE v.election_id = t.election_id AND v.tps_id = t.id AND v.origin = 'dpk') AS dpk,
      (SELECT count(*)::int FROM checkins c WHERE c.election_id = t.election_id AND c.tps_id = t.id) AS checked_in,
      (SELECT count(*)::int FROM ballot_tokens b WHERE b.election_id = t.election_id AND b.tps_id = t.id) AS tokens_issued,
      (SELECT count(*)::int FROM ballot_tokens b WHERE b.election_id = t.election_id AND b.tps_id = t.id AND b.state = 'redeemed') AS tokens_redeemed,
      (SELECT count(*)::int FROM ballot_tokens b WHERE b.election_id = t.election_id AND b.tps_id = t.id AND b.state = 'voided') AS tokens_voided,
      (SELECT count(*)::int FROM ballot_tokens b WHERE b.election_id = t.election_id AND b.tps_id = t.id AND b.state = 'issued') AS tokens_expired
    FROM tps t WHERE t.election_id = ${electionId} ORDER BY t.code`.execute(db);
  return rows.rows;
}

/** SPEC §8's equalities, per TPS; every inequality is reported, never hidden. */
export function reconcile(rows: readonly ReconciliationRow[], counts: ElectionCounts): Reconciliation {
  const discrepancies: string[] = [];
  const per_tps = rows.map((r) => {
    const ballots = counts.perTps[r.tps_id]?.ballots ?? 0;
    const at = `TPS ${r.code}`;
    if (r.registered + r.dpk < r.checked_in)
      discrepancies.push(`${at}: ${r.checked_in} checked in but only ${r.registered + r.dpk} on the roll`);
    if (r.tokens_issued !== r.tokens_redeemed + r.tokens_voided + r.tokens_expired) {
      discrepancies.push(`${at}: tokens issued ${r.tokens_issued} ≠ redeemed + voided + expired`);
    }
    if (r.tokens_issued < r.checked_in)
      discrepancies.push(`${at}: ${r.checked_in} checked in but only ${r.tokens_issued} tokens issued`);
    if (ballots !== r.tokens_redeemed)
      discrepancies.push(`${at}: ${ballots} ballots in the log but ${r.tokens_redeemed} tokens redeemed`);
    const { code: _code, ...rest } = r;
    return { ...rest, ballots };
  });
  return { per_tps, discrepancies };
}
