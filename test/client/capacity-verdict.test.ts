import { expect, test } from "bun:test";
import { capacityVerdict, type SearchedStep } from "../../lib/client/capacity-verdict.ts";

const pass = (rate: number, p99 = 4.1e6): SearchedStep => ({ rate, outcome: "pass", p99, failed: [], generator: [] });
const fail = (rate: number, ...failed: string[]): SearchedStep => ({
  ...{ rate, outcome: "fail", p99: 250e6, failed, generator: [] },
});
const bound = (rate: number, why: string): SearchedStep => ({
  ...{ rate, outcome: "generator-bound", p99: 30e6, failed: [], generator: [why] },
});

test("capacityVerdict() names the highest rate that held and the step above it that failed", () => {
  const steps = [pass(25_600), fail(51_200, "p99<100ms"), pass(31_200, 4.1234e6), fail(32_000, "p99<100ms")];
  expect(capacityVerdict(steps, "bracketed")).toEqual({
    rate: 31_200,
    bound: steps[3],
    code: 0,
    line: "capacity: 31,200 req/s (p99 4.1ms); next step 32,000 req/s failed p99<100ms",
  });
  expect(capacityVerdict([pass(100), fail(200, "success>=0.999", "p99<100ms")], "time-limit").line).toBe(
    "capacity: 100 req/s (p99 4.1ms); next step 200 req/s failed success>=0.999, p99<100ms",
  );
});

test("capacityVerdict() never calls a generator-bound step the target's capacity: at least, exit 3", () => {
  const steps = [pass(20_000, 900e3), bound(40_000, "achieved 31000/s of the 40000/s scheduled")];
  expect(capacityVerdict(steps, "bracketed")).toEqual({
    rate: 20_000,
    bound: steps[1],
    code: 3,
    line:
      "capacity: at least 20,000 req/s (p99 900µs); next step 40,000 req/s was generator-bound (achieved " +
      "31000/s of the 40000/s scheduled): the generator, not the target, was the limit; add generators (--shard)",
  });
});

test("capacityVerdict() says when the search ended with every step held", () => {
  expect(capacityVerdict([pass(500), pass(1000, 2e6)], "max-rate")).toMatchObject({
    rate: 1000,
    code: 0,
    line: "capacity: at least 1,000 req/s (p99 2ms): every step held up to --max-rate",
  });
  expect(capacityVerdict([pass(500)], "time-limit").line).toBe(
    "capacity: at least 500 req/s (p99 4.1ms): the time limit ended the search while steps still held",
  );
  expect(capacityVerdict([pass(500)], "stopped").line).toBe(
    "capacity: at least 500 req/s (p99 4.1ms): stopped early while steps still held",
  );
});

test("capacityVerdict() when no step held, or none ran", () => {
  expect(capacityVerdict([fail(50, "success>=0.999")], "none-held")).toMatchObject({
    rate: null,
    code: 1,
    line: "capacity: below 50 req/s: the first step failed success>=0.999",
  });
  expect(capacityVerdict([bound(50, "its own send lag p99 was 40ms")], "none-held")).toMatchObject({
    rate: null,
    code: 3,
    line: "capacity: unknown: the first step, 50 req/s, was generator-bound (its own send lag p99 was 40ms)",
  });
  expect(capacityVerdict([], "time-limit")).toMatchObject({
    code: 1,
    line: "capacity: unknown: no step ran: the time limit is shorter than one step",
  });
  expect(capacityVerdict([pass(100), fail(200, "p99<1ms")], "stopped").line).toEndWith(" (stopped early)");
});
