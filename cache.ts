/**
 * cache.ts: a groupcache-style read-through cache in front of the CAS origin (server.ts). Wiring only:
 * config (lib/cache/flags.ts) -> lib/cache/handler.ts -> serve, which joins the peers once the port is bound
 * and drains on SIGTERM.
 */
import { CACHE_PROGRAM } from "./lib/cache/flags.ts";
import { createCache } from "./lib/cache/handler.ts";
import { loadConfig, printConfigOutcome } from "./lib/common/config.ts";
import { createLogger } from "./lib/common/log.ts";
import { serve } from "./lib/common/serve.ts";

function main(): void {
  const loaded = loadConfig(CACHE_PROGRAM);
  if (loaded.kind !== "config") process.exit(printConfigOutcome(loaded));
  const { config } = loaded;
  const logger = createLogger({ level: config.logLevel, base: { program: "cache" } });
  const cache = createCache(config, logger);
  serve({
    name: "cache",
    host: config.host,
    port: config.port,
    logger,
    fetch: cache.fetch,
    routes: cache.routes,
    idleTimeout: cache.idleTimeout,
    onListen(port) {
      const peers = cache.listen(port);
      return {
        origin: config.origin,
        self: peers.self,
        peers: peers.list(),
        peersDns: config.peersDns || undefined,
        cacheBytes: config.cacheBytes,
      };
    },
    shutdown: { exit: (code) => process.exit(code), cleanup: () => cache.cleanup() },
  });
}

if (import.meta.main) main();
