// SPEC §11: every state change writes an audit event in the same transaction; events form an append-only hash
// chain the database refuses to rewrite; and tampering that bypasses the database (a superuser) is found by the
// chain check, which names the first bad event.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { recordAuditEvent, verifyAuditChain } from "../../src/modules/audit/audit.service.js";
import {
  addMember,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  type ElectionFixture,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let database: TestDatabase;
let app: FastifyInstance;
let adminToken: string;
let committeeToken: string;
let election: ElectionFixture;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  await createUser(database.db, "admin", { isAdmin: true });
  const committee = await createUser(database.db, "panitia");
  adminToken = await login(app, "admin");
  committeeToken = await login(app, "panitia");
  election = await createElection(app, adminToken, { tps: 3, candidates: 3 });
  await addMember(database.db, election.id, committee.id, "committee");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const verifyUrl = () => `/elections/${election.id}/audit-events/verify`;

async function verify() {
  const response = await app.inject({ method: "GET", url: verifyUrl(), headers: bearer(committeeToken) });
  expect(response.statusCode).toBe(200);
  return response.json();
}

/** Tampering as a database superuser would: with triggers bypassed for this session only. */
async function tamper(sqlText: string, values: unknown[] = []): Promise<void> {
  await database.superuser(sqlText, values, { bypassTriggers: true });
}

describe("the audit trail", () => {
  it("records each change of the election's definition, in order, with who did it", async () => {
    const page = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/audit-events?limit=4`,
      headers: bearer(committeeToken),
    });
    const first = page.json<{
      items: Array<{ seq: number; action: string; actor_role: string }>;
      next_cursor: string;
    }>();
    expect(first.items.map((e) => [e.seq, e.action, e.actor_role])).toEqual([
      [1, "election.created", "admin"],
      [2, "tps.added", "admin"],
      [3, "tps.added", "admin"],
      [4, "tps.added", "admin"],
    ]);
    const next = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/audit-events?limit=4&cursor=${first.next_cursor}`,
      headers: bearer(committeeToken),
    });
    const second = next.json<{ items: Array<{ seq: number; action: string }>; next_cursor: string | null }>();
    expect(second.items.map((e) => [e.seq, e.action])).toEqual([
      [5, "candidate.added"],
      [6, "candidate.added"],
      [7, "candidate.added"],
    ]);
    expect(second.next_cursor).toBeNull();
  });

  it("a change that fails leaves no event behind (same transaction)", async () => {
    const before = await verify();
    const dup = await app.inject({
      method: "POST",
      url: `/elections/${election.id}/candidates`,
      headers: bearer(committeeToken),
      payload: { ballot_number: 1, name: "Duplicate" },
    });
    expect(dup.statusCode).toBe(409);
    expect((await verify()).events_checked).toBe(before.events_checked);
  });

  it("a forged cursor is a 400, not a 500", async () => {
    const response = await app.inject({
      method: "GET",
      url: `/elections/${election.id}/audit-events?cursor=bm90LWEtY3Vyc29y`,
      headers: bearer(committeeToken),
    });
    expect(response.statusCode).toBe(400);
  });

  it("concurrent changes append a gapless chain that verifies", async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        database.db.transaction().execute((tx) =>
          recordAuditEvent(
            tx,
            { id: null, role: "system" },
            {
              electionId: election.id,
              action: "test.concurrent",
              details: { i },
            },
          ),
        ),
      ),
    );
    const report = await verify();
    expect(report).toMatchObject({ ok: true, first_bad_event: null });
    const seqs = await database.db
      .selectFrom("audit_events")
      .select("seq")
      .where("election_id", "=", election.id)
      .orderBy("seq")
      .execute();
    expect(seqs.map((r) => r.seq)).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(report.events_checked).toBe(seqs.length);
  });

  it("the database refuses UPDATE, DELETE and TRUNCATE of audit events", async () => {
    await expect(database.superuser("UPDATE audit_events SET action = 'x' WHERE seq = 1")).rejects.toThrow(
      /append-only/,
    );
    await expect(database.superuser("DELETE FROM audit_events WHERE seq = 1")).rejects.toThrow(/append-only/);
    await expect(database.superuser("TRUNCATE audit_events")).rejects.toThrow(/append-only/);
    expect((await verify()).ok).toBe(true);
  });
});

describe("the chain check finds tampering that bypassed the database", () => {
  let snapshot: Array<Record<string, unknown>>;

  beforeEach(async () => {
    snapshot = (
      await database.superuser("SELECT * FROM audit_events WHERE election_id = $1 ORDER BY seq", [
        election.id,
      ])
    ).rows;
  });

  async function restore(): Promise<void> {
    await tamper("DELETE FROM audit_events WHERE election_id = $1", [election.id]);
    for (const row of snapshot) {
      await tamper(
        `INSERT INTO audit_events SELECT * FROM json_populate_record(NULL::audit_events, $1::json)`,
        [JSON.stringify({ ...row, prev_hash: hex(row.prev_hash), hash: hex(row.hash) })],
      );
    }
    expect((await verify()).ok).toBe(true);
  }
  const hex = (b: unknown) => `\\x${(b as Buffer).toString("hex")}`;

  it("an altered field is named as a hash mismatch at its seq", async () => {
    await tamper("UPDATE audit_events SET actor_role = 'witness' WHERE election_id = $1 AND seq = 5", [
      election.id,
    ]);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.first_bad_event).toMatchObject({ seq: 5, fault: "hash_mismatch" });
    expect(report.events_checked).toBe(4);
    await restore();
  });

  it("an altered event whose hash was recomputed breaks the link from the next one", async () => {
    // Change details and recompute this row's hash in a way only someone ignoring the chain would.
    await tamper(
      `UPDATE audit_events SET details = '{"ballot_number": 9}', hash = sha256(hash) WHERE election_id = $1 AND seq = 6`,
      [election.id],
    );
    const report = await verify();
    expect(report.first_bad_event).toMatchObject({ seq: 6 });
    await restore();
  });

  it("a deleted event is named as a gap", async () => {
    await tamper("DELETE FROM audit_events WHERE election_id = $1 AND seq = 3", [election.id]);
    const report = await verify();
    expect(report.first_bad_event).toMatchObject({ seq: 4, fault: "seq_gap", expected_seq: 3 });
    await restore();
  });

  it("two events swapped are found", async () => {
    await tamper(
      "UPDATE audit_events SET seq = CASE seq WHEN 2 THEN 1002 WHEN 3 THEN 1003 END WHERE election_id = $1 AND seq IN (2, 3)",
      [election.id],
    );
    await tamper(
      "UPDATE audit_events SET seq = CASE seq WHEN 1002 THEN 3 WHEN 1003 THEN 2 END WHERE election_id = $1 AND seq IN (1002, 1003)",
      [election.id],
    );
    const report = await verify();
    expect(report.first_bad_event?.seq).toBe(2);
    await restore();
  });

  it("the system chain (accounts, sign-ins) is checked the same way, by administrators only", async () => {
    const ok = await app.inject({ method: "GET", url: "/audit-events/verify", headers: bearer(adminToken) });
    expect(ok.json()).toMatchObject({ ok: true });
    expect(ok.json().events_checked).toBeGreaterThanOrEqual(2); // the two sign-ins
    const refused = await app.inject({
      method: "GET",
      url: "/audit-events/verify",
      headers: bearer(committeeToken),
    });
    expect(refused.statusCode).toBe(403);
    const direct = await verifyAuditChain(database.db, "00000000-0000-0000-0000-000000000000");
    expect(direct.ok).toBe(true);
  });
});
