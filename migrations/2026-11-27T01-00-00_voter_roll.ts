// The voter roll (DPT, and DPK additions on polling day). Personal data lives here and nowhere else; nothing in
// this table records whether, when or where a voter voted (SPEC §5): check-ins will be kept apart.
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  // Partitioned by election (LIST): each election's roll is its own table, so the first import of a roll is
  // loaded into a fresh table, indexed in bulk and attached — several times faster than maintaining the indexes
  // row by row (see docs/benchmarks.md) — and so the schema distributes by election (docs/operations.md).
  // No foreign keys: the importer maps TPS codes to this election's TPS, removing a TPS checks its voters, and
  // opening checks that every voter's TPS exists (SPEC §2). NIKs compare bytewise (COLLATE "C"): they are digits.
  await sql`
    CREATE TABLE voters (
      election_id uuid NOT NULL,
      id uuid NOT NULL DEFAULT gen_random_uuid(),
      nik text COLLATE "C" NOT NULL CHECK (length(nik) = 16),
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
      source_line integer,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      -- One key: a NIK is on an election's roll at most once. The voter's id (for URLs, which never carry a
      -- NIK) is random and unindexed: looking one voter up scans one village's partition, which is small,
      -- while a second index would double the cost of loading a roll.
      PRIMARY KEY (election_id, nik)
    ) PARTITION BY LIST (election_id);
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
