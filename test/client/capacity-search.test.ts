import { describe, expect, test } from "bun:test";
import {
  bracket,
  nextMove,
  roundRate,
  type SearchOptions,
  type SearchStep,
  type StepOutcome,
} from "../../lib/client/capacity-search.ts";

/** Runs the search against a made-up target; every step takes stepMs plus a 1 s pause. */
function search(options: SearchOptions, outcome: (rate: number) => StepOutcome) {
  const steps: SearchStep[] = [];
  let elapsed = 0;
  for (;;) {
    const move = nextMove(options, steps, elapsed);
    if (move.kind === "done") return { steps, end: move.end, ...bracket(steps) };
    steps.push({ rate: move.rate, outcome: outcome(move.rate) });
    elapsed += options.stepMs + 1000;
  }
}

const base: SearchOptions = { startRate: 50, stepMs: 10_000, maxTimeMs: 3_600_000 };

describe("nextMove()", () => {
  test("doubles from the first step until one fails, then bisects to within 5%", () => {
    const r = search(base, (rate) => (rate <= 31_234 ? "pass" : "fail"));
    expect(r.steps.slice(0, 11).map((s) => s.rate)).toEqual([
      50, 100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200,
    ]);
    expect(r.steps[10]!.outcome).toBe("fail");
    expect(r.steps.slice(11).map((s) => s.rate)).toEqual([38_400, 32_000, 28_800, 30_400, 31_200]);
    expect(r.end).toBe("bracketed");
    expect(r.held).toEqual({ rate: 31_200, outcome: "pass" });
    expect(r.bound).toEqual({ rate: 32_000, outcome: "fail" });
  });

  test("finds a known limit within the precision, from any starting rate", () => {
    for (const limit of [75, 1000, 4321, 31_234, 99_999]) {
      for (const startRate of [10, 50, 333]) {
        const r = search({ ...base, startRate }, (rate) => (rate <= limit ? "pass" : "fail"));
        if (startRate > limit) {
          expect(r.end).toBe("none-held");
          continue;
        }
        expect(r.end).toBe("bracketed");
        expect(r.held!.rate).toBeLessThanOrEqual(limit);
        expect(r.bound!.rate).toBeGreaterThan(limit);
        expect(r.bound!.rate - r.held!.rate).toBeLessThanOrEqual(0.05 * r.held!.rate);
      }
    }
  });

  test("never runs a step above one that failed", () => {
    const r = search(base, (rate) => (rate <= 5000 ? "pass" : "fail"));
    r.steps.forEach((s, i) => {
      const failedBefore = r.steps.slice(0, i).filter((p) => p.outcome !== "pass");
      for (const f of failedBefore) expect(s.rate).toBeLessThan(f.rate);
    });
  });

  test("a generator-bound step bounds the search as a failure does, and stays the bound it reports", () => {
    const r = search(base, (rate) => (rate <= 20_000 ? "pass" : "generator-bound"));
    expect(r.end).toBe("bracketed");
    expect(r.bound!.outcome).toBe("generator-bound");
    expect(r.held!.rate).toBeLessThanOrEqual(20_000);
    expect(r.held!.rate).toBeGreaterThanOrEqual(19_000);
  });

  test("stops at --max-rate when it holds, and asks for it as a step when doubling would pass it", () => {
    const r = search({ ...base, maxRate: 1000 }, () => "pass");
    expect(r.steps.map((s) => s.rate)).toEqual([50, 100, 200, 400, 800, 1000]);
    expect(r.end).toBe("max-rate");
    expect(r.held!.rate).toBe(1000);
    expect(r.bound).toBeUndefined();
    expect(nextMove({ ...base, startRate: 5000, maxRate: 1000 }, [], 0)).toEqual({ kind: "run", rate: 1000 });
  });

  test("stops when the time limit leaves no room for another step", () => {
    const r = search({ ...base, maxTimeMs: 45_000 }, () => "pass");
    expect(r.steps.map((s) => s.rate)).toEqual([50, 100, 200, 400]);
    expect(r.end).toBe("time-limit");
    expect(nextMove({ ...base, maxTimeMs: 9_999 }, [], 0)).toEqual({ kind: "done", end: "time-limit" });
  });

  test("ends when the first step does not hold", () => {
    expect(search(base, () => "fail")).toMatchObject({ end: "none-held", held: undefined, steps: [{ rate: 50 }] });
    expect(search(base, () => "generator-bound")).toMatchObject({ end: "none-held", held: undefined });
  });

  test("rejects options it cannot search with", () => {
    for (const bad of [
      { startRate: 0 },
      { startRate: Infinity },
      { maxRate: 0 },
      { stepMs: 0 },
      { maxTimeMs: 0 },
      { precision: 0 },
    ]) {
      expect(() => nextMove({ ...base, ...bad }, [], 0)).toThrow(RangeError);
    }
  });
});

test("bracket() takes the highest that held and the lowest above it that did not", () => {
  const steps: SearchStep[] = [
    { rate: 100, outcome: "pass" },
    { rate: 400, outcome: "fail" },
    { rate: 250, outcome: "generator-bound" },
    { rate: 175, outcome: "pass" },
    { rate: 60, outcome: "fail" }, // below a rate that held: noise, not a bound
  ];
  expect(bracket(steps)).toEqual({ held: steps[3], bound: steps[2] });
  expect(bracket([])).toEqual({ held: undefined, bound: undefined });
});

test("roundRate() keeps three significant digits", () => {
  expect([31_234.375, 1000, 1234.5, 0.12345].map(roundRate)).toEqual([31_200, 1000, 1230, 0.123]);
});
