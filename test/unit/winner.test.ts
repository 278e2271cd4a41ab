// SPEC §8: the winner, and how ties are broken — wider area first, then the configured fallbacks — with the rule
// that decided stated.
import { describe, expect, it } from "vitest";
import { decideWinner } from "../../src/modules/tally/winner.js";
import type { ElectionCounts } from "../../src/verify/verifier.js";

function counts(perTps: Record<string, Record<string, number>>): ElectionCounts {
  const perCandidate: Record<string, number> = {};
  const tps: ElectionCounts["perTps"] = {};
  for (const [id, votes] of Object.entries(perTps)) {
    let ballots = 0;
    for (const [c, n] of Object.entries(votes)) {
      perCandidate[c] = (perCandidate[c] ?? 0) + n;
      ballots += n;
    }
    tps[id] = { perCandidate: votes, blank: 0, invalid: 0, ballots };
  }
  return {
    perCandidate,
    blank: 0,
    invalid: 0,
    perTps: tps,
    ballots: Object.values(perCandidate).reduce((a, b) => a + b, 0),
  };
}

describe("deciding the winner", () => {
  it("the most valid votes wins", () => {
    expect(decideWinner(counts({ a: { "1": 10, "2": 7 } }), { a: 20 })).toMatchObject({
      winner: 1,
      rule: "most_votes",
    });
  });

  it("a two-way tie is decided by the wider area: leading in more TPS", () => {
    const decision = decideWinner(
      counts({ a: { "1": 10, "2": 4 }, b: { "1": 2, "2": 4 }, c: { "1": 1, "2": 5 } }),
      { a: 1, b: 1, c: 1 },
    );
    expect(decision).toMatchObject({
      winner: 2,
      rule: "wider_area",
      tied: [1, 2],
      evidence: { tps_led: { 1: 1, 2: 2 } },
    });
  });

  it("a tie on area too is decided by the configured fallback, and the result says so", () => {
    const tie = counts({ a: { "1": 6, "2": 4 }, b: { "1": 4, "2": 6 } });
    expect(decideWinner(tie, { a: 300, b: 500 })).toMatchObject({ winner: 2, rule: "largest_tps" });
    expect(decideWinner(tie, { a: 300, b: 500 }, { fallbacks: ["second_round"] })).toMatchObject({
      winner: null,
      rule: "second_round",
      tied: [1, 2],
    });
  });

  it("no valid votes, no winner", () => {
    expect(decideWinner(counts({ a: { "1": 0, "2": 0 } }), { a: 1 })).toMatchObject({
      winner: null,
      rule: "no_valid_votes",
    });
  });
});
