// The voter roll (DPT, and DPK additions on polling day). Personal data lives here and nowhere else; nothing in
// this table records whether, when or where a voter voted (SPEC §5): check-ins will be kept apart.
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE voters (
      election_id uuid NOT NULL REFERENCES elections (id),
      id uuid NOT NULL DEFAULT gen_random_uuid(),
      nik text NOT NULL CHECK (length(nik) = 16),
      nkk text CHECK (length(nkk) = 16),
      name text NOT NULL,
      birth_place text,
      birth_date date NOT NULL,
      sex text NOT NULL CHECK (sex IN ('L', 'P')),
      marital_status text NOT NULL CHECK (marital_status IN ('B', 'S', 'P')),
      address text,
      dusun text,
      rt text,
      rw text,
      tps_id uuid NOT NULL,
      disability text,
      note text,
      origin text NOT NULL DEFAULT 'dpt' CHECK (origin IN ('dpt', 'dpk')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (election_id, id),
      UNIQUE (election_id, nik),
      FOREIGN KEY (election_id, tps_id) REFERENCES tps (election_id, id)
    );
    CREATE INDEX voters_tps_name_idx ON voters (election_id, tps_id, name);
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
