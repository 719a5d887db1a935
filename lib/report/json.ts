/**
 * The JSON report: vegeta's `report -type=json` field names, order and units exactly (ns integers,
 * RFC 3339 timestamps, compact one-line JSON), with this project's extras under `cas`. Pure.
 */
import { observedHitRatio, type AttackSummary, type LagSummary } from "./attack-metrics.ts";
import { rfc3339Nano } from "./go-format.ts";
import type { KindFigures } from "./kind-counts.ts";

/** What the client adds beyond vegeta's fields. */
export interface CasExtras {
  /** Responses whose body did not hash to the requested key. */
  integrityFailures: number;
  /**
   * Hits / gets the caches counted during the run (from their `/stats`), or null when unknown. The report's
   * `hit_ratio_observed` comes from the responses' `X-Cache` headers instead (in the summary).
   */
  hitRatio: number | null;
  /** Each cache's `/stats` before and after the run, by base URL (null when it did not answer). */
  cacheStats: { before: Record<string, unknown>; after: Record<string, unknown> } | null;
  /** Requests and status codes by kind of request (`ac`, `cas`, `put`), when the workload names them. */
  kinds?: Record<string, KindFigures>;
}

/** The `cas` key's content, snake_case like the rest of the report. */
export function casJson(summary: AttackSummary, extras: CasExtras): Record<string, unknown> {
  return {
    latency_from: "due", // latencies count from each request's scheduled send time
    integrity_failures: extras.integrityFailures,
    hit_ratio: extras.hitRatio, // from the caches' /stats
    hit_ratio_observed: observedHitRatio(summary),
    x_cache: { hit: summary.cache.hits, miss: summary.cache.misses },
    send_lag: lagJson(summary.sendLag), // the generator's own lateness
    queue_wait: lagJson(summary.queueWait), // waiting for a --max-inflight slot or connection
    cache_stats: extras.cacheStats,
    ...(extras.kinds !== undefined && { kinds: extras.kinds }),
  };
}

function lagJson(lag: LagSummary): Record<string, number> {
  return { mean: lag.mean, "50th": lag.p50, "90th": lag.p90, "99th": lag.p99, max: lag.max };
}

/** One line of JSON plus a newline, as vegeta's `json.Encoder` writes it. */
export function renderJson(summary: AttackSummary, extras?: CasExtras): string {
  const l = summary.latencies;
  const parts: string[] = [
    `"latencies":${JSON.stringify({ total: l.total, mean: l.mean, "50th": l.p50, "90th": l.p90, "95th": l.p95, "99th": l.p99, max: l.max, min: l.min })}`,
  ];
  if (summary.buckets !== undefined) parts.push(`"buckets":${bucketsJson(summary.buckets)}`);
  parts.push(
    `"bytes_in":${JSON.stringify(summary.bytesIn)}`,
    `"bytes_out":${JSON.stringify(summary.bytesOut)}`,
    `"earliest":${JSON.stringify(rfc3339Nano(summary.earliest))}`,
    `"latest":${JSON.stringify(rfc3339Nano(summary.latest))}`,
    `"end":${JSON.stringify(rfc3339Nano(summary.latest, summary.wait))}`,
    `"duration":${summary.duration}`,
    `"wait":${summary.wait}`,
    `"requests":${summary.requests}`,
    `"rate":${summary.rate}`,
    `"throughput":${summary.throughput}`,
    `"success":${summary.success}`,
    `"status_codes":${statusCodesJson(summary.statusCodes)}`,
    `"errors":${JSON.stringify(summary.errors)}`,
  );
  if (extras !== undefined) parts.push(`"cas":${JSON.stringify(casJson(summary, extras))}`);
  return goEscape(`{${parts.join(",")}}`) + "\n";
}

/** Bounds in the order given (a JS object would reorder numeric keys), as vegeta's MarshalJSON. */
function bucketsJson(buckets: { bounds: number[]; counts: number[] }): string {
  return `{${buckets.bounds.map((b, i) => `"${b}":${buckets.counts[i]}`).join(",")}}`;
}

/** Go sorts map keys as strings. */
function statusCodesJson(codes: Record<string, number>): string {
  const keys = Object.keys(codes).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${codes[k]}`).join(",")}}`;
}

/** Go's encoder escapes <, >, & and the JS line separators inside strings; they only occur inside strings here. */
function goEscape(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
