// A small pilkades run to the tally over the real HTTP API: committee, witness and officers; the tally-key
// ceremony with holders' own keys; one kiosk per TPS driven by the kiosk library; voters checked in and their
// chosen ballots cast; the polls closed; k shares submitted; the tally awaited. Tests that need a tallied
// election with chosen votes per TPS (ties, certification, the berita acara) start here.
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import sodium from "sodium-native";
import { expect } from "vitest";
import { openSealedShare } from "../../src/crypto/tally-key.js";
import type { Db } from "../../src/db/database.js";
import { createKioskKeys, KioskClient } from "../../src/kiosk/client.js";
import {
  addMember,
  addVoters,
  bearer,
  createElection,
  createUser,
  type ElectionFixture,
  login,
  openPollsNow,
} from "./app.js";

export interface PilkadesOptions {
  /** Prefix for the usernames, so several elections can share one database. */
  prefix: string;
  /** The ballots of each TPS, in order: candidate numbers, 0 for blank. */
  votes: number[][];
  candidates?: number;
  /** Sent when the election is created. */
  electionBody?: Record<string, unknown>;
  /** The area (dusun) of each TPS, set before the polls open. */
  areas?: Array<string | null>;
  /** Committee members (at least 2: two of them and a witness hold shares, k = 2). */
  committee?: number;
  /** Stop before the tally (the polls closed, shares not yet submitted). */
  untallied?: boolean;
}

export interface Pilkades {
  election: ElectionFixture;
  tokens: Record<string, string>;
  committee: string[];
  witness: string;
  /** Opened shares of the holders, base64, by username. */
  shares: Record<string, string>;
  /** What each holder received from POST /ceremony/share (the sealed share), by username. */
  sealedShares: Record<string, Record<string, unknown>>;
  /** Each holder's own X25519 key pair, by username. */
  holderKeys: Record<string, { publicKey: Buffer; secretKey: Buffer }>;
  /** The kiosk key pair of each TPS, in TPS order. */
  kioskKeys: Array<{ publicKey: Uint8Array; secretKey: Uint8Array }>;
  call(
    who: string | null,
    method: "GET" | "POST" | "PUT" | "PATCH",
    url: string,
    payload?: Record<string, unknown>,
  ): Promise<LightMyRequestResponse>;
}

export async function runPilkades(
  app: FastifyInstance,
  baseUrl: string,
  db: Db,
  adminToken: string,
  options: PilkadesOptions,
): Promise<Pilkades> {
  const tpsCount = options.votes.length;
  const election = await createElection(app, adminToken, {
    tps: tpsCount,
    candidates: options.candidates ?? 2,
    name: `Pilkades ${options.prefix}`,
  });
  if (options.electionBody) {
    const patched = await app.inject({
      method: "PATCH",
      url: `/elections/${election.id}`,
      headers: bearer(adminToken),
      payload: options.electionBody,
    });
    expect(patched.statusCode, patched.body).toBe(200);
  }
  const tokens: Record<string, string> = {};
  const call: Pilkades["call"] = (who, method, url, payload) =>
    app.inject({
      method,
      url: `/elections/${election.id}${url}`,
      headers: who ? bearer(tokens[who] as string) : {},
      ...(payload ? { payload } : {}),
    });
  const perTps = Math.max(1, ...options.votes.map((v) => v.length));
  await addVoters(db, election, perTps);
  const ids: Record<string, string> = {};
  const committee = Array.from(
    { length: options.committee ?? 2 },
    (_, i) => `${options.prefix}-panitia-${i + 1}`,
  );
  const witness = `${options.prefix}-saksi`;
  const officers = election.tpsIds.map((_, i) => `${options.prefix}-kpps-${i + 1}`);
  const people: Array<[string, "committee" | "witness" | "officer", string | null]> = [
    ...committee.map((name) => [name, "committee", null] as [string, "committee", null]),
    [witness, "witness", null],
    ...officers.map(
      (name, i) => [name, "officer", election.tpsIds[i] as string] as [string, "officer", string],
    ),
  ];
  for (const [name, role, tpsId] of people) {
    const user = await createUser(db, name);
    ids[name] = user.id;
    await addMember(db, election.id, user.id, role, tpsId);
    tokens[name] = await login(app, name);
  }
  for (const [i, area] of (options.areas ?? []).entries()) {
    const set = await call(committee[0] as string, "PATCH", `/tps/${election.tpsIds[i]}`, { area });
    expect(set.statusCode, set.body).toBe(200);
  }

  // The ceremony: two committee members and the witness hold shares; any two tally.
  const holders = [committee[0] as string, committee[1] as string, witness];
  const keys: Record<string, { publicKey: Buffer; secretKey: Buffer }> = {};
  for (const h of holders) {
    const publicKey = Buffer.alloc(32);
    const secretKey = Buffer.alloc(32);
    sodium.crypto_box_keypair(publicKey, secretKey);
    keys[h] = { publicKey, secretKey };
    const registered = await call(h, "PUT", "/ceremony/holder-key", {
      public_key: publicKey.toString("base64"),
    });
    expect(registered.statusCode, registered.body).toBeLessThan(300);
  }
  const held = await call(committee[0] as string, "POST", "/ceremony", {
    threshold: 2,
    holders: holders.map((h) => ids[h]),
  });
  expect(held.statusCode, held.body).toBe(201);
  const shares: Record<string, string> = {};
  const sealedShares: Record<string, Record<string, unknown>> = {};
  for (const h of holders) {
    sealedShares[h] = (await call(h, "POST", "/ceremony/share")).json();
    const sealed = sealedShares[h].sealed_share as string;
    const k = keys[h] as { publicKey: Buffer; secretKey: Buffer };
    shares[h] = (openSealedShare(Buffer.from(sealed, "base64"), k.publicKey, k.secretKey) as Buffer).toString(
      "base64",
    );
  }

  const booths: KioskClient[] = [];
  const kioskKeyPairs: Pilkades["kioskKeys"] = [];
  for (const [t, tpsId] of election.tpsIds.entries()) {
    const kioskKeys = createKioskKeys();
    kioskKeyPairs.push(kioskKeys);
    const enrolled = await call(committee[0] as string, "POST", "/kiosks", {
      tps_id: tpsId,
      label: `Bilik ${t + 1}`,
      public_key: kioskKeys.publicKeyBase64,
    });
    expect(enrolled.statusCode, enrolled.body).toBe(201);
    booths.push(
      new KioskClient({
        baseUrl,
        electionId: election.id,
        kioskId: enrolled.json().id,
        secretKey: kioskKeys.secretKey,
      }),
    );
  }
  await openPollsNow(db, election.id);

  // addVoters numbers NIKs …0001 onwards, perTps at each TPS in order.
  for (const [t, ballots] of options.votes.entries()) {
    for (const [i, choice] of ballots.entries()) {
      const serial = t * perTps + i + 1;
      const checkin = await call(officers[t] as string, "POST", `/tps/${election.tpsIds[t]}/checkins`, {
        nik: `160705010180${String(serial).padStart(4, "0")}`,
      });
      expect(checkin.statusCode, checkin.body).toBe(201);
      await (booths[t] as KioskClient).castBallot(choice, checkin.json().token as string);
    }
  }
  const closed = await call(committee[0] as string, "POST", "/close");
  expect(closed.statusCode, closed.body).toBe(200);

  const run: Pilkades = {
    election,
    tokens,
    committee,
    witness,
    shares,
    sealedShares,
    holderKeys: keys,
    kioskKeys: kioskKeyPairs,
    call,
  };
  if (!options.untallied) await tally(run);
  return run;
}

/** Two holders submit their shares; waits until the tally is done. */
export async function tally(run: Pilkades): Promise<void> {
  for (const holder of [run.committee[0] as string, run.witness]) {
    const submitted = await run.call(holder, "POST", "/tally/shares", { share: run.shares[holder] });
    expect(submitted.statusCode, submitted.body).toBe(202);
  }
  for (let i = 0; i < 400; i++) {
    const status = (await run.call(run.committee[0] as string, "GET", "/tally")).json();
    if (status.state === "done") return;
    if (status.state === "failed") throw new Error(`tally failed: ${status.failure}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("the tally did not finish");
}
