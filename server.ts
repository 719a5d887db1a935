/**
 * The CAS origin: stores blobs under their SHA-1 or SHA-256, verified while they stream in, and serves them
 * back. Thin: parses flags, opens the store, wires the handler into Bun.serve and drains on SIGTERM.
 */
import { resolve } from "node:path";
import {
  COMMON_FLAGS,
  loadConfig,
  parseBool,
  parsePort,
  parseString,
  type Flag,
  type ProgramInfo,
} from "./lib/common/config.ts";
import { parseBytes } from "./lib/common/units.ts";
import { DEFAULT_READ_CACHE_BYTES, DEFAULT_READ_CACHE_ITEM_BYTES, createCasServer } from "./lib/server/cas-handler.ts";
import { toErrorResponse } from "./lib/common/http-error.ts";
import { createLogger } from "./lib/common/log.ts";
import { createMetrics } from "./lib/common/prometheus.ts";
import { onShutdown } from "./lib/common/shutdown.ts";
import { DEFAULT_MAX_BLOB_BYTES, openStore } from "./lib/server/store.ts";

const INFO: ProgramInfo = {
  name: "server",
  summary: "content-addressable store: PUT/GET/HEAD /cas/<sha1|sha256>, POST /cas, verified while streaming",
  epilog: "Sizes take units: 25000, 64MiB, 1GiB, 10GB. The store is one process per data directory.",
};

export const SPEC = {
  port: {
    help: "TCP port to listen on (0 picks a free one)",
    default: 5000,
    parse: parsePort,
    env: ["CAS_SERVER_PORT"],
    metavar: "PORT",
  } as Flag<number>,
  host: {
    help: "Address to listen on",
    default: "0.0.0.0",
    parse: parseString,
    env: ["LISTEN_HOST"],
    metavar: "HOST",
  } as Flag<string>,
  dataDir: {
    help: "Directory holding the blobs",
    default: "./data",
    parse: parseString,
    env: ["CAS_DATA_DIR"],
    metavar: "DIR",
  } as Flag<string>,
  maxBlobBytes: {
    help: "Largest blob accepted; bigger uploads get 413",
    default: DEFAULT_MAX_BLOB_BYTES,
    defaultText: "1GiB",
    parse: parseBytes,
    env: ["CAS_MAX_BLOB_BYTES"],
    metavar: "BYTES",
  } as Flag<number>,
  maxBytes: {
    help: "Quota on the sum of blob sizes; writes beyond it get 507 (0 = unlimited)",
    default: 0,
    parse: parseBytes,
    env: ["CAS_MAX_BYTES"],
    metavar: "BYTES",
  } as Flag<number>,
  writeToken: {
    help: "Require Authorization: Bearer TOKEN on PUT and POST (reads stay open)",
    default: "",
    parse: parseString,
    env: ["CAS_WRITE_TOKEN"],
    metavar: "TOKEN",
  } as Flag<string>,
  readCacheBytes: {
    help: "Memory for recently read small blobs (0 = off)",
    default: DEFAULT_READ_CACHE_BYTES,
    defaultText: "64MiB",
    parse: parseBytes,
    env: ["CAS_READ_CACHE_BYTES"],
    metavar: "BYTES",
  } as Flag<number>,
  readCacheItemBytes: {
    help: "Largest blob read whole and cached; bigger ones stream from disk",
    default: DEFAULT_READ_CACHE_ITEM_BYTES,
    defaultText: "1MiB",
    parse: parseBytes,
    env: ["CAS_READ_CACHE_ITEM_BYTES"],
    metavar: "BYTES",
  } as Flag<number>,
  accessLog: {
    help: "Log one line per request",
    default: false,
    parse: parseBool,
    boolean: true,
    env: ["CAS_ACCESS_LOG"],
  } as Flag<boolean>,
  ...COMMON_FLAGS,
};

async function main(): Promise<void> {
  const { config } = loadConfig(INFO, SPEC);
  const logger = createLogger({ level: config.logLevel, base: { program: "server" } });
  const dataDir = resolve(config.dataDir);
  let store;
  try {
    store = await openStore(dataDir, { maxBlobBytes: config.maxBlobBytes, maxBytes: config.maxBytes });
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
  });
  const server = Bun.serve({
    hostname: config.host,
    port: config.port,
    maxRequestBodySize: cas.maxRequestBodySize,
    // fsync of a large blob can keep a connection silent for seconds; 10 s (the default) could cut it off.
    idleTimeout: 120,
    fetch: cas.fetch,
    error(err) {
      logger.error("unhandled error", { err });
      return toErrorResponse(err);
    },
  });
  onShutdown(server, { logger });
  const { blobs, bytes } = store.stats();
  logger.info("listening", { url: `http://${config.host}:${server.port}`, port: server.port, dataDir, blobs, bytes });
}

if (import.meta.main) await main();
