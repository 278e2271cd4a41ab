// Results of the tally (SPEC §8): the counts, the verification summary and the reconciliation, once per election.
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE results (
      election_id uuid PRIMARY KEY REFERENCES elections (id),
      counts jsonb NOT NULL,
      verification jsonb NOT NULL,
      reconciliation jsonb NOT NULL,
      decision jsonb NOT NULL,
      document text NOT NULL,
      service_signature text NOT NULL,
      tallied_at timestamptz NOT NULL DEFAULT now()
    );

    -- Committee members' approvals of the signed result; certified at the quorum (a majority of the committee).
    CREATE TABLE result_approvals (
      election_id uuid NOT NULL REFERENCES results (election_id),
      user_id uuid NOT NULL REFERENCES users (id),
      PRIMARY KEY (election_id, user_id)
    );
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
