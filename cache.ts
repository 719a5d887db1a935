/**
 * cache.ts: a groupcache-style read-through cache in front of the CAS origin (server.ts). Thin: parses flags,
 * starts lib/cache/handler.ts, logs "listening" and drains on SIGTERM.
 */
import { CACHE_PROGRAM } from "./lib/cache/flags.ts";
import { startCache } from "./lib/cache/handler.ts";
import { loadConfig, printConfigOutcome } from "./lib/common/config.ts";
import { createLogger } from "./lib/common/log.ts";
import { onShutdown } from "./lib/common/shutdown.ts";

function main(): void {
  const loaded = loadConfig(CACHE_PROGRAM);
  if (loaded.kind !== "config") process.exit(printConfigOutcome(loaded));
  const { config } = loaded;
  const logger = createLogger({ level: config.logLevel, base: { program: "cache" } });
  const cache = startCache(config, logger);
  onShutdown(cache.server, { logger, cleanup: () => cache.cleanup() });
  logger.info("listening", {
    url: cache.url,
    port: cache.port,
    origin: config.origin,
    self: cache.peers.self,
    peers: cache.peers.list(),
    peersDns: config.peersDns || undefined,
    cacheBytes: config.cacheBytes,
  });
}

if (import.meta.main) main();
