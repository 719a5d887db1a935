/**
 * Request metrics for a hot path that cannot afford prom-client per request: hits are tallied in plain numbers
 * and added to the shared `cas_http_*` metrics when /metrics is scraped. Synchronous, no I/O.
 */
import { DURATION_BUCKETS_SECONDS, type HttpMetrics } from "./metrics.ts";

export interface HitTally {
  /** Records one 200 answer; `head` for HEAD, else GET. */
  add(head: boolean, seconds: number): void;
  /** Hands the tallies to prom-client; call just before rendering /metrics. */
  flush(): void;
}

/** One labelled series of a prom-client Histogram, as prom-client 15 stores it. */
interface HistogramSeries {
  labels: Record<string, string | number>;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/**
 * The hit path's share of `cas_http_requests_total` and `cas_http_request_duration_seconds`, tallied in plain
 * numbers and handed to prom-client when /metrics is scraped: a labelled prom-client inc plus observe cost
 * about as much CPU as the rest of a hit. prom-client has no call that adds many observations at once, so the
 * histogram's series (`hashMap`, prom-client 15) is updated directly; should that shape ever change, the tally
 * falls back to one observe() per hit at each bucket's bound. test/cache.test.ts checks the exported counts.
 * Counts `status 200` answers to GET and HEAD on `route`.
 */
export function createHitTally(metrics: HttpMetrics, route: string): HitTally {
  const methods = ["GET", "HEAD"] as const;
  const bounds = DURATION_BUCKETS_SECONDS;
  const counters = methods.map((m) => metrics.requests.labels(m, route, "200"));
  const counts = [0, 0];
  const sums = [0, 0];
  // Per method: hits per bucket; the last slot is above every bound (only +Inf).
  const buckets = methods.map(() => new Float64Array(bounds.length + 1));

  function series(method: string): HistogramSeries | undefined {
    const find = () => {
      const map = (metrics.duration as unknown as { hashMap?: Record<string, HistogramSeries> }).hashMap;
      if (typeof map !== "object" || map === null) return undefined;
      return Object.values(map).find((v) => v.labels.method === method && v.labels.route === route);
    };
    let found = find();
    if (found === undefined) {
      metrics.duration.zero({ method, route: route });
      found = find();
    }
    const ok = found !== undefined && typeof found.sum === "number" && typeof found.bucketValues === "object";
    return ok ? found : undefined;
  }

  return {
    add(head, seconds) {
      const i = head ? 1 : 0;
      counts[i]!++;
      sums[i]! += seconds;
      let b = 0;
      while (b < bounds.length && seconds > bounds[b]!) b++;
      buckets[i]![b]!++;
    },
    flush() {
      for (let i = 0; i < methods.length; i++) {
        const n = counts[i]!;
        if (n === 0) continue;
        counters[i]!.inc(n);
        const perBucket = buckets[i]!;
        const target = series(methods[i]!);
        if (target !== undefined) {
          target.count += n;
          target.sum += sums[i]!;
          for (let b = 0; b < bounds.length; b++)
            target.bucketValues[bounds[b]!] = (target.bucketValues[bounds[b]!] ?? 0) + perBucket[b]!;
        } else {
          const child = metrics.duration.labels(methods[i]!, route);
          for (let b = 0; b <= bounds.length; b++) {
            const value = b < bounds.length ? bounds[b]! : bounds[bounds.length - 1]! * 2;
            for (let k = 0; k < perBucket[b]!; k++) child.observe(value);
          }
        }
        counts[i] = 0;
        sums[i] = 0;
        perBucket.fill(0);
      }
    },
  };
}
