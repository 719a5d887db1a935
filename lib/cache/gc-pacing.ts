/**
 * Garbage collection paced by the bytes the cache loads. Every load leaves garbage behind (the fetch's buffers,
 * and under churn the blob it evicts) that the engine collects late: left alone, RSS runs tens of MiB past
 * --cache-bytes. A full collection after each eighth of the budget has been loaded keeps it near --cache-bytes.
 * The collection is synchronous: everything else, hits in flight included, waits for it (its duration is logged
 * at debug level). A workload of hits never triggers one.
 */
import { type Logger, silentLogger } from "../common/log.ts";

/** Bytes loaded between two collections: an eighth of `cacheBytes`, kept between 2 MiB and 32 MiB. */
export function gcIntervalBytes(cacheBytes: number): number {
  return Math.min(32 * 2 ** 20, Math.max(2 * 2 ** 20, cacheBytes / 8));
}

export interface GcPacerOptions {
  /** Where each collection's duration goes, at debug level. @default silentLogger */
  logger?: Logger;
  /** Runs one full collection. @default () => Bun.gc(true) */
  collect?: () => void;
}

/** Returns the function to call after each load with the bytes it brought in (0 for a streamed blob). */
export function createGcPacer(cacheBytes: number, options: GcPacerOptions = {}): (loadedBytes: number) => void {
  const logger = options.logger ?? silentLogger;
  const collect = options.collect ?? (() => Bun.gc(true));
  const every = gcIntervalBytes(cacheBytes);
  let loadedSinceCollect = 0;
  return (loadedBytes) => {
    loadedSinceCollect += loadedBytes;
    if (loadedSinceCollect < every) return;
    loadedSinceCollect = 0;
    const started = performance.now();
    collect();
    logger.debug("collected garbage", { ms: Math.round((performance.now() - started) * 100) / 100 });
  };
}
