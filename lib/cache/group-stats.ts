/**
 * The cache's `/stats` document (groupcache's field names, plus each cache's counters under `main` and `hot`)
 * and its periodic log line, written only when something changed since the last one, never per request.
 */
import type { CacheStats, GroupStats } from "./group.ts";
import type { CacheStatsSource } from "./metrics.ts";
import type { Logger } from "../common/log.ts";

export interface StatsReport extends GroupStats {
  main: CacheStats;
  hot: CacheStats;
}

/** The `/stats` JSON body. */
export function statsReport(source: CacheStatsSource): StatsReport {
  return { ...source.stats(), main: source.cacheStats("main"), hot: source.cacheStats("hot") };
}

/** Logs `{"msg":"stats",...}` every `intervalMs` when the stats changed; returns a function that stops it. */
export function startStatsLog(source: CacheStatsSource, logger: Logger, intervalMs: number): () => void {
  if (!(intervalMs > 0)) return () => {};
  let last = JSON.stringify(statsReport(source));
  const timer = setInterval(() => {
    const report = statsReport(source);
    const text = JSON.stringify(report);
    if (text === last) return;
    last = text;
    logger.info("stats", { ...report });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
