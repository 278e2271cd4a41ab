// The tally-key ceremony (SPEC §7): the election's public key and who holds a share. Shares are stored only
// sealed to their holder's own key, and only until the holder takes theirs; the secret is never stored.
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE tally_keys (
      election_id uuid PRIMARY KEY REFERENCES elections (id),
      public_key bytea NOT NULL CHECK (length(public_key) = 32),
      threshold smallint NOT NULL,
      holders smallint NOT NULL,
      CHECK (threshold >= 2 AND threshold <= holders AND holders <= 50)
    );

    CREATE TABLE tally_key_holders (
      election_id uuid NOT NULL REFERENCES elections (id),
      user_id uuid NOT NULL REFERENCES users (id),
      holder_public_key bytea NOT NULL CHECK (length(holder_public_key) = 32),
      share_index smallint,
      sealed_share bytea,
      handed_over boolean NOT NULL DEFAULT false,
      PRIMARY KEY (election_id, user_id),
      CHECK (NOT (handed_over AND sealed_share IS NOT NULL))
    );
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
