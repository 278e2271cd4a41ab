// SPEC §6: one append-only log per election, every state committed by a signed checkpoint, and proofs that
// anyone can check: an entry is included, and the log only ever grew. Checked here against PostgreSQL, over
// HTTP as a witness would ask, and under concurrent appends from many connections.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCheckpoint } from "../../src/crypto/checkpoint.js";
import { ed25519KeyPairFromSeed } from "../../src/crypto/ed25519.js";
import { leafHash } from "../../src/crypto/hash.js";
import { rootOfLeafHashes, verifyConsistency, verifyInclusion } from "../../src/crypto/merkle.js";
import { ed25519NoteVerifier } from "../../src/crypto/signed-note.js";
import { decodeVoteRecord, genesisPrevHash } from "../../src/crypto/vote-record.js";
import { createDatabase } from "../../src/db/connection.js";
import {
  LogKeyError,
  type LogKeyring,
  loadLogKeyring,
  logOrigin,
  rotateLogKey,
} from "../../src/modules/log/log.keys.js";
import { appendVotes } from "../../src/modules/log/log.service.js";
import {
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  errorCode,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { makeKiosk, makeVote } from "../helpers/votes.js";

let database: TestDatabase;
let app: FastifyInstance;
let keyring: LogKeyring;
let election: ElectionFixture;
const kiosk = makeKiosk();

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  election = await createElection(app, await login(app, "admin"));
  keyring = await loadLogKeyring(database.db, "suara.local");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const b64 = (s: string) => Buffer.from(s, "base64");

async function append(electionId: string, count: number, ring = keyring) {
  const tpsId = election.tpsIds[0] as string;
  return database.db.transaction().execute((tx) =>
    appendVotes(
      tx,
      ring,
      electionId,
      Array.from({ length: count }, () => makeVote(electionId, tpsId, kiosk)),
    ),
  );
}

async function storedLeafHashes(electionId: string): Promise<Buffer[]> {
  const rows = await database.db
    .selectFrom("log_entries")
    .select(["seq", "leaf_hash"])
    .where("election_id", "=", electionId)
    .orderBy("seq")
    .execute();
  return rows.map((r) => r.leaf_hash);
}

const get = (url: string) => app.inject({ method: "GET", url });

describe("appending and checkpoints", () => {
  it("the first entry has seq 1 and a zero prev_hash; its checkpoint is signed by the log key", async () => {
    const { appended, checkpoint } = await append(election.id, 1);
    expect(appended[0]?.seq).toBe(1);
    const row = await database.db
      .selectFrom("log_entries")
      .selectAll()
      .where("election_id", "=", election.id)
      .executeTakeFirstOrThrow();
    const record = decodeVoteRecord(row.leaf);
    expect(record).toMatchObject({ seq: 1, electionId: election.id, tpsId: election.tpsIds[0] });
    expect(Buffer.from(record.prevHash)).toEqual(Buffer.from(genesisPrevHash()));
    expect(row.leaf_hash).toEqual(leafHash(row.leaf));
    expect(appended[0]?.trackingCode).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);

    const origin = logOrigin(keyring, election.id);
    const opened = openCheckpoint(
      checkpoint.note,
      [ed25519NoteVerifier(origin, keyring.active.publicKey)],
      origin,
    );
    expect(opened.size).toBe(1);
    expect(Buffer.from(opened.rootHash)).toEqual(Buffer.from(rootOfLeafHashes([row.leaf_hash])));
  });

  it("later entries chain by prev_hash and every append signs a checkpoint of the whole tree", async () => {
    for (const batch of [1, 2, 5, 3, 8]) await append(election.id, batch);
    const rows = await database.db
      .selectFrom("log_entries")
      .selectAll()
      .where("election_id", "=", election.id)
      .orderBy("seq")
      .execute();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (let i = 1; i < rows.length; i++) {
      expect(Buffer.from(decodeVoteRecord(rows[i]?.leaf as Buffer).prevHash)).toEqual(rows[i - 1]?.leaf_hash);
    }
    const checkpoints = await database.db
      .selectFrom("log_checkpoints")
      .select(["tree_size", "root_hash"])
      .where("election_id", "=", election.id)
      .orderBy("tree_size")
      .execute();
    expect(checkpoints.map((c) => c.tree_size)).toEqual([1, 2, 4, 9, 12, 20]);
    const leaves = rows.map((r) => r.leaf_hash);
    for (const c of checkpoints) {
      expect(c.root_hash).toEqual(Buffer.from(rootOfLeafHashes(leaves.slice(0, c.tree_size))));
    }
  });

  it("a failed append (a ballot id used twice) leaves no entry, node or checkpoint behind", async () => {
    const before = await storedLeafHashes(election.id);
    const vote = makeVote(election.id, election.tpsIds[0] as string, kiosk);
    await expect(
      database.db.transaction().execute((tx) => appendVotes(tx, keyring, election.id, [vote, { ...vote }])),
    ).rejects.toThrow();
    expect(await storedLeafHashes(election.id)).toEqual(before);
    const head = await database.db
      .selectFrom("log_heads")
      .select("tree_size")
      .where("election_id", "=", election.id)
      .executeTakeFirstOrThrow();
    expect(head.tree_size).toBe(before.length);
  });
});

describe("the public bulletin board", () => {
  it("serves the latest checkpoint with verifier keys anyone can use", async () => {
    const response = await get(`/elections/${election.id}/log/checkpoint`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.origin).toBe(`suara.local/elections/${election.id}`);
    expect(body.tree_size).toBe(20);
    expect(body.verifier_keys[0]).toMatch(
      new RegExp(`^suara.local/elections/${election.id}\\+[0-9a-f]{8}\\+`),
    );
    const opened = openCheckpoint(
      body.note,
      [ed25519NoteVerifier(body.origin, keyring.active.publicKey)],
      body.origin,
    );
    expect(Buffer.from(opened.rootHash).toString("base64")).toBe(body.root_hash);
  });

  it("an election with an empty log has no checkpoint yet", async () => {
    const other = await createElection(app, await login(app, "admin"), { name: "Kosong" });
    const response = await get(`/elections/${other.id}/log/checkpoint`);
    expect(response.statusCode).toBe(404);
    expect(errorCode(response)).toBe("NO_CHECKPOINT");
  });

  it("every entry's inclusion proof verifies against every tree size that contains it", async () => {
    const leaves = await storedLeafHashes(election.id);
    for (const treeSize of [1, 2, 3, 7, 8, 13, 20]) {
      const root = rootOfLeafHashes(leaves.slice(0, treeSize));
      for (let seq = 1; seq <= treeSize; seq++) {
        const response = await get(
          `/elections/${election.id}/log/proofs/inclusion?seq=${seq}&tree_size=${treeSize}`,
        );
        expect(response.statusCode).toBe(200);
        const body = response.json();
        const claim = {
          leafHash: b64(body.leaf_hash),
          index: seq - 1,
          size: treeSize,
          proof: body.proof.map(b64),
          root,
        };
        expect(verifyInclusion(claim), `seq ${seq} in ${treeSize}`).toBe(true);
        if (treeSize > 1) expect(verifyInclusion({ ...claim, index: seq % treeSize })).toBe(false);
      }
    }
  });

  it("finds an entry by its receipt's tracking code, typed as a voter might", async () => {
    const row = await database.db
      .selectFrom("log_entries")
      .select(["seq", "tracking_code"])
      .where("election_id", "=", election.id)
      .where("seq", "=", 7)
      .executeTakeFirstOrThrow();
    const typed = row.tracking_code.toLowerCase().replace("-", " ");
    const response = await get(
      `/elections/${election.id}/log/proofs/inclusion?tracking_code=${encodeURIComponent(typed)}`,
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ seq: 7, tree_size: 20, tracking_code: row.tracking_code });
  });

  it("every consistency proof between two sizes verifies against their roots; a forged root does not", async () => {
    const leaves = await storedLeafHashes(election.id);
    for (const [from, to] of [
      [1, 20],
      [4, 9],
      [9, 12],
      [3, 7],
      [12, 20],
      [20, 20],
    ] as const) {
      const response = await get(`/elections/${election.id}/log/proofs/consistency?from=${from}&to=${to}`);
      const proof = response.json().proof.map(b64);
      const claim = {
        size1: from,
        size2: to,
        root1: rootOfLeafHashes(leaves.slice(0, from)),
        root2: rootOfLeafHashes(leaves.slice(0, to)),
        proof,
      };
      expect(verifyConsistency(claim), `${from} → ${to}`).toBe(true);
      const forged = Buffer.from(claim.root1);
      forged[0] = (forged[0] as number) ^ 1;
      expect(verifyConsistency({ ...claim, root1: forged })).toBe(false);
    }
  });

  it("pages through entries whose leaves are the canonical records", async () => {
    const response = await get(`/elections/${election.id}/log/entries?start=5&end=9`);
    const entries = response.json().entries;
    expect(entries.map((e: { seq: number }) => e.seq)).toEqual([5, 6, 7, 8, 9]);
    for (const e of entries) {
      expect(leafHash(b64(e.leaf)).toString("base64")).toBe(e.leaf_hash);
      expect(decodeVoteRecord(b64(e.leaf)).seq).toBe(e.seq);
    }
  });

  it("refuses sizes beyond the log, and malformed questions, with clear codes", async () => {
    const tooBig = await get(`/elections/${election.id}/log/proofs/inclusion?seq=1&tree_size=21`);
    expect(tooBig.statusCode).toBe(404);
    expect(errorCode(tooBig)).toBe("LOG_SIZE_UNKNOWN");
    const backwards = await get(`/elections/${election.id}/log/proofs/consistency?from=9&to=4`);
    expect(errorCode(backwards)).toBe("VALIDATION_FAILED");
    const both = await get(`/elections/${election.id}/log/proofs/inclusion?seq=1&tracking_code=AAAAA-AAAAA`);
    expect(errorCode(both)).toBe("VALIDATION_FAILED");
    const badCode = await get(`/elections/${election.id}/log/proofs/inclusion?tracking_code=not-a-code`);
    expect(errorCode(badCode)).toBe("VALIDATION_FAILED");
    const unknown = await get(`/elections/${election.id}/log/proofs/inclusion?seq=999`);
    expect(errorCode(unknown)).toBe("NOT_FOUND");
  });
});

describe("append-only, three times over", () => {
  for (const table of ["log_entries", "log_tree_nodes", "log_checkpoints"]) {
    it(`the database refuses UPDATE, DELETE and TRUNCATE on ${table}`, async () => {
      await expect(database.superuser(`UPDATE ${table} SET election_id = election_id`)).rejects.toThrow(
        /append-only/,
      );
      await expect(database.superuser(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
      await expect(database.superuser(`TRUNCATE ${table}`)).rejects.toThrow(/append-only/);
    });
  }
});

describe("concurrent appends", () => {
  it("20 connections appending 25 votes each leave a gapless, chained log whose checkpoints all agree", async () => {
    const target = await createElection(app, await login(app, "admin"), { name: "Serentak" });
    const tpsId = target.tpsIds[0] as string;
    // Separate pools: 20 real connections, each appending one vote per transaction.
    const pools = Array.from({ length: 20 }, () => createDatabase(database.url, 1));
    try {
      await Promise.all(
        pools.map(async ({ db }) => {
          for (let i = 0; i < 25; i++) {
            await db
              .transaction()
              .execute((tx) => appendVotes(tx, keyring, target.id, [makeVote(target.id, tpsId, kiosk)]));
          }
        }),
      );
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
    const rows = await database.db
      .selectFrom("log_entries")
      .select(["seq", "leaf", "leaf_hash"])
      .where("election_id", "=", target.id)
      .orderBy("seq")
      .execute();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    let prev: Buffer = Buffer.from(genesisPrevHash());
    for (const r of rows) {
      expect(Buffer.from(decodeVoteRecord(r.leaf).prevHash)).toEqual(prev);
      prev = r.leaf_hash;
    }
    const leaves = rows.map((r) => r.leaf_hash);
    const checkpoints = await database.db
      .selectFrom("log_checkpoints")
      .select(["tree_size", "root_hash"])
      .where("election_id", "=", target.id)
      .orderBy("tree_size")
      .execute();
    expect(checkpoints.map((c) => c.tree_size)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const finalRoot = rootOfLeafHashes(leaves);
    for (const c of checkpoints.filter((_, i) => i % 37 === 0)) {
      const response = await get(`/elections/${target.id}/log/proofs/consistency?from=${c.tree_size}&to=500`);
      const proof = response.json().proof.map(b64);
      expect(
        verifyConsistency({ size1: c.tree_size, size2: 500, root1: c.root_hash, root2: finalRoot, proof }),
      ).toBe(true);
    }
  });
});

describe("the log signing key", () => {
  it("is made once and found again on the next start", async () => {
    const again = await loadLogKeyring(database.db, "suara.local");
    expect(again.active.id).toBe(keyring.active.id);
    expect(again.active.publicKey).toEqual(keyring.active.publicKey);
  });

  it("rotation keeps old checkpoints verifiable under the retired key and signs new ones with the new key", async () => {
    const oldKey = keyring.active.publicKey;
    const oldNote = (await get(`/elections/${election.id}/log/checkpoint`)).json().note;
    await rotateLogKey(database.db);
    const rotated = await loadLogKeyring(database.db, "suara.local");
    expect(rotated.active.publicKey).not.toEqual(oldKey);
    const { checkpoint } = await append(election.id, 1, rotated);
    const origin = logOrigin(rotated, election.id);
    expect(() => openCheckpoint(checkpoint.note, [ed25519NoteVerifier(origin, oldKey)], origin)).toThrow();
    expect(
      openCheckpoint(checkpoint.note, [ed25519NoteVerifier(origin, rotated.active.publicKey)], origin).size,
    ).toBe(21);
    expect(openCheckpoint(oldNote, [ed25519NoteVerifier(origin, oldKey)], origin).size).toBe(20);
    const keys = (await get("/log/keys")).json().keys;
    expect(keys).toHaveLength(2);
    expect(keys.filter((k: { active: boolean }) => k.active)).toHaveLength(1);
    keyring = rotated;
  });

  it("a key given in LOG_SIGNING_KEY becomes active, is never stored, and cannot silently vanish", async () => {
    const seed = Buffer.alloc(32, 7);
    const configured = await loadLogKeyring(database.db, "suara.local", seed.toString("base64"));
    expect(configured.active.publicKey).toEqual(ed25519KeyPairFromSeed(seed).publicKey);
    const row = await database.db
      .selectFrom("log_keys")
      .select("secret_seed")
      .where("id", "=", configured.active.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_seed).toBeNull();
    await expect(loadLogKeyring(database.db, "suara.local")).rejects.toThrow(LogKeyError);
  });
});
