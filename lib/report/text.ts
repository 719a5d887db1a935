/**
 * The text report in vegeta's layout (`report -type=text`): aligned rows for requests, duration,
 * latencies, bytes, success and status codes, then the error set. Pure.
 */
import type { AttackSummary } from "./attack-metrics.ts";
import { goDuration, goFixed, roundDuration, tabwrite } from "./go-format.ts";

/** Renders `summary` exactly as vegeta's text reporter would. */
export function renderText(summary: AttackSummary): string {
  const d = (ns: number) => goDuration(roundDuration(ns));
  const l = summary.latencies;
  const codes = Object.keys(summary.statusCodes)
    .sort()
    .map((code) => `${code}:${summary.statusCodes[code]}  `)
    .join("");
  const text =
    `Requests\t[total, rate, throughput]\t${summary.requests}, ${goFixed(summary.rate, 2)}, ${goFixed(summary.throughput, 2)}\n` +
    `Duration\t[total, attack, wait]\t${d(summary.duration + summary.wait)}, ${d(summary.duration)}, ${d(summary.wait)}\n` +
    `Latencies\t[min, mean, 50, 90, 95, 99, max]\t${[l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.max].map(d).join(", ")}\n` +
    `Bytes In\t[total, mean]\t${summary.bytesIn.total}, ${goFixed(summary.bytesIn.mean, 2)}\n` +
    `Bytes Out\t[total, mean]\t${summary.bytesOut.total}, ${goFixed(summary.bytesOut.mean, 2)}\n` +
    `Success\t[ratio]\t${goFixed(summary.success * 100, 2)}%\n` +
    `Status Codes\t[code:count]\t${codes}\n` +
    `Error Set:\n` +
    summary.errors.map((e) => `${e}\n`).join("");
  return tabwrite(text);
}
