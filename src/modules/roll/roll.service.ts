// Reading the roll: the committee's list (NIKs masked, cursor-paginated, by TPS and name) and the per-TPS
// summary that everyone with a role in the election may see (counts only, no personal data).
import { sql } from "kysely";
import type { Executor } from "../../db/database.js";
import { decodeCursor, encodeCursor } from "../../lib/cursor.js";
import { AppError } from "../../lib/errors.js";
import { maskNik } from "./nik.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface RollQuery {
  cursor?: string | undefined;
  limit: number;
  tps_id?: string | undefined;
  q?: string | undefined;
}

export async function listRoll(db: Executor, electionId: string, query: RollQuery) {
  let select = db
    .selectFrom("voters")
    .innerJoin("tps", (join) =>
      join.onRef("tps.election_id", "=", "voters.election_id").onRef("tps.id", "=", "voters.tps_id"),
    )
    .select([
      "voters.id",
      "voters.nik",
      "voters.name",
      "voters.sex",
      "voters.birth_date",
      "voters.dusun",
      "voters.rt",
      "voters.rw",
      "voters.disability",
      "voters.origin",
      "voters.tps_id",
      "tps.code as tps_code",
    ])
    .where("voters.election_id", "=", electionId);
  if (query.tps_id !== undefined) select = select.where("voters.tps_id", "=", query.tps_id);
  if (query.q !== undefined && query.q.trim() !== "") {
    const pattern = `%${query.q.trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    select = select.where("voters.name", "ilike", pattern);
  }
  if (query.cursor !== undefined) {
    const raw = String(decodeCursor(query.cursor, "v"));
    const split = raw.lastIndexOf("|");
    if (split < 0) throw new AppError("VALIDATION_FAILED", "cursor is not one this service issued");
    const name = raw.slice(0, split);
    const id = raw.slice(split + 1);
    if (!UUID.test(id)) throw new AppError("VALIDATION_FAILED", "cursor is not one this service issued");
    select = select.where((eb) =>
      eb.or([eb("voters.name", ">", name), eb.and([eb("voters.name", "=", name), eb("voters.id", ">", id)])]),
    );
  }
  const rows = await select
    .orderBy("voters.name")
    .orderBy("voters.id")
    .limit(query.limit + 1)
    .execute();
  const items = rows.slice(0, query.limit);
  const last = items.at(-1);
  return {
    items: items.map((v) => ({
      id: v.id,
      nik_masked: maskNik(v.nik),
      name: v.name,
      sex: v.sex,
      birth_year: Number(v.birth_date.slice(0, 4)),
      tps_id: v.tps_id,
      tps_code: v.tps_code,
      dusun: v.dusun,
      rt: v.rt,
      rw: v.rw,
      disability: v.disability !== null,
      origin: v.origin,
    })),
    next_cursor: rows.length > query.limit && last ? encodeCursor("v", `${last.name}|${last.id}`) : null,
  };
}

export async function rollSummary(db: Executor, electionId: string) {
  const rows = await db
    .selectFrom("tps")
    .leftJoin("voters", (join) =>
      join.onRef("voters.election_id", "=", "tps.election_id").onRef("voters.tps_id", "=", "tps.id"),
    )
    .select([
      "tps.id as tps_id",
      "tps.code",
      "tps.name",
      sql<number>`count(voters.id)::int`.as("registered"),
      sql<number>`count(voters.id) FILTER (WHERE voters.sex = 'L')::int`.as("male"),
      sql<number>`count(voters.id) FILTER (WHERE voters.sex = 'P')::int`.as("female"),
      sql<number>`count(voters.id) FILTER (WHERE voters.disability IS NOT NULL)::int`.as("with_disability"),
      sql<number>`count(voters.id) FILTER (WHERE voters.origin = 'dpk')::int`.as("dpk"),
    ])
    .where("tps.election_id", "=", electionId)
    .groupBy(["tps.id", "tps.code", "tps.name"])
    .orderBy("tps.code")
    .execute();
  const total = { registered: 0, male: 0, female: 0, with_disability: 0, dpk: 0 };
  for (const r of rows) {
    total.registered += r.registered;
    total.male += r.male;
    total.female += r.female;
    total.with_disability += r.with_disability;
    total.dpk += r.dpk;
  }
  return { tps: rows, total };
}
