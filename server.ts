/**
 * The CAS origin: stores blobs under their SHA-1 or SHA-256, verified while they stream in, and serves them
 * back, beside an action cache of mutable entries. Wiring only: config (lib/server/flags.ts) -> store and handler -> serve, which drains on SIGTERM.
 */
import { resolve } from "node:path";
import { loadConfig, printConfigOutcome } from "./lib/common/config.ts";
import { createLogger } from "./lib/common/log.ts";
import { createMetrics } from "./lib/common/prometheus.ts";
import { serve } from "./lib/common/serve.ts";
import { createCasServer } from "./lib/server/cas-handler.ts";
import { SERVER_PROGRAM } from "./lib/server/flags.ts";
import { openStore } from "./lib/server/store.ts";

async function main(): Promise<void> {
  const loaded = loadConfig(SERVER_PROGRAM);
  if (loaded.kind !== "config") process.exit(printConfigOutcome(loaded));
  const { config } = loaded;
  const logger = createLogger({ level: config.logLevel, base: { program: "server" } });
  const dataDir = resolve(config.dataDir);
  let store;
  try {
    store = await openStore(dataDir, {
      maxBlobBytes: config.maxBlobBytes,
      maxAcBytes: config.maxAcBytes,
      maxBytes: config.maxBytes,
    });
  } catch (err) {
    logger.error("cannot open the data directory", { dataDir, err });
    process.exit(1);
  }
  const cas = createCasServer({
    store,
    logger,
    metrics: createMetrics(),
    writeToken: config.writeToken || undefined,
    accessLog: config.accessLog,
    readCacheBytes: config.readCacheBytes,
    readCacheItemBytes: config.readCacheItemBytes,
    uploadRate: { graceMs: config.uploadGrace, minBytesPerSecond: config.uploadMinRate },
    maxUploads: config.maxUploads,
  });
  serve({
    name: "cas",
    host: config.host,
    port: config.port,
    logger,
    fetch: cas.fetch,
    routes: cas.routes,
    maxRequestBodySize: cas.maxRequestBodySize,
    // fsync of a large blob can keep a connection silent for seconds; 10 s (the default) could cut it off.
    idleTimeout: 120,
    onListen() {
      const { blobs, bytes, acEntries, acBytes } = store.stats();
      return { dataDir, blobs, bytes, acEntries, acBytes };
    },
    shutdown: { exit: (code) => process.exit(code) },
  });
}

if (import.meta.main) await main();
