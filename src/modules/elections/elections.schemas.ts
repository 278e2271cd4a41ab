import { z } from "zod";
import { TIME_ZONES } from "../../db/database.js";
import { uuid } from "../../lib/schemas.js";
import { AREA_UNITS, DEFAULT_TIE_BREAK, TIE_BREAK_FALLBACKS, tieBreakProblem } from "../tally/winner.js";

const isoDay = z.iso.date().refine((d) => {
  const parsed = new Date(`${d}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(d);
}, "not a calendar date");

const localTime = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, "local time as HH:MM (24-hour)");
const text = (max: number) => z.string().trim().min(1).max(max);

export const electionFields = {
  name: text(200).describe("e.g. 'Pilkades Desa Sungai Rengit 2027'"),
  village_name: text(200),
  region_code: z
    .string()
    .regex(/^\d{2}\.\d{2}\.\d{2}\.\d{4}$/, "Kemendagri village code, e.g. 16.07.05.2001")
    .describe("Kemendagri region code of the village (province.regency.district.village)"),
  voting_day: isoDay.describe("local calendar day of the vote, YYYY-MM-DD"),
  time_zone: z.enum(TIME_ZONES).describe("WIB (UTC+7), WITA (UTC+8) or WIT (UTC+9)"),
  opens_at_local: localTime.describe("polls open, local time on the voting day"),
  closes_at_local: localTime.describe("polls close, local time on the voting day"),
};

/** SPEC §8: how a tie among the leaders is broken in this election (fixed when the polls open). */
export const tieBreakRules = z
  .strictObject({
    area_unit: z
      .enum(AREA_UNITS)
      .describe(
        "unit of the wider-area rule: each TPS ('tps'), or the areas (dusun, RW) given on the TPS ('area')",
      ),
    fallbacks: z
      .array(z.enum(TIE_BREAK_FALLBACKS))
      .min(1)
      .max(TIE_BREAK_FALLBACKS.length)
      .describe(
        "in order, after the wider area: 'largest_tps' (who leads at the TPS with the most registered voters), " +
          "then exactly one of 'second_round' or 'drawing_lots' (undian), which ends the decision",
      ),
  })
  .superRefine((rules, ctx) => {
    const problem = tieBreakProblem(rules);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem, path: ["fallbacks"] });
  });

const resultRuleFields = {
  tie_break: tieBreakRules.describe(
    "tie-break rules of SPEC §8; default: TPS, then largest_tps, second_round",
  ),
  certification_quorum: z
    .number()
    .int()
    .min(1)
    .max(50)
    .nullable()
    .describe("committee approvals that certify the result; null: a majority of the committee"),
};

export const createElectionBody = z.strictObject({
  ...electionFields,
  opens_at_local: electionFields.opens_at_local.default("07:00"),
  closes_at_local: electionFields.closes_at_local.default("13:00"),
  tie_break: resultRuleFields.tie_break.default(DEFAULT_TIE_BREAK),
  certification_quorum: resultRuleFields.certification_quorum.default(null),
});

export const updateElectionBody = z
  .strictObject({
    name: electionFields.name.optional(),
    village_name: electionFields.village_name.optional(),
    region_code: electionFields.region_code.optional(),
    voting_day: electionFields.voting_day.optional(),
    time_zone: electionFields.time_zone.optional(),
    opens_at_local: electionFields.opens_at_local.optional(),
    closes_at_local: electionFields.closes_at_local.optional(),
    tie_break: resultRuleFields.tie_break.optional(),
    certification_quorum: resultRuleFields.certification_quorum.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "nothing to change");

export const electionView = z.object({
  id: z.uuid(),
  name: z.string(),
  village_name: z.string(),
  region_code: z.string(),
  voting_day: z.string(),
  time_zone: z.enum(TIME_ZONES),
  opens_at: z.string().describe("ISO 8601 instant"),
  closes_at: z.string(),
  opens_at_local: z.string(),
  closes_at_local: z.string(),
  status: z.enum(["draft", "open", "closed", "tallied", "certified", "cancelled"]),
  cancel_reason: z.string().nullable(),
  tie_break: z.object({ area_unit: z.enum(AREA_UNITS), fallbacks: z.array(z.enum(TIE_BREAK_FALLBACKS)) }),
  certification_quorum: z.number().int().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const electionParams = z.strictObject({ electionId: uuid });
export const candidateParams = z.strictObject({ electionId: uuid, candidateId: uuid });
export const tpsParams = z.strictObject({ electionId: uuid, tpsId: uuid });
export const memberParams = z.strictObject({ electionId: uuid, userId: uuid });

const photoUrl = z
  .url({ protocol: /^https$/, hostname: z.regexes.domain })
  .max(2000)
  .describe("https URL of the candidate's photo");

export const candidateBody = z.strictObject({
  ballot_number: z.number().int().min(1).max(5),
  name: text(200),
  photo_url: photoUrl.nullable().optional(),
  vision: z.string().trim().max(10_000).nullable().optional().describe("visi dan misi"),
});

export const candidatePatch = candidateBody
  .partial()
  .refine((b) => Object.keys(b).length > 0, "nothing to change");

export const candidateView = z.object({
  id: z.uuid(),
  ballot_number: z.number().int(),
  name: z.string(),
  photo_url: z.string().nullable(),
  vision: z.string().nullable(),
});

export const tpsBody = z.strictObject({
  code: z
    .string()
    .trim()
    .regex(/^[0-9A-Za-z-]{1,16}$/, "1–16 letters, digits or '-', e.g. 001"),
  name: text(200).describe("e.g. 'TPS 01 Dusun II'"),
  address: z.string().trim().max(500).nullable().optional(),
  area: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .nullable()
    .optional()
    .describe("the area (dusun, RW) this TPS serves, for the wider-area tie-break"),
});

export const tpsPatch = tpsBody.partial().refine((b) => Object.keys(b).length > 0, "nothing to change");

export const tpsView = z.object({
  id: z.uuid(),
  code: z.string(),
  name: z.string(),
  address: z.string().nullable(),
  area: z.string().nullable(),
});

export const memberBody = z
  .strictObject({
    user_id: uuid.optional(),
    username: z.string().trim().toLowerCase().min(1).max(63).optional(),
    role: z.enum(["committee", "witness", "officer"]),
    tps_id: uuid.optional().describe("required for officers: the TPS they serve"),
  })
  .refine(
    (b) => (b.user_id === undefined) !== (b.username === undefined),
    "give exactly one of user_id, username",
  )
  .refine((b) => (b.role === "officer") === (b.tps_id !== undefined), "tps_id is required for officers only");

export const memberView = z.object({
  user_id: z.uuid(),
  username: z.string(),
  display_name: z.string(),
  role: z.enum(["committee", "witness", "officer"]),
  tps_id: z.uuid().nullable(),
});

export const cancelBody = z.strictObject({ reason: text(1000) });
