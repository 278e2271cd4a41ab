// Foundation: users, elections with candidates and TPS, memberships (roles per election), audit events.
// Migrations are frozen in time: they take Kysely<any> and never import application code.
import { type Kysely, sql } from "kysely";

// biome-ignore lint/suspicious/noExplicitAny: migrations are deliberately untyped (kysely's guidance)
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      username text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
      display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
      password_hash text NOT NULL,
      is_admin boolean NOT NULL DEFAULT false,
      must_change_password boolean NOT NULL DEFAULT false,
      token_version integer NOT NULL DEFAULT 0,
      disabled_at timestamptz,
      failed_logins integer NOT NULL DEFAULT 0,
      locked_until timestamptz,
      lock_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_username_key ON users (username);

    CREATE TABLE elections (
      id uuid PRIMARY KEY,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      village_name text NOT NULL CHECK (length(village_name) BETWEEN 1 AND 200),
      region_code text NOT NULL CHECK (region_code ~ '^[0-9]{2}\\.[0-9]{2}\\.[0-9]{2}\\.[0-9]{4}$'),
      voting_day date NOT NULL,
      time_zone text NOT NULL CHECK (time_zone IN ('WIB', 'WITA', 'WIT')),
      opens_at timestamptz NOT NULL,
      closes_at timestamptz NOT NULL,
      status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'open', 'closed', 'tallied', 'certified', 'cancelled')),
      cancel_reason text,
      created_by uuid NOT NULL REFERENCES users (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (opens_at < closes_at),
      CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL))
    );

    CREATE TABLE candidates (
      election_id uuid NOT NULL REFERENCES elections (id),
      id uuid NOT NULL,
      ballot_number smallint NOT NULL CHECK (ballot_number BETWEEN 1 AND 5),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      photo_url text,
      vision text,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (election_id, id),
      UNIQUE (election_id, ballot_number)
    );

    CREATE TABLE tps (
      election_id uuid NOT NULL REFERENCES elections (id),
      id uuid NOT NULL,
      code text NOT NULL CHECK (code ~ '^[0-9A-Za-z-]{1,16}$'),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      address text,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (election_id, id),
      UNIQUE (election_id, code)
    );

    -- One role per person per election; an officer belongs to exactly one TPS of it.
    CREATE TABLE memberships (
      election_id uuid NOT NULL REFERENCES elections (id),
      user_id uuid NOT NULL REFERENCES users (id),
      role text NOT NULL CHECK (role IN ('committee', 'witness', 'officer')),
      tps_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (election_id, user_id),
      FOREIGN KEY (election_id, tps_id) REFERENCES tps (election_id, id),
      CHECK ((role = 'officer') = (tps_id IS NOT NULL))
    );
    CREATE INDEX memberships_user_idx ON memberships (user_id);

    -- Append-only, hash-chained: one chain per election, and one (election_id = nil UUID) for events outside
    -- any election. hash = SHA-256 over the event's canonical bytes and prev_hash (see src/modules/audit).
    CREATE TABLE audit_events (
      election_id uuid NOT NULL,
      seq bigint NOT NULL CHECK (seq >= 1),
      id uuid NOT NULL UNIQUE,
      occurred_at timestamptz NOT NULL,
      actor_id uuid,
      actor_role text NOT NULL,
      action text NOT NULL,
      target_type text,
      target_id text,
      outcome text NOT NULL CHECK (outcome IN ('success', 'refused')),
      details jsonb NOT NULL DEFAULT '{}',
      prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
      hash bytea NOT NULL CHECK (length(hash) = 32),
      PRIMARY KEY (election_id, seq)
    );

    -- Shared by every append-only table: the database itself refuses to rewrite history.
    CREATE FUNCTION suara_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION suara_refuse_change();
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION suara_refuse_change();
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error("migrations are forward-only (SPEC §12)");
}
