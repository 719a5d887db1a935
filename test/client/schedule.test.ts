import { describe, expect, test } from "bun:test";
import { buildSchedule, RAMP_SLICES } from "../../lib/client/schedule.ts";

const S = 1e9;

/** Every schedule index's step, until the pacer stops. */
function stepsOfAll(schedule: ReturnType<typeof buildSchedule>): number[] {
  const out: number[] = [];
  for (let seq = 0; !schedule.pacer!(0, seq).stop; seq++) out.push(schedule.stepOf(seq));
  return out;
}

function countBy(values: readonly number[]): number[] {
  const counts: number[] = [];
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

describe("buildSchedule()", () => {
  test("a constant rate has no pacer of its own and no steps", () => {
    const s = buildSchedule({ kind: "constant", perSecond: 50 }, 10_000);
    expect([s.pacer, s.steps, s.durationNs, s.stepOf(3)]).toEqual([undefined, [], 10 * S, -1]);
  });

  test("steps: one step per rate, each --step-duration long, each request in its own step", () => {
    const s = buildSchedule({ kind: "steps", rates: [100, 200, 400, 800], stepMs: 10_000 }, 0);
    expect(s.durationNs).toBe(40 * S);
    expect(s.steps).toEqual([
      { rate: 100, startNs: 0, endNs: 10 * S },
      { rate: 200, startNs: 10 * S, endNs: 20 * S },
      { rate: 400, startNs: 20 * S, endNs: 30 * S },
      { rate: 800, startNs: 30 * S, endNs: 40 * S },
    ]);
    expect(countBy(stepsOfAll(s))).toEqual([1000, 2000, 4000, 8000]);
  });

  test("a ramp: ten equal slices, each asking the ramp's mean rate over it and holding that many requests", () => {
    const s = buildSchedule({ kind: "ramp", from: 100, to: 2000 }, 10_000);
    expect(s.durationNs).toBe(10 * S);
    expect(s.steps.length).toBe(RAMP_SLICES);
    expect(s.steps[0]).toEqual({ rate: 195, startNs: 0, endNs: S });
    expect(s.steps[9]!.rate).toBeCloseTo(1905, 9);
    const counts = countBy(stepsOfAll(s));
    counts.forEach((n, k) => expect(Math.abs(n - s.steps[k]!.rate)).toBeLessThanOrEqual(1));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10_500);
  });
});
