/**
 * The load tester's flags: one spec read by `client.ts` through lib/common/config.ts, with the original system's
 * environment variables (ATTACK_FREQ, ATTACK_DURATION, CONTENT_SIZE, HIT_MISS_RATIO, CAS_SERVER_ADDR,
 * CACHE_SERVER_ADDR) still working. Also the cross-flag checks the parser cannot make on its own.
 */
import {
  COMMON_FLAGS,
  ConfigError,
  intIn,
  listOf,
  parseBaseUrl,
  parseBool,
  parsePort,
  parseString,
  type Config,
  type Flag,
  type ProgramInfo,
} from "../common/config.ts";
import { parseBytes, parseDuration } from "../common/units.ts";
import { DEFAULT_MAX_INFLIGHT, DEFAULT_TIMEOUT_MS } from "../loadgen.ts";
import { parseRate } from "./rate.ts";
import { parseReportKind, type ReportKind } from "../report/hist.ts";
import { loadBody, parseHeader, parseTargetUrl } from "./url-targets.ts";
import { parseDistribution, parseRatio, type Distribution } from "./workload.ts";

export const CLIENT_INFO: ProgramInfo = {
  name: "client",
  summary: "open-loop load tester with vegeta-compatible reports",
  usage: "bun client.ts [flags]",
  epilog: [
    "Default flow: generate --blobs random blobs of --size bytes, PUT them to --server, then GET /cas/<hash>",
    "from --cache at --rate for --duration, and print the report. With --url, attack those URLs instead",
    "(no upload). Requests are due at start + i/rate whatever the responses do, and latency counts from",
    "that due time, so a stalled server shows in the percentiles. Ctrl-C stops early and still reports.",
    "",
    "Examples:",
    "  bun client.ts --rate 3 --duration 10s",
    "  bun client.ts --rate 200/s --blobs 100 --dist zipf:1.1 --hit-ratio 0.9 --report text --html report.html",
    "  bun client.ts --url http://127.0.0.1:8080/ --rate 1000 --duration 30s --report 'hist[0,1ms,5ms,10ms]'",
  ].join("\n"),
};

/** A repeatable flag: config.ts parses each occurrence with `parse` and collects the values in order. */
function repeatable<T>(flag: Omit<Flag<T>, "default" | "repeatable">): Flag<T[]> {
  // Flag<T> types parse and default alike; for a repeatable flag the value is T[] while parse yields one T.
  return { ...flag, default: [], repeatable: true } as unknown as Flag<T[]>;
}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const CLIENT_FLAGS = {
  server: {
    help: "Origin server to upload the blobs to (URL or host:port)",
    default: "http://localhost:5000",
    parse: parseBaseUrl,
    env: ["CAS_SERVER_ADDR"],
    metavar: "URL",
  } satisfies Flag<string>,
  cache: {
    help: "Cache(s) to attack; a comma list spreads requests round-robin over the peers",
    default: ["http://localhost:18001"],
    parse: listOf(parseBaseUrl),
    env: ["CACHE_SERVER_ADDR"],
    metavar: "URL[,URL...]",
  } satisfies Flag<string[]>,
  rate: {
    help: "Requests per second: N, N/s, N/1m, N/500ms; 0 or infinity = as fast as --max-inflight allows",
    default: 50,
    parse: parseRate,
    env: ["ATTACK_FREQ"],
    metavar: "RATE",
    defaultText: "50/s",
  } satisfies Flag<number>,
  duration: {
    help: "How long to attack: 10s, 1m30s (a bare number is seconds); 0 = until Ctrl-C",
    default: 10_000,
    parse: parseDuration,
    env: ["ATTACK_DURATION"],
    metavar: "DURATION",
    defaultText: "10s",
  } satisfies Flag<number>,
  size: {
    help: "Bytes per generated blob: 25000, 1MiB",
    default: 25_000,
    parse: parseBytes,
    env: ["CONTENT_SIZE"],
    metavar: "BYTES",
  } satisfies Flag<number>,
  blobs: {
    help: "Number of distinct blobs to upload and request",
    default: 1,
    parse: intIn(1, 1_000_000),
    env: ["ATTACK_BLOBS"],
    metavar: "N",
  } satisfies Flag<number>,
  hitRatio: {
    help: "Share of requests allowed to hit; the rest are sent with Cache-Control: no-cache (forced misses)",
    default: 1,
    parse: parseRatio,
    env: ["HIT_MISS_RATIO"],
    metavar: "R",
  } satisfies Flag<number>,
  dist: {
    help: "Which blob each request asks for: uniform, or zipf[:S] (blob i weighted 1/(i+1)^S, S default 1)",
    default: { kind: "uniform" },
    parse: parseDistribution,
    env: ["ATTACK_DIST"],
    metavar: "DIST",
    defaultText: "uniform",
  } satisfies Flag<Distribution>,
  maxInflight: {
    help: "Most requests in flight (and connections); beyond it requests wait, and the wait counts in latency",
    default: DEFAULT_MAX_INFLIGHT,
    parse: intIn(1, 100_000),
    env: ["ATTACK_MAX_INFLIGHT"],
    metavar: "N",
  } satisfies Flag<number>,
  timeout: {
    help: "Per-request timeout, counted from the due time; 0 = none",
    default: DEFAULT_TIMEOUT_MS,
    parse: parseDuration,
    env: ["ATTACK_TIMEOUT"],
    metavar: "DURATION",
    defaultText: "30s",
  } satisfies Flag<number>,
  report: {
    help: "Report on stdout (or --output): json, text, hist[0,1ms,5ms,...] or hdrplot",
    default: { kind: "json" },
    parse: parseReportKind,
    env: ["ATTACK_REPORT"],
    metavar: "TYPE",
    defaultText: "json",
  } satisfies Flag<ReportKind>,
  output: {
    help: "Write the report to this file instead of stdout",
    default: "",
    parse: parseString,
    env: ["ATTACK_OUTPUT"],
    metavar: "FILE",
  } satisfies Flag<string>,
  json: {
    help: "Also write the JSON report to this file",
    default: "",
    parse: parseString,
    env: ["ATTACK_JSON"],
    metavar: "FILE",
  } satisfies Flag<string>,
  html: {
    help: "Also write a self-contained HTML report (charts as inline SVG) to this file",
    default: "",
    parse: parseString,
    env: ["ATTACK_HTML"],
    metavar: "FILE",
  } satisfies Flag<string>,
  url: repeatable({
    help: "Attack this URL instead of the default flow (no upload); several are used round-robin",
    parse: parseTargetUrl,
    env: ["ATTACK_URL"],
    metavar: "URL",
  }),
  method: {
    help: "HTTP method for --url targets",
    default: "GET",
    parse: (raw: string) => {
      if (!METHOD.test(raw)) throw new SyntaxError("expected an HTTP method such as GET or POST");
      return raw.toUpperCase();
    },
    env: ["ATTACK_METHOD"],
    metavar: "METHOD",
  } satisfies Flag<string>,
  header: repeatable({
    help: 'Request header "Key: Value", sent with every request',
    parse: parseHeader,
    env: ["ATTACK_HEADER"],
    // Header values hold commas ("Accept: a, b"), so the env var takes one header per line.
    envSeparator: "\n",
    metavar: "HEADER",
  }),
  body: {
    help: "Request body for --url targets: @file reads a file, anything else is sent as given",
    default: undefined,
    parse: loadBody,
    env: ["ATTACK_BODY"],
    metavar: "BODY",
  } satisfies Flag<Uint8Array | undefined> as Flag<Uint8Array | undefined>,
  verify: {
    help: "Check every response body against its key (--no-verify to skip)",
    default: true,
    parse: parseBool,
    env: ["ATTACK_VERIFY"],
    boolean: true,
  } satisfies Flag<boolean>,
  quiet: {
    help: "No live progress line on stderr",
    default: false,
    parse: parseBool,
    env: ["ATTACK_QUIET"],
    boolean: true,
  } satisfies Flag<boolean>,
  metricsPort: {
    help: "Serve Prometheus metrics on this port during the run (0 = any free port)",
    default: undefined,
    parse: parsePort,
    env: ["CLIENT_METRICS_PORT"],
    metavar: "PORT",
  } satisfies Flag<number | undefined> as Flag<number | undefined>,
  host: {
    help: "Interface the metrics endpoint listens on",
    default: "0.0.0.0",
    parse: parseString,
    env: ["LISTEN_HOST"],
    metavar: "HOST",
  } satisfies Flag<string>,
  writeToken: {
    help: "Bearer token for the uploads, when the server requires one",
    default: "",
    parse: parseString,
    env: ["CAS_WRITE_TOKEN"],
    metavar: "TOKEN",
    defaultText: "none",
  } satisfies Flag<string>,
  ...COMMON_FLAGS,
};

export type ClientConfig = Config<typeof CLIENT_FLAGS>;

/** Checks what depends on several flags; throws ConfigError (one line, exit 2). */
export function checkClientConfig(config: ClientConfig): void {
  if (config.url.length === 0) {
    if (config.method !== "GET") throw new ConfigError("--method applies only with --url (the default flow sends GET)");
    if (config.body !== undefined) throw new ConfigError("--body applies only with --url");
  }
  if (config.output !== "" && config.output === config.json) {
    throw new ConfigError("--output and --json name the same file; give --report json instead");
  }
}
