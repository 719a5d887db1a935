import { expect, test } from "bun:test";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import type { ShotResult } from "../../lib/loadgen.ts";
import { evaluateThresholds, parseThreshold, withDefaultThresholds } from "../../lib/report/thresholds.ts";
import { generatorShortfalls, verdict } from "../../lib/report/verdict.ts";
import { shot } from "../fixtures/shots.ts";

/** 200 requests at 100/s, each 1 ms, sent 50 µs late; `change` alters request i. */
function run(change: (i: number) => Partial<ShotResult> = () => ({})) {
  const m = new AttackMetrics();
  for (let i = 0; i < 200; i++) m.add(shot({ seq: i, sendLagNs: 50_000, ...change(i) }));
  return m.close();
}

function judge(summary: ReturnType<typeof run>, thresholds: string[], maxSendLagMs?: number) {
  const results = evaluateThresholds(withDefaultThresholds(thresholds.map(parseThreshold)), summary);
  return verdict(summary, results, maxSendLagMs === undefined ? {} : { maxSendLagMs });
}

test("verdict() is 0 when every threshold holds and the generator kept its schedule", () => {
  const v = judge(run(), ["p99<50ms", "success>=0.999"]);
  expect(v).toMatchObject({ code: 0, generator: [], failed: [], message: "every threshold holds (3)" });
});

test("verdict() is 1 when the system under test broke a threshold", () => {
  const v = judge(
    run((i) => (i < 10 ? { latencyNs: 80e6 } : {})),
    ["p99<50ms", "success>=0.999"],
  );
  expect(v.code).toBe(1);
  expect(v.failed.map((r) => r.threshold.text)).toEqual(["p99<50ms"]);
  expect(v.message).toBe("the system under test broke 1 threshold: p99<50ms");
});

test("verdict() is 1 for a body that does not match its key, by default and whatever the generator did", () => {
  const bad = run((i) => (i === 7 ? { error: "body does not match its key" } : {}));
  expect(bad.success).toBe(1); // vegeta's success counts the status only
  expect(judge(bad, []).code).toBe(1);
  expect(judge(bad, []).message).toContain("integrity_failures==0");
  const badAndLate = run((i) => ({ sendLagNs: 20e6, ...(i === 7 && { error: "body does not match its key" }) }));
  expect(judge(badAndLate, []).code).toBe(1);
  expect(judge(badAndLate, []).generator.length).toBe(1);
  expect(judge(bad, ["integrity_failures<=1"]).code).toBe(0); // an explicit limit replaces the default
});

test("verdict() is 3 when the generator's own send lag p99 is above the limit, whatever the thresholds", () => {
  const late = run((i) => (i % 10 === 0 ? { sendLagNs: 15e6 } : {}));
  const v = judge(late, ["p99<1ns"]);
  expect(v.code).toBe(3);
  expect(v.generator).toEqual(["its own send lag p99 was 15ms, above --max-send-lag 10ms"]);
  expect(v.message).toStartWith(
    "the generator could not keep its schedule, so the run says nothing about the target: ",
  );
  expect(judge(late, [], 20).code).toBe(0);
  // the wait for a slot is not the generator's own lag
  expect(
    generatorShortfalls(
      run(() => ({ sendLagNs: 15e6, queueNs: 15e6 })),
      10,
    ),
  ).toEqual([]);
});

test("verdict() is 3 when the achieved rate is below 99% of the target", () => {
  // each request 0.1 ms later than the one before: the last goes out 20 ms behind a 2 s run
  const v = judge(
    run((i) => ({ sendLagNs: i * 100_000, queueNs: i * 100_000 })),
    [],
  );
  expect(v.code).toBe(0); // 1% of 2 s is 20 ms: just within
  const w = judge(
    run((i) => ({ sendLagNs: i * 200_000, queueNs: i * 200_000 })),
    [],
  );
  expect(w.code).toBe(3);
  expect(w.generator[0]).toMatch(/^achieved 98\.\d+\/s of the 100\/s scheduled \(98\.\d%, below 99%\)$/);
});

test("verdict() is 3 when more than 1% of requests waited for a free --max-inflight slot", () => {
  const two = run((i) => (i < 2 ? { slotWaitNs: 1e6, queueNs: 1e6, sendLagNs: 1e6 } : {}));
  expect(judge(two, []).code).toBe(0);
  const three = run((i) => (i < 3 ? { slotWaitNs: 1e6, queueNs: 1e6, sendLagNs: 1e6 } : {}));
  expect(judge(three, []).generator).toEqual([
    "3 requests (1.5%) waited for a free --max-inflight slot past their due time (raise --max-inflight or lower the rate)",
  ]);
  expect(judge(three, []).code).toBe(3);
});

test("verdict() of a run with no requests judges only the thresholds", () => {
  const empty = new AttackMetrics().close();
  expect(judge(empty, []).code).toBe(0);
  expect(judge(empty, ["p99<1s"]).code).toBe(1); // nothing to measure: it does not hold
});

test("generatorShortfalls() does not judge runs of fewer than 100 requests: their p99 is their maximum", () => {
  const m = new AttackMetrics();
  for (let i = 0; i < 99; i++)
    m.add(shot({ seq: i, sendLagNs: i === 0 ? 50e6 : 50_000, slotWaitNs: i === 1 ? 1e6 : 0 }));
  expect(generatorShortfalls(m.close(), 10)).toEqual([]);
  const hundred = new AttackMetrics();
  for (let i = 0; i < 100; i++) hundred.add(shot({ seq: i, sendLagNs: i < 2 ? 50e6 : 50_000 }));
  expect(generatorShortfalls(hundred.close(), 10)).toEqual([
    "its own send lag p99 was 50ms, above --max-send-lag 10ms",
  ]);
});
