// A whole, valid election record (docs/record-format.md, appendix A) built in memory over the synthetic log of
// fixtures.ts: header, checkpoints, a result document signed by the log key with its reconciliation, committee
// approvals (one signed by the member), entries. Not a test file itself; `lines` may be changed by a test, and
// `sign` re-signs a changed document as an insider holding the log key would.
import { randomUUID } from "node:crypto";
import { encodeBase64 } from "../../../src/crypto/base64.js";
import { parseCheckpoint } from "../../../src/crypto/checkpoint.js";
import { generateEd25519KeyPair, signEd25519 } from "../../../src/crypto/ed25519.js";
import { parseNote } from "../../../src/crypto/signed-note.js";
import { canonicalJson } from "../../../src/lib/canonical-json.js";
import { DEFAULT_TIE_BREAK, decideWinner } from "../../../src/modules/tally/winner.js";
import { RECORD_FORMAT, type RecordHeader } from "../../../src/verify/record-file.js";
import { buildElectionLog, CANDIDATE_NUMBERS, type SyntheticElection } from "./fixtures.js";

export interface SyntheticRecord {
  election: SyntheticElection;
  header: RecordHeader;
  /** The parsed result document (as signed). */
  document: Record<string, unknown>;
  /** One JSON object per line, in record order. */
  lines: string[];
  sign(document: string): string;
}

export function buildElectionRecord(options: { ballots?: number } = {}): SyntheticRecord {
  const election = buildElectionLog({ ballots: options.ballots ?? 24, checkpointSizes: [1, 5, 12, 24] });
  const ballots = election.entries.length;
  const perTps = election.expectedCounts.perTps;
  const header: RecordHeader = {
    type: "header",
    format: RECORD_FORMAT,
    election: {
      id: election.electionId,
      name: "Pilkades Desa Uji 2027",
      village_name: "Uji",
      region_code: "16.07.05.2001",
      voting_day: "2027-03-14",
      time_zone: "WIB",
      status: "certified",
      tie_break: DEFAULT_TIE_BREAK,
      certification_quorum: null,
      committee_size: 3,
    },
    origin: election.origin,
    log_public_keys: [encodeBase64(election.logKey.publicKey)],
    tally_key: { public_key: encodeBase64(election.tallyKey.publicKey), threshold: 2, holders: 3 },
    candidates: CANDIDATE_NUMBERS.map((n) => ({ ballot_number: n, name: `Calon ${n}` })),
    tps: election.tpsIds.map((id, i) => ({
      id,
      code: `00${i + 1}`,
      name: `TPS ${i + 1}`,
      area: `Dusun ${i + 1}`,
      // Room on the roll for every ballot of the log, whatever its size.
      registered: ballots + 2,
      dpk: 2,
    })),
    kiosks: election.kiosks.map((k) => ({
      tps_id: k.tpsId,
      label: `Bilik ${k.name}`,
      public_key: encodeBase64(k.publicKey),
      key_id: k.keyId.toString("hex"),
      revoked_at_log_size: null,
    })),
  };
  const counts = election.expectedCounts;
  const facts = {
    registered: Object.fromEntries(header.tps.map((t) => [t.id, t.registered])),
    area: Object.fromEntries(header.tps.map((t) => [t.id, t.area])),
  };
  const document = {
    format: "suara-result/v1",
    election_id: election.electionId,
    origin: election.origin,
    tree_size: ballots,
    root_hash: encodeBase64(election.rootAt(ballots)),
    verified: true,
    counts,
    decision: decideWinner(counts, facts, DEFAULT_TIE_BREAK),
    discrepancies: [],
  };
  const text = canonicalJson(document);
  const sign = (doc: string) =>
    signEd25519(Buffer.from(doc, "utf8"), election.logKey.secretKey).toString("base64");
  const reconciliation = {
    per_tps: election.tpsIds.map((id) => {
      const n = perTps[id]?.ballots ?? 0;
      return {
        tps_id: id,
        registered: ballots,
        dpk: 2,
        checked_in: n,
        tokens_issued: n,
        tokens_redeemed: n,
        tokens_voided: 0,
        tokens_expired: 0,
        ballots: n,
      };
    }),
    discrepancies: [],
  };
  const member = generateEd25519KeyPair();
  const lines = [
    header,
    ...election.checkpoints.map((c) => ({
      type: "checkpoint",
      tree_size: parseCheckpoint(parseNote(c.note).text).size,
      note: c.note,
    })),
    { type: "result", document: text, service_signature: sign(text), reconciliation },
    {
      type: "approval",
      display_name: "Ketua Panitia",
      approved_at: "2027-03-15T10:00:00.000Z",
      public_key: member.publicKey.toString("base64"),
      signature: signEd25519(Buffer.from(text, "utf8"), member.secretKey).toString("base64"),
    },
    {
      type: "approval",
      display_name: `Sekretaris ${randomUUID().slice(0, 4)}`,
      approved_at: "2027-03-15T10:05:00.000Z",
      public_key: null,
      signature: null,
    },
    ...election.entries.map((e) => ({ type: "entry", seq: e.seq, leaf: encodeBase64(e.leaf) })),
  ].map((item) => JSON.stringify(item));
  return { election, header, document, lines, sign };
}

export async function* asLines(lines: readonly string[]): AsyncIterable<string> {
  yield* lines;
}
