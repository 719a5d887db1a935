/**
 * `--find-max`: runs the capacity search's steps as separate open-loop runs of `--step-duration` at the rate the
 * search asks next (lib/client/capacity-search.ts decides; that part is pure), a pause between them so that the
 * target settles, judges each step against the thresholds exactly as a whole run is judged, and ends with the
 * search's verdict. Sends the load; resolves when the search ends or the signal aborts it.
 */
import { runLoad, type LoadOptions, type ShotResult } from "../loadgen.ts";
import { AttackMetrics, type AttackMetricsOptions } from "../report/attack-metrics.ts";
import { judgeStep, type StepReport } from "../report/steps.ts";
import type { Threshold } from "../report/thresholds.ts";
import { nextMove, type SearchEnd } from "./capacity-search.ts";
import { capacityVerdict, type CapacityVerdict, type SearchedStep } from "./capacity-verdict.ts";

/** The thresholds a search holds steps to when none are given. */
export const FIND_MAX_THRESHOLDS = ["success>=0.999", "p99<100ms"];
/** The pause between steps: what the last step left queued at the target drains before the next begins. */
export const STEP_PAUSE_MS = 1000;

export interface FindMaxOptions {
  /** The first step's rate, per second. */
  startRate: number;
  /** No step above it; 0 = no limit. */
  maxRate: number;
  stepMs: number;
  maxTimeMs: number;
  thresholds: readonly Threshold[];
  maxSendLagMs: number;
  /** How each step's requests go out (all but the schedule, which the search sets). */
  load: Pick<LoadOptions, "next" | "maxInflight" | "timeoutMs" | "signal" | "client">;
  /** Each step's metrics. */
  metrics?: AttackMetricsOptions;
  /** Every result of every step, its seq counted over the whole search. */
  onResult: (r: ShotResult) => void;
  /** After each step, judged. */
  onStep?: (step: StepReport) => void;
  /** @default STEP_PAUSE_MS */
  pauseMs?: number;
}

export interface FindMaxRun {
  /** In the order they ran. */
  steps: StepReport[];
  end: SearchEnd | "stopped";
  verdict: CapacityVerdict;
}

/** Runs the search to its end. */
export async function runFindMax(options: FindMaxOptions): Promise<FindMaxRun> {
  const { signal } = options.load;
  const started = performance.now();
  const steps: StepReport[] = [];
  const searched: SearchedStep[] = [];
  const pauseMs = options.pauseMs ?? STEP_PAUSE_MS;
  let end: SearchEnd | "stopped" = "stopped";
  let seq = 0; // the first request of the next step, so requests (and the targets they pick) go on across steps
  const searchOptions = {
    startRate: options.startRate,
    ...(options.maxRate > 0 && { maxRate: options.maxRate }),
    stepMs: options.stepMs,
    maxTimeMs: options.maxTimeMs,
  };
  for (;;) {
    if (signal?.aborted) break;
    // the pause before the next step counts against the time limit too
    const elapsedMs = performance.now() - started + (steps.length > 0 ? pauseMs : 0);
    const move = nextMove(searchOptions, searched, elapsedMs);
    if (move.kind === "done") {
      end = move.end;
      break;
    }
    if (steps.length > 0) await pause(pauseMs, signal);
    if (signal?.aborted) break;
    const metrics = new AttackMetrics(options.metrics);
    const first = seq;
    const load = await runLoad({
      ...options.load,
      next: (i) => options.load.next(first + i),
      rate: move.rate,
      durationMs: options.stepMs,
      onResult(r) {
        r.seq += first; // a fresh object per result: renumbering it in place costs nothing
        metrics.add(r);
        options.onResult(r);
      },
    });
    seq += load.requests;
    const summary = metrics.close();
    const judged = judgeStep(summary, options.thresholds, { maxSendLagMs: options.maxSendLagMs });
    const step: StepReport = {
      rate: move.rate,
      startMs: load.started,
      endMs: load.started + options.stepMs,
      summary,
      judged,
    };
    steps.push(step);
    searched.push({ rate: move.rate, p99: summary.latencies.p99, ...judged });
    options.onStep?.(step);
    if (load.stoppedBy === "signal") break;
  }
  return { steps, end, verdict: capacityVerdict(searched, end) };
}

/** Waits `ms`, or less when the signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
