/**
 * The CAS origin's command line in one place: its help, its flags (with the original CAS_SERVER_PORT) and
 * the config type server.ts gets from lib/common/config.ts's loadConfig.
 */
import { defineProgram, flag, intIn, parseBool, parseString, type Config } from "../common/config.ts";
import { COMMON_FLAGS, DEFAULT_SERVER_PORT, hostFlag, portFlag } from "../common/shared-flags.ts";
import { parseBytes, parseDuration } from "../common/units.ts";
import { DEFAULT_READ_CACHE_BYTES, DEFAULT_READ_CACHE_ITEM_BYTES } from "./cas-handler.ts";
import { DEFAULT_MAX_AC_BYTES, DEFAULT_MAX_BLOB_BYTES } from "./store.ts";
import { DEFAULT_MAX_UPLOADS, DEFAULT_UPLOAD_GRACE_MS, DEFAULT_UPLOAD_MIN_RATE } from "./upload-limits.ts";

export const SERVER_PROGRAM = defineProgram({
  name: "server",
  summary:
    "content-addressable store: PUT/GET/HEAD /cas/<sha1|sha256>, POST /cas, verified while streaming; " +
    "action cache: PUT/GET/HEAD /ac/<sha256>",
  epilog: "Sizes take units: 25000, 64MiB, 1GiB, 10GB. The store is one process per data directory.",
  flags: {
    port: portFlag(DEFAULT_SERVER_PORT, ["CAS_SERVER_PORT"]),
    host: hostFlag(),
    dataDir: flag({
      help: "Directory holding the blobs",
      default: "./data",
      parse: parseString,
      env: ["CAS_DATA_DIR"],
      metavar: "DIR",
    }),
    maxBlobBytes: flag({
      help: "Largest blob accepted; bigger uploads get 413",
      default: DEFAULT_MAX_BLOB_BYTES,
      defaultText: "1GiB",
      parse: parseBytes,
      env: ["CAS_MAX_BLOB_BYTES"],
      metavar: "BYTES",
    }),
    maxAcBytes: flag({
      help: "Largest action-cache entry accepted; bigger uploads get 413",
      default: DEFAULT_MAX_AC_BYTES,
      defaultText: "64MiB",
      parse: parseBytes,
      env: ["CAS_MAX_AC_BYTES"],
      metavar: "BYTES",
    }),
    maxBytes: flag({
      help: "Quota on the sum of blob and action-cache entry sizes; writes beyond it get 507 (0 = unlimited)",
      default: 0,
      parse: parseBytes,
      env: ["CAS_MAX_BYTES"],
      metavar: "BYTES",
    }),
    writeToken: flag({
      help: "Require Authorization: Bearer TOKEN on PUT and POST, /cas/ and /ac/ alike (reads stay open)",
      default: "",
      parse: parseString,
      env: ["CAS_WRITE_TOKEN"],
      metavar: "TOKEN",
    }),
    readCacheBytes: flag({
      help: "Memory for recently read small blobs (0 = off)",
      default: DEFAULT_READ_CACHE_BYTES,
      defaultText: "64MiB",
      parse: parseBytes,
      env: ["CAS_READ_CACHE_BYTES"],
      metavar: "BYTES",
    }),
    readCacheItemBytes: flag({
      help: "Largest blob read whole and cached; bigger ones stream from disk",
      default: DEFAULT_READ_CACHE_ITEM_BYTES,
      defaultText: "1MiB",
      parse: parseBytes,
      env: ["CAS_READ_CACHE_ITEM_BYTES"],
      metavar: "BYTES",
    }),
    uploadMinRate: flag({
      help: "Slowest average an upload may fall to after --upload-grace, bytes per second; slower ones get 408 (0 = no bound)",
      default: DEFAULT_UPLOAD_MIN_RATE,
      defaultText: "1KiB",
      parse: parseBytes,
      env: ["CAS_UPLOAD_MIN_RATE"],
      metavar: "BYTES",
    }),
    uploadGrace: flag({
      help: "How long an upload may take before --upload-min-rate counts",
      default: DEFAULT_UPLOAD_GRACE_MS,
      defaultText: `${DEFAULT_UPLOAD_GRACE_MS / 1000}s`,
      parse: parseDuration,
      env: ["CAS_UPLOAD_GRACE"],
      metavar: "DURATION",
    }),
    maxUploads: flag({
      help: "Uploads in flight at once; more get 503 with Retry-After (0 = no cap)",
      default: DEFAULT_MAX_UPLOADS,
      parse: intIn(0),
      env: ["CAS_MAX_UPLOADS"],
      metavar: "N",
    }),
    accessLog: flag({
      help: "Log one line per request",
      default: false,
      parse: parseBool,
      boolean: true,
      env: ["CAS_ACCESS_LOG"],
    }),
    ...COMMON_FLAGS,
  },
});

export type ServerConfig = Config<typeof SERVER_PROGRAM.flags>;
