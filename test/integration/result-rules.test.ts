// SPEC §8: each election configures, before it opens, how ties are broken (the area unit of the wider-area rule
// and the fallbacks after it) and the quorum of committee approvals that certifies its result; the result states
// which rule decided; committee members may sign the result document with their own key; the berita acara is
// the printable minutes, sealed exactly like the results.
import type { FastifyInstance } from "fastify";
import sodium from "sodium-native";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addMember,
  addTallyKey,
  addVoters,
  bearer,
  buildTestApp,
  createElection,
  createUser,
  errorCode,
  login,
} from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { runPilkades, tally } from "../helpers/pilkades.js";

let database: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let admin: string;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ app } = await buildTestApp(database));
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  await createUser(database.db, "admin", { isAdmin: true });
  admin = await login(app, "admin");
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const asAdmin = (method: "GET" | "POST" | "PATCH", url: string, payload?: Record<string, unknown>) =>
  app.inject({ method, url, headers: bearer(admin), ...(payload ? { payload } : {}) });

const electionBody = {
  name: "Pilkades Desa Muara Padang 2027",
  village_name: "Muara Padang",
  region_code: "16.07.05.2001",
  voting_day: "2099-03-14",
  time_zone: "WIB",
};

describe("an election's result rules", () => {
  it("default to ties by TPS, then the largest TPS, then a second round, and a majority quorum", async () => {
    const created = await asAdmin("POST", "/elections", electionBody);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      tie_break: { area_unit: "tps", fallbacks: ["largest_tps", "second_round"] },
      certification_quorum: null,
    });
  });

  it("are set at creation and changed while in draft, and read back as set", async () => {
    const created = await asAdmin("POST", "/elections", {
      ...electionBody,
      tie_break: { area_unit: "area", fallbacks: ["drawing_lots"] },
      certification_quorum: 3,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const patched = await asAdmin("PATCH", `/elections/${id}`, {
      tie_break: { area_unit: "tps", fallbacks: ["largest_tps", "drawing_lots"] },
      certification_quorum: null,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const read = (await asAdmin("GET", `/elections/${id}`)).json();
    expect(read).toMatchObject({
      tie_break: { area_unit: "tps", fallbacks: ["largest_tps", "drawing_lots"] },
      certification_quorum: null,
    });
  });

  it("refuse rule sets that could leave a tie without an outcome, naming the problem, and change nothing", async () => {
    const created = await asAdmin("POST", "/elections", electionBody);
    const id = created.json().id as string;
    for (const [fallbacks, why] of [
      [["largest_tps"], /must end with second_round or drawing_lots/],
      [["second_round", "drawing_lots"], /nothing can follow/],
      [["largest_tps", "largest_tps", "second_round"], /twice/],
      [[], /./],
      [["coin_toss"], /./],
    ] as const) {
      const refused = await asAdmin("PATCH", `/elections/${id}`, {
        tie_break: { area_unit: "tps", fallbacks },
      });
      expect(refused.statusCode).toBe(400);
      expect(errorCode(refused)).toBe("VALIDATION_FAILED");
      expect(refused.body).toMatch(why);
    }
    for (const quorum of [0, -1, 1.5, 51, "2"]) {
      const refused = await asAdmin("PATCH", `/elections/${id}`, { certification_quorum: quorum });
      expect(refused.statusCode).toBe(400);
    }
    expect((await asAdmin("GET", `/elections/${id}`)).json()).toMatchObject({
      tie_break: { area_unit: "tps", fallbacks: ["largest_tps", "second_round"] },
      certification_quorum: null,
    });
  });

  it("opening is refused while a TPS has no area under area ties, or the quorum exceeds the committee", async () => {
    const election = await createElection(app, admin, {
      tps: 2,
      candidates: 2,
      name: "Pilkades syarat buka",
    });
    await addVoters(database.db, election, 1);
    await addTallyKey(database.db, election.id);
    const member = await createUser(database.db, "panitia-syarat");
    await addMember(database.db, election.id, member.id, "committee");
    const panitia = await login(app, "panitia-syarat");
    const open = () =>
      app.inject({ method: "POST", url: `/elections/${election.id}/open`, headers: bearer(panitia) });
    await asAdmin("PATCH", `/elections/${election.id}`, {
      tie_break: { area_unit: "area", fallbacks: ["second_round"] },
      certification_quorum: 2,
    });
    const refused = await open();
    expect(errorCode(refused)).toBe("TPS_AREA_MISSING");
    expect(refused.json().error.details.unmet).toEqual(["TPS_AREA_MISSING", "QUORUM_UNREACHABLE"]);
    expect(refused.json().error.message).toContain("001, 002");

    for (const [i, tpsId] of election.tpsIds.entries()) {
      await asAdmin("PATCH", `/elections/${election.id}/tps/${tpsId}`, { area: `Dusun ${i + 1}` });
    }
    expect(errorCode(await open())).toBe("QUORUM_UNREACHABLE");
    await asAdmin("PATCH", `/elections/${election.id}`, { certification_quorum: 1 });
    const opened = await open();
    expect(opened.statusCode, opened.body).toBe(200);
    // Frozen once open: the rules a result is judged by cannot move after the votes are in.
    const late = await asAdmin("PATCH", `/elections/${election.id}`, {
      tie_break: { area_unit: "tps", fallbacks: ["second_round"] },
    });
    expect(errorCode(late)).toBe("ELECTION_NOT_DRAFT");
    expect((await asAdmin("GET", `/elections/${election.id}`)).json().tie_break.area_unit).toBe("area");
  });
});

describe("ties decided by the tally under the election's own rules", () => {
  it("a two-way tie is decided by the wider area (dusun), and the signed result says so", async () => {
    // 5 votes each. Per TPS, 2 leads in three (002, 003, 005) and 1 in two; per dusun, 1 leads in two
    // (Dusun I, Dusun III) and 2 in one (Dusun II, which holds 002, 003 and 005). By area, 1 wins.
    const run = await runPilkades(app, baseUrl, database.db, admin, {
      prefix: "luas",
      votes: [[1, 1, 1, 1], [2, 2], [2, 2], [1], [2]],
      areas: ["Dusun I", "Dusun II", "Dusun II", "Dusun III", "Dusun II"],
      electionBody: { tie_break: { area_unit: "area", fallbacks: ["largest_tps", "second_round"] } },
    });
    const result = (await run.call(run.committee[0] as string, "GET", "/results")).json();
    expect(result.counts.perCandidate).toEqual({ "1": 5, "2": 5 });
    expect(result.decision).toEqual({
      winner: 1,
      rule: "wider_area",
      tied: [1, 2],
      rules: { area_unit: "area", fallbacks: ["largest_tps", "second_round"] },
      evidence: { votes: { 1: 5, 2: 5 }, area_unit: "area", areas_led: { 1: 2, 2: 1 } },
    });
    expect(JSON.parse(result.document).decision).toEqual(result.decision);
  });

  it("a tie on area too is decided by the configured fallback — drawing lots — and the result names it", async () => {
    // 2 votes each; each leads in one TPS of two equal TPS: neither area nor the largest TPS can decide.
    const run = await runPilkades(app, baseUrl, database.db, admin, {
      prefix: "undian",
      votes: [
        [1, 1, 2],
        [2, 2, 1],
      ],
      electionBody: { tie_break: { area_unit: "tps", fallbacks: ["largest_tps", "drawing_lots"] } },
    });
    const result = (await run.call(run.committee[0] as string, "GET", "/results")).json();
    expect(result.decision).toMatchObject({
      winner: null,
      rule: "drawing_lots",
      tied: [1, 2],
      evidence: { areas_led: { 1: 1, 2: 1 }, still_tied: [1, 2] },
    });
    expect(result.decision.evidence.largest_tps.tps_ids).toHaveLength(2);
  });
});

describe("certification at the election's quorum", () => {
  it("a configured quorum of 1 certifies at the first approval; a member's own signature is checked and kept", async () => {
    const run = await runPilkades(app, baseUrl, database.db, admin, {
      prefix: "kuorum",
      votes: [[1, 2, 1]],
      committee: 3,
      electionBody: { certification_quorum: 1 },
    });
    const [ketua, sekretaris] = run.committee as [string, string];
    const { document } = (await run.call(ketua, "GET", "/results")).json() as { document: string };
    const publicKey = Buffer.alloc(32);
    const secretKey = Buffer.alloc(64);
    sodium.crypto_sign_keypair(publicKey, secretKey);
    const signature = Buffer.alloc(64);
    sodium.crypto_sign_detached(signature, Buffer.from(`${document} `, "utf8"), secretKey);

    // A signature of anything but the document is refused, and nothing is recorded.
    const forged = await run.call(sekretaris, "POST", "/result/approve", {
      public_key: publicKey.toString("base64"),
      signature: signature.toString("base64"),
    });
    expect(errorCode(forged)).toBe("APPROVAL_SIGNATURE_INVALID");
    expect((await run.call(ketua, "GET", "/results")).json()).toMatchObject({ approvals: 0, quorum: 1 });

    sodium.crypto_sign_detached(signature, Buffer.from(document, "utf8"), secretKey);
    const approved = await run.call(sekretaris, "POST", "/result/approve", {
      public_key: publicKey.toString("base64"),
      signature: signature.toString("base64"),
    });
    expect(approved.json()).toEqual({ approvals: 1, quorum: 1, certified: true });
    const publicView = (await run.call(null, "GET", "/results")).json();
    expect(publicView).toMatchObject({ status: "certified", approvals: 1, quorum: 1 });
    expect(publicView.approved_by).toEqual([
      {
        display_name: sekretaris,
        approved_at: expect.any(String),
        public_key: publicKey.toString("base64"),
        signature: signature.toString("base64"),
      },
    ]);
    const stored = await database.db
      .selectFrom("result_approvals")
      .select(["public_key", "signature"])
      .where("election_id", "=", run.election.id)
      .execute();
    expect(stored).toEqual([{ public_key: publicKey, signature }]);
  });
});

describe("the berita acara", () => {
  it("is sealed like the results, shows the tables of the count, escapes every value, and is public once certified", async () => {
    const run = await runPilkades(app, baseUrl, database.db, admin, {
      prefix: "ba",
      votes: [
        [1, 2, 2, 0],
        [2, 1, 2],
      ],
      areas: ["Dusun <Hilir>", null],
      untallied: true,
    });
    const [ketua, sekretaris] = run.committee as [string, string];
    expect(errorCode(await run.call(ketua, "GET", "/berita-acara"))).toBe("NOT_TALLIED");
    await tally(run);
    expect((await run.call(null, "GET", "/berita-acara")).statusCode).toBe(401);

    const page = await run.call(run.witness, "GET", "/berita-acara");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toBe("default-src 'none'; style-src 'unsafe-inline'");
    const html = page.body;
    expect(html).toContain("BERITA ACARA REKAPITULASI HASIL PENGHITUNGAN SUARA");
    expect(html).toContain("Calon terpilih: <strong>2. Siti Rahmawati</strong>");
    expect(html).toContain("suara sah terbanyak");
    expect(html).toContain("Dusun &lt;Hilir&gt;");
    expect(html).not.toContain("<Hilir>");
    // The per-TPS rows: code, name, area, DPT, DPK, checked in, votes for 1 and 2, blank, invalid, ballots.
    expect(html).toMatch(
      /<th scope="row">001<\/th><td class="l">TPS 001 <span class="muted">\(Dusun &lt;Hilir&gt;\)<\/span><\/td><td>4<\/td><td>0<\/td><td>4<\/td><td>1<\/td><td>2<\/td><td>1<\/td><td>0<\/td><td>4<\/td>/,
    );
    expect(html).toMatch(
      /<th scope="row">002<\/th><td class="l">TPS 002<\/td><td>4<\/td><td>0<\/td><td>3<\/td><td>1<\/td><td>2<\/td><td>0<\/td><td>0<\/td><td>3<\/td>/,
    );
    expect(html).toContain("Rekonsiliasi: tidak ada selisih.");
    expect(html).toContain("Persetujuan panitia (0 dari 2 yang diperlukan)");
    expect(html).not.toContain("<script");

    await run.call(ketua, "POST", "/result/approve");
    await run.call(sekretaris, "POST", "/result/approve");
    const publicPage = await run.call(null, "GET", "/berita-acara");
    expect(publicPage.statusCode).toBe(200);
    expect(publicPage.body).toContain("DITETAPKAN");
    expect(publicPage.body).toContain("Persetujuan panitia (2 dari 2 yang diperlukan)");
  });
});
