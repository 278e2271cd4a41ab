// Who won (SPEC §8): the most valid votes. On a tie among the leaders, the candidate whose valid votes cover the
// wider area wins (Permendagri 65/2017: "wilayah perolehan suara sah yang lebih luas"), read here as: leads in
// more area units (TPS); then the configured fallbacks in order — the candidate leading at the TPS with the most
// registered voters, and finally a second round (no winner). The decision names its rule and its evidence.
import type { ElectionCounts } from "../../verify/verifier.js";

export type TieBreakFallback = "largest_tps" | "second_round";

export interface TieBreakRules {
  fallbacks: TieBreakFallback[];
}

export const DEFAULT_TIE_BREAK: TieBreakRules = { fallbacks: ["largest_tps", "second_round"] };

export interface Decision {
  winner: number | null;
  rule: "most_votes" | "wider_area" | "largest_tps" | "second_round" | "no_valid_votes";
  tied: number[];
  evidence: Record<string, unknown>;
}

const votesOf = (perCandidate: Record<string, number>, candidate: number) =>
  perCandidate[String(candidate)] ?? 0;

function leaders(candidates: number[], score: (c: number) => number): number[] {
  const best = Math.max(...candidates.map(score));
  return candidates.filter((c) => score(c) === best);
}

export function decideWinner(
  counts: ElectionCounts,
  registeredPerTps: Record<string, number>,
  rules: TieBreakRules = DEFAULT_TIE_BREAK,
): Decision {
  const candidates = Object.keys(counts.perCandidate)
    .map(Number)
    .sort((a, b) => a - b);
  const total = (c: number) => votesOf(counts.perCandidate, c);
  if (candidates.length === 0 || candidates.every((c) => total(c) === 0)) {
    return { winner: null, rule: "no_valid_votes", tied: [], evidence: {} };
  }
  let tied = leaders(candidates, total);
  const votes = Object.fromEntries(candidates.map((c) => [c, total(c)]));
  if (tied.length === 1)
    return { winner: tied[0] as number, rule: "most_votes", tied: [], evidence: { votes } };

  const firstTie = tied;
  // Wider area: the number of TPS where a candidate leads the other tied candidates outright.
  const areasWon: Record<number, number> = Object.fromEntries(tied.map((c) => [c, 0]));
  for (const tps of Object.values(counts.perTps)) {
    const top = leaders(tied, (c) => votesOf(tps.perCandidate, c));
    if (top.length === 1 && votesOf(tps.perCandidate, top[0] as number) > 0)
      areasWon[top[0] as number] = (areasWon[top[0] as number] ?? 0) + 1;
  }
  tied = leaders(tied, (c) => areasWon[c] ?? 0);
  if (tied.length === 1) {
    return {
      winner: tied[0] as number,
      rule: "wider_area",
      tied: firstTie,
      evidence: { votes, tps_led: areasWon },
    };
  }
  for (const fallback of rules.fallbacks) {
    if (fallback === "largest_tps") {
      const largest = Object.entries(registeredPerTps).sort(
        (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
      )[0];
      if (!largest) continue;
      const [tpsId, registered] = largest;
      const atLargest = counts.perTps[tpsId]?.perCandidate ?? {};
      const top = leaders(tied, (c) => votesOf(atLargest, c));
      if (top.length === 1) {
        return {
          winner: top[0] as number,
          rule: "largest_tps",
          tied: firstTie,
          evidence: {
            votes,
            tps_led: areasWon,
            largest_tps: { tps_id: tpsId, registered, votes: atLargest },
          },
        };
      }
      tied = top;
    }
    if (fallback === "second_round") {
      return {
        winner: null,
        rule: "second_round",
        tied: firstTie,
        evidence: { votes, tps_led: areasWon, still_tied: tied },
      };
    }
  }
  return {
    winner: null,
    rule: "second_round",
    tied: firstTie,
    evidence: { votes, tps_led: areasWon, still_tied: tied },
  };
}
