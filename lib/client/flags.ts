/**
 * The load tester's command line in one place: its help, its flags (the original system's ATTACK_FREQ,
 * ATTACK_DURATION, CONTENT_SIZE, HIT_MISS_RATIO, CAS_SERVER_ADDR and CACHE_SERVER_ADDR still work), the config
 * type client.ts gets from lib/common/config.ts's loadConfig, and the checks that span several flags.
 */
import {
  ConfigError,
  defineProgram,
  flag,
  intIn,
  listOf,
  parseBaseUrl,
  parseBool,
  parsePort,
  parseString,
  repeatable,
  type Config,
  type Flag,
} from "../common/config.ts";
import { COMMON_FLAGS, DEFAULT_CACHE_PORT, DEFAULT_SERVER_PORT, hostFlag } from "../common/shared-flags.ts";
import { parseBytes, parseDuration } from "../common/units.ts";
import { DEFAULT_MAX_INFLIGHT, DEFAULT_TIMEOUT_MS } from "../loadgen.ts";
import type { Shard } from "../loadgen/pacer.ts";
import { parseShard, parseStartAt } from "./distributed.ts";
import { parseRate, parseRateSpec, parseStepRates } from "./rate.ts";
import { parseReportKind, type ReportKind } from "../report/hist.ts";
import { parseThreshold } from "../report/thresholds.ts";
import { DEFAULT_MAX_SEND_LAG_MS } from "../report/verdict.ts";
import { parseResultsFormat } from "./results-stream.ts";
import { parseTargetFormat } from "./target-file.ts";
import { parseUploadForm } from "./upload.ts";
import { DEFAULT_WARMUP_MS } from "./warmup.ts";
import { loadBody, parseHeader, parseTargetUrl } from "./url-targets.ts";
import { parseDistribution, parseRatio, parseWorkloadKind, type Distribution } from "./workload.ts";

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** `--report` here and `report --type`: which report goes to stdout, read from the env var `env`. */
export function reportKindFlag(env: string): Flag<ReportKind> {
  return flag({
    help: "Report on stdout (or --output): json, text, hist[0,1ms,5ms,...] or hdrplot",
    default: { kind: "json" },
    parse: parseReportKind,
    env: [env],
    metavar: "TYPE",
    defaultText: "json",
  });
}

/** `--threshold`, shared by the attack and `report`: the expressions a CI job fails on. */
export const THRESHOLD_FLAG = repeatable({
  help: "Fail the run (exit 1) unless this holds: p99<50ms, success>=0.999, rate>=990, errors==0, target=NAME:p99<10ms",
  parse: parseThreshold,
  env: ["ATTACK_THRESHOLD"],
  // expressions may name URLs, which hold commas: one per line
  envSeparator: "\n",
  metavar: "EXPR",
});

/** `--max-send-lag`, shared by the attack and `report`: above it the generator, not the target, failed (exit 3). */
export const MAX_SEND_LAG_FLAG = flag({
  help: "Exit 3 (the generator fell behind) when its own send lag p99 is above this",
  default: DEFAULT_MAX_SEND_LAG_MS,
  parse: parseDuration,
  env: ["ATTACK_MAX_SEND_LAG"],
  metavar: "DURATION",
  defaultText: `${DEFAULT_MAX_SEND_LAG_MS}ms`,
});

export const CLIENT_PROGRAM = defineProgram({
  name: "client",
  summary: "open-loop load tester with vegeta-compatible reports",
  usage: "bun client.ts [flags]\n       bun client.ts report [flags] FILE... (see bun client.ts report --help)",
  epilog: [
    "Default flow: generate --blobs random blobs of --size bytes, PUT them to --server, then GET /cas/<hash>",
    "from --cache at --rate for --duration, and print the report. With --url, attack those URLs instead",
    "(no upload). Requests are due at start + i/rate whatever the responses do, and latency counts from",
    "that due time, so a stalled server shows in the percentiles. Ctrl-C stops early and still reports.",
    "--workload build-cache seeds --blobs actions of 3 outputs each, then looks actions up (GET /ac/<key>),",
    "fetches a hit's outputs (GET /cas/<hash>) and, for the 1 - --hit-ratio share of new actions, PUTs",
    "their outputs and entry through --cache.",
    "",
    "Examples:",
    "  bun client.ts --rate 3 --duration 10s",
    "  bun client.ts --rate 200/s --blobs 100 --dist zipf:1.1 --hit-ratio 0.9 --report text --html report.html",
    "  bun client.ts --url http://127.0.0.1:8080/ --rate 1000 --duration 30s --report 'hist[0,1ms,5ms,10ms]'",
    "  bun client.ts --targets targets.txt --rate 500 --results run.jsonl --threshold 'p99<50ms'",
    "  bun client.ts --url http://127.0.0.1:8080/ --rate 100..2000/s --duration 1m --report text",
    "  bun client.ts --url http://127.0.0.1:8080/ --find-max --threshold 'p99<20ms' --report text",
    "  bun client.ts --url http://target/ --rate 8000 --shard 0/4 --start-at 2026-12-01T16:00:00Z --json shard-0.json",
    "",
    "Exit codes: 0 every threshold holds; 1 the system under test broke one (or could not be reached);",
    "2 bad flags or input; 3 the generator could not keep its schedule, so the run says nothing about the target.",
    "With --find-max: 0 a capacity was found, 1 no step held, 3 the generator was the limit.",
  ].join("\n"),
  flags: {
    server: flag({
      help: "Origin server to upload the blobs to (URL or host:port)",
      default: `http://localhost:${DEFAULT_SERVER_PORT}`,
      parse: parseBaseUrl,
      env: ["CAS_SERVER_ADDR"],
      metavar: "URL",
    }),
    cache: flag({
      help: "Cache(s) to attack; a comma list spreads requests round-robin over the peers",
      default: [`http://localhost:${DEFAULT_CACHE_PORT}`],
      parse: listOf(parseBaseUrl),
      env: ["CACHE_SERVER_ADDR"],
      metavar: "URL[,URL...]",
    }),
    rate: flag({
      help:
        "Requests per second: N, N/s, N/1m, N/500ms; 0 or infinity = as fast as --max-inflight allows; " +
        "FROM..TO (100..2000/s) ramps linearly over --duration; with --find-max, the first step's rate",
      default: { kind: "constant", perSecond: 50 },
      parse: parseRateSpec,
      env: ["ATTACK_FREQ"],
      metavar: "RATE",
      defaultText: "50/s",
    }),
    steps: flag({
      help: "Steps of constant rate, each --step-duration long, instead of --rate and --duration: 100,200,400,800/s",
      default: [],
      parse: parseStepRates,
      env: ["ATTACK_STEPS"],
      metavar: "RATES",
    }),
    stepDuration: flag({
      help: "How long each step of --steps or --find-max lasts",
      default: 10_000,
      parse: parseDuration,
      env: ["ATTACK_STEP_DURATION"],
      metavar: "DURATION",
      defaultText: "10s",
    }),
    warmup: flag({
      help:
        "Before the schedule, send at its opening rate for this long on the same connections; those requests " +
        "are not in the report (0 = none)",
      default: DEFAULT_WARMUP_MS,
      parse: parseDuration,
      env: ["ATTACK_WARMUP"],
      metavar: "DURATION",
      defaultText: "1s",
    }),
    findMax: flag({
      help:
        "Search for the highest rate at which every --threshold (default success>=0.999, p99<100ms) holds with " +
        "the generator on schedule: steps from --rate up, doubling, then bisecting",
      default: false,
      parse: parseBool,
      env: ["ATTACK_FIND_MAX"],
      boolean: true,
    }),
    maxRate: flag({
      help: "With --find-max: no step asks more than this rate (0 = no limit)",
      default: 0,
      parse: parseRate,
      env: ["ATTACK_MAX_RATE"],
      metavar: "RATE",
      defaultText: "none",
    }),
    maxTime: flag({
      help: "With --find-max: the whole search's time limit",
      default: 300_000,
      parse: parseDuration,
      env: ["ATTACK_MAX_TIME"],
      metavar: "DURATION",
      defaultText: "5m",
    }),
    shard: flag<Shard | undefined>({
      help:
        "Send shard I of N of the schedule: every N-th request from I (counted from 0), so N generators with the " +
        "same flags and --start-at send exactly one generator's requests",
      default: undefined,
      parse: parseShard,
      env: ["ATTACK_SHARD"],
      metavar: "I/N",
    }),
    startAt: flag<number | undefined>({
      help:
        "Start the schedule at this RFC 3339 time, so that several generators start together; a start later " +
        "than --max-send-lag is the generator's failure (exit 3)",
      default: undefined,
      parse: parseStartAt,
      env: ["ATTACK_START_AT"],
      metavar: "TIME",
    }),
    duration: flag({
      help: "How long to attack: 10s, 1m30s (a bare number is seconds); 0 = until Ctrl-C",
      default: 10_000,
      parse: parseDuration,
      env: ["ATTACK_DURATION"],
      metavar: "DURATION",
      defaultText: "10s",
    }),
    size: flag({
      help: "Bytes per generated blob: 25000, 1MiB",
      default: 25_000,
      parse: parseBytes,
      env: ["CONTENT_SIZE"],
      metavar: "BYTES",
    }),
    blobs: flag({
      help: "Number of distinct blobs to upload and request (build-cache: actions, of 3 outputs each)",
      default: 1,
      parse: intIn(1, 1_000_000),
      env: ["ATTACK_BLOBS"],
      metavar: "N",
    }),
    workload: flag({
      help: "default (GET /cas/<hash>), or build-cache (action lookups, output fetches, uploads of new results)",
      default: "default",
      parse: parseWorkloadKind,
      env: ["ATTACK_WORKLOAD"],
      metavar: "KIND",
    }),
    hitRatio: flag({
      help:
        "Share of requests allowed to hit; the rest are sent with Cache-Control: no-cache (forced misses). " +
        "build-cache: share of action lookups that find their action",
      default: 1,
      parse: parseRatio,
      env: ["HIT_MISS_RATIO"],
      metavar: "R",
    }),
    dist: flag({
      help: "Which blob each request asks for: uniform, or zipf[:S] (blob i weighted 1/(i+1)^S, S default 1)",
      default: { kind: "uniform" },
      parse: parseDistribution,
      env: ["ATTACK_DIST"],
      metavar: "DIST",
      defaultText: "uniform",
    }),
    maxInflight: flag({
      help: "Most requests in flight (and connections); beyond it requests wait, and the wait counts in latency",
      default: DEFAULT_MAX_INFLIGHT,
      parse: intIn(1, 100_000),
      env: ["ATTACK_MAX_INFLIGHT"],
      metavar: "N",
    }),
    timeout: flag({
      help: "Per-request timeout, counted from the due time; 0 = none",
      default: DEFAULT_TIMEOUT_MS,
      parse: parseDuration,
      env: ["ATTACK_TIMEOUT"],
      metavar: "DURATION",
      defaultText: "30s",
    }),
    report: reportKindFlag("ATTACK_REPORT"),
    output: flag({
      help: "Write the report to this file instead of stdout",
      default: "",
      parse: parseString,
      env: ["ATTACK_OUTPUT"],
      metavar: "FILE",
    }),
    json: flag({
      help: "Also write the JSON report to this file",
      default: "",
      parse: parseString,
      env: ["ATTACK_JSON"],
      metavar: "FILE",
    }),
    html: flag({
      help: "Also write a self-contained HTML report (charts as inline SVG) to this file",
      default: "",
      parse: parseString,
      env: ["ATTACK_HTML"],
      metavar: "FILE",
    }),
    targets: flag({
      help: "Attack the targets in this file (- for stdin) instead of the default flow, round-robin",
      default: "",
      parse: parseString,
      env: ["ATTACK_TARGETS"],
      metavar: "FILE",
    }),
    format: flag({
      help: "Format of --targets, as vegeta's: http (METHOD URL, headers, @body) or json (one object per line)",
      default: "http",
      parse: parseTargetFormat,
      env: ["ATTACK_TARGETS_FORMAT"],
      metavar: "FORMAT",
    }),
    url: repeatable({
      help: "Attack this URL instead of the default flow (no upload); several are used round-robin",
      parse: parseTargetUrl,
      env: ["ATTACK_URL"],
      metavar: "URL",
    }),
    method: flag({
      help: "HTTP method for --url targets",
      default: "GET",
      parse: (raw: string) => {
        if (!METHOD.test(raw)) throw new SyntaxError("expected an HTTP method such as GET or POST");
        return raw.toUpperCase();
      },
      env: ["ATTACK_METHOD"],
      metavar: "METHOD",
    }),
    header: repeatable({
      help: 'Request header "Key: Value", sent with every request',
      parse: parseHeader,
      env: ["ATTACK_HEADER"],
      // Header values hold commas ("Accept: a, b"), so the env var takes one header per line.
      envSeparator: "\n",
      metavar: "HEADER",
    }),
    body: flag({
      help: "Request body for --url targets: @file reads a file, anything else is sent as given",
      default: undefined,
      parse: loadBody,
      env: ["ATTACK_BODY"],
      metavar: "BODY",
    }),
    results: flag({
      help: "Write one record per request to this file as it completes (read back with bun client.ts report)",
      default: "",
      parse: parseString,
      env: ["ATTACK_RESULTS"],
      metavar: "FILE",
    }),
    resultsFormat: flag({
      help: "Records of --results: json (vegeta's JSON results plus send lag) or csv (vegeta's columns, then ours)",
      default: "json",
      parse: parseResultsFormat,
      env: ["ATTACK_RESULTS_FORMAT"],
      metavar: "FORMAT",
    }),
    threshold: THRESHOLD_FLAG,
    maxSendLag: MAX_SEND_LAG_FLAG,
    upload: flag({
      help: "How the default flow uploads: raw (the body) or multipart (field file named after the key, as the original)",
      default: "raw",
      parse: parseUploadForm,
      env: ["ATTACK_UPLOAD"],
      metavar: "FORM",
    }),
    verify: flag({
      help: "Check every response body against its key (--no-verify to skip)",
      default: true,
      parse: parseBool,
      env: ["ATTACK_VERIFY"],
      boolean: true,
    }),
    quiet: flag({
      help: "No live progress line on stderr",
      default: false,
      parse: parseBool,
      env: ["ATTACK_QUIET"],
      boolean: true,
    }),
    metricsPort: flag<number | undefined>({
      help: "Serve Prometheus metrics on this port during the run (0 = any free port)",
      default: undefined,
      parse: parsePort,
      env: ["CLIENT_METRICS_PORT"],
      metavar: "PORT",
    }),
    host: flag({
      help: "Interface the metrics endpoint listens on",
      default: "0.0.0.0",
      parse: parseString,
      env: ["LISTEN_HOST"],
      metavar: "HOST",
    }),
    writeToken: flag({
      help: "Bearer token for the uploads, when the server requires one",
      default: "",
      parse: parseString,
      env: ["CAS_WRITE_TOKEN"],
      metavar: "TOKEN",
      defaultText: "none",
    }),
    ...COMMON_FLAGS,
  },
  check(config) {
    if (config.url.length > 0 && config.targets !== "") {
      throw new ConfigError("--url and --targets both name what to attack: give one of them");
    }
    if (config.url.length === 0) {
      if (config.method !== "GET") {
        const why = config.targets === "" ? "the default flow sends GET" : "the targets file gives each method";
        throw new ConfigError(`--method applies only with --url (${why})`);
      }
      if (config.body !== undefined && config.targets === "") {
        throw new ConfigError("--body applies only with --url or --targets");
      }
    }
    if (config.workload !== "default" && (config.url.length > 0 || config.targets !== "")) {
      throw new ConfigError("--workload applies only without --url or --targets");
    }
    if (config.output !== "" && config.output === config.json) {
      throw new ConfigError("--output and --json name the same file; give --report json instead");
    }
    checkSchedule(config);
    const files = [config.output, config.json, config.html].filter((f) => f !== "");
    if (config.results !== "" && files.includes(config.results)) {
      throw new ConfigError("--results names the same file as a report; give it a file of its own");
    }
  },
});

export type ClientConfig = Config<typeof CLIENT_PROGRAM.flags>;

/** The checks on the rate's shape, the capacity search and the shards, which span several flags. */
function checkSchedule(config: ClientConfig): void {
  const { rate } = config;
  if (!(config.stepDuration > 0)) throw new ConfigError("--step-duration must be above 0");
  if (config.steps.length > 0 && rate.kind === "ramp") {
    throw new ConfigError("--steps and a ramp --rate both shape the rate: give one of them");
  }
  if (rate.kind === "ramp" && config.duration === 0) {
    throw new ConfigError("a ramp --rate needs a --duration above 0 to ramp over");
  }
  if (config.findMax) {
    if (config.steps.length > 0) throw new ConfigError("--find-max chooses its own steps: drop --steps");
    if (rate.kind === "ramp") throw new ConfigError("--find-max starts at one --rate, not a ramp");
    if (rate.perSecond === 0)
      throw new ConfigError("--find-max starts its first step at --rate, which must be above 0");
    if (!(config.maxTime > 0)) throw new ConfigError("--max-time must be above 0");
    if (config.shard !== undefined) {
      throw new ConfigError(
        "--find-max picks each step from the last, so shards cannot share its schedule: run one generator (it says when it is the limit)",
      );
    }
    if (config.startAt !== undefined) throw new ConfigError("--start-at starts one schedule; --find-max runs many");
  }
  const unpaced = config.steps.length === 0 && rate.kind === "constant" && rate.perSecond === 0;
  if (unpaced && config.shard !== undefined) {
    throw new ConfigError("--shard splits a paced schedule: give a --rate above 0 (unpaced runs have none)");
  }
}
