/**
 * The percentile figures reports print, read off a latency histogram: vegeta's total, mean, 50th, 90th, 95th,
 * 99th, max and min, and the shorter set for the send lag and queue wait. Pure; every figure is whole ns.
 */
import type { HdrHistogram } from "./hdr-histogram.ts";

/** Latency figures in ns, under vegeta's meanings. */
export interface LatencySummary {
  total: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
}

/** A lag distribution in ns. */
export interface LagSummary {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** vegeta's latency figures of `h`; all 0 when it is empty. */
export function latencySummary(h: HdrHistogram): LatencySummary {
  const n = h.count;
  const q = (p: number) => (n === 0 ? 0 : Math.round(h.quantile(p)));
  return {
    total: Math.round(h.sum),
    mean: n === 0 ? 0 : Math.round(h.sum / n),
    p50: q(0.5),
    p90: q(0.9),
    p95: q(0.95),
    p99: q(0.99),
    max: n === 0 ? 0 : Math.round(h.max),
    min: n === 0 ? 0 : Math.round(h.min),
  };
}

/** Mean, p50, p90, p99 and max of `h`; all 0 when it is empty. */
export function lagSummary(h: HdrHistogram): LagSummary {
  const r = (v: number) => (h.count === 0 ? 0 : Math.round(v));
  return { mean: r(h.mean), p50: r(h.quantile(0.5)), p90: r(h.quantile(0.9)), p99: r(h.quantile(0.99)), max: r(h.max) };
}
