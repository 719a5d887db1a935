/**
 * The cache's Prometheus metrics (`cas_cache_*`). The groupcache counters and cache sizes are read from the
 * Group when Prometheus scrapes (prom-client `collect`), so serving a hit costs nothing extra; only the
 * upstream duration histogram is observed as loads happen, and loads are rare next to hits.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { CacheName, CacheStats, GroupStats } from "./group.ts";
import { DURATION_BUCKETS_SECONDS } from "../common/prometheus.ts";
import type { Upstream } from "./blob-fetch.ts";

/** What the metrics read at scrape time. */
export interface CacheStatsSource {
  stats(): GroupStats;
  cacheStats(name: CacheName): CacheStats;
}

export interface CacheMetrics {
  /** Records one fetch from the origin or a peer. */
  observeUpstream(upstream: Upstream, seconds: number): void;
}

const COUNTERS: ReadonlyArray<readonly [name: string, field: keyof GroupStats, help: string]> = [
  ["cas_cache_gets_total", "Gets", "Gets, from clients and from peers (groupcache Gets)"],
  ["cas_cache_hits_total", "CacheHits", "Gets answered from the main or hot cache (groupcache CacheHits)"],
  ["cas_cache_peer_loads_total", "PeerLoads", "Values fetched from the owning peer (groupcache PeerLoads)"],
  ["cas_cache_peer_errors_total", "PeerErrors", "Failed fetches from the owning peer (groupcache PeerErrors)"],
  ["cas_cache_loads_total", "Loads", "Gets that missed the cache (groupcache Loads)"],
  ["cas_cache_loads_deduped_total", "LoadsDeduped", "Loads run after singleflight merging (groupcache LoadsDeduped)"],
  ["cas_cache_local_loads_total", "LocalLoads", "Successful loads from the origin (groupcache LocalLoads)"],
  ["cas_cache_local_load_errors_total", "LocalLoadErrs", "Failed loads from the origin (groupcache LocalLoadErrs)"],
  ["cas_cache_server_requests_total", "ServerRequests", "Gets that arrived from peers (groupcache ServerRequests)"],
];

const CACHES: readonly CacheName[] = ["main", "hot"];

/**
 * Registers the `cas_cache_*` metrics on `registry`, reading `source` (and `peerEjections`, the count of
 * lib/cache/peer-ejection.ts) at scrape time.
 */
export function registerCacheMetrics(
  registry: Registry,
  source: CacheStatsSource,
  peerEjections: () => number = () => 0,
): CacheMetrics {
  // a counter that shows a running total kept elsewhere
  const totalOf = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  for (const [name, field, help] of COUNTERS) totalOf(name, help, () => source.stats()[field]);
  totalOf(
    "cas_cache_peer_ejections_total",
    "Times a peer was passed over after failing, its keys loaded from the origin (--peer-ejection)",
    peerEjections,
  );
  const perCache = (name: string, help: string, field: keyof CacheStats, counter: boolean) => {
    const config = {
      name,
      help,
      labelNames: ["cache"] as const,
      registers: [registry],
    };
    if (counter) {
      new Counter({
        ...config,
        collect() {
          this.reset();
          for (const cache of CACHES) this.labels(cache).inc(source.cacheStats(cache)[field]);
        },
      });
    } else {
      new Gauge({
        ...config,
        collect() {
          for (const cache of CACHES) this.labels(cache).set(source.cacheStats(cache)[field]);
        },
      });
    }
  };
  perCache("cas_cache_bytes", "Bytes held by each cache, keys included", "Bytes", false);
  perCache("cas_cache_items", "Entries held by each cache", "Items", false);
  perCache(
    "cas_cache_evictions_total",
    "Entries evicted from each cache to stay within --cache-bytes",
    "Evictions",
    true,
  );

  const upstreamDuration = new Histogram({
    name: "cas_cache_upstream_duration_seconds",
    help: "Time to fetch a blob from the origin or a peer (to the full body; to the headers for streamed blobs)",
    labelNames: ["upstream"] as const,
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
  const children = { origin: upstreamDuration.labels("origin"), peer: upstreamDuration.labels("peer") };
  return {
    observeUpstream(upstream, seconds) {
      children[upstream].observe(seconds);
    },
  };
}
