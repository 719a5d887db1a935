/**
 * The cache's command line in one place: its help, its flags (with the original LISTEN_PORT and
 * CAS_SERVER_ADDR), the config type cache.ts gets from lib/common/config.ts's loadConfig, and the check that
 * one source of peers is given.
 */
import {
  ConfigError,
  defineProgram,
  durationIn,
  flag,
  intIn,
  listOf,
  parseBaseUrl,
  parseBool,
  parseString,
  type Config,
} from "../common/config.ts";
import { COMMON_FLAGS, DEFAULT_CACHE_PORT, DEFAULT_SERVER_PORT, hostFlag, portFlag } from "../common/shared-flags.ts";
import { parseBytes, parseDuration } from "../common/units.ts";
import { DEFAULT_REPLICAS } from "./hash-ring.ts";
import { DEFAULT_PEER_EJECTION_MS } from "./peer-ejection.ts";
import { DEFAULT_PEERS_REFRESH_MS } from "./peers.ts";
import { DEFAULT_UPSTREAM_MIN_RATE } from "./stream-bound.ts";

/** Bun closes a connection that waits longer than 255 s for its reply; a miss must be answered well before. */
const MAX_UPSTREAM_TIMEOUT_MS = 240_000;

export const CACHE_PROGRAM = defineProgram({
  name: "cache",
  summary: "groupcache-style read-through cache in front of the CAS origin",
  epilog:
    "Routes: GET/HEAD /cas/<hash> (X-Cache: HIT|MISS), PUT /cas/<hash> and GET/HEAD/PUT /ac/<key> (handed to the " +
    "origin), GET /_peer/cas/<hash> (peers), /stats, /healthz, /readyz, /metrics",
  flags: {
    port: portFlag(DEFAULT_CACHE_PORT, ["LISTEN_PORT"]),
    host: hostFlag(),
    origin: flag({
      help: "Base URL of the CAS origin (server.ts); host:port also works",
      default: `http://localhost:${DEFAULT_SERVER_PORT}`,
      parse: parseBaseUrl,
      env: ["CAS_ORIGIN", "CAS_SERVER_ADDR"],
      metavar: "URL",
    }),
    self: flag({
      help: "This cache's base URL as its peers know it (matched exactly against the peer list)",
      default: "",
      parse: (raw: string) => (raw.trim() === "" ? "" : parseBaseUrl(raw)),
      env: ["CACHE_SELF"],
      metavar: "URL",
      defaultText: "the listed peer on a local address and --port, else http://<first IPv4>:<port>",
    }),
    peers: flag({
      help: "Comma list of every cache peer's base URL, this one included",
      default: [],
      parse: listOf(parseBaseUrl),
      env: ["CACHE_PEERS"],
      metavar: "URLS",
    }),
    peersDns: flag({
      help: "DNS name (name or name:port) whose addresses are the peers, re-resolved every --peers-refresh",
      default: "",
      parse: parseString,
      env: ["CACHE_PEERS_DNS"],
      metavar: "NAME",
    }),
    peersRefresh: flag({
      help: "How often --peers-dns is resolved again",
      default: DEFAULT_PEERS_REFRESH_MS,
      parse: parseDuration,
      env: ["CACHE_PEERS_REFRESH"],
      metavar: "DURATION",
      defaultText: `${DEFAULT_PEERS_REFRESH_MS / 1000}s`,
    }),
    peerEjection: flag({
      help: "After a failed fetch from a peer, load the keys it owns from the origin for this long (0 = always ask the owner)",
      default: DEFAULT_PEER_EJECTION_MS,
      parse: parseDuration,
      env: ["CACHE_PEER_EJECTION"],
      metavar: "DURATION",
      defaultText: `${DEFAULT_PEER_EJECTION_MS / 1000}s`,
    }),
    replicas: flag({
      help: "Points per peer on the consistent-hash ring (every peer must use the same)",
      default: DEFAULT_REPLICAS,
      parse: intIn(1, 1_000_000),
      env: ["CACHE_RING_REPLICAS"],
      metavar: "N",
    }),
    cacheBytes: flag({
      help: "Memory for cached blobs, main and hot cache together (keys included); 0 turns caching off",
      default: 64 * 2 ** 20,
      parse: parseBytes,
      env: ["CACHE_BYTES"],
      metavar: "BYTES",
      defaultText: "64MiB",
    }),
    maxItemBytes: flag({
      help: "Blobs larger than this stream through without being cached",
      default: 0,
      parse: parseBytes,
      env: ["CACHE_MAX_ITEM_BYTES"],
      metavar: "BYTES",
      defaultText: "--cache-bytes / 16",
    }),
    upstreamTimeout: flag({
      help: "Deadline for a miss's answer, from the owning peer and the origin together (502 if unreachable, 504 if late)",
      default: 10_000,
      parse: durationIn(1, MAX_UPSTREAM_TIMEOUT_MS),
      env: ["CACHE_UPSTREAM_TIMEOUT"],
      metavar: "DURATION",
      defaultText: "10s",
    }),
    upstreamMinRate: flag({
      help: "Slowest a streamed blob may come from upstream once --upstream-timeout has passed, bytes per second (0 = each gap under --upstream-timeout only)",
      default: DEFAULT_UPSTREAM_MIN_RATE,
      defaultText: "256KiB",
      parse: parseBytes,
      env: ["CACHE_UPSTREAM_MIN_RATE"],
      metavar: "BYTES",
    }),
    statsInterval: flag({
      help: "Log the /stats counters this often when they changed (0 = never)",
      default: 10_000,
      parse: parseDuration,
      env: ["CACHE_STATS_INTERVAL"],
      metavar: "DURATION",
      defaultText: "10s",
    }),
    bypass: flag({
      help: "Let a request with Cache-Control: no-cache skip the cache and load afresh (--no-bypass in production)",
      default: true,
      parse: parseBool,
      env: ["CACHE_BYPASS"],
      boolean: true,
      defaultText: "on",
    }),
    accessLog: flag({
      help: "Log one line per request",
      default: false,
      parse: parseBool,
      env: ["CACHE_ACCESS_LOG"],
      boolean: true,
    }),
    ...COMMON_FLAGS,
  },
  check(config) {
    if (config.peers.length > 0 && config.peersDns !== "") {
      // DNS answers would silently replace the fixed list; one source of peers only.
      throw new ConfigError("--peers (CACHE_PEERS) and --peers-dns (CACHE_PEERS_DNS) cannot be used together");
    }
  },
});

/** The cache's settings, one per flag. */
export type CacheConfig = Config<typeof CACHE_PROGRAM.flags>;
