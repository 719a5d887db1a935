/**
 * One load-test run as `client.ts` performs it: build the targets (upload blobs for the default flow, or
 * `--url` / `--targets` targets), serve metrics if asked, run the open-loop generator until the duration ends
 * or the signal aborts, streaming each result to `--results`, then write the reports and judge the run against
 * its thresholds. Returns the exit code (0, 1, 2, 3 or 130); prints failures as one line on stderr.
 */
import { Http1Client } from "../loadgen/http1-client.ts";
import { warmUp } from "./warmup.ts";
import { writeFileSync } from "node:fs";
import { AttackMetrics, type AttackMetricsOptions, type AttackSummary } from "../report/attack-metrics.ts";
import type { GeneratorStart } from "../report/generator-start.ts";
import { mergeSummaries } from "../report/merge.ts";
import { StepMetrics } from "../report/step-metrics.ts";
import { judgeSteps, type CapacityFinding, type StepReport } from "../report/steps.ts";
import { outcomeText } from "../report/text.ts";
import { FIND_MAX_THRESHOLDS, runFindMax } from "./find-max.ts";
import { buildSchedule, describeSchedule, type RateShape, type Schedule } from "./schedule.ts";
import { renderReport } from "../report/render-report.ts";
import { evaluateThresholds, parseThreshold, withDefaultThresholds, type Threshold } from "../report/thresholds.ts";
import { verdict } from "../report/verdict.ts";
import { openResultsWriter, type ResultsWriter } from "./results-stream.ts";
import { parseTargets, TargetFileError } from "./target-file.ts";
import { fetchCacheStats, hitRatioBetween, type StatsByCache } from "./cache-stats-probe.ts";
import type { ClientConfig } from "./flags.ts";
import { createClientMetrics, serveClientMetrics, type ClientMetrics } from "./metrics-endpoint.ts";
import { goDuration } from "../report/go-format.ts";
import { runLoad, type ShotResult, type Target } from "../loadgen.ts";
import type { Logger } from "../common/log.ts";
import { progressWanted, startProgress, type Progress } from "./progress.ts";
import { formatRateSpec } from "./rate.ts";
import { renderHtml } from "../report/html.ts";
import { renderJson, type CasExtras } from "../report/json.ts";
import { UploadAbortedError, UploadError, uploadBlobs } from "./upload.ts";
import { headersFrom, namedTargets, roundRobin } from "./url-targets.ts";
import { createWorkload, generateBlobs } from "./workload.ts";
import { ACTION_OUTPUTS, REQUEST_KINDS, createBuildCacheWorkload, generateActions } from "./build-cache-workload.ts";

export interface AttackDeps {
  logger: Logger;
  /**
   * Aborting stops the attack early; the report of what ran is still written. Aborting during the upload stops
   * it, prints one line and returns 130 without a report, as nothing was attacked.
   */
  signal?: AbortSignal;
  /** Where the report goes without --output. @default process.stdout */
  stdout?: (text: string) => void;
  /** Where one-line failures go. @default process.stderr */
  stderr?: (text: string) => void;
  /** Whether stderr is a terminal (for the progress line). @default process.stderr.isTTY */
  stderrIsTty?: boolean;
  /** Reads standard input, for `--targets -`. @default Bun.stdin.text() */
  readStdin?: () => Promise<string>;
}

/** What the attack aims at, built before the clock starts. */
interface Plan {
  next: (seq: number) => Target;
  description: string;
  /** The target names the results are grouped under, for checking `target=NAME:` thresholds. */
  names: string[];
  /** Cache base URLs whose /stats are read around the run (default flow only). */
  caches: string[];
}

/** Where the run writes, and its one-line failures: 1 for a run that failed, 2 for bad input. */
function outputs(deps: AttackDeps) {
  const stdout = deps.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = deps.stderr ?? ((text: string) => void process.stderr.write(text));
  const failWith = (code: number) => (message: string) => {
    stderr(`client: ${message}\n`);
    return code;
  };
  return { stdout, stderr, fail: failWith(1), badInput: failWith(2) };
}

/** Runs the whole client flow; resolves with the process exit code. */
export async function runAttack(config: ClientConfig, deps: AttackDeps): Promise<number> {
  const { logger } = deps;
  const { stderr, fail, badInput } = outputs(deps);

  let plan: Plan;
  try {
    if (config.targets !== "") plan = await targetsPlan(config, deps.readStdin ?? (() => Bun.stdin.text()));
    else if (config.url.length > 0) plan = urlPlan(config);
    else if (config.workload === "build-cache") plan = await buildCachePlan(config, logger, deps.signal);
    else plan = await defaultPlan(config, logger, deps.signal);
  } catch (err) {
    if (err instanceof UploadAbortedError) {
      stderr(`client: ${err.message}\n`);
      return 130;
    }
    if (err instanceof UploadError) return fail(err.message);
    if (err instanceof TargetFileError) return badInput(err.message);
    if (err instanceof TargetsReadError) return badInput(err.message);
    throw err;
  }
  // a search needs something to hold: without --threshold, success>=0.999 and p99<100ms
  const given =
    config.findMax && config.threshold.length === 0 ? FIND_MAX_THRESHOLDS.map(parseThreshold) : config.threshold;
  const thresholds = withDefaultThresholds(given);
  const unknown = unknownTargets(thresholds, plan.names);
  if (unknown !== undefined) return badInput(unknown);
  if (deps.signal?.aborted) logger.warn("interrupted before the attack started");

  const shape: RateShape =
    config.steps.length > 0 ? { kind: "steps", rates: config.steps, stepMs: config.stepDuration } : config.rate;
  // one pool for the warm-up and the run, so the schedule starts on the connections the warm-up opened
  const pool = new Http1Client({ keepAlive: true, insecure: false });
  try {
    return await attackWithPool(config, deps, logger, plan, thresholds, shape, pool);
  } finally {
    pool.close();
  }
}

/** The rest of a run, once its plan and thresholds are known, on `pool`: warm-up, schedule, reports, verdict. */
async function attackWithPool(
  config: ClientConfig,
  deps: AttackDeps,
  logger: Logger,
  plan: Plan,
  thresholds: readonly Threshold[],
  shape: RateShape,
  pool: Http1Client,
): Promise<number> {
  const { stdout, stderr, fail, badInput } = outputs(deps);
  const warmup = await warmUp({
    next: plan.next,
    shape,
    durationMs: config.warmup,
    ...(config.startAt !== undefined && { startAt: config.startAt }),
    ...(config.shard && { shard: config.shard }),
    maxInflight: config.maxInflight,
    timeoutMs: config.timeout,
    ...(deps.signal && { signal: deps.signal }),
    client: pool,
  });
  if (warmup.requests > 0) {
    logger.info("warmed up", { ms: Math.round(warmup.durationMs), requests: warmup.requests, errors: warmup.errors });
  }
  // after the warm-up, so the caches' counters speak of the measured requests only
  const statsBefore = plan.caches.length > 0 ? await fetchCacheStats(plan.caches) : {};

  let endpoint: MetricsEndpoint | undefined;
  if (config.metricsPort !== undefined) {
    try {
      endpoint = startMetricsEndpoint(config.host, config.metricsPort, logger);
    } catch (err) {
      return fail(`cannot listen on ${config.host}:${config.metricsPort}: ${(err as Error).message}`);
    }
  }

  let results: ResultsWriter | undefined;
  if (config.results !== "") {
    try {
      results = openResultsWriter(config.results, config.resultsFormat);
    } catch (err) {
      void endpoint?.server.stop(true);
      return badInput(`cannot write --results ${config.results}: ${(err as Error).message}`);
    }
  }

  const reportKind = config.report;
  const metricsOptions: AttackMetricsOptions = {
    ...(reportKind.kind === "hist" && { buckets: reportKind.buckets }),
    unpaced: config.steps.length === 0 && config.rate.kind === "constant" && config.rate.perSecond === 0,
  };
  const schedule = buildSchedule(shape, config.duration);
  const progress: Progress | undefined = progressWanted(config.quiet, deps.stderrIsTty ?? process.stderr.isTTY === true)
    ? startProgress({ durationMs: config.findMax ? config.maxTime : schedule.durationNs / 1e6, write: stderr })
    : undefined;
  const sink = (r: ShotResult) => {
    results?.write(r);
    progress?.add(r);
    endpoint?.metrics.observe(r);
  };

  const how = config.findMax
    ? `searching for the highest rate from ${formatRateSpec(config.rate)} in steps of ${goDuration(config.stepDuration * 1e6)}`
    : describeSchedule(shape, config.duration) +
      (config.shard ? `, shard ${config.shard.index}/${config.shard.count}` : "");
  logger.info("attack started", { target: plan.description, schedule: how });
  if (config.startAt !== undefined)
    logger.info("waiting for --start-at", { startAt: new Date(config.startAt).toISOString() });
  let ran: Ran;
  try {
    ran = config.findMax
      ? await searchCapacity(config, plan, thresholds, metricsOptions, sink, deps.signal, logger, pool)
      : await runSchedule(config, plan, schedule, metricsOptions, sink, deps.signal, pool);
    results?.close();
  } catch (err) {
    // only the results file can fail a run: the generator reports every request's failure as data
    void endpoint?.server.stop(true);
    if (results === undefined) throw err;
    return fail(`cannot write the results to ${config.results}: ${(err as Error).message}`);
  } finally {
    progress?.stop();
  }
  const { summary } = ran;
  logger.info("attack finished", { requests: summary.requests, stoppedBy: ran.stoppedBy });

  const statsAfter = plan.caches.length > 0 ? await fetchCacheStats(plan.caches) : {};
  const extras: CasExtras = casExtras(plan, statsBefore, statsAfter);
  if (ran.starts) extras.starts = ran.starts;
  if (warmup.requests > 0) extras.warmup = warmup;
  let code: number;
  if (ran.capacity) {
    // a search is judged step by step; its verdict says what the steps found
    extras.steps = ran.steps;
    extras.capacity = ran.capacity;
    code = ran.capacity.code;
    stderr(`client: ${ran.capacity.line}\n`);
  } else {
    const judging = { maxSendLagMs: config.maxSendLag, ...(ran.starts && { starts: ran.starts }) };
    const measured = evaluateThresholds(thresholds, summary);
    const judged = verdict(summary, measured, judging);
    Object.assign(extras, { thresholds: measured, verdict: judged });
    if (ran.steps) extras.steps = judgeSteps(ran.steps, thresholds, { maxSendLagMs: config.maxSendLag });
    code = judged.code;
    if (judged.code !== 0) stderr(`client: exit ${judged.code}: ${judged.message}\n`);
  }
  void endpoint?.server.stop(true);

  const stopped = ran.stoppedBy === "signal" ? " (stopped early)" : "";
  const description = `${plan.description} ${how}${stopped}`;
  try {
    writeReports(config, summary, extras, description, stdout);
  } catch (err) {
    return fail(`cannot write the report: ${(err as Error).message}`);
  }
  return code;
}

/** What one run produced, whatever its schedule. */
interface Ran {
  summary: AttackSummary;
  stoppedBy: "duration" | "signal";
  /** The steps on their own, for a ramp, --steps or --find-max. */
  steps?: StepReport[];
  /** With --start-at: when this generator started against it. */
  starts?: GeneratorStart[];
  /** With --find-max. */
  capacity?: CapacityFinding;
}

/** One open-loop run on the schedule (or this generator's shard of it), its steps collected apart. */
async function runSchedule(
  config: ClientConfig,
  plan: Plan,
  schedule: Schedule,
  metricsOptions: AttackMetricsOptions,
  sink: (r: ShotResult) => void,
  signal: AbortSignal | undefined,
  pool: Http1Client,
): Promise<Ran> {
  const whole = schedule.steps.length === 0 ? new AttackMetrics(metricsOptions) : undefined;
  const stepMetrics = whole === undefined ? new StepMetrics(schedule.steps, metricsOptions) : undefined;
  const load = await runLoad({
    next: plan.next,
    rate: config.rate.kind === "constant" ? config.rate.perSecond : 0,
    durationMs: config.duration,
    ...(schedule.pacer && { pacer: schedule.pacer }),
    ...(config.shard && { shard: config.shard }),
    ...(config.startAt !== undefined && { startAt: config.startAt }),
    maxInflight: config.maxInflight,
    timeoutMs: config.timeout,
    ...(signal && { signal }),
    client: pool,
    onResult(r) {
      if (whole) whole.add(r);
      else stepMetrics!.add(schedule.stepOf(r.seq), r);
      sink(r);
    },
  });
  const starts: GeneratorStart[] | undefined =
    config.startAt === undefined
      ? undefined
      : [
          {
            shard: config.shard ? `${config.shard.index}/${config.shard.count}` : null,
            at: config.startAt,
            offsetNs: load.startOffsetNs ?? 0,
          },
        ];
  if (whole) return { summary: whole.close(), stoppedBy: load.stoppedBy, ...(starts && { starts }) };
  // the whole run's summary is the exact merge of its steps': no result counted twice while sending
  const steps = stepMetrics!.close(load.started);
  const summary = mergeSummaries(steps.map((s) => s.summary));
  return { summary, stoppedBy: load.stoppedBy, steps, ...(starts && { starts }) };
}

/** `--find-max`: the search's steps, their merge as the whole run, and its verdict. */
async function searchCapacity(
  config: ClientConfig,
  plan: Plan,
  thresholds: readonly Threshold[],
  metricsOptions: AttackMetricsOptions,
  sink: (r: ShotResult) => void,
  signal: AbortSignal | undefined,
  logger: Logger,
  pool: Http1Client,
): Promise<Ran> {
  const run = await runFindMax({
    startRate: config.rate.kind === "constant" ? config.rate.perSecond : 0,
    maxRate: config.maxRate,
    stepMs: config.stepDuration,
    maxTimeMs: config.maxTime,
    thresholds,
    maxSendLagMs: config.maxSendLag,
    load: {
      next: plan.next,
      maxInflight: config.maxInflight,
      timeoutMs: config.timeout,
      ...(signal && { signal }),
      client: pool,
    },
    metrics: metricsOptions,
    onResult: sink,
    onStep: (step) =>
      logger.info("step", {
        rate: step.rate,
        achieved: Number(step.summary.achievedRate.toFixed(2)),
        success: step.summary.success,
        p99: goDuration(step.summary.latencies.p99),
        outcome: step.judged ? outcomeText(step.judged) : "-",
      }),
  });
  const summary =
    run.steps.length > 0 ? mergeSummaries(run.steps.map((s) => s.summary)) : new AttackMetrics(metricsOptions).close();
  const { rate, line, code } = run.verdict;
  return {
    summary,
    stoppedBy: run.end === "stopped" ? "signal" : "duration",
    steps: run.steps,
    capacity: { rate, line, code },
  };
}

/** A `target=NAME:` threshold naming no target of the run: a typo that would otherwise fail it every time. */
function unknownTargets(thresholds: readonly Threshold[], names: readonly string[]): string | undefined {
  for (const t of thresholds) {
    if (t.scope.kind === "target" && !names.includes(t.scope.name)) {
      const known = names
        .slice(0, 5)
        .map((n) => JSON.stringify(n))
        .join(", ");
      return `--threshold ${JSON.stringify(t.text)} names no target of this run (targets: ${known}${names.length > 5 ? ", ..." : ""})`;
    }
  }
  return undefined;
}

interface MetricsEndpoint {
  metrics: ClientMetrics;
  server: ReturnType<typeof serveClientMetrics>;
}

/** Serves the client's Prometheus metrics; the "listening" line with the bound port is logged as every program's. */
function startMetricsEndpoint(host: string, port: number, logger: Logger): MetricsEndpoint {
  const metrics = createClientMetrics();
  const server = serveClientMetrics(metrics, { host, port, logger });
  return { metrics, server };
}

/** The `--report` on stdout or `--output`, plus the `--json` and `--html` files. Throws on a write error. */
function writeReports(
  config: ClientConfig,
  summary: AttackSummary,
  extras: CasExtras,
  description: string,
  stdout: (text: string) => void,
): void {
  const main = renderReport(summary, extras, config.report.kind);
  if (config.output !== "") writeFileSync(config.output, main);
  else stdout(main);
  if (config.json !== "") writeFileSync(config.json, renderJson(summary, extras));
  if (config.html !== "") writeFileSync(config.html, renderHtml(summary, { extras, description }));
}

function urlPlan(config: ClientConfig): Plan {
  const targets = namedTargets(
    config.url.map((url) => ({ method: config.method, url, headers: [] })),
    targetOptions(config),
  );
  const shown = config.url.length === 1 ? config.url[0]! : `${config.url[0]} and ${config.url.length - 1} more`;
  return { next: roundRobin(targets), description: `${config.method} ${shown}`, names: names(targets), caches: [] };
}

/** The targets file (or stdin) could not be read at all. */
class TargetsReadError extends Error {}

async function targetsPlan(config: ClientConfig, readStdin: () => Promise<string>): Promise<Plan> {
  const stdin = config.targets === "-";
  const source = stdin ? "stdin" : config.targets;
  let text: string;
  try {
    text = stdin ? await readStdin() : await Bun.file(config.targets).text();
  } catch (err) {
    throw new TargetsReadError(`cannot read --targets ${source}: ${(err as Error).message}`);
  }
  const targets = namedTargets(parseTargets(text, config.format, { source }), targetOptions(config));
  return {
    next: roundRobin(targets),
    description: `${targets.length} target(s) from ${source}, round-robin`,
    names: names(targets),
    caches: [],
  };
}

function targetOptions(config: ClientConfig) {
  return { headers: headersFrom(config.header), ...(config.body && { body: config.body }), verify: config.verify };
}

function names(targets: readonly Target[]): string[] {
  return [...new Set(targets.map((t) => t.name ?? `${t.method} ${t.url}`))];
}

async function defaultPlan(config: ClientConfig, logger: Logger, signal: AbortSignal | undefined): Promise<Plan> {
  const blobs = generateBlobs(config.blobs, config.size);
  logger.info("uploading", { server: config.server, blobs: blobs.length, size: config.size });
  const uploaded = await uploadBlobs(config.server, blobs, {
    form: config.upload,
    ...(config.writeToken && { writeToken: config.writeToken }),
    timeoutMs: config.timeout,
    ...(signal && { signal }),
  });
  logger.info("uploaded", uploaded);
  const workload = createWorkload({
    cacheUrls: config.cache,
    hashes: blobs.map((b) => b.hash),
    dist: config.dist,
    hitRatio: config.hitRatio,
    verify: config.verify,
    headers: headersFrom(config.header),
  });
  const dist = config.dist.kind === "zipf" ? `zipf:${config.dist.s}` : "uniform";
  const caches =
    config.cache.length === 1
      ? `${config.cache[0]!}/cas/<hash>`
      : `/cas/<hash> round-robin over ${config.cache.length} caches`;
  return {
    next: workload.next,
    description: `GET ${caches} over ${blobs.length} blob(s) of ${config.size} bytes, ${dist}, hit ratio ${config.hitRatio}`,
    names: config.cache,
    caches: config.cache,
  };
}

/** Seeds the actions (their outputs, then their entries) on the origin, then plans the build-cache workload. */
async function buildCachePlan(config: ClientConfig, logger: Logger, signal: AbortSignal | undefined): Promise<Plan> {
  const actions = generateActions(config.blobs, ACTION_OUTPUTS, config.size);
  const options = {
    ...(config.writeToken && { writeToken: config.writeToken }),
    timeoutMs: config.timeout,
    ...(signal && { signal }),
  };
  logger.info("uploading", {
    server: config.server,
    actions: actions.length,
    outputs: ACTION_OUTPUTS,
    size: config.size,
  });
  const blobs = await uploadBlobs(
    config.server,
    actions.flatMap((a) => a.outputs),
    options,
  );
  // Entries after the blobs they name, as a build tool writes them.
  const entries = await uploadBlobs(
    config.server,
    actions.map((a) => ({ hash: a.key, data: a.entry })),
    { ...options, kind: "ac" },
  );
  logger.info("uploaded", { blobs, entries });
  const workload = createBuildCacheWorkload({
    cacheUrls: config.cache,
    actions,
    hitRatio: config.hitRatio,
    dist: config.dist,
    size: config.size,
    verify: config.verify,
    headers: headersFrom(config.header),
    ...(config.writeToken && { writeToken: config.writeToken }),
  });
  const via = config.cache.length === 1 ? config.cache[0]! : `${config.cache.length} caches round-robin`;
  return {
    next: workload.next,
    description:
      `build cache via ${via}: /ac/ lookups over ${actions.length} action(s) of ${ACTION_OUTPUTS} outputs of ` +
      `${config.size} bytes, then /cas/ fetches; hit ratio ${config.hitRatio}, misses PUT new results`,
    // Targets are named by kind, so the per-target figures (cas.by_target) are per kind.
    names: [...REQUEST_KINDS],
    caches: config.cache,
  };
}

function casExtras(plan: Plan, before: StatsByCache, after: StatsByCache): CasExtras {
  return {
    hitRatio: plan.caches.length > 0 ? hitRatioBetween(before, after) : null,
    cacheStats: plan.caches.length > 0 ? { before, after } : null,
  };
}
