// SPEC §8: the winner, and how ties are broken — wider area first, then the configured fallbacks — with the rule
// that decided stated.
import { describe, expect, it } from "vitest";
import { decideWinner, type TpsFacts, tieBreakProblem } from "../../src/modules/tally/winner.js";
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

/** Registered voters per TPS, no areas. */
const sized = (registered: Record<string, number>): TpsFacts => ({ registered, area: {} });

describe("deciding the winner", () => {
  it("the most valid votes wins", () => {
    expect(decideWinner(counts({ a: { "1": 10, "2": 7 } }), sized({ a: 20 }))).toMatchObject({
      winner: 1,
      rule: "most_votes",
    });
  });

  it("a two-way tie is decided by the wider area: leading in more TPS", () => {
    const decision = decideWinner(
      counts({ a: { "1": 10, "2": 4 }, b: { "1": 2, "2": 4 }, c: { "1": 1, "2": 5 } }),
      sized({ a: 1, b: 1, c: 1 }),
    );
    expect(decision).toMatchObject({
      winner: 2,
      rule: "wider_area",
      tied: [1, 2],
      rules: { area_unit: "tps" },
      evidence: { area_unit: "tps", areas_led: { 1: 1, 2: 2 } },
    });
  });

  it("with areas as the unit, TPS are summed per area (dusun) before counting the areas led", () => {
    // 15 votes each. Per TPS, 2 leads in three (b, c, e) and 1 in two (a, d); per dusun, 1 leads in two
    // (Dusun I, Dusun III) and 2 in one (Dusun II, which holds b, c and e).
    const tie = counts({
      a: { "1": 10, "2": 1 },
      b: { "1": 0, "2": 4 },
      c: { "1": 0, "2": 4 },
      e: { "1": 0, "2": 4 },
      d: { "1": 5, "2": 2 },
    });
    const facts: TpsFacts = {
      registered: { a: 1, b: 1, c: 1, d: 1, e: 1 },
      area: { a: "Dusun I", b: "Dusun II", c: "Dusun II", e: "Dusun II", d: "Dusun III" },
    };
    expect(decideWinner(tie, facts, { area_unit: "tps", fallbacks: ["second_round"] })).toMatchObject({
      winner: 2,
      rule: "wider_area",
      evidence: { area_unit: "tps", areas_led: { 1: 2, 2: 3 } },
    });
    expect(decideWinner(tie, facts, { area_unit: "area", fallbacks: ["second_round"] })).toMatchObject({
      winner: 1,
      rule: "wider_area",
      evidence: { area_unit: "area", areas_led: { 1: 2, 2: 1 } },
    });
  });

  it("a tie on area too is decided by the configured fallback, and the result says so", () => {
    const tie = counts({ a: { "1": 6, "2": 4 }, b: { "1": 4, "2": 6 } });
    expect(decideWinner(tie, sized({ a: 300, b: 500 }))).toMatchObject({
      winner: 2,
      rule: "largest_tps",
      evidence: { largest_tps: { tps_id: "b", registered: 500 } },
    });
    expect(
      decideWinner(tie, sized({ a: 300, b: 500 }), { area_unit: "tps", fallbacks: ["second_round"] }),
    ).toMatchObject({ winner: null, rule: "second_round", tied: [1, 2], evidence: { still_tied: [1, 2] } });
    expect(
      decideWinner(tie, sized({ a: 300, b: 500 }), { area_unit: "tps", fallbacks: ["drawing_lots"] }),
    ).toMatchObject({ winner: null, rule: "drawing_lots", tied: [1, 2] });
  });

  it("two TPS equally the largest cannot decide a tie: the next fallback does", () => {
    const tie = counts({ a: { "1": 6, "2": 4 }, b: { "1": 4, "2": 6 } });
    const decision = decideWinner(tie, sized({ a: 400, b: 400 }), {
      area_unit: "tps",
      fallbacks: ["largest_tps", "drawing_lots"],
    });
    expect(decision).toMatchObject({ winner: null, rule: "drawing_lots", evidence: { still_tied: [1, 2] } });
    expect(decision.evidence.largest_tps).toMatchObject({ tps_ids: ["a", "b"] });
  });

  it("no valid votes, no winner", () => {
    expect(decideWinner(counts({ a: { "1": 0, "2": 0 } }), sized({ a: 1 }))).toMatchObject({
      winner: null,
      rule: "no_valid_votes",
    });
  });
});

describe("tie-break rules an election may configure", () => {
  it("must end with exactly one of second_round or drawing_lots, with no repeats", () => {
    expect(tieBreakProblem({ area_unit: "tps", fallbacks: ["largest_tps", "second_round"] })).toBeNull();
    expect(tieBreakProblem({ area_unit: "area", fallbacks: ["drawing_lots"] })).toBeNull();
    expect(tieBreakProblem({ area_unit: "tps", fallbacks: ["largest_tps"] })).toMatch(/must end/);
    expect(tieBreakProblem({ area_unit: "tps", fallbacks: ["second_round", "largest_tps"] })).toMatch(
      /must end/,
    );
    expect(tieBreakProblem({ area_unit: "tps", fallbacks: ["second_round", "drawing_lots"] })).toMatch(
      /nothing can follow/,
    );
    expect(
      tieBreakProblem({ area_unit: "tps", fallbacks: ["largest_tps", "largest_tps", "second_round"] }),
    ).toMatch(/twice/);
  });
});
