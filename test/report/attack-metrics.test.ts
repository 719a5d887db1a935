import { describe, expect, test } from "bun:test";
import { AttackMetrics, errorText } from "../../lib/report/attack-metrics.ts";
import type { ShotResult } from "../../lib/loadgen.ts";
import { shot, T0 } from "../fixtures/shots.ts";

/** A result due at T0 + seq × 10 ms (100 req/s) with 100 bytes in and 10 out. */
function shotAt(seq: number, fields: Partial<ShotResult> = {}): ShotResult {
  return shot({ seq, bytesIn: 100, bytesOut: 10, ...fields });
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
    let end = 0;
    let endWaitNs = 0; // exact: the last response's offset from the last due time
    for (let i = 0; i < 10_000; i++) {
      // Log-normal-ish latencies from 50 µs up to seconds: a heavy tail.
      const latencyNs = Math.round(50_000 * Math.exp(rand() * 10));
      latencies.push(latencyNs);
      total += latencyNs;
      if (T0 + i * 10 + latencyNs / 1e6 > end) {
        end = T0 + i * 10 + latencyNs / 1e6;
        endWaitNs = (i - 9999) * 10 * 1e6 + latencyNs;
      }
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
    expect(s.earliest).toBe(T0);
    expect(s.latest).toBe(T0 + 9999 * 10);
    expect(s.duration).toBe(99_990_000_000);
    expect(s.end).toBe(end);
    expect(s.wait).toBe(endWaitNs);
  });

  test("end is the latest due time plus latency, wait is end - latest, rate and throughput follow vegeta", () => {
    const m = new AttackMetrics();
    m.add(shotAt(0, { latencyNs: 5e6 })); // ends at T0 + 5 ms
    m.add(shotAt(1, { latencyNs: 500e6 })); // due T0 + 10 ms, ends at T0 + 510 ms
    m.add(shotAt(2, { latencyNs: 2e6, status: 404 })); // due T0 + 20 ms, ends at T0 + 22 ms
    const s = m.close();
    expect(s.earliest).toBe(T0);
    expect(s.latest).toBe(T0 + 20);
    expect(s.end).toBe(T0 + 510);
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
    const m = new AttackMetrics({ windowMs: 1000, startMs: T0 });
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
