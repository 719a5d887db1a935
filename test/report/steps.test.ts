import { describe, expect, test } from "bun:test";
import { lateStarts } from "../../lib/report/generator-start.ts";
import { parseJsonReport, renderJson } from "../../lib/report/json.ts";
import { mergeExtras, mergeReports, mergeSteps, mergeSummaries } from "../../lib/report/merge.ts";
import { StepMetrics } from "../../lib/report/step-metrics.ts";
import { judgeStep, judgeSteps, type StepReport } from "../../lib/report/steps.ts";
import { renderHtml } from "../../lib/report/html.ts";
import { renderTextReport } from "../../lib/report/text.ts";
import { parseThreshold } from "../../lib/report/thresholds.ts";
import { verdict } from "../../lib/report/verdict.ts";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import { mixedRun, shot, T0 } from "../fixtures/shots.ts";
import type { ShotResult } from "../../lib/loadgen.ts";

const thresholds = ["success>=0.999", "p99<100ms"].map(parseThreshold);

/** `count` results due 1/rate apart from `startMs`, each with the given latency and status. */
function steady(rate: number, count: number, startMs: number, fields: Partial<ShotResult> = {}): ShotResult[] {
  return Array.from({ length: count }, (_, seq) => shot({ seq, due: startMs + (seq * 1000) / rate, ...fields }));
}

function summaryOf(results: readonly ShotResult[]) {
  const m = new AttackMetrics();
  for (const r of results) m.add(r);
  return m.close();
}

describe("judgeStep()", () => {
  test("passes a step whose thresholds hold with the generator on schedule", () => {
    expect(judgeStep(summaryOf(steady(200, 400, T0)), thresholds)).toEqual({
      outcome: "pass",
      failed: [],
      generator: [],
    });
  });

  test("fails a step that breaks a threshold, naming it", () => {
    const slow = summaryOf(steady(200, 400, T0, { latencyNs: 250e6 }));
    expect(judgeStep(slow, thresholds)).toEqual({ outcome: "fail", failed: ["p99<100ms"], generator: [] });
  });

  test("calls a step generator-bound when the generator fell behind, whatever the thresholds say", () => {
    const late = summaryOf(steady(200, 400, T0, { latencyNs: 250e6, sendLagNs: 40e6 }));
    const j = judgeStep(late, thresholds, { maxSendLagMs: 10 });
    expect(j.outcome).toBe("generator-bound");
    expect(j.generator).toContain("its own send lag p99 was 40ms, above --max-send-lag 10ms");
  });

  test("judgeSteps() judges each step on its own", () => {
    const steps: StepReport[] = [
      { rate: 100, startMs: T0, endMs: T0 + 2000, summary: summaryOf(steady(100, 200, T0)) },
      {
        rate: 200,
        startMs: T0 + 2000,
        endMs: T0 + 4000,
        summary: summaryOf(steady(200, 400, T0 + 2000, { status: 503 })),
      },
    ];
    expect(judgeSteps(steps, thresholds).map((s) => s.judged!.outcome)).toEqual(["pass", "fail"]);
  });
});

describe("StepMetrics", () => {
  test("keeps each step's results apart; their merge is the whole run's summary, exactly", () => {
    const results = [...steady(100, 100, T0), ...steady(300, 300, T0 + 1000)].map((r, seq) => ({ ...r, seq }));
    const m = new StepMetrics([
      { rate: 100, startNs: 0, endNs: 1e9 },
      { rate: 300, startNs: 1e9, endNs: 2e9 },
    ]);
    for (const r of results) m.add(r.seq < 100 ? 0 : 1, r);
    const steps = m.close(T0);
    expect(steps.map((s) => [s.rate, s.startMs - T0, s.endMs - T0, s.summary.requests])).toEqual([
      [100, 0, 1000, 100],
      [300, 1000, 2000, 300],
    ]);
    expect(steps[1]!.summary.targetRate).toBeCloseTo(300, 3);
    const whole = summaryOf(results);
    expect(renderJson(mergeSummaries(steps.map((s) => s.summary)))).toBe(renderJson(whole));
    expect(() => m.add(2, results[0]!)).toThrow(RangeError);
  });
});

/** Steps of two made-up shards of one schedule, each step from both shards' results. */
function shardSteps(shard: number): StepReport[] {
  return [0, 1].map((j) => {
    const start = T0 + j * 3000;
    const results = mixedRun(10 * j + shard, 2000, start + shard * 0.5, 2000);
    return { rate: 1000 * (j + 1), startMs: start, endMs: start + 3000, summary: summaryOf(results) };
  });
}

describe("steps in the JSON report", () => {
  const extras = { hitRatio: null, cacheStats: null };

  test("carry each step's figures and whole report, and read back to the same report", () => {
    const steps = judgeSteps(shardSteps(0), thresholds);
    const summary = mergeSummaries(steps.map((s) => s.summary));
    const capacity = {
      rate: 1000,
      line: "capacity: 1,000 req/s (p99 80ms); next step 2,000 req/s failed p99<100ms",
      code: 0 as const,
    };
    const starts = [{ shard: "0/2", at: T0 - 5000, offsetNs: 1234 }];
    const json = renderJson(summary, { ...extras, steps, capacity, starts });
    // any: checked field by field below
    const cas = (JSON.parse(json) as { cas: Record<string, any> }).cas;
    expect(cas.capacity).toEqual({ rate: 1000, verdict: capacity.line, exit_code: 0 });
    expect(cas.starts).toEqual([{ shard: "0/2", start_at: "2026-11-25T14:59:55Z", offset: 1234 }]);
    expect(cas.steps.length).toBe(2);
    expect(cas.steps[0]).toMatchObject({
      rate_asked: 1000,
      rate_achieved: steps[0]!.summary.achievedRate,
      start: "2026-11-25T15:00:00Z",
      end: "2026-11-25T15:00:03Z",
      requests: 2000,
      success: steps[0]!.summary.success,
      latencies: { "50th": steps[0]!.summary.latencies.p50, "99th": steps[0]!.summary.latencies.p99 },
      outcome: steps[0]!.judged!.outcome,
      failed: steps[0]!.judged!.failed,
      generator: steps[0]!.judged!.generator,
    });
    const back = parseJsonReport(JSON.parse(json));
    expect(back.extras.capacity).toEqual(capacity);
    expect(back.extras.starts).toEqual(starts);
    expect(back.extras.steps!.map((s) => [s.rate, s.startMs, s.endMs, s.judged])).toEqual(
      steps.map((s) => [s.rate, s.startMs, s.endMs, s.judged]),
    );
    expect(renderJson(back.summary, back.extras)).toBe(json);
  });

  test("merge step by step for shards of one schedule, exactly as the steps over all their results", () => {
    const [a, b] = [shardSteps(0), shardSteps(1)];
    const reports = [a, b].map((steps) => {
      const summary = mergeSummaries(steps.map((s) => s.summary));
      const starts = [{ shard: `${steps === a ? 0 : 1}/2`, at: T0, offsetNs: 900 }];
      return JSON.parse(renderJson(summary, { ...extras, steps, starts })) as unknown;
    });
    const merged = mergeReports(reports);
    expect(merged.extras.starts!.map((s) => s.shard)).toEqual(["0/2", "1/2"]);
    const steps = merged.extras.steps!;
    expect(steps.map((s) => s.rate)).toEqual([1000, 2000]);
    steps.forEach((s, j) => {
      expect(renderJson(s.summary)).toBe(renderJson(mergeSummaries([a[j]!.summary, b[j]!.summary])));
      expect(s.judged).toBeUndefined();
    });
    expect(renderJson(merged.summary)).toBe(renderJson(mergeSummaries([...a, ...b].map((s) => s.summary))));
  });

  test("steps that differ between reports are dropped rather than merged wrongly", () => {
    const other = shardSteps(1).map((s) => ({ ...s, rate: s.rate * 2 }));
    expect(mergeSteps([shardSteps(0), other])).toBeUndefined();
    expect(mergeSteps([shardSteps(0), shardSteps(1).slice(1)])).toBeUndefined();
    expect(mergeSteps([shardSteps(0), undefined])).toBeUndefined();
    expect(mergeExtras([extras, { ...extras, capacity: { rate: 1, line: "x", code: 0 } }])).toEqual(extras);
  });
});

describe("steps in the text and HTML reports", () => {
  const steps = judgeSteps(
    [
      { rate: 100, startMs: T0, endMs: T0 + 2000, summary: summaryOf(steady(100, 200, T0)) },
      {
        rate: 200,
        startMs: T0 + 2000,
        endMs: T0 + 4000,
        summary: summaryOf(steady(200, 400, T0 + 2000, { latencyNs: 250e6 })),
      },
    ],
    thresholds,
  );
  const summary = mergeSummaries(steps.map((s) => s.summary));
  const capacity = {
    rate: 100,
    line: "capacity: 100 req/s (p99 1ms); next step 200 req/s failed p99<100ms",
    code: 0 as const,
  };
  const extras = {
    hitRatio: null,
    cacheStats: null,
    steps,
    capacity,
    starts: [{ shard: "1/4", at: T0, offsetNs: 2500 }],
  };

  test("the text report has one row per step, the search's verdict and each generator's start", () => {
    const text = renderTextReport(summary, extras);
    expect(text).toContain("Start       [shard, start-at, offset]  1/4, 2026-11-25T15:00:00Z, 2.5µs\n");
    const table = text.slice(text.indexOf("Step  "));
    expect(table.split("\n").slice(0, 4)).toEqual([
      "Step  Rate Asked  Achieved  Requests  Success  p50    p99    Outcome",
      "1     100.00/s    100.00/s  200       100.00%  1ms    1ms    pass",
      "2     200.00/s    200.00/s  400       100.00%  250ms  250ms  fail: p99<100ms",
      capacity.line,
    ]);
  });

  test("the HTML page has the steps table and marks each step's start on the latency chart", () => {
    const html = renderHtml(summary, { extras });
    expect(html).toContain("<h2>Steps</h2>");
    expect(html).toContain(capacity.line.replace("<", "&#60;"));
    expect(html).toContain("fail: p99&#60;100ms");
    expect(html.match(/<line class="step"/g)?.length).toBe(2);
    expect(html).toContain("<title>step 2: 200/s</title>2</text>");
  });
});

test("a generator that started after --start-at is the generator's failure (exit 3), not the target's", () => {
  expect(
    lateStarts(
      [
        { shard: "2/4", at: T0, offsetNs: 3.1e9 },
        { shard: "1/4", at: T0, offsetNs: 2000 },
      ],
      10,
    ),
  ).toEqual(["shard 2/4 started 3.1s after --start-at"]);
  expect(lateStarts([{ shard: null, at: T0, offsetNs: 20e6 }], 10)).toEqual([
    "the generator started 20ms after --start-at",
  ]);
  const summary = summaryOf(steady(100, 200, T0));
  const starts = [{ shard: "0/2", at: T0, offsetNs: 2e9 }];
  const v = verdict(summary, [], { maxSendLagMs: 10, starts });
  expect(v.code).toBe(3);
  expect(v.generator).toEqual(["shard 0/2 started 2s after --start-at"]);
  expect(verdict(summary, [], { starts: [{ ...starts[0]!, offsetNs: 5000 }] }).code).toBe(0);
});
