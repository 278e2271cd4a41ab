// The database's tables as Kysely sees them. Hand-written to match migrations/; a test compares the two.
import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction } from "kysely";

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface UsersTable {
  id: Generated<string>;
  username: string;
  display_name: string;
  password_hash: string;
  is_admin: boolean;
  must_change_password: boolean;
  token_version: Generated<number>;
  disabled_at: Timestamp | null;
  failed_logins: Generated<number>;
  locked_until: Timestamp | null;
  lock_count: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export const ELECTION_STATUSES = ["draft", "open", "closed", "tallied", "certified", "cancelled"] as const;
export type ElectionStatus = (typeof ELECTION_STATUSES)[number];

export const TIME_ZONES = ["WIB", "WITA", "WIT"] as const;
export type TimeZone = (typeof TIME_ZONES)[number];

export interface ElectionsTable {
  id: string;
  name: string;
  village_name: string;
  region_code: string;
  voting_day: string; // YYYY-MM-DD, the local calendar day of the vote
  time_zone: TimeZone;
  opens_at: Timestamp;
  closes_at: Timestamp;
  status: ElectionStatus;
  cancel_reason: string | null;
  /** The tie-break rules of SPEC §8 (area unit and fallbacks), validated by src/modules/tally/winner.ts. */
  tie_break: ColumnType<{ area_unit: string; fallbacks: string[] }, string | undefined, string>;
  /** Committee approvals that certify the result; null: a majority of the committee. */
  certification_quorum: ColumnType<number | null, number | null | undefined, number | null>;
  created_by: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CandidatesTable {
  election_id: string;
  id: string;
  ballot_number: number;
  name: string;
  photo_url: string | null;
  vision: string | null;
  created_at: Generated<Date>;
}

export interface TpsTable {
  election_id: string;
  id: string;
  code: string;
  name: string;
  address: string | null;
  /** The area (dusun, RW) this TPS serves, for the wider-area tie-break. */
  area: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Generated<Date>;
}

export const MEMBER_ROLES = ["committee", "witness", "officer"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export interface MembershipsTable {
  election_id: string;
  user_id: string;
  role: MemberRole;
  tps_id: string | null;
  created_at: Generated<Date>;
}

export interface AuditEventsTable {
  /** The election the event belongs to, or SYSTEM_CHAIN (the nil UUID) for events outside any election. */
  election_id: string;
  seq: number;
  id: string;
  occurred_at: Timestamp;
  actor_id: string | null;
  actor_role: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: "success" | "refused";
  details: ColumnType<Record<string, unknown>, string, never>;
  prev_hash: Buffer;
  hash: Buffer;
}

export interface VotersTable {
  election_id: string;
  id: Generated<string>;
  nik: string;
  nkk: string | null;
  name: string;
  birth_place: string | null;
  birth_date: string;
  sex: "L" | "P";
  marital_status: "B" | "S" | "P";
  address: string | null;
  dusun: string | null;
  rt: string | null;
  rw: string | null;
  tps_id: string;
  disability: string | null;
  note: string | null;
  origin: Generated<"dpt" | "dpk">;
  /** The line of the imported DPT file this voter came from (null for DPK additions). */
  source_line: number | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface LogKeysTable {
  id: string;
  public_key: Buffer;
  secret_seed: Buffer | null;
  created_at: Generated<Date>;
  retired_at: Timestamp | null;
}

export interface LogEntriesTable {
  election_id: string;
  seq: number;
  ballot_id: string;
  leaf: Buffer;
  leaf_hash: Buffer;
  tracking_code: string;
}

export interface LogTreeNodesTable {
  election_id: string;
  level: number;
  idx: number;
  hash: Buffer;
}

export interface LogCheckpointsTable {
  election_id: string;
  tree_size: number;
  root_hash: Buffer;
  note: string;
  key_id: string;
}

export interface LogHeadsTable {
  election_id: string;
  tree_size: number;
  compact_range: Buffer;
  last_leaf_hash: Buffer;
}

export interface TallyKeysTable {
  election_id: string;
  public_key: Buffer;
  threshold: number;
  holders: number;
}

export interface TallyKeyHoldersTable {
  election_id: string;
  user_id: string;
  holder_public_key: Buffer;
  share_index: number | null;
  sealed_share: Buffer | null;
  handed_over: Generated<boolean>;
}

export interface KiosksTable {
  election_id: string;
  id: string;
  tps_id: string;
  label: string;
  public_key: Buffer;
  key_id: Buffer;
  revoked_at: Timestamp | null;
  revoked_at_log_size: number | null;
  revoke_reason: string | null;
}

export interface KioskChallengesTable {
  election_id: string;
  kiosk_id: string;
  nonce: Buffer;
  expires_at: Timestamp;
}

export interface CheckinsTable {
  election_id: string;
  nik: string;
  tps_id: string;
}

export interface BallotTokensTable {
  election_id: string;
  token_hash: Buffer;
  tps_id: string;
  expires_at: Timestamp;
  state: Generated<"issued" | "redeemed" | "voided">;
  reissue: Generated<boolean>;
}

export interface ServiceSecretsTable {
  name: string;
  value: Buffer;
}

export interface TokenFailuresTable {
  election_id: string;
  id: Generated<number>;
  tps_id: string;
  kiosk_id: string;
  failed_at: Generated<Date>;
}

export interface ResultsTable {
  election_id: string;
  counts: ColumnType<Record<string, unknown>, string, string>;
  verification: ColumnType<Record<string, unknown>, string, string>;
  reconciliation: ColumnType<Record<string, unknown>, string, string>;
  decision: ColumnType<Record<string, unknown>, string, string>;
  /** The canonical JSON result document the service signed. */
  document: string;
  /** base64 Ed25519 signature of `document` by the log key. */
  service_signature: string;
  tallied_at: Generated<Date>;
}

export interface ResultApprovalsTable {
  election_id: string;
  user_id: string;
  approved_at: Generated<Date>;
  /** The member's own Ed25519 key and signature of the result document, when they signed it. */
  public_key: Buffer | null;
  signature: Buffer | null;
}

export interface DB {
  users: UsersTable;
  elections: ElectionsTable;
  candidates: CandidatesTable;
  tps: TpsTable;
  memberships: MembershipsTable;
  audit_events: AuditEventsTable;
  voters: VotersTable;
  log_keys: LogKeysTable;
  log_entries: LogEntriesTable;
  log_tree_nodes: LogTreeNodesTable;
  log_checkpoints: LogCheckpointsTable;
  log_heads: LogHeadsTable;
  tally_keys: TallyKeysTable;
  tally_key_holders: TallyKeyHoldersTable;
  kiosks: KiosksTable;
  kiosk_challenges: KioskChallengesTable;
  checkins: CheckinsTable;
  ballot_tokens: BallotTokensTable;
  service_secrets: ServiceSecretsTable;
  token_failures: TokenFailuresTable;
  results: ResultsTable;
  result_approvals: ResultApprovalsTable;
}

export type Db = Kysely<DB>;
/** Repositories take either the pool or a caller's transaction, so services own the transaction boundary. */
export type Executor = Kysely<DB> | Transaction<DB>;

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Election = Selectable<ElectionsTable>;
export type Candidate = Selectable<CandidatesTable>;
export type Tps = Selectable<TpsTable>;
export type Membership = Selectable<MembershipsTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
