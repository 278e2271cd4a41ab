// Each election's roll is one partition of `voters` (see the voter_roll migration). The partition is made by
// the first import (bulk-loaded, then attached) or, for code that inserts voters one by one, on demand here.
import { sql, type Transaction } from "kysely";
import type { DB, Executor } from "../../db/database.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function voterPartitionName(electionId: string): string {
  if (!UUID.test(electionId)) throw new Error(`not an election id: ${electionId}`);
  return `voters_${electionId.replaceAll("-", "")}`;
}

export async function voterPartitionExists(db: Executor, electionId: string): Promise<boolean> {
  const result = await sql<{ exists: boolean }>`
    SELECT to_regclass(${voterPartitionName(electionId)}) IS NOT NULL AS exists`.execute(db);
  return result.rows[0]?.exists === true;
}

/** Creates the election's (empty) roll partition if it has none. Call with the election row locked. */
export async function ensureVoterPartition(tx: Transaction<DB>, electionId: string): Promise<void> {
  if (await voterPartitionExists(tx, electionId)) return;
  await sql`CREATE TABLE ${sql.id(voterPartitionName(electionId))} PARTITION OF voters FOR VALUES IN (${sql.lit(electionId)})`.execute(
    tx,
  );
}
