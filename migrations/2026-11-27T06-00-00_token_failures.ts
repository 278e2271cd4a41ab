// Failed token attempts at kiosks, for throttling guesses per kiosk and per TPS (SPEC §4). They concern kiosks,
// not voters: a row says that some kiosk presented a token that did not redeem.
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE token_failures (
      election_id uuid NOT NULL,
      id bigint GENERATED ALWAYS AS IDENTITY,
      tps_id uuid NOT NULL,
      kiosk_id uuid NOT NULL,
      failed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (election_id, id)
    );
    CREATE INDEX token_failures_kiosk_idx ON token_failures (election_id, kiosk_id, failed_at);
    CREATE INDEX token_failures_tps_idx ON token_failures (election_id, tps_id, failed_at);
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
