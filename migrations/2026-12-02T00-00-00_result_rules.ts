// Per-election result rules (SPEC §8): regencies rule differently on ties and on certification, so each election
// carries its own — fixed before the polls open.
//   - tie_break: the area unit of the "wider area" rule (each TPS, or the areas — dusun — the committee groups TPS
//     into) and the ordered fallbacks after it, ending in a second round or a drawing of lots;
//   - certification_quorum: how many committee approvals certify the result (null: a majority of the committee).
// TPS get the area (dusun) they serve. An approval may carry the member's own Ed25519 signature of the result
// document, with the public key it verifies under.
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE elections
      ADD COLUMN tie_break jsonb NOT NULL
        DEFAULT '{"area_unit": "tps", "fallbacks": ["largest_tps", "second_round"]}'::jsonb,
      ADD COLUMN certification_quorum integer CHECK (certification_quorum BETWEEN 1 AND 50);

    ALTER TABLE tps ADD COLUMN area text CHECK (length(area) BETWEEN 1 AND 100);

    ALTER TABLE result_approvals
      ADD COLUMN approved_at timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN public_key bytea CHECK (length(public_key) = 32),
      ADD COLUMN signature bytea CHECK (length(signature) = 64),
      ADD CHECK ((public_key IS NULL) = (signature IS NULL));
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
