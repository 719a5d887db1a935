import { describe, expect, test } from "bun:test";
import { AttackMetrics, errorText } from "../../lib/report/attack-metrics.ts";
import type { ShotResult } from "../../lib/loadgen.ts";
import { epochNsFromMs } from "../../lib/report/epoch-ns.ts";
import { shot, T0 } from "../fixtures/shots.ts";

/** A result due at T0 + seq × 10 ms (100 req/s) with 100 bytes in and 10 out. */
function shotAt(seq: number, fields: Partial<ShotResult> = {}): ShotResult {
  return shot({ seq, bytesIn: 100, bytesOut: 10, ...fields });
}

/** Whole epoch ns of whole epoch ms. */
function ns(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}

/** Nearest rank, the histogram's definition: the ceil(q·n)-th smallest value. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

/** A deterministic generator so the made-up latencies are the same every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe("AttackMetrics", () => {
  test("computes vegeta's figures from 10,000 results", () => {
    const rand = lcg(42);
    const m = new AttackMetrics();
    const latencies: number[] = [];
    let total = 0;
    let endWaitNs = -Infinity; // exact: the last response's offset from the last due time
    for (let i = 0; i < 10_000; i++) {
      // Log-normal-ish latencies from 50 µs up to seconds: a heavy tail.
      const latencyNs = Math.round(50_000 * Math.exp(rand() * 10));
      latencies.push(latencyNs);
      total += latencyNs;
      endWaitNs = Math.max(endWaitNs, (i - 9999) * 10 * 1e6 + latencyNs);
      const status = i % 100 === 99 ? 503 : i % 250 === 0 ? 0 : 200;
      m.add(shotAt(i, { latencyNs, status, ...(status === 0 && { error: "connection refused" }) }));
    }
    const s = m.close();
    latencies.sort((a, b) => a - b);

    expect(s.requests).toBe(10_000);
    expect(s.latencies.total).toBe(total);
    expect(s.latencies.mean).toBe(Math.round(total / 10_000));
    expect(s.latencies.min).toBe(latencies[0]!);
    expect(s.latencies.max).toBe(latencies[latencies.length - 1]!);
    for (const [key, q] of [
      ["p50", 0.5],
      ["p90", 0.9],
      ["p95", 0.95],
      ["p99", 0.99],
    ] as const) {
      const exact = exactQuantile(latencies, q);
      expect(Math.abs(s.latencies[key] - exact) / exact).toBeLessThanOrEqual(0.001);
    }
    expect(s.statusCodes).toEqual({ "200": 9860, "503": 100, "0": 40 });
    expect(s.success).toBe(0.986);
    expect(s.errors).toEqual(["connection refused", "503 Service Unavailable"]);
    expect(s.bytesIn).toEqual({ total: 1_000_000, mean: 100 });
    expect(s.bytesOut).toEqual({ total: 100_000, mean: 10 });
    expect(s.earliest).toBe(ns(T0));
    expect(s.latest).toBe(ns(T0 + 9999 * 10));
    expect(s.duration).toBe(99_990_000_000);
    expect(s.end).toBe(ns(T0 + 9999 * 10) + BigInt(endWaitNs));
    expect(s.wait).toBe(endWaitNs);
  });

  test("end is the latest due time plus latency, wait is end - latest, rate and throughput follow vegeta", () => {
    const m = new AttackMetrics();
    m.add(shotAt(0, { latencyNs: 5e6 })); // ends at T0 + 5 ms
    m.add(shotAt(1, { latencyNs: 500e6 })); // due T0 + 10 ms, ends at T0 + 510 ms
    m.add(shotAt(2, { latencyNs: 2e6, status: 404 })); // due T0 + 20 ms, ends at T0 + 22 ms
    const s = m.close();
    expect(s.earliest).toBe(ns(T0));
    expect(s.latest).toBe(ns(T0 + 20));
    expect(s.end).toBe(ns(T0 + 510));
    expect(s.duration).toBe(20e6);
    expect(s.wait).toBe(490e6);
    expect(s.rate).toBe(3 / 0.02);
    expect(s.throughput).toBeCloseTo(2 / 0.51, 10);
    expect(s.success).toBeCloseTo(2 / 3, 12);
    expect(s.errors).toEqual(["404 Not Found"]);
  });

  test("errors are unique, in first-seen order, and never null", () => {
    const empty = new AttackMetrics().close();
    expect(empty.errors).toEqual([]);
    const m = new AttackMetrics();
    for (const error of ["b", "a", "b", "c", "a"]) m.add(shotAt(0, { status: 0, error }));
    expect(m.close().errors).toEqual(["b", "a", "c"]);
  });

  test("with no results every figure is zero (never NaN) and close() is computed once", () => {
    const m = new AttackMetrics();
    const s = m.close();
    expect(s.requests).toBe(0);
    expect(s.latencies).toEqual({ total: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, min: 0 });
    expect([s.rate, s.throughput, s.success, s.bytesIn.mean, s.duration, s.wait]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(s.earliest).toBeUndefined();
    expect(m.close()).toBe(s);
  });

  test("bucket counts are exact, upper bounds exclusive, and the last bucket open-ended", () => {
    const m = new AttackMetrics({ buckets: [0, 1e6, 5e6] });
    for (const latencyNs of [0, 999_999, 1e6, 4_999_999, 5e6, 60e9]) m.add(shotAt(0, { latencyNs }));
    expect(m.close().buckets).toEqual({ bounds: [0, 1e6, 5e6], counts: [2, 2, 2] });
  });

  test("a value below the first bound lands in the last bucket, as vegeta counts it", () => {
    const m = new AttackMetrics({ buckets: [1e6, 5e6, 10e6] });
    m.add(shotAt(0, { latencyNs: 10 }));
    expect(m.close().buckets!.counts).toEqual([0, 0, 1]);
  });

  test("send lag percentiles come from sendLagNs", () => {
    const m = new AttackMetrics();
    for (let i = 1; i <= 100; i++) m.add(shotAt(i, { sendLagNs: i * 10_000 }));
    const lag = m.close().sendLag;
    expect(lag.max).toBe(1_000_000);
    expect(Math.abs(lag.p50 - 500_000) / 500_000).toBeLessThanOrEqual(0.001);
    expect(Math.abs(lag.p99 - 990_000) / 990_000).toBeLessThanOrEqual(0.001);
  });

  test("send lag is the generator's own: the wait for a max-inflight slot is the separate queue wait", () => {
    // The coordinated-omission case: the server stalls, requests queue for hundreds of ms behind a full
    // --max-inflight, yet each went out within 20 µs of getting its slot.
    const m = new AttackMetrics();
    for (let i = 1; i <= 100; i++) {
      const queueNs = i * 5_000_000;
      m.add(shotAt(i, { sendLagNs: queueNs + 20_000, queueNs }));
    }
    const { sendLag, queueWait } = m.close();
    expect(sendLag).toEqual({ mean: 20_000, p50: 20_000, p90: 20_000, p99: 20_000, max: 20_000 });
    expect(queueWait.max).toBe(500_000_000);
    expect(queueWait.mean).toBe(252_500_000);
    expect(Math.abs(queueWait.p50 - 250_000_000) / 250_000_000).toBeLessThanOrEqual(0.001);
    expect(Math.abs(queueWait.p99 - 495_000_000) / 495_000_000).toBeLessThanOrEqual(0.001);
  });

  test("counts X-Cache hits and misses from the results, whatever their status, and not results without one", () => {
    const m = new AttackMetrics();
    const verdicts = ["HIT", "MISS", undefined, "HIT", "HIT", undefined] as const;
    verdicts.forEach((cache, i) => m.add(shotAt(i, { ...(cache && { cache }), status: i === 4 ? 404 : 200 })));
    expect(m.close().cache).toEqual({ hits: 3, misses: 1 });
    expect(new AttackMetrics().close().cache).toEqual({ hits: 0, misses: 0 });
  });

  test("the time series has one point per window with its requests, failures and latencies", () => {
    const m = new AttackMetrics({ windowMs: 1000 });
    for (let i = 0; i < 300; i++) {
      // seconds 0 and 2 are fast; second 1 is slow and half failing
      const slow = i >= 100 && i < 200;
      m.add(shotAt(i, { latencyNs: slow ? 800e6 : 1e6, status: slow && i % 2 === 0 ? 500 : 200 }));
    }
    const series = m.close().series;
    expect(series.map((p) => [p.t, p.requests, p.failures])).toEqual([
      [0, 100, 0],
      [1, 100, 50],
      [2, 100, 0],
    ]);
    expect(series[1]!.p50).toBeGreaterThan(790e6);
    expect(series[0]!.max).toBeLessThan(1.02e6);
  });

  test("rejects bad options", () => {
    expect(() => new AttackMetrics({ windowMs: 0 })).toThrow(RangeError);
    expect(() => new AttackMetrics({ buckets: [] })).toThrow(RangeError);
  });
});

test("errorText() keeps the result's error, else names a failing status like Go's http.Status", () => {
  expect(errorText({ status: 0, error: "timeout" })).toBe("timeout");
  expect(errorText({ status: 200 })).toBeUndefined();
  expect(errorText({ status: 304 })).toBeUndefined();
  expect(errorText({ status: 404 })).toBe("404 Not Found");
  expect(errorText({ status: 502 })).toBe("502 Bad Gateway");
  expect(errorText({ status: 599 })).toBe("599");
});

describe("AttackMetrics: what the run achieved", () => {
  test("integrity failures, errors and waits for a slot are counted apart", () => {
    const m = new AttackMetrics();
    m.add(shotAt(0));
    m.add(shotAt(1, { error: "body does not match its key" })); // a 200 whose body is wrong
    m.add(shotAt(2, { status: 404 }));
    m.add(shotAt(3, { status: 0, error: "timeout", slotWaitNs: 5e6, queueNs: 5e6, sendLagNs: 5e6 }));
    const s = m.close();
    expect([s.integrityFailures, s.errorCount, s.slotWaits, s.successes]).toEqual([1, 3, 1, 2]);
    expect(s.success).toBe(0.5); // vegeta's success counts only the status
  });

  test("the target rate comes from the due times and the achieved rate from the sends", () => {
    const onTime = new AttackMetrics();
    for (let i = 0; i < 100; i++) onTime.add(shotAt(i, { sendLagNs: 50_000 }));
    const kept = onTime.close();
    expect(kept.targetRate).toBeCloseTo(100, 9);
    expect(kept.achievedRate).toBeGreaterThan(99.9);
    expect(kept.achievedRate).toBeLessThanOrEqual(100);
    // requests that went out ever later: the last one half a second behind
    const behind = new AttackMetrics();
    for (let i = 0; i < 100; i++) behind.add(shotAt(i, { sendLagNs: i * 5e6 }));
    const late = behind.close();
    expect(late.targetRate).toBeCloseTo(100, 9);
    expect(late.achievedRate).toBeCloseTo(100 / 1.495, 6);
    const unpaced = new AttackMetrics({ unpaced: true });
    for (let i = 0; i < 100; i++) unpaced.add(shotAt(i));
    expect(unpaced.close().targetRate).toBeNull();
    expect(unpaced.close().achievedRate).toBeCloseTo(99 / 0.99, 9);
  });

  test("due times, latencies and lags are taken in whole ns, as results files carry them", () => {
    const a = new AttackMetrics();
    const b = new AttackMetrics();
    a.add(shotAt(0, { due: T0 + 0.1234564, latencyNs: 1000.4, sendLagNs: 10.6 }));
    b.add(shotAt(0, { due: T0 + 0.1234564, latencyNs: 1000, sendLagNs: 11 }));
    expect(a.close().latencies).toEqual(b.close().latencies);
    // a double of epoch ms resolves about 0.24 µs: the nearest whole ns to it
    const off = Number(a.close().earliest! - BigInt(T0) * 1_000_000n) - 123_456.4;
    expect(Math.abs(off)).toBeLessThan(122);
    expect(a.close().earliest).toBe(epochNsFromMs(T0 + 0.1234564));
    expect(a.close().lastSent).toBe(b.close().lastSent!);
  });
});

describe("AttackMetrics: per-target figures", () => {
  test("groups by target name, else METHOD URL, and by X-Cache verdict", () => {
    const m = new AttackMetrics();
    m.add(shotAt(0, { target: { name: "http://a", method: "GET", url: "http://a/cas/x" }, cache: "HIT" }));
    m.add(
      shotAt(1, { target: { name: "http://b", method: "GET", url: "http://b/cas/x" }, cache: "MISS", latencyNs: 9e6 }),
    );
    m.add(
      shotAt(2, { target: { name: "http://a", method: "GET", url: "http://a/cas/y" }, status: 503, cache: "MISS" }),
    );
    m.add(shotAt(3, { target: { method: "POST", url: "http://c/p" }, bytesOut: 7 }));
    const s = m.close();
    expect(s.byTarget.map((g) => [g.name, g.requests, g.successes, g.errorCount])).toEqual([
      ["http://a", 2, 1, 1],
      ["http://b", 1, 1, 0],
      ["POST http://c/p", 1, 1, 0],
    ]);
    const a = s.byTarget[0]!;
    expect(a.statusCodes).toEqual({ "200": 1, "503": 1 });
    expect(a.errors).toEqual([{ error: "503 Service Unavailable", count: 1 }]);
    expect(a.bytesIn).toEqual({ total: 200, mean: 100 });
    expect(s.byTarget[2]!.bytesOut).toEqual({ total: 7, mean: 7 });
    expect(s.byXCache.map((g) => [g.name, g.requests])).toEqual([
      ["hit", 1],
      ["miss", 2],
    ]);
    expect(s.byXCache[1]!.latencies.max).toBe(9e6);
  });
});
