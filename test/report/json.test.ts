import { expect, test } from "bun:test";
import { AttackMetrics } from "../../lib/report/attack-metrics.ts";
import type { ShotResult } from "../../lib/loadgen.ts";
import { renderJson, type CasExtras } from "../../lib/report/json.ts";

const T0 = Date.UTC(2026, 10, 25, 15, 37, 1) + 0.123456; // sub-ms: the timestamps carry ns digits

/** The summary of one request due at T0, answered in 1 ns with `fields` (a status at least). */
function oneResult(fields: Pick<ShotResult, "status"> & Partial<ShotResult>) {
  const m = new AttackMetrics();
  m.add({
    ...{ seq: 0, target: { method: "GET", url: "http://x/" }, due: T0, sent: T0, latencyNs: 1, sendLagNs: 0 },
    ...{ bytesIn: 0, bytesOut: 0 },
    ...fields,
  });
  return m.close();
}

function summary(buckets?: number[]) {
  const m = new AttackMetrics(buckets ? { buckets } : {});
  const statuses = [200, 200, 200, 404, 0];
  const verdicts = ["MISS", "HIT", "HIT", "MISS", undefined] as const; // the failed request has no response
  statuses.forEach((status, i) => {
    const cache = verdicts[i];
    const r: ShotResult = {
      seq: i,
      target: { method: "GET", url: "http://x/" },
      due: T0 + i * 100,
      sent: T0 + i * 100,
      latencyNs: (i + 1) * 1_234_567,
      sendLagNs: 1000 * i + 500 * i,
      queueNs: 500 * i,
      status,
      bytesIn: status === 200 ? 25_000 : 0,
      bytesOut: 0,
      ...(status === 0 && { error: "connection refused" }),
      ...(status === 404 && { error: "404 Not Found" }),
      ...(cache && { cache }),
    };
    m.add(r);
  });
  return m.close();
}

const extras: CasExtras = {
  hitRatio: 0.75,
  cacheStats: { before: { "http://c": { Gets: 1 } }, after: { "http://c": { Gets: 5 } } },
};

const RFC3339_NS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

test("renderJson() is one line of JSON with vegeta's keys in vegeta's order, then cas", () => {
  const text = renderJson(summary(), extras);
  expect(text.endsWith("}\n")).toBe(true);
  expect(text.trimEnd().includes("\n")).toBe(false);
  const report = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(report)).toEqual([
    "latencies",
    "bytes_in",
    "bytes_out",
    "earliest",
    "latest",
    "end",
    "duration",
    "wait",
    "requests",
    "rate",
    "throughput",
    "success",
    "status_codes",
    "errors",
    "cas",
  ]);
  const latencies = report.latencies as Record<string, number>;
  expect(Object.keys(latencies)).toEqual(["total", "mean", "50th", "90th", "95th", "99th", "max", "min"]);
  for (const v of Object.values(latencies)) expect(Number.isInteger(v)).toBe(true);
  expect(Object.keys(report.bytes_in as object)).toEqual(["total", "mean"]);
  expect(Object.keys(report.bytes_out as object)).toEqual(["total", "mean"]);
  for (const key of ["earliest", "latest", "end"]) expect(report[key]).toMatch(RFC3339_NS);
  for (const key of ["duration", "wait", "requests"]) expect(Number.isInteger(report[key])).toBe(true);
  for (const key of ["rate", "throughput", "success"]) expect(typeof report[key]).toBe("number");
  expect(report.status_codes).toEqual({ "0": 1, "200": 3, "404": 1 });
  expect(report.errors).toEqual(["404 Not Found", "connection refused"]);
  expect(report).not.toHaveProperty("buckets");
});

test("renderJson() units: latencies and durations in ns, timestamps with ns digits, success a share", () => {
  const r = JSON.parse(renderJson(summary(), extras)) as Record<string, any>; // any: checking a parsed document
  expect(r.latencies.min).toBe(1_234_567);
  expect(r.latencies.max).toBe(5 * 1_234_567);
  expect(r.latencies.total).toBe(15 * 1_234_567);
  expect(r.latencies.mean).toBe(3 * 1_234_567);
  expect(r.duration).toBe(400_000_000);
  expect(r.wait).toBe(5 * 1_234_567);
  expect(r.requests).toBe(5);
  expect(r.rate).toBe(5 / 0.4);
  expect(r.success).toBe(0.6);
  expect(r.earliest).toMatch(/^2026-11-25T15:37:01\.0001235\d*Z$/);
  expect(r.bytes_in).toEqual({ total: 75_000, mean: 15_000 });
});

test("renderJson() puts our extras under cas", () => {
  const r = JSON.parse(renderJson(summary(), extras)) as Record<string, any>; // any: checking a parsed document
  expect(Object.keys(r.cas)).toEqual([
    "latency_from",
    "integrity_failures",
    "hit_ratio",
    "hit_ratio_observed",
    "x_cache",
    "send_lag",
    "queue_wait",
    "cache_stats",
    "target_rate",
    "achieved_rate",
    "slot_waits",
    "error_count",
    "successes",
    "last_sent",
    "by_target",
    "by_x_cache",
    "histograms",
    "series",
  ]);
  expect(r.cas.latency_from).toBe("due");
  expect(r.cas.hit_ratio).toBe(0.75); // from the extras: the caches' /stats
  expect(r.cas.hit_ratio_observed).toBe(0.5); // from the responses: 2 HIT, 2 MISS
  expect(r.cas.x_cache).toEqual({ hit: 2, miss: 2 });
  expect(Object.keys(r.cas.send_lag)).toEqual(["mean", "50th", "90th", "99th", "max"]);
  expect(r.cas.send_lag.max).toBe(4000); // the generator's own lag: sendLagNs less queueNs
  expect(Object.keys(r.cas.queue_wait)).toEqual(["mean", "50th", "90th", "99th", "max"]);
  expect(r.cas.queue_wait.max).toBe(2000);
  expect(r.cas.queue_wait.mean).toBe(1000);
  expect(r.cas.cache_stats.after["http://c"].Gets).toBe(5);
  expect(JSON.parse(renderJson(summary()))).not.toHaveProperty("cas");
});

test("renderJson() reports no observed hit ratio when no response carried X-Cache", () => {
  const r = JSON.parse(renderJson(oneResult({ status: 200 }), { ...extras, hitRatio: null })) as Record<string, any>; // any: parsed
  expect(r.cas.hit_ratio).toBeNull();
  expect(r.cas.hit_ratio_observed).toBeNull();
  expect(r.cas.x_cache).toEqual({ hit: 0, miss: 0 });
});

test("renderJson() adds buckets (lower bound in ns -> count, in bound order) after latencies with a hist report", () => {
  const text = renderJson(summary([0, 2_000_000, 5_000_000]));
  expect(text).toContain(`"buckets":{"0":1,"2000000":3,"5000000":1},"bytes_in"`);
});

test("renderJson() escapes <, > and & in strings as Go's encoder does", () => {
  const text = renderJson(oneResult({ status: 0, error: "a<b>&c" }));
  expect(text).toContain(String.raw`"a\u003cb\u003e\u0026c"`);
  expect((JSON.parse(text) as { errors: string[] }).errors).toEqual(["a<b>&c"]);
});

test("renderJson() with no requests prints Go's zero times and an empty error list", () => {
  const r = JSON.parse(renderJson(new AttackMetrics().close())) as Record<string, unknown>;
  expect(r.earliest).toBe("0001-01-01T00:00:00Z");
  expect(r.errors).toEqual([]);
  expect(r.status_codes).toEqual({});
});
