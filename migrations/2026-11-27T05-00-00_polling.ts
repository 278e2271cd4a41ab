// Polling day (SPEC §4, §5): check-ins and ballot tokens, kept apart so that no row links a voter to a token or
// a ballot. A check-in records that a voter was checked in — not when, not which token. A token row holds only
// a keyed hash of the token, its TPS, its expiry and its state — no voter, and not which ballot redeemed it.
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE checkins (
      election_id uuid NOT NULL,
      nik text COLLATE "C" NOT NULL,
      tps_id uuid NOT NULL,
      PRIMARY KEY (election_id, nik)
    );

    CREATE TABLE ballot_tokens (
      election_id uuid NOT NULL,
      token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
      tps_id uuid NOT NULL,
      expires_at timestamptz NOT NULL,
      state text NOT NULL DEFAULT 'issued' CHECK (state IN ('issued', 'redeemed', 'voided')),
      reissue boolean NOT NULL DEFAULT false,
      PRIMARY KEY (election_id, token_hash)
    );
    CREATE INDEX ballot_tokens_tps_idx ON ballot_tokens (election_id, tps_id, state);

    -- Secrets the service makes for itself when none is configured (e.g. the token HMAC key).
    CREATE TABLE service_secrets (
      name text PRIMARY KEY,
      value bytea NOT NULL
    );
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
