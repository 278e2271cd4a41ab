// Who won (SPEC §8): the most valid votes. On a tie among the leaders, the candidate whose valid votes cover the
// wider area wins (Permendagri 65/2017: "wilayah perolehan suara sah yang lebih luas"), read here as: leads
// outright in more area units. Regencies rule differently, so each election configures (before it opens) the
// area unit — each TPS, or the areas (dusun, RW) its committee groups TPS into — and the fallbacks that follow,
// in order: the candidate leading at the TPS with the most registered voters, and finally a second round or a
// drawing of lots (both leave the winner to a further, physical act of the committee). The decision names the
// rule that decided, the rules it applied, and its evidence.
import type { ElectionCounts } from "../../verify/verifier.js";

export const AREA_UNITS = ["tps", "area"] as const;
export type AreaUnit = (typeof AREA_UNITS)[number];

export const TIE_BREAK_FALLBACKS = ["largest_tps", "second_round", "drawing_lots"] as const;
export type TieBreakFallback = (typeof TIE_BREAK_FALLBACKS)[number];
/** Fallbacks that always end the decision (with no winner): nothing may follow them. */
export const FINAL_FALLBACKS: readonly TieBreakFallback[] = ["second_round", "drawing_lots"];

export interface TieBreakRules {
  area_unit: AreaUnit;
  fallbacks: TieBreakFallback[];
}

export const DEFAULT_TIE_BREAK: TieBreakRules = {
  area_unit: "tps",
  fallbacks: ["largest_tps", "second_round"],
};

/** Why a rule set cannot be used, or null when it can: the fallbacks must end in exactly one final rule. */
export function tieBreakProblem(rules: TieBreakRules): string | null {
  const { fallbacks } = rules;
  if (new Set(fallbacks).size !== fallbacks.length) return "a fallback appears twice";
  const last = fallbacks.at(-1);
  if (last === undefined || !FINAL_FALLBACKS.includes(last)) {
    return "the fallbacks must end with second_round or drawing_lots, so that every tie has an outcome";
  }
  if (fallbacks.slice(0, -1).some((f) => FINAL_FALLBACKS.includes(f))) {
    return "second_round and drawing_lots end the decision: nothing can follow them, and only one can be used";
  }
  return null;
}

export interface Decision {
  winner: number | null;
  rule: "most_votes" | "wider_area" | TieBreakFallback | "no_valid_votes";
  /** The candidates tied on votes (empty when there was no tie). */
  tied: number[];
  /** The rules this decision applied, as configured for the election when it opened. */
  rules: TieBreakRules;
  evidence: Record<string, unknown>;
}

export interface TpsFacts {
  /** Registered voters (DPT + DPK) per TPS id. */
  registered: Record<string, number>;
  /** The area (dusun, RW) of each TPS id, for area_unit "area". */
  area: Record<string, string | null>;
}

const votesOf = (perCandidate: Record<string, number>, candidate: number) =>
  perCandidate[String(candidate)] ?? 0;

function leaders(candidates: number[], score: (c: number) => number): number[] {
  const best = Math.max(...candidates.map(score));
  return candidates.filter((c) => score(c) === best);
}

/** Valid votes per candidate in each area unit: per TPS, or summed over the TPS of each area. */
function votesByArea(counts: ElectionCounts, unit: AreaUnit, facts: TpsFacts) {
  const byArea = new Map<string, Record<string, number>>();
  for (const [tpsId, tps] of Object.entries(counts.perTps)) {
    const key = unit === "tps" ? tpsId : (facts.area[tpsId] ?? `TPS ${tpsId}`);
    const sum = byArea.get(key) ?? {};
    for (const [candidate, n] of Object.entries(tps.perCandidate)) sum[candidate] = (sum[candidate] ?? 0) + n;
    byArea.set(key, sum);
  }
  return byArea;
}

export function decideWinner(
  counts: ElectionCounts,
  facts: TpsFacts,
  rules: TieBreakRules = DEFAULT_TIE_BREAK,
): Decision {
  const candidates = Object.keys(counts.perCandidate)
    .map(Number)
    .sort((a, b) => a - b);
  const total = (c: number) => votesOf(counts.perCandidate, c);
  if (candidates.length === 0 || candidates.every((c) => total(c) === 0)) {
    return { winner: null, rule: "no_valid_votes", tied: [], rules, evidence: {} };
  }
  let tied = leaders(candidates, total);
  const votes = Object.fromEntries(candidates.map((c) => [c, total(c)]));
  if (tied.length === 1)
    return { winner: tied[0] as number, rule: "most_votes", tied: [], rules, evidence: { votes } };

  const firstTie = tied;
  // Wider area: the number of area units where a candidate leads the other tied candidates outright.
  const areasLed: Record<number, number> = Object.fromEntries(tied.map((c) => [c, 0]));
  for (const perCandidate of votesByArea(counts, rules.area_unit, facts).values()) {
    const top = leaders(tied, (c) => votesOf(perCandidate, c));
    if (top.length === 1 && votesOf(perCandidate, top[0] as number) > 0)
      areasLed[top[0] as number] = (areasLed[top[0] as number] ?? 0) + 1;
  }
  const evidence: Record<string, unknown> = { votes, area_unit: rules.area_unit, areas_led: areasLed };
  tied = leaders(tied, (c) => areasLed[c] ?? 0);
  if (tied.length === 1) {
    return { winner: tied[0] as number, rule: "wider_area", tied: firstTie, rules, evidence };
  }
  for (const fallback of rules.fallbacks) {
    if (fallback === "largest_tps") {
      const most = Math.max(0, ...Object.values(facts.registered));
      const largest = Object.keys(facts.registered).filter((id) => facts.registered[id] === most);
      if (largest.length !== 1) {
        // Two TPS equally the largest: the rule names no single TPS, so it cannot decide; go on.
        evidence.largest_tps = { undecided: "several TPS have the most registered voters", tps_ids: largest };
        continue;
      }
      const tpsId = largest[0] as string;
      const atLargest = counts.perTps[tpsId]?.perCandidate ?? {};
      const top = leaders(tied, (c) => votesOf(atLargest, c));
      evidence.largest_tps = { tps_id: tpsId, registered: most, votes: atLargest };
      if (top.length === 1) {
        return { winner: top[0] as number, rule: "largest_tps", tied: firstTie, rules, evidence };
      }
      tied = top;
      continue;
    }
    // second_round or drawing_lots: the committee acts; the service names who is still tied.
    return {
      winner: null,
      rule: fallback,
      tied: firstTie,
      rules,
      evidence: { ...evidence, still_tied: tied },
    };
  }
  // Unreachable with validated rules (they end in a final fallback); kept total for stored, older rules.
  return {
    winner: null,
    rule: "second_round",
    tied: firstTie,
    rules,
    evidence: { ...evidence, still_tied: tied },
  };
}
