// Voting kiosks (SPEC §4): each enrolled for one TPS with the Ed25519 public key it made itself; sign-in by
// answering a single-use server challenge. A revocation records the log size at which it took effect, so the
// verifier can tell entries signed before it from entries signed after (SPEC §9).
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE kiosks (
      election_id uuid NOT NULL REFERENCES elections (id),
      id uuid NOT NULL,
      tps_id uuid NOT NULL,
      label text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
      public_key bytea NOT NULL CHECK (length(public_key) = 32),
      key_id bytea NOT NULL CHECK (length(key_id) = 32),
      revoked_at timestamptz,
      revoked_at_log_size bigint,
      revoke_reason text,
      PRIMARY KEY (election_id, id),
      UNIQUE (election_id, public_key),
      UNIQUE (election_id, key_id),
      FOREIGN KEY (election_id, tps_id) REFERENCES tps (election_id, id),
      CHECK ((revoked_at IS NULL) = (revoked_at_log_size IS NULL))
    );

    CREATE TABLE kiosk_challenges (
      election_id uuid NOT NULL,
      kiosk_id uuid NOT NULL,
      nonce bytea NOT NULL CHECK (length(nonce) = 32),
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (election_id, kiosk_id, nonce),
      FOREIGN KEY (election_id, kiosk_id) REFERENCES kiosks (election_id, id)
    );
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
