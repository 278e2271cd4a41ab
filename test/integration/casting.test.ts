// SPEC §4, §6, §12: casting. One token, one ballot — however many kiosks try at once; a receipt only after
// commit, and the same receipt for a retried ballot; precise refusals; no partial cast; guessing throttled.
// Kiosks are driven over real HTTP by the kiosk client library.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeBallotChoice } from "../../src/crypto/ballot.js";
import { generateBallotToken } from "../../src/crypto/ballot-token.js";
import { openCheckpoint } from "../../src/crypto/checkpoint.js";
import { rootOfLeafHashes, verifyConsistency } from "../../src/crypto/merkle.js";
import { openSealedBallot } from "../../src/crypto/sealed-ballot.js";
import { ed25519NoteVerifier } from "../../src/crypto/signed-note.js";
import { decodeVoteRecord, genesisPrevHash } from "../../src/crypto/vote-record.js";
import type { KioskClient, KioskError } from "../../src/kiosk/client.js";
import { castBallot } from "../../src/modules/ballots/ballots.service.js";
import { loadLogKeyring, logOrigin } from "../../src/modules/log/log.keys.js";
import { loadTokenKey } from "../../src/modules/polling/polling.service.js";
import { bearer, type ElectionFixture } from "../helpers/app.js";
import { type CastingElection, nikOf, openCastingElection } from "../helpers/casting.js";
import type { TestDatabase } from "../helpers/db.js";

let casting: CastingElection;
let database: TestDatabase;
let app: FastifyInstance;
let logs: string[];
let election: ElectionFixture;
let committeeToken: string;
let officerTokens: string[];
let tally: CastingElection["tally"];

beforeAll(async () => {
  casting = await openCastingElection(600);
  ({ database, app, logs, election, committeeToken, officerTokens, tally } = casting);
});

afterAll(async () => {
  await casting?.close();
});

const kiosk = (tpsIndex = 0) => casting.kiosk(tpsIndex);
const checkIn = (tpsIndex = 0) => casting.checkIn(tpsIndex);
const logSize = () => casting.logSize();

describe("casting a ballot", () => {
  it("redeems the token and appends the sealed ballot; the receipt's checkpoint verifies and the ballot opens to the choice", async () => {
    const booth = await kiosk();
    const receipt = await booth.castBallot(2, await checkIn());
    expect(receipt).toMatchObject({ election_id: election.id, seq: 1 });
    expect(receipt.tracking_code).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    const keyring = await loadLogKeyring(database.db, "suara.local");
    const origin = logOrigin(keyring, election.id);
    const opened = openCheckpoint(
      receipt.checkpoint.note,
      [ed25519NoteVerifier(origin, keyring.active.publicKey)],
      origin,
    );
    expect(opened.size).toBe(1);
    const entry = await database.db
      .selectFrom("log_entries")
      .selectAll()
      .where("election_id", "=", election.id)
      .executeTakeFirstOrThrow();
    expect(entry.leaf_hash.toString("base64")).toBe(receipt.leaf_hash);
    const record = decodeVoteRecord(entry.leaf);
    const plaintext = openSealedBallot(record, tally.secretKey) as Buffer;
    expect(decodeBallotChoice(plaintext)).toMatchObject({ candidateNumber: 2, ballotId: receipt.ballot_id });
    const tokens = await database.db
      .selectFrom("ballot_tokens")
      .select("state")
      .where("election_id", "=", election.id)
      .execute();
    expect(tokens.map((t) => t.state)).toEqual(["redeemed"]);
  });

  it("a retry of the same ballot after a lost response returns the same receipt and adds nothing", async () => {
    const booth = await kiosk();
    const token = await checkIn();
    const ballot = await booth.prepareBallot(1);
    const first = await booth.submitBallot(ballot, token);
    const size = await logSize();
    const again = await booth.submitBallot(ballot, token);
    expect(again).toEqual(first);
    expect(await logSize()).toBe(size);
    // A different ballot with the used token is refused.
    await expect(booth.castBallot(3, token)).rejects.toMatchObject({ code: "TOKEN_ALREADY_USED" });
    // The same ballot id with other contents is refused.
    const other = await booth.prepareBallot(3);
    await expect(
      booth.submitBallot({ ...other, ballotId: ballot.ballotId }, await checkIn()),
    ).rejects.toMatchObject({
      code: "BALLOT_ID_REUSED",
    });
  });

  it("one token redeemed from 50 parallel requests gives exactly one receipt and one entry", async () => {
    const booths = await Promise.all(Array.from({ length: 5 }, () => kiosk()));
    for (const b of booths) await b.signIn();
    const token = await checkIn();
    const before = await logSize();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => (booths[i % 5] as KioskClient).castBallot(1 + (i % 3), token)),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    expect(ok).toHaveLength(1);
    const codes = results
      .filter((r) => r.status === "rejected")
      .map((r) => ((r as PromiseRejectedResult).reason as KioskError).code);
    expect(new Set(codes)).toEqual(new Set(["TOKEN_ALREADY_USED"]));
    expect(await logSize()).toBe(before + 1);
  });

  it("500 casts from 20 kiosks at once: 500 receipts, a gapless chained log, consistent checkpoints", async () => {
    const booths = await Promise.all(Array.from({ length: 20 }, (_, i) => kiosk(i % 2)));
    const tokens = await Promise.all(Array.from({ length: 500 }, (_, i) => checkIn((i % 20) % 2)));
    const before = await logSize();
    const receipts = await Promise.all(
      booths.map(async (booth, b) => {
        const mine: Awaited<ReturnType<KioskClient["castBallot"]>>[] = [];
        for (let i = b; i < 500; i += 20) mine.push(await booth.castBallot(1 + (i % 3), tokens[i] as string));
        return mine;
      }),
    );
    const flat = receipts.flat();
    expect(flat).toHaveLength(500);
    expect(new Set(flat.map((r) => r.seq)).size).toBe(500);
    const rows = await database.db
      .selectFrom("log_entries")
      .select(["seq", "leaf", "leaf_hash"])
      .where("election_id", "=", election.id)
      .orderBy("seq")
      .execute();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: before + 500 }, (_, i) => i + 1));
    let prev: Buffer = Buffer.from(genesisPrevHash());
    for (const r of rows) {
      expect(Buffer.from(decodeVoteRecord(r.leaf).prevHash)).toEqual(prev);
      prev = r.leaf_hash;
    }
    const finalRoot = rootOfLeafHashes(rows.map((r) => r.leaf_hash));
    for (const receipt of flat.filter((_, i) => i % 50 === 0)) {
      const proof = (
        await app.inject({
          method: "GET",
          url: `/elections/${election.id}/log/proofs/consistency?from=${receipt.checkpoint.tree_size}&to=${rows.length}`,
        })
      ).json().proof as string[];
      expect(
        verifyConsistency({
          size1: receipt.checkpoint.tree_size,
          size2: rows.length,
          root1: Buffer.from(receipt.checkpoint.root_hash, "base64"),
          root2: finalRoot,
          proof: proof.map((p) => Buffer.from(p, "base64")),
        }),
      ).toBe(true);
    }
  });
});

describe("refusals", () => {
  it("names each token problem precisely: unknown, expired, voided, another TPS", async () => {
    const booth = await kiosk(0);
    await expect(booth.castBallot(1, "AAAAA-AAAAA-A")).rejects.toMatchObject({ code: "TOKEN_UNKNOWN" });
    const expiring = await checkIn();
    await database.db
      .updateTable("ballot_tokens")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("state", "=", "issued")
      .execute();
    await expect(booth.castBallot(1, expiring)).rejects.toMatchObject({ status: 410, code: "TOKEN_EXPIRED" });
    const voided = await checkIn();
    await app.inject({
      method: "POST",
      url: `/elections/${election.id}/tps/${election.tpsIds[0]}/tokens/void`,
      headers: bearer(officerTokens[0] as string),
      payload: { token: voided },
    });
    await expect(booth.castBallot(1, voided)).rejects.toMatchObject({ code: "TOKEN_VOIDED" });
    const elsewhere = await checkIn(1);
    await expect(booth.castBallot(1, elsewhere)).rejects.toMatchObject({ code: "TOKEN_WRONG_TPS" });
  });

  it("a ballot whose bytes do not match the kiosk's signature is refused", async () => {
    const booth = await kiosk();
    const ballot = await booth.prepareBallot(1);
    const tampered = Uint8Array.from(ballot.ciphertext);
    tampered[0] = (tampered[0] as number) ^ 1;
    await expect(
      booth.submitBallot({ ...ballot, ciphertext: tampered }, await checkIn()),
    ).rejects.toMatchObject({
      code: "BALLOT_SIGNATURE_INVALID",
    });
  });

  it("a revoked kiosk holding a live session cannot cast", async () => {
    const booth = await kiosk();
    await booth.signIn();
    const token = await checkIn();
    await app.inject({
      method: "POST",
      url: `/elections/${election.id}/kiosks/${booth.kioskId}/revoke`,
      headers: bearer(committeeToken),
      payload: { reason: "dicuri" },
    });
    await expect(booth.castBallot(1, token)).rejects.toMatchObject({ code: "KIOSK_REVOKED" });
  });

  it("a failure between redeeming the token and appending leaves neither", async () => {
    const booth = await kiosk();
    await booth.signIn();
    const me = await booth.request<{ id: string; tps_id: string; key_id: string }>("GET", "/kiosk/me");
    const token = await checkIn();
    const ballot = await booth.prepareBallot(2);
    const kioskRow = await database.db
      .selectFrom("kiosks")
      .selectAll()
      .where("id", "=", me.id)
      .executeTakeFirstOrThrow();
    const before = await logSize();
    await expect(
      castBallot(
        database.db,
        await loadLogKeyring(database.db, "suara.local"),
        await loadTokenKey(database.db, undefined),
        {
          kioskId: me.id,
          electionId: election.id,
          tpsId: me.tps_id,
          keyId: kioskRow.key_id,
          publicKey: kioskRow.public_key,
        },
        {
          ballotId: ballot.ballotId,
          token,
          ephemeralPublicKey: Buffer.from(ballot.ephemeralPublicKey),
          nonce: Buffer.from(ballot.nonce),
          ciphertext: Buffer.from(ballot.ciphertext),
          kioskSignature: Buffer.from(ballot.kioskSignature),
        },
        {
          afterRedeem: () => {
            throw new Error("injected crash after redemption");
          },
        },
      ),
    ).rejects.toThrow(/injected crash/);
    expect(await logSize()).toBe(before);
    // The token was not spent: the same ballot now goes through.
    const receipt = await booth.submitBallot(ballot, token);
    expect(receipt.seq).toBe(before + 1);
  });

  it("10,000 guessed tokens at a kiosk yield no ballot and trip the throttle", async () => {
    const booth = await kiosk(1);
    await booth.signIn();
    const before = await logSize();
    const codes = new Map<string, number>();
    // Well-formed tokens (with their check symbol), so every guess reaches the token lookup in a batch.
    const guess = () => generateBallotToken();
    const ballot = await booth.prepareBallot(1);
    for (let round = 0; round < 1000; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => booth.submitBallot(ballot, guess(), 1)),
      );
      for (const r of results) {
        const code = r.status === "fulfilled" ? "ACCEPTED" : ((r.reason as KioskError).code ?? "ERROR");
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }
    expect(codes.get("ACCEPTED")).toBeUndefined();
    expect([...codes.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(codes.get("TOKEN_GUESSING_THROTTLED") ?? 0).toBeGreaterThan(9_900);
    expect(await logSize()).toBe(before);
  }, 120_000);
});

describe("closing the polls", () => {
  it("after close nothing is cast or checked in, a final checkpoint exists, and logs hold no token", async () => {
    const booth = await kiosk();
    const token = await checkIn();
    const closed = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/close`,
      headers: bearer(committeeToken),
    });
    expect(closed.statusCode).toBe(200);
    await expect(booth.castBallot(1, token)).rejects.toMatchObject({ code: "ELECTION_NOT_OPEN" });
    const late = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/tps/${election.tpsIds[0]}/checkins`,
      headers: bearer(officerTokens[0] as string),
      payload: { nik: nikOf(0, 599) },
    });
    expect(late.json().error.code).toBe("ELECTION_NOT_OPEN");
    const size = await logSize();
    const final = await database.db
      .selectFrom("log_checkpoints")
      .select("tree_size")
      .where("election_id", "=", election.id)
      .where("tree_size", "=", size)
      .executeTakeFirst();
    expect(final).toBeDefined();
    expect(logs.join("\n")).not.toMatch(/[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-/);
  });
});
